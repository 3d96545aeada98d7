"""Scaling curves: score per (task, model, mechanism, budget) with 95 % CIs.

Proportions (accuracy, matching behaviour) get a Wilson score interval per budget, which stays honest at the
boundaries (0 of 20 correct is [0 %, 16.1 %], not [0, 0]). Replicates of one item are correlated, so the Wilson
interval uses the effective sample size of the item clustering: n_eff = p(1 - p) / v, where v is the item-clustered
variance of the score (Kish's design effect), kept between the number of items and the number of scored samples
(at p = 0 or 1, where v says nothing, n_eff = the number of items). RMSE has no such interval: it keeps the
percentile bootstrap over items (an item's replicates move together). Only `ok` samples are scored; errors,
truncations and unparsed answers are counted beside the score, never folded into it. The x-axis of a curve is the
measured mean reasoning length, not the requested budget.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from ..core import budget_sort_key

GROUP = ("task", "model", "mechanism", "budget")
N_BOOT = 1000


BLOCK = 4_000_000  # resampled indices held in memory at once


@functools.lru_cache(maxsize=4)
def boot_weights(n_items: int, n_boot: int = N_BOOT, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Bootstrap weights over items in blocks: float arrays (rows = resamples) of how often each item is drawn.

    Drawing indices and counting them with bincount is much faster than rng.multinomial for many items, and float
    weights let the sums below run as BLAS matrix products. The weights depend only on (n_items, n_boot, seed), so
    the curves of one report, which share their items, reuse them (cached; read-only).
    """
    rng = np.random.default_rng(seed)
    per_block = max(1, BLOCK // max(n_items, 1))
    blocks, done = [], 0
    while done < n_boot:
        k = min(per_block, n_boot - done)
        idx = rng.integers(0, n_items, size=(k, n_items)) + (np.arange(k) * n_items)[:, None]
        block = np.bincount(idx.ravel(), minlength=k * n_items).reshape(k, n_items).astype(float)
        block.flags.writeable = False
        blocks.append(block)
        done += k
    return tuple(blocks)


def item_bootstrap(sums: np.ndarray, counts: np.ndarray, *, rmse: bool = False, n_boot: int = N_BOOT,
                   seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """Point estimate and percentile CI of sum(sums)/sum(counts) (sqrt of it for RMSE), resampling items."""
    total = counts.sum()
    if total == 0:
        return (math.nan, math.nan, math.nan)
    point = sums.sum() / total
    if len(sums) < 2:
        value = math.sqrt(point) if rmse else point
        return (value, math.nan, math.nan)
    both = np.column_stack([sums, counts]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = np.concatenate([(lambda m: m[:, 0] / m[:, 1])(w @ both)
                                for w in boot_weights(len(sums), n_boot, seed)])
    boots = boots[np.isfinite(boots)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha])
    if rmse:
        return (math.sqrt(point), math.sqrt(lo), math.sqrt(hi))
    return (float(point), float(lo), float(hi))


def item_bootstrap_many(sums: np.ndarray, counts: np.ndarray, *, n_boot: int = N_BOOT, seed: int = 0,
                        level: float = 0.95) -> np.ndarray:
    """item_bootstrap for several ratios over the same items at once: `sums` and `counts` are (items, m); returns
    an (m, 3) array of point, low, high. One pass over the bootstrap weights for all m ratios: the weights are the
    large operand (resamples x items), so a cell's CIs cost one matrix product instead of m."""
    sums, counts = np.asarray(sums, float), np.asarray(counts, float)
    m = sums.shape[1]
    out = np.full((m, 3), np.nan)
    total = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 0] = np.where(total == 0, np.nan, sums.sum(axis=0) / np.where(total == 0, 1.0, total))
    if len(sums) < 2:
        return out
    both = np.hstack([sums, counts])
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = np.vstack([(lambda b: b[:, :m] / b[:, m:])(w @ both) for w in boot_weights(len(sums), n_boot, seed)])
    alpha = (1 - level) / 2
    for j in range(m):
        if total[j] == 0:
            continue
        col = boots[:, j]
        col = col[np.isfinite(col)]
        if len(col):
            out[j, 1:] = np.quantile(col, [alpha, 1 - alpha])
    return out


def wilson_interval(sums: np.ndarray, counts: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Point estimate and Wilson score interval of sum(sums)/sum(counts), with the item-clustered effective n.

    `sums` and `counts` are per item (score sum and number of scored samples). See the module docstring.
    """
    total, k = float(counts.sum()), int((counts > 0).sum())
    if total == 0:
        return (math.nan, math.nan, math.nan)
    p = float(sums.sum() / total)
    n_eff = float(k)
    if 0 < p < 1 and k >= 2:
        v = k / (k - 1) * float(((sums - p * counts) ** 2).sum()) / total ** 2
        n_eff = min(total, max(float(k), p * (1 - p) / v)) if v > 0 else total
    z = NormalDist().inv_cdf(0.5 + level / 2)  # the stdlib quantile: scipy.stats costs ~0.5 s to import
    denom = 1 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff))
    return (p, max(0.0, centre - half), min(1.0, centre + half))


def score_table(df: pd.DataFrame, metrics: dict[str, str] | None = None, *, by: Sequence[str] = GROUP,
                n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """One row per group: n, score with CI, reasoning-length stats and the status counts.

    `metrics` maps task name -> metric ("accuracy", "rmse", "matching_behavior"); default accuracy.
    """
    metrics = metrics or {}
    rows = []
    for key, g in df.groupby(list(by), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        metric = metrics.get(row.get("task", ""), "accuracy")
        status = g["status"]
        scored = g[status == "ok"]
        per_item = scored.groupby("item_id")["score"].agg(["sum", "count"])
        sums, counts = per_item["sum"].to_numpy(float), per_item["count"].to_numpy(float)
        if metric == "rmse":
            point, lo, hi = item_bootstrap(sums, counts, rmse=True, n_boot=n_boot, seed=seed)
        else:
            point, lo, hi = wilson_interval(sums, counts)
        answered = g[status != "error"]["reasoning_tokens"].dropna()
        row.update(
            metric=metric, n=len(g), n_scored=len(scored), n_items=g["item_id"].nunique(),
            n_items_scored=len(per_item),
            score=point, ci_low=lo, ci_high=hi, ci_method="bootstrap" if metric == "rmse" else "wilson",
            mean_reasoning_tokens=float(answered.mean()) if len(answered) else math.nan,
            median_reasoning_tokens=float(answered.median()) if len(answered) else math.nan,
            errors=int((status == "error").sum()), truncated=int((status == "truncated").sum()),
            unparsed=int((status == "unparsed").sum()),
        )
        if metric == "rmse":
            row["mae"] = float(np.sqrt(scored["score"]).mean()) if len(scored) else math.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out) and "budget" in out:
        out["_order"] = out["budget"].map(budget_sort_key)
        out = out.sort_values([c for c in by if c != "budget"] + ["_order"]).drop(columns="_order")
    return out.reset_index(drop=True)


MIN_ITEMS = 5  # fewer items than this at an extreme budget and neither test makes a call


def paper_verdict(curve: pd.DataFrame, metric: str = "accuracy") -> tuple[str, float]:
    """The paper's rule between the extremes of one curve (rows ordered by budget).

    inverse / positive: the score moves by more than 2 points (RMSE: 0.05) with non-overlapping 95 % CIs;
    flat: below the threshold; noisy: above it with overlapping CIs; "not enough data" with fewer than MIN_ITEMS
    scored items at an extreme budget. Returns (verdict, change in score units). For RMSE "inverse" means the
    error grows.
    """
    curve = curve.dropna(subset=["score"])
    if len(curve) < 2:
        return ("not enough data", math.nan)
    first, last = curve.iloc[0], curve.iloc[-1]
    delta = float(last["score"] - first["score"])
    if "n_items_scored" in curve and min(first["n_items_scored"], last["n_items_scored"]) < MIN_ITEMS:
        return ("not enough data", delta)
    threshold = 0.05 if metric == "rmse" else 0.02
    if abs(delta) <= threshold:
        return ("flat", delta)
    overlap = not (last["ci_low"] > first["ci_high"] or last["ci_high"] < first["ci_low"])
    if overlap or any(math.isnan(v) for v in (first["ci_low"], last["ci_low"])):
        return ("noisy", delta)
    worse = delta > 0 if metric == "rmse" else delta < 0
    return ("inverse" if worse else "positive", delta)
