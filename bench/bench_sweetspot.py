"""How often does the sweet spot name a change point where there is none, and how often where there is one?

Simulated forced sweeps (analysis/simulate.sweep_frame): items with uniform difficulty in BASE, every item at every
budget. Flat: no effect of budget. Peaked: +UP points from the first budget to the middle one, then -DOWN points to
the last (a real change point). For each design the share of datasets in which analysis/sweetspot.sweet_spot names
a change point (and names it with "confident" sureness), next to the rule it replaced (the CI of the difference
from a fixed peak excludes 0), with the Monte Carlo standard error.

    python bench/bench_sweetspot.py [--datasets 400]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from overthink.analysis.curves import boot_weights
from overthink.analysis.simulate import sweep_frame
from overthink.analysis.sweetspot import _matrices, sweet_spot

BASE = (0.3, 0.9)
UP, DOWN = 0.10, 0.20


def dataset(rng: np.random.Generator, n_items: int, n_budgets: int, reps: int, peaked: bool):
    budgets = [0] + [64 * 2 ** k for k in range(n_budgets - 1)]
    mid = n_budgets // 2
    shift = np.zeros(n_budgets)
    if peaked:
        shift[: mid + 1] = np.linspace(0, UP, mid + 1)
        shift[mid:] = np.linspace(UP, UP - DOWN, n_budgets - mid)
    p = np.clip(rng.uniform(*BASE, n_items)[:, None, None] + shift[None, :, None], 0, 1)
    shape = (n_items, n_budgets, reps)
    correct = rng.random(shape) < p
    tokens = np.broadcast_to(np.asarray(budgets, float)[None, :, None], shape)
    return sweep_frame(correct, tokens, budgets), budgets


def old_rule(curve, budgets) -> bool:
    """The replaced rule: a budget above the point-estimate peak whose paired-bootstrap CI of the difference from
    that fixed peak lies below 0."""
    sums, counts = _matrices(curve, budgets)
    point = sums.sum(0) / counts.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = np.concatenate([(w @ sums) / (w @ counts) for w in boot_weights(len(sums), 1000, 0)])
    boots = boots[np.isfinite(boots).all(axis=1)]
    peak = int(np.argmax(point))
    upper = np.quantile(boots - boots[:, [peak]], 0.975, axis=0)
    return bool((upper[peak + 1:] < 0).any())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=int, default=400)
    a = ap.parse_args()
    t0 = time.perf_counter()
    print("| truth | items x budgets x replicates | change point named (new) | ... and 'confident' (new) "
          "| change point named (old rule) |")
    print("|---|---|---|---|---|")
    for peaked in (False, True):
        for n_items, n_b, reps in ((10, 4, 1), (10, 6, 1), (20, 4, 1), (30, 5, 3), (30, 6, 1), (100, 5, 1)):
            rng = np.random.default_rng([n_items, n_b, reps, peaked])
            new = conf = old = 0
            for _ in range(a.datasets):
                curve, budgets = dataset(rng, n_items, n_b, reps, peaked)
                s = sweet_spot(curve)
                named = s["change_point"] is not None
                new += named
                conf += named and s["sureness_words"] == "confident"
                old += old_rule(curve, budgets)
            def cell(k: int, n: int = a.datasets) -> str:
                p = k / n
                return f"{100 * p:.1f} % ± {100 * math.sqrt(p * (1 - p) / n):.1f}"

            truth = f"peaked (+{100 * UP:.0f} then -{100 * DOWN:.0f} points)" if peaked else "flat"
            print(f"| {truth} | {n_items} x {n_b} x {reps} | {cell(new)} | {cell(conf)} | {cell(old)} |", flush=True)
    print(f"\n{a.datasets} datasets per design; ± = Monte Carlo standard error; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
