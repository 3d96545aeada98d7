"""Trend tests per curve: the paper's rule and a calibrated regression test.

The regression: correctness (logit; squared error for RMSE tasks, OLS) on x = log2(1 + reasoning tokens), with the
item mean of x as a second regressor (Mundlak's device: the coefficient on x is then the *within-item* effect, as
with item fixed effects, so item difficulty cannot masquerade as a length effect) and standard errors clustered by
item (replicates of an item are correlated). Spearman's rho on within-item-demeaned values is the cross-check; its
p-value comes from the same clustered regression on ranks, so it does not overstate the sample size either.

The slope is "per doubling of reasoning tokens". The call is two-sided at 5 %: "inverse" when the score gets
significantly worse with length, "positive" when it gets better, "no trend" otherwise. tests/test_analysis_calibration
checks on simulated data that the inverse call rate under no effect stays at or below about 5 % and that the power
the report states (`detectable_change`) matches simulation.
"""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist

import numpy as np
import pandas as pd

from . import verdicts as V
from .audit import control_columns, curve_rows
from .curves import MIN_ITEMS, paper_verdict  # MIN_ITEMS: fewer clusters and clustered errors mean nothing

# stdlib normal quantiles and tails: scipy.stats (~0.5 s to import) is loaded only when a test is fitted
Z95 = NormalDist().inv_cdf(0.975)
Z80 = NormalDist().inv_cdf(0.80)


def _two_sided_p(z: float) -> float:
    """2 * P(Z > |z|) for a standard normal, accurate in the far tail (erfc, not 1 - cdf)."""
    return math.erfc(abs(z) / math.sqrt(2))


def _design(x: np.ndarray, items: np.ndarray) -> np.ndarray:
    xbar = pd.Series(x).groupby(items).transform("mean").to_numpy()
    cols = [np.ones_like(x), x]
    # In a controlled sweep every item sees the same budgets, so xbar is (nearly) constant: drop it then.
    if np.std(xbar) > 1e-6 * max(1.0, np.std(x)):
        cols.append(xbar)
    return np.column_stack(cols)


def _fit(y: np.ndarray, X: np.ndarray, groups: np.ndarray, logit: bool):
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if logit:
            model = sm.GLM(y, X, family=sm.families.Binomial())
        else:
            model = sm.OLS(y, X)
        return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def trend_test(samples: pd.DataFrame, metric: str = "accuracy", *,
               spearman: bool = True) -> dict[str, float | str | int]:
    """Slope of score on log2(1 + reasoning tokens) within items, with a clustered 95 % CI, and Spearman.

    `samples` are the rows of one curve (any statuses; only `ok` rows with a token count are used).
    `worse` is +1 when a positive slope means a worse score (RMSE) and -1 otherwise. `spearman=False` skips the
    cross-check (the power planner simulates many sweeps and needs only the call).
    """
    ok = samples[(samples["status"] == "ok") & samples["reasoning_tokens"].notna() & samples["score"].notna()]
    out: dict[str, float | str | int] = dict(
        trend=V.NOT_ENOUGH, slope=math.nan, slope_low=math.nan, slope_high=math.nan, p=math.nan,
        spearman=math.nan, spearman_p=math.nan, n_obs=len(ok), n_clusters=int(ok["item_id"].nunique()),
        detectable_change=math.nan, scale="log-odds" if metric != "rmse" else "squared error",
        uniform_score=math.nan,
    )
    if out["n_clusters"] < MIN_ITEMS:
        return out
    x = np.log2(1.0 + ok["reasoning_tokens"].to_numpy(float))
    y = ok["score"].to_numpy(float)
    groups = pd.factorize(ok["item_id"])[0]
    xw = x - pd.Series(x).groupby(groups).transform("mean").to_numpy()
    if np.std(xw) < 1e-9:
        out["trend"] = V.NO_LENGTH_VARIATION
        return out
    logit = metric != "rmse"
    if np.ptp(y) == 0:
        # Every answer scored the same: nothing changes with length. Power is unknown; say so rather than guess.
        out.update(trend=V.NO_TREND, slope=0.0, p=1.0, uniform_score=float(y[0]))
        return out
    res = _fit(y, _design(x, groups), groups, logit)
    slope, se = float(res.params[1]), float(res.bse[1])
    if not (math.isfinite(slope) and math.isfinite(se)) or se == 0:
        return out
    p = _two_sided_p(slope / se)
    worse_sign = 1 if metric == "rmse" else -1
    trend = V.NO_TREND
    if p < 0.05:
        trend = V.INVERSE if slope * worse_sign > 0 else V.POSITIVE
    span = float(np.quantile(x, 0.95) - np.quantile(x, 0.05)) or float(np.ptp(x))
    # Smallest change between short and long reasoning that this design detects with 80 % power (two-sided 5 %):
    # the slope (Z95 + Z80) * SE, carried over the observed length range (logit: linearised at the mean score).
    # RMSE tasks regress squared error: a change d(MSE) is a change of about d(MSE) / (2 RMSE) in RMSE.
    scale = float(np.mean(y) * (1 - np.mean(y))) if logit else 1.0 / (2 * math.sqrt(max(np.mean(y), 1e-12)))
    detectable = (Z95 + Z80) * se * span * scale
    if logit and detectable >= 1.0:  # the linearisation breaks down (e.g. a score pinned at 0 or 1): no claim
        detectable = math.nan
    out.update(trend=trend, slope=slope, slope_low=slope - Z95 * se, slope_high=slope + Z95 * se, p=p,
               detectable_change=float(detectable))
    if not spearman:
        return out
    # Spearman on within-item-demeaned values; p from the clustered regression of ranks on ranks.
    yw = y - pd.Series(y).groupby(groups).transform("mean").to_numpy()
    from scipy.stats import rankdata  # here, beside statsmodels: a summary without a fitted test skips both

    rx, ry = rankdata(xw), rankdata(yw)
    rho = float(np.corrcoef(rx, ry)[0, 1]) if np.std(ry) > 0 else math.nan
    rank_p = math.nan
    if math.isfinite(rho):
        rank_res = _fit(ry, np.column_stack([np.ones_like(rx), rx]), groups, logit=False)
        rank_p = _two_sided_p(rank_res.params[1] / rank_res.bse[1])
    out.update(spearman=rho, spearman_p=rank_p)
    return out


