"""False-positive rate and power of the verdicts, per design of issue 24, for the new test and the paper's rule.

Each design (calibration.py) is simulated `--null` times with no effect of the budget and `--power`
times with a modest planted drop (8 points from the smallest to the largest thinking budget), and every dataset
goes through the report's verdicts (the code of analyze(DataFrame)). Prints a markdown table: the share of
datasets called "inverse" (new test: the Holm-adjusted verdict; the paper's rule: extremes with non-overlapping
CIs), each with its Monte Carlo standard error, and the share detected under the drop. docs/report.md carries the
table of one run ("Calibration of the verdicts").

    python bench/bench_calibration.py --null 100 --power 40 --workers 2 > /tmp/calibration.md

`--lean-speed N` instead times, on the same N datasets of each design (natural runs aside: their own verdicts),
the paths from a simulated frame to the verdicts the calibration reads - the report's full table
(table_verdicts), the calibration's previous path (score_table + verdict_table without the audit and the
cross-checks, the full table for the inactive design; permutations drawn for every curve, as before
within._drawn_orders) and calibration_verdicts.lean_verdicts - checks that lean equals the full table on every
dataset, and prints the CPU per dataset and the ratios, side by side:

    python bench/bench_calibration.py --lean-speed 6
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from overthink import calibration as cs
from overthink.analysis import within
from overthink.analysis.curves import score_table
from overthink.analysis.trends import verdict_table
from overthink.calibration import MODEST_DROP, designs, mc_error, rates
from overthink.calibration_verdicts import COLUMNS, lean_verdicts


def _pct(rate: float, n: int) -> str:
    if rate is None or not math.isfinite(rate):
        return "-"
    return f"{100 * rate:.1f} ± {100 * mc_error(rate, n):.1f}"


def _sizes(name: str, n_null: int, n_power: int) -> tuple[int, int]:
    """Datasets per design: the grid and the costly many-curve designs get fewer (their MC error is printed)."""
    if name.startswith("grid"):
        return max(n_null * 3 // 4, 1), max(n_power // 2, 1)
    if name.startswith("--fail-on"):
        curves = int(name.split()[2])
        return max(n_null * {6: 10, 12: 6, 30: 3}[curves] // 10, 1), 0
    return n_null, n_power


def _one(args: tuple[int, int, int]) -> tuple[int, dict, dict | None, float]:
    index, n_null, n_power = args
    n_null, n_power = _sizes(designs()[index].name, n_null, n_power)
    design = designs()[index]
    start = time.perf_counter()
    null = rates(design, n_null)
    power = rates(design, n_power, drop=MODEST_DROP) if design.power and n_power else None
    return index, null, power, time.perf_counter() - start


def _row(name: str, null: dict, power: dict | None) -> str:
    n, key = null["n"], "failed" if name.startswith("--fail-on") else "inverse"
    extra = []
    if "natural" in name:
        extra.append(f"association call {_pct(null.get('association'), n)} (worded as such)")
    if "peaked" in name:
        extra.append(f"positive {_pct(null.get('positive'), n)}, rises then falls {_pct(null.get('rises_falls'), n)}")
    if "inactive" in name:
        extra.append(f"not identifiable {_pct(null.get('not_identifiable'), n)}")
    if "truncation" in name:
        extra.append(f"complete cases alone: inverse {_pct(null.get('complete_case_inverse'), n)}")
    if name.startswith("--fail-on"):
        extra.append(f"unadjusted: {_pct(null.get('unadjusted_inverse'), n)}")
    if "5 items" == name:
        extra.append(f"too few items {_pct(null.get('too_few'), n)}")
    pw = "-" if power is None else _pct(power.get("inverse"), power["n"])
    ppw = "-" if power is None else _pct(power.get("paper_inverse"), power["n"])
    return (f"| {name} | {_pct(null.get(key), n)} | {_pct(null.get('paper_inverse'), n)} | {pw} | {ppw} | "
            f"{'; '.join(extra)} |")


def previous_verdicts(frame: pd.DataFrame) -> pd.DataFrame:
    """The calibration's path before lean_verdicts (table_verdicts(frame, lean=True) until then): the report's
    score and verdict tables on the frame as loaded, without the import checks, the audit and the cross-checks."""
    score = frame["correct"].to_numpy(float)
    score[frame["status"].to_numpy() != "ok"] = np.nan
    samples = frame.drop(columns="correct").assign(score=score, run="dataframe")
    return verdict_table(samples, score_table(samples, {}), {}, audit=None, cross_checks=False)


def _cpu(fn, frames: list) -> tuple[float, list]:
    start = time.process_time()
    out = [fn(frame) for frame in frames]
    return (time.process_time() - start) / len(frames), out


def lean_speed(n: int) -> None:
    """CPU per dataset of the three paths on the same datasets (see the module docstring), and lean == full."""
    kinds: dict[str, list] = {}
    cached = within.MAX_CACHED_DRAWS
    for design in designs():
        if design.make is cs.natural:
            continue
        rng = np.random.default_rng([7, len(kinds)])
        start = time.process_time()
        frames = [design.make(rng, drop=(0.0, MODEST_DROP)[i % 2], **design.kwargs) for i in range(n)]
        make = (time.process_time() - start) / n
        control = design.make is cs.inactive
        full_s, full = _cpu(cs.table_verdicts, frames)
        within.MAX_CACHED_DRAWS = 0  # the previous path drew its permutations for every curve
        prev_s, _ = _cpu(cs.table_verdicts if control else previous_verdicts, frames)
        within.MAX_CACHED_DRAWS = cached
        lean_s, lean = _cpu(functools.partial(lean_verdicts, control=control), frames)
        for a, b in zip(lean, full):
            pd.testing.assert_frame_equal(pd.DataFrame(a), b[list(COLUMNS)].reset_index(drop=True), check_exact=True)
        kind = "grid (24 designs)" if design.name.startswith("grid ") else design.name
        # the slow test's datasets of this design (tests/test_calibration.py)
        in_test = 40 if design.name.startswith(("--fail-on over 30", "grid ")) else 60
        kinds.setdefault(kind, []).append((make, full_s, prev_s, lean_s, in_test))
    print(f"CPU ms per dataset, {n} datasets a design (null and an {MODEST_DROP:.0%} drop alternating); lean "
          "equals the full table on every one. 'outcome' adds the simulation itself to a path.\n")
    print("| design | simulate | full table | previous path | lean | previous / lean | outcome: previous / lean |")
    print("|---|---|---|---|---|---|---|")
    totals = np.zeros(4)
    for kind, rows in kinds.items():
        make, full_s, prev_s, lean_s = np.mean([r[:4] for r in rows], axis=0)
        totals += np.sum([np.array(r[:4]) * r[4] for r in rows], axis=0)
        print(f"| {kind} | {1000 * make:.1f} | {1000 * full_s:.1f} | {1000 * prev_s:.1f} | {1000 * lean_s:.1f} | "
              f"{prev_s / lean_s:.2f}x | {(make + prev_s) / (make + lean_s):.2f}x |")
    make, full_s, prev_s, lean_s = np.mean([r[:4] for rows in kinds.values() for r in rows], axis=0)
    print(f"| every design alike (mean per dataset) | {1000 * make:.1f} | {1000 * full_s:.1f} | {1000 * prev_s:.1f} | "
          f"{1000 * lean_s:.1f} | {prev_s / lean_s:.2f}x | {(make + prev_s) / (make + lean_s):.2f}x |")
    make, full_s, prev_s, lean_s = totals
    print(f"\nThe slow test's datasets (40 or 60 a design) at these rates: simulate {make:.1f} s + previous path "
          f"{prev_s:.1f} s = {make + prev_s:.1f} s; + lean {lean_s:.1f} s = {make + lean_s:.1f} s "
          f"({(make + prev_s) / (make + lean_s):.2f}x; full tables: {make + full_s:.1f} s).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null", type=int, default=100, help="datasets per design with no effect")
    parser.add_argument("--power", type=int, default=40, help="datasets per design with the modest drop")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="run only designs whose name contains this text")
    parser.add_argument("--lean-speed", type=int, default=0, metavar="N",
                        help="time the verdict paths on N datasets a design instead (see the docstring)")
    args = parser.parse_args()
    if args.lean_speed:
        lean_speed(args.lean_speed)
        return
    chosen = [i for i, d in enumerate(designs()) if args.only in d.name]
    jobs = [(i, args.null, args.power) for i in chosen]
    results = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for index, null, power, secs in pool.map(_one, jobs):
            results[index] = (null, power)
            print(f"{_row(designs()[index].name, null, power)} {secs:.0f} s", file=sys.stderr, flush=True)
    print("| design (no effect of the budget unless stated) | new test: false \"inverse\" % | paper's rule: "
          "false \"inverse\" % | new test: power % (8-point drop) | paper's rule: power % | other calls |")
    print("|---|---|---|---|---|---|")
    for index in chosen:
        print(_row(designs()[index].name, *results[index]))
    print(f"\nDatasets per design: {args.null} without effect and {args.power} with the drop; the grid "
          f"{_sizes('grid', args.null, args.power)}; --fail-on over 6 / 12 / 30 curves "
          f"{', '.join(str(_sizes(f'--fail-on over {m} null', args.null, 0)[0]) for m in (6, 12, 30))}. ± is the "
          f"Monte Carlo standard error. --fail-on rows: share of datasets where `summary --fail-on inverse` exits "
          f"1 (Holm-adjusted verdicts); 'unadjusted' is the same gate on the per-curve calls.")


if __name__ == "__main__":
    main()
