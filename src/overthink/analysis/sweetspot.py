"""Sweet spot per curve: the best budget, the change point after it, and a recommended budget.

All comparisons are paired: the same bootstrap resample of items is applied to every budget, because the same items
are asked at every budget (comparing two independent CIs would waste that pairing).

- peak: the budget with the best point score.
- change point: the smallest budget above the peak whose score is significantly worse than the peak's. The peak is
  itself picked as the best of several noisy scores, so a fixed-peak interval ("the CI of the difference excludes
  0") is biased: it named a change point in 14-20 % of flat curves. The comparison is corrected for that pick with a
  max statistic: c = the 95th percentile, over resamples, of the largest centred difference between any two
  budgets, max_j,k [(s*_k - s*_j) - (s_k - s_j)]; a budget is significantly worse than the peak when the peak's
  score exceeds its own by more than c. Whichever budget turns out best, a flat curve then names a change point in
  at most about 5 % of datasets (measured in docs/report.md, "Sweet spot and change point").
- recommended: the cheapest budget not significantly worse than the peak (same c); `sureness` is the share of
  bootstrap resamples in which it is within the practical threshold (2 points; RMSE 0.05) of that resample's best
  budget - the best is re-picked in every resample.

This is an item bootstrap of means, not a model fit, so a budget at 0 % or 100 % (where a logistic fit separates and
its errors are NaN) is handled like any other: `method` says what was computed. A resample in which a budget has no
scored sample leaves that budget out of that resample only. Sureness is only put in words when the data can carry
it: with fewer than MIN_ITEMS items, or when every scored sample got the same score (all 0 %, say), every resample
agrees trivially, so the words are "not enough data" or "no difference" instead of "confident".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core import budget_sort_key
from . import verdicts as V
from .curves import MIN_ITEMS, N_BOOT, boot_weights

KEYS = ["task", "model", "mechanism"]


def _matrices(curve: pd.DataFrame, budgets: list) -> tuple[np.ndarray, np.ndarray]:
    ok = curve[curve["status"] == "ok"]
    agg = ok.groupby(["item_id", "budget"])["score"].agg(["sum", "count"]).unstack("budget")
    sums = agg["sum"].reindex(columns=budgets).fillna(0).to_numpy(float)
    counts = agg["count"].reindex(columns=budgets).fillna(0).to_numpy(float)
    return sums, counts


METHOD = "paired item bootstrap of means, max-statistic correction for the picked peak"


def max_difference(boots: np.ndarray, point: np.ndarray, level: float = 0.95) -> float:
    """The `level` quantile over resamples of the largest centred difference between two budgets.

    Row r: max_k d_rk - min_j d_rj with d = boots - point (budgets missing from a resample are skipped). Every
    difference s_k - s_j is then within c of its truth in `level` of resamples at once, the peak's included."""
    d = boots - point[None, :]
    spread = np.nanmax(d, axis=1) - np.nanmin(d, axis=1)
    return float(np.quantile(spread, level)) if len(spread) else math.inf


def sureness_words(p: float) -> str:
    if not math.isfinite(p):
        return V.NOT_ENOUGH
    return "confident" if p >= 0.9 else "fairly sure" if p >= 0.7 else "unsure"