def verdict_table(samples: pd.DataFrame, scores: pd.DataFrame, metrics: dict[str, str],
                  keys: tuple[str, ...] = ("task", "model", "mechanism"),
                  audit: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per curve: the paper's rule between the extreme budgets, the regression test, and the verdict.

    `verdict` is the curve's call in the shared vocabulary (analysis/verdicts.py), `verdict_words` its plain
    words and `verdict_detail` the one-line reason; `min_scored*` name the budget with the fewest scored items.
    With the enforcement `audit` (analysis/audit.py), a curve whose budgets did not control its lengths keeps only
    the regression on measured lengths; the paper's rule, which compares requested budgets, is withdrawn.
    """
    rows = []
    numeric = scores[scores["budget"].astype(str) != "natural"]
    grouped = dict(iter(samples.groupby(list(keys), sort=False)))
    for key, curve in numeric.groupby(list(keys), sort=False):
        metric = metrics.get(key[0], "accuracy")
        verdict, delta = paper_verdict(curve, metric)
        first, last = curve.iloc[0], curve.iloc[-1]
        row = dict(zip(keys, key), metric=metric, paper_verdict=verdict, paper_delta=delta,
                   first_budget=first["budget"], last_budget=last["budget"], first_score=first["score"],
                   last_score=last["score"], first_tokens=first["mean_reasoning_tokens"],
                   last_tokens=last["mean_reasoning_tokens"], n_items=int(curve["n_items"].max()))
        thin = curve.loc[curve["n_items_scored"].idxmin()] if "n_items_scored" in curve else first
        row.update(min_scored=int(thin.get("n_scored", 0)), min_scored_budget=thin["budget"],
                   min_scored_items=int(thin.get("n_items_scored", 0)), items_needed=MIN_ITEMS)
        sub = grouped[key]
        row.update(trend_test(sub[sub["budget"].astype(str) != "natural"], metric))
        row["verdict"] = V.curve_verdict(str(row["trend"]), verdict)
        row["verdict_words"] = V.words(row["verdict"])
        row["verdict_detail"] = V.detail(row)
        if audit is not None:
            row.update(control_columns(curve_rows(audit, dict(zip(keys, key))), row["paper_verdict"]))
        rows.append(row)
    return pd.DataFrame(rows)
