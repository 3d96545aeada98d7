"""Plan the sample size from a pilot run: how many items (and replicates) detect a drop of D points with 80 % power.

Power is estimated by simulation under the same calibrated test the report uses (trends.trend_test, two-sided 5 %,
"inverse" calls counted). Each simulated sweep draws items from the pilot with replacement (so the pilot's spread
of item difficulty carries over: an item's base probability is its mean score over the pilot's budgets) and draws
each sample's reasoning length from the pilot's measured lengths at that budget. The planted drop is linear in
log2(1 + tokens) from the item's base probability at the shortest budget to `drop` below it at the longest, clipped
at 0 - so a drop of 10 points from a score near 0 % cannot be planted, and the plan says so by never reaching the
target. Replicates are independent draws given the item; when the pilot's replicates repeat themselves (greedy
decoding), only one replicate is planned, since more add nothing.

The search starts from the pilot's own stated power (`detectable_change` scales as 1 / sqrt(items)) and steps by
20 % until the simulated power crosses the target; the answer is the smallest size simulated at or above it.
Accuracy-type metrics only (a drop in points); RMSE curves are left out with a note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core import NATURAL, budget_sort_key
from ..errors import UserError
from .curves import MIN_ITEMS
from .load import load_runs
from .trends import trend_test
from .verdicts import INVERSE

KEYS = ["task", "model", "mechanism"]
MAX_ITEMS = 5000
STEP = 1.2


class Pilot:
    """What a simulation needs from one pilot curve: item base probabilities and lengths per budget."""

    def __init__(self, curve: pd.DataFrame) -> None:
        ok = curve[(curve["status"] == "ok") & curve["score"].notna() & curve["reasoning_tokens"].notna()]
        self.budgets = sorted(ok["budget"].unique(), key=budget_sort_key)
        self.base = ok.groupby("item_id")["score"].mean().to_numpy(float)
        self.tokens = [ok.loc[ok["budget"] == b, "reasoning_tokens"].to_numpy(float) for b in self.budgets]
        self.n_items = len(self.base)
        self.replicates = int(curve["replicate"].nunique()) if "replicate" in curve else 1
        cells = ok.groupby(["item_id", "budget", *(["run"] if "run" in ok else [])])
        varied = cells[["score", "reasoning_tokens"]].nunique().max(axis=1)[cells.size() > 1]
        self.repeats_itself = bool(len(varied)) and bool((varied == 1).all())

    def simulate(self, rng: np.random.Generator, n_items: int, replicates: int, drop: float) -> pd.DataFrame:
        n_b = len(self.budgets)
        shape = (n_items, n_b, replicates)
        tokens = np.empty(shape)
        for j, pool in enumerate(self.tokens):
            tokens[:, j, :] = rng.choice(pool, size=(n_items, replicates))
        x = np.log2(1 + tokens)
        x_lo, x_hi = np.log2(1 + np.median(self.tokens[0])), np.log2(1 + np.median(self.tokens[-1]))
        frac = np.clip((x - x_lo) / max(x_hi - x_lo, 1e-9), 0, 1)
        p_item = rng.choice(self.base, size=n_items)[:, None, None]
        p = np.clip(p_item - drop * frac, 0, 1)
        correct = rng.random(shape) < p
        item, _, rep = np.meshgrid(np.arange(n_items), np.arange(n_b), np.arange(replicates), indexing="ij")
        return pd.DataFrame({"item_id": item.ravel(), "replicate": rep.ravel(), "status": "ok",
                             "reasoning_tokens": tokens.ravel(), "score": correct.ravel().astype(float)})


def simulated_power(pilot: Pilot, n_items: int, replicates: int, drop: float, *, n_sims: int,
                    seed: int = 0) -> float:
    """Share of simulated sweeps the calibrated test calls inverse (common random numbers per seed)."""
    rng = np.random.default_rng([seed, n_items, replicates, int(round(drop * 1e6))])
    hits = [trend_test(pilot.simulate(rng, n_items, replicates, drop), spearman=False)["trend"] == INVERSE
            for _ in range(n_sims)]
    return float(np.mean(hits))


def _start(pilot_detectable: float, pilot_items: int, drop: float) -> int:
    if math.isfinite(pilot_detectable) and pilot_detectable > 0:
        guess = pilot_items * (pilot_detectable / drop) ** 2
    else:
        guess = 4 * max(pilot_items, MIN_ITEMS)
    return int(min(MAX_ITEMS, max(MIN_ITEMS, round(guess))))


def items_needed(pilot: Pilot, drop: float, replicates: int, *, target: float = 0.8, n_sims: int = 100,
                 seed: int = 0, start: int | None = None) -> tuple[int | None, float, list[tuple[int, float]]]:
    """(smallest simulated item count with power >= target or None, its power, every (n, power) simulated)."""
    n = start or _start(math.nan, pilot.n_items, drop)
    tried: dict[int, float] = {}

    def power(k: int) -> float:
        if k not in tried:
            tried[k] = simulated_power(pilot, k, replicates, drop, n_sims=n_sims, seed=seed)
        return tried[k]

    if power(n) >= target:
        while n > MIN_ITEMS and power(max(MIN_ITEMS, int(n / STEP))) >= target:
            n = max(MIN_ITEMS, int(n / STEP))
    else:
        while power(n) < target:
            if n >= MAX_ITEMS:
                return None, tried[n], sorted(tried.items())
            n = min(MAX_ITEMS, math.ceil(n * STEP))
    return n, tried[n], sorted(tried.items())


def power_plan(samples: pd.DataFrame, metrics: dict[str, str], detect: float, *, target: float = 0.8,
               n_sims: int = 100, seed: int = 0, replicates: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per (curve, replicates): items needed to detect a drop of `detect` (a share: 0.10 = 10 points)."""
    if not 0 < detect < 1:
        raise ValueError("detect is a drop in score share, between 0 and 1")
    controlled = samples[samples["budget"].astype(str) != NATURAL]
    rows: list[dict[str, Any]] = []
    for key, curve in controlled.groupby(KEYS, sort=False):
        base = dict(zip(KEYS, key), detect=detect, target_power=target)
        metric = metrics.get(key[0], "accuracy")
        pilot = Pilot(curve)
        pilot_test = trend_test(curve, metric)
        base.update(pilot_items=pilot.n_items, pilot_replicates=pilot.replicates,
                    pilot_detectable=pilot_test["detectable_change"])
        if metric == "rmse":
            rows.append(dict(base, note="RMSE curve: a drop in points does not apply; not planned"))
            continue
        if len(pilot.budgets) < 2 or pilot.n_items < 2:
            rows.append(dict(base, note=f"not enough data: the pilot has {pilot.n_items} scored items at "
                                        f"{len(pilot.budgets)} budgets"))
            continue
        options = sorted({1, 3, pilot.replicates}) if replicates is None else sorted(set(replicates))
        note = ""
        if pilot.repeats_itself:
            options, note = [1], "the pilot's replicates repeat themselves (greedy decoding): one replicate planned"
        start = _start(float(pilot_test["detectable_change"]), pilot.n_items, detect)
        for reps in options:
            # More replicates per item: start lower (they add information within items, less than new items).
            n, achieved, tried = items_needed(pilot, detect, reps, target=target, n_sims=n_sims, seed=seed,
                                              start=max(MIN_ITEMS, int(start * pilot.replicates / reps)))
            pilot_power = simulated_power(pilot, pilot.n_items, reps, detect, n_sims=n_sims, seed=seed)
            rows.append(dict(base, replicates=reps, items_needed=n, power_at_items=achieved,
                             samples_needed=None if n is None else n * reps * len(pilot.budgets),
                             power_at_pilot_items=pilot_power, simulated=len(tried) * n_sims,
                             note=note or ("" if n is not None else
                                           f"more than {MAX_ITEMS} items: the drop cannot be planted or detected "
                                           f"from this pilot's scores")))
    return pd.DataFrame(rows)


def plan_run(run_dir: str, detect_points: float, *, target: float = 0.8, n_sims: int = 100, seed: int = 0,
             replicates: Sequence[int] | None = None) -> pd.DataFrame:
    """power_plan for the curves of one run directory; `detect_points` in points (10 = a drop of 10 %)."""
    if not 0 < detect_points < 100:
        raise UserError(f"--detect {detect_points:g}: give the drop to detect in points, between 0 and 100")
    if not 0.5 <= target < 1:
        raise UserError(f"--power {target:g}: give a target power between 0.5 and 1 (e.g. 0.8)")
    if n_sims < 20:
        raise UserError(f"--sims {n_sims}: use at least 20 simulated sweeps per size")
    data = load_runs([run_dir])
    if data.samples.empty or (data.samples["budget"].astype(str) == NATURAL).all():
        raise UserError(f"{run_dir}: no budget sweep to plan from (a pilot needs at least two budgets)")
    return power_plan(data.samples, data.metrics(), detect_points / 100, target=target, n_sims=n_sims, seed=seed,
                      replicates=replicates)