def _resampled_means(sums: np.ndarray, counts: np.ndarray, weights: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """(w @ sums) / (w @ counts) per block of weights. With whole-number sums (0/1 scores) sums and counts go
    through one matrix product, which reads the weights (resamples x items) once instead of twice: every partial
    sum is then a whole number below 2**53, so the result is bitwise the same in any summation order."""
    if np.array_equal(sums, np.round(sums)):
        both = np.hstack([sums, counts])
        k = sums.shape[1]
        return [(lambda m: m[:, :k] / m[:, k:])(w @ both) for w in weights]
    return [(w @ sums) / (w @ counts) for w in weights]


def sweet_spot(curve: pd.DataFrame, metric: str = "accuracy", *, n_boot: int = N_BOOT,
               seed: int = 0) -> dict:
    """Peak, change point and recommendation for the samples of one curve (numeric or effort budgets)."""
    budgets = sorted(curve["budget"].unique(), key=budget_sort_key)
    out = dict(peak_budget=None, peak_score=math.nan, p_peak_best=math.nan, change_point=None,
               change_point_score=math.nan, recommended_budget=None, recommended_score=math.nan,
               sureness=math.nan, sureness_words=V.NOT_ENOUGH, n_budgets=len(budgets), n_items=0,
               uniform_score=math.nan, critical_difference=math.nan, method=METHOD)
    if len(budgets) < 2 or not (curve["status"] == "ok").any():
        return out
    sums, counts = _matrices(curve, budgets)
    scored = counts.sum(axis=0) > 0  # a budget with no scored sample (all unparsed, say) cannot be compared: skip it
    budgets, sums, counts = [b for b, k in zip(budgets, scored) if k], sums[:, scored], counts[:, scored]
    n_items = out["n_items"] = len(sums)
    if n_items < MIN_ITEMS or len(budgets) < 2:
        return out
    scores = curve.loc[curve["status"] == "ok", "score"].to_numpy(float)
    if np.ptp(scores) == 0:  # every budget scored the same: the cheapest is as good as any, nothing to be sure of
        same = float(np.sqrt(scores[0])) if metric == "rmse" else float(scores[0])
        out.update(peak_budget=budgets[0], peak_score=same, recommended_budget=budgets[0], recommended_score=same,
                   sureness_words="no difference", uniform_score=same)
        return out
    rmse = metric == "rmse"

    def finish(mean: np.ndarray) -> np.ndarray:  # "higher is better" scale
        return -np.sqrt(mean) if rmse else mean

    with np.errstate(invalid="ignore", divide="ignore"):
        point = finish(sums.sum(0) / counts.sum(0))
        boots = np.concatenate([finish(ratio)  # n_boot x n_budgets; NaN: no scored sample
                                for ratio in _resampled_means(sums, counts, boot_weights(n_items, n_boot, seed))])
    boots = boots[np.isfinite(boots).sum(axis=1) >= 2]
    peak = int(np.nanargmax(point))
    c = max_difference(boots, point)
    worse = point[peak] - point > c
    threshold = 0.05 if rmse else 0.02
    near_best = boots >= np.nanmax(boots, axis=1, keepdims=True) - threshold
    rec = next(i for i in range(len(budgets)) if not worse[i])
    change = next((i for i in range(peak + 1, len(budgets)) if worse[i]), None)
    sign = -1 if rmse else 1  # report scores in their own units
    has_rec = np.isfinite(boots[:, rec])
    out.update(
        peak_budget=budgets[peak], peak_score=sign * point[peak],
        p_peak_best=float(np.mean(np.nanargmax(boots, axis=1) == peak)),
        change_point=None if change is None else budgets[change],
        change_point_score=math.nan if change is None else sign * point[change],
        recommended_budget=budgets[rec], recommended_score=sign * point[rec],
        sureness=float(near_best[has_rec, rec].mean()) if has_rec.any() else math.nan,
        critical_difference=float(c), method=METHOD,
    )
    out["sureness_words"] = sureness_words(out["sureness"])
    return out


def sweet_spot_table(samples: pd.DataFrame, metrics: dict[str, str], *, n_boot: int = N_BOOT) -> pd.DataFrame:
    # only the columns a curve uses: splitting a million samples into curves copies what it is given
    used = [c for c in (*KEYS, "item_id", "budget", "status", "score") if c in samples]
    controlled = samples.loc[(samples["budget"].astype(str) != "natural").to_numpy(bool), used]
    rows = []
    for key, curve in controlled.groupby(KEYS, sort=False):
        metric = metrics.get(key[0], "accuracy")
        rows.append(dict(zip(KEYS, key), metric=metric, **sweet_spot(curve, metric, n_boot=n_boot)))
    return pd.DataFrame(rows)
