"""Calibration of `run --until-decided` by simulation, through the public decision function
(overthink.analysis.sequential.decide, the one the sweep calls after each round).

For every design of the grid items {20, 100, 400} x budgets {3, 5} x item difficulty spread {low, high} x
replicates {1, 3}: RUNS simulated sequential runs under a flat truth (no effect of budget) and under a modest
inverse truth (correctness falls by EFFECT from the shortest to the longest budget). Printed as a markdown table
(docs/report.md, "Sequential decisions"): the share of runs that ever say inverse under no effect with its Monte
Carlo error, and under the effect the power (share inverse) and the mean items used of the ceiling.

    python bench/bench_sequential_calibration.py            # 1,000 runs per design and truth
    python bench/bench_sequential_calibration.py --runs 200 # quicker
"""

from __future__ import annotations

import argparse
import itertools
import time

from scipy.stats import beta

from overthink.analysis.sequential import INVERSE, SPREAD, mc_error, simulate_design

EFFECT = 0.10  # 10 points from the shortest to the longest budget


def grid() -> list[dict]:
    return [dict(n_items=n, n_budgets=b, spread=s, replicates=r)
            for n, b, s, r in itertools.product((20, 100, 400), (3, 5), ("low", "high"), (1, 3))]


def upper(share: float, runs: int) -> float:
    """The one-sided 95 % Clopper-Pearson upper bound of a simulated share."""
    k = round(share * runs)
    return 1.0 if k >= runs else float(beta.ppf(0.95, k + 1, runs - k))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--effect", type=float, default=EFFECT)
    args = ap.parse_args()
    started = time.perf_counter()
    print(f"alpha {args.alpha} per cell; {args.runs} simulated runs per design and truth; inverse truth: "
          f"{100 * args.effect:g} points from the shortest to the longest budget; spread low = base share correct "
          f"uniform in {SPREAD['low']}, high = uniform in {SPREAD['high']}")
    print("| items (ceiling) | budgets | spread | replicates | no effect: says inverse (MC s.e.) | its one-sided "
          "95 % upper bound | no effect: items used | effect: power (inverse) | effect: items used (share of "
          "ceiling) |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for design in grid():
        null = simulate_design(runs=args.runs, effect=0.0, alpha=args.alpha, **design)
        alt = simulate_design(runs=args.runs, effect=args.effect, alpha=args.alpha, **design)
        share = null[f"share_{INVERSE}"]
        worst = max(worst, share)
        print(f"| {design['n_items']} | {design['n_budgets']} | {design['spread']} | {design['replicates']} | "
              f"{100 * share:.1f} % ({100 * mc_error(share, args.runs):.1f}) | "
              f"{100 * upper(share, args.runs):.1f} % | {null['mean_items']:.0f} | "
              f"{100 * alt[f'share_{INVERSE}']:.1f} % | {alt['mean_items']:.0f} "
              f"({100 * alt['share_of_ceiling']:.0f} %) |", flush=True)
    print(f"largest false 'inverse' share: {100 * worst:.1f} % (alpha {100 * args.alpha:g} %, MC s.e. at alpha "
          f"{100 * mc_error(args.alpha, args.runs):.1f}); {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
