"""False-positive rate and power of `overthink compare` by simulation (analysis/compare_calibration.py).

Prints a markdown table (docs/report.md, "Comparing runs"): per design, the share of simulated run pairs called
worse / better under no slope difference (two-sided 5 %: at most 2.5 % each way expected), and the share called
correctly under a true difference of delta logit per doubling, each with its Monte Carlo standard error; then the
`--fail-on worse` false-alarm rate over 4 null tasks with Holm's correction.
Usage: python bench/bench_compare_calibration.py [--null 1000] [--alt 300] [--pairing paired,unpaired]
       [--items 10,30,100] [--replicates 1,3] [--gate 400]  (--gate 0 skips the gate)
"""

from __future__ import annotations

import argparse
import math
import time

from overthink.analysis.compare_calibration import Design, calibrate, gate_false_alarms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--null", type=int, default=1000, help="simulations per design under no difference")
    parser.add_argument("--alt", type=int, default=300, help="simulations per design and effect")
    parser.add_argument("--gate", type=int, default=400, help="simulations of the 4-task --fail-on gate")
    parser.add_argument("--pairing", default="paired,unpaired")
    parser.add_argument("--items", default="10,30,100")
    parser.add_argument("--replicates", default="1,3")
    args = parser.parse_args()
    start = time.perf_counter()
    print("| pairing | items | replicates | null: called worse | null: called better | power, delta -0.25 "
          "| power, delta +0.25 | power, delta -0.5 |")
    print("|---|---|---|---|---|---|---|---|")
    for paired in [p == "paired" for p in args.pairing.split(",") if p in ("paired", "unpaired")]:
        for n_items in map(int, args.items.split(",")):
            for reps in map(int, args.replicates.split(",")):
                d = Design(n_items=n_items, replicates=reps, paired=paired)
                null = calibrate(d, 0.0, args.null, seed=1)
                cells = []
                for delta in (-0.25, 0.25, -0.5):
                    r = calibrate(d, delta, args.alt, seed=2)
                    hit = r["worse"] if delta < 0 else r["better"]
                    se = math.sqrt(max(hit * (1 - hit), 1e-12) / args.alt)
                    cells.append(f"{100 * hit:.1f} % +- {100 * se:.1f}")
                se = lambda p: math.sqrt(max(p * (1 - p), 1e-12) / args.null)  # noqa: E731
                print(f"| {'paired' if paired else 'unpaired'} | {n_items} | {reps} | "
                      f"{100 * null['worse']:.1f} % +- {100 * se(null['worse']):.1f} | "
                      f"{100 * null['better']:.1f} % +- {100 * se(null['better']):.1f} | " + " | ".join(cells) + " |",
                      flush=True)
    if not args.gate:
        return
    gate = gate_false_alarms(Design(n_items=30), 4, args.gate, seed=3)
    print(f"\n`--fail-on worse` over 4 null tasks (30 items, paired, Holm): fires in {100 * gate:.1f} % "
          f"+- {100 * math.sqrt(max(gate * (1 - gate), 1e-12) / args.gate):.1f} of {args.gate} simulations")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
