"""False-positive rate and power of the verdicts, per design of issue 24, for the new test and the paper's rule.

Each design (calibration.py) is simulated `--null` times with no effect of the budget and `--power`
times with a modest planted drop (8 points from the smallest to the largest thinking budget), and every dataset
goes through the report's verdicts (the code of analyze(DataFrame)). Prints a markdown table: the share of
datasets called "inverse" (new test: the Holm-adjusted verdict; the paper's rule: extremes with non-overlapping
CIs), each with its Monte Carlo standard error, and the share detected under the drop. docs/report.md carries the
table of one run ("Calibration of the verdicts").

    python bench/bench_calibration.py --null 100 --power 40 --workers 2 > /tmp/calibration.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from overthink.calibration import MODEST_DROP, designs, mc_error, rates


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null", type=int, default=100, help="datasets per design with no effect")
    parser.add_argument("--power", type=int, default=40, help="datasets per design with the modest drop")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="run only designs whose name contains this text")
    args = parser.parse_args()
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
