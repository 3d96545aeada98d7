"""Trend tests per curve: the calibrated test on what was assigned (the requested budget), its shape, and the
paper's rule beside it.

Primary test (a controlled sweep): a linear probability model of the score on x = log2(requested budget), with
"thinking off" (budget 0 / effort none) as its own indicator so that switching thinking on cannot drive the slope,
item fixed effects (within transformation) and CR2 (Bell-McCaffrey) cluster-robust errors by item with a t reference
on items - 1 df (analysis/within.py). In a balanced design this is the t-test on per-item slopes. The slope is
"points per doubling of the budget" (effort levels: per level); `change` is the fitted change from the smallest to
the largest thinking budget, the quantity the 2-point threshold and the equivalence test speak about. Where fewer
than PERM_BELOW items vary in score the t reference is doubtful (few informative clusters): the p-value then comes
from permuting the budgets within each (item, replicate) trace, and `p_method` says so.

Not answered counts (intention-to-treat): truncated and unparsed samples score 0 for accuracy-type metrics (the
paper's convention) - the budget assigned them that fate. Provider errors (status "error": failed requests, not
answers the model gave) are left out and counted (`n_errors`); they are retried on resume. RMSE tasks regress the
squared error; a sample not answered has no numeric error, so RMSE curves are complete cases, with the share not
answered reported (`not_answered_share`) and a setup warning when it differs between budgets. The complete-case
test (ok samples only) is reported beside the primary one (`complete_case_*`).

Words (analysis/verdicts.py): significant and worse -> "inverse" ("inverse, but smaller than 2 points" when the
fitted change is under the threshold); not significant -> "flat" only when the 90 % CI of the change lies within
+-2 points (two one-sided tests), else "no clear trend". Shape: an interior budget significantly above both the
smallest and the largest budget (intersection-union test, one-sided 5 % each, Bonferroni over interior budgets;
thinking off counts as the smallest) says "rises then falls" instead of a trend word. Across the curves of one call,
`verdict_table` adjusts the p-values (Holm, the family-wise gate; Benjamini-Hochberg q-values beside it) and the
verdict uses the Holm-adjusted ones. Fewer than MIN_VERDICT_ITEMS items: "too few items for a verdict: N". A curve
whose budgets did not move its lengths (the audit): "not identifiable". Measured length is a secondary, labelled
analysis (`length_*`): score on log2(1 + reasoning tokens) within each (item, replicate) trace - an association.
tests/test_calibration.py and bench/bench_calibration.py measure the false-positive rate and power of all this.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from ..core import EFFORT_ORDER, NATURAL
from . import verdicts as V
from .audit import control_columns, curve_rows
from .curve_rows import Rows
from .curves import group_rows, paper_rule
from .multiplicity import bh, holm
from .within import Fit, permutation_p, t_quantile, within_fit

MIN_VERDICT_ITEMS = 10  # fewer items: no verdict (clustered errors on a handful of clusters mean little)
PERM_BELOW = 30  # fewer items whose score varies: permutation p instead of the t reference
N_PERM = 999  # Monte Carlo SD of a p-value of 0.05: 0.007
ALPHA = 0.05
MARGIN = {"rmse": 0.05}  # practical threshold (RMSE units); accuracy-type metrics: 2 points
DEFAULT_MARGIN = 0.02
T80_DF_CAP = 1000


def margin_of(metric: str) -> float:
    return MARGIN.get(metric, DEFAULT_MARGIN)


def _worse_sign(metric: str) -> int:
    return 1 if metric == "rmse" else -1


def _budget_axis(budgets: np.ndarray) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(x, off, unit): x = log2(budget) (effort: level index), off = thinking switched off; None if unreadable.
    `budgets` is the budget as text; each distinct budget is read once."""
    codes, text = pd.factorize(budgets)
    axis = _axis_of(tuple(text))
    if axis is None:
        return None
    x, off, unit = axis
    return x[codes], off[codes], unit


@functools.lru_cache(maxsize=256)
def _axis_of(text: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, str] | None:
    """_budget_axis of distinct budget texts (the same few sets recur in every simulated sweep)."""
    text = np.asarray(text, dtype=object)
    if all(t in EFFORT_ORDER for t in text):
        x = np.array([EFFORT_ORDER.index(t) for t in text], dtype=float)
        return x, text == "none", "per effort level"
    values = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(float)
    if np.isnan(values).any() or (values < 0).any():
        return None
    off = values == 0
    return np.where(off, 0.0, np.log2(np.where(off, 1.0, values))), off, "per doubling of the budget"


def _shape_axis(x: np.ndarray, off: np.ndarray) -> np.ndarray:
    """The budget axis with thinking off one step (the median spacing of the others) below the smallest budget."""
    on = np.unique(x[~off])
    step = float(np.median(np.diff(on))) if len(on) >= 2 else 1.0
    low = float(on.min()) if len(on) else 0.0
    return np.where(off, low - step, x)


def _call(change: float, p: float, lo90: float, hi90: float, margin: float, worse_sign: int) -> str:
    """The trend word for a fitted change, its p-value and its 90 % CI."""
    if not math.isfinite(p):
        return V.NO_CLEAR
    if p < ALPHA:
        worse = change * worse_sign > 0
        small = abs(change) < margin
        if worse:
            return V.INVERSE_SMALL if small else V.INVERSE
        return V.POSITIVE_SMALL if small else V.POSITIVE
    if math.isfinite(lo90) and -margin < lo90 and hi90 < margin:
        return V.FLAT
    return V.NO_CLEAR


def _outcome(curve: Rows, metric: str, itt: bool) -> Rows:
    """The rows the test uses, with `y`: scored rows, plus not-answered rows as 0 under intention-to-treat."""
    ok = curve.status == "ok"
    scored = ok & ~np.isnan(curve.score)
    if itt and metric != "rmse":
        keep = scored | np.isin(curve.status, ("truncated", "unparsed"))
        return curve.take(keep, np.where(ok[keep], curve.score[keep], 0.0).astype(float))
    return curve.take(scored, curve.score[scored].astype(float))


def _fit_budget(rows: Rows, metric: str, *, permute: bool, seed: int,
                inverse_margin: float | None = None) -> dict[str, Any]:
    """The primary fit on requested budgets: slope, change over the thinking range, p, 90/95 % CIs.

    `inverse_margin` (calls_inverse): stop with a reason when the fitted change is not worse by at least this
    margin (no p-value can make such a curve inverse), and stop permuting once p < ALPHA is ruled out."""
    axis = _budget_axis(rows.budget)
    out: dict[str, Any] = {}
    if axis is None:
        return dict(reason="budgets are neither token counts nor effort levels")
    x, off, unit = axis
    on = np.unique(x[~off])
    if len(np.unique(_shape_axis(x, off))) < 2:
        return dict(reason="one budget: nothing to compare")
    y, items = rows.y, rows.items
    if len(on) >= 2:
        X = np.column_stack([x, off.astype(float)]) if off.any() else x[:, None]
        span, scale = float(on.max() - on.min()), unit
    else:  # one thinking budget and thinking off: the contrast on minus off
        X, span, scale = (~off).astype(float)[:, None], 1.0, "thinking on minus off"
    fit = within_fit(y, X, items, items)
    if fit is None:
        return dict(reason="no variation in the budget within items")
    c = np.zeros(X.shape[1])
    c[0] = span
    change, se, lo, hi, p = fit.contrast(c)
    _, _, lo90, hi90, _ = fit.contrast(c, level=0.90)
    if inverse_margin is not None and not (change * _worse_sign(metric) > 0 and abs(change) >= inverse_margin):
        return dict(reason="not inverse")
    informative = rows.informative()
    method = f"CR2 t ({fit.df} df)"
    if permute and informative < PERM_BELOW and se > 0:
        p = permutation_p(y, X, items, rows.traces, 0, n_perm=N_PERM, seed=seed,
                          stop_at=None if inverse_margin is None else ALPHA)
        method = f"within-trace permutation ({informative} items vary in score, fewer than {PERM_BELOW})"
    slope = change / span if len(on) >= 2 else math.nan
    out.update(slope=slope, slope_low=lo / span if len(on) >= 2 else math.nan,
               slope_high=hi / span if len(on) >= 2 else math.nan, change=change, change_low=lo, change_high=hi,
               change_low90=lo90, change_high90=hi90, p=p, p_method=method, df=fit.df, scale=scale,
               n_informative=informative, _fit=fit, _span=span, _x=x, _off=off, _se=se)
    return out


def _shape(rows: Rows, x: np.ndarray, off: np.ndarray) -> dict[str, Any]:
    """Rises then falls / falls then rises. For each interior budget k, an intersection-union test: k above (below)
    the smallest budget AND above (below) the largest, each one-sided 5 % on the item-fixed-effects budget means
    with CR2 errors; Bonferroni over the interior budgets. Its size is at most 5 % for every monotone curve, however
    concave (a quadratic's end slopes are not: it bends a plateau into a false peak)."""
    t = _shape_axis(x, off)
    levels = np.unique(t)
    if len(levels) < 3:
        return dict(shape=V.SHAPE_NA, shape_p=math.nan)
    index = np.searchsorted(levels, t)
    dummies = (index[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    fit = within_fit(rows.y, dummies, rows.items, rows.items)
    if fit is None:
        return dict(shape=V.SHAPE_NA, shape_p=math.nan)
    k_all = len(levels) - 1  # coefficients: level j (1..K-1) minus level 0
    best: tuple[float, str] = (math.inf, V.SHAPE_NONE)
    for k in range(1, k_all):
        vs_first = np.eye(k_all)[k - 1]
        vs_last = vs_first - np.eye(k_all)[k_all - 1]
        for kind, up in ((V.RISES_FALLS, True), (V.FALLS_RISES, False)):
            p = max(fit.one_sided_p(vs_first, greater=up), fit.one_sided_p(vs_last, greater=up))
            if math.isfinite(p) and p < best[0]:
                best = (p, kind)
    if not math.isfinite(best[0]):
        return dict(shape=V.SHAPE_NONE, shape_p=math.nan)
    shape_p = min(1.0, best[0] * (k_all - 1))
    return dict(shape=best[1] if shape_p < ALPHA else V.SHAPE_NONE, shape_p=shape_p)


def _length_secondary(rows: Rows) -> dict[str, Any]:
    """Score on log2(1 + measured reasoning tokens) within each (item, replicate) trace: an association."""
    rows = rows.take(~np.isnan(rows.tokens))
    out = dict(length_slope=math.nan, length_low=math.nan, length_high=math.nan, length_p=math.nan)
    if rows.n_items() < 2:
        return out
    x = np.log2(1.0 + rows.tokens)
    fit = within_fit(rows.y, x[:, None], rows.traces, rows.items)
    if fit is None:
        return out
    est, _, lo, hi, p = fit.contrast(np.array([1.0]))
    return dict(length_slope=est, length_low=lo, length_high=hi, length_p=p)


def _detectable(fit: Fit, se: float) -> float:
    return float((t_quantile(1 - ALPHA / 2, fit.df) + t_quantile(0.8, min(fit.df, T80_DF_CAP))) * se)


def _to_metric(change: float, metric: str, rows: Rows) -> float:
    """A change on the model's scale in the metric's units: RMSE tasks model squared error, and a change d(MSE)
    is about d(MSE) / (2 RMSE) in RMSE."""
    if metric != "rmse":
        return change
    return change / (2 * math.sqrt(max(rows.mean_y(), 1e-12)))


def _empty(curve: Rows, metric: str) -> dict[str, Any]:
    status = curve.status
    n_missed = int(np.isin(status, ("truncated", "unparsed")).sum())
    answered = int((status != "error").sum())
    return dict(
        trend=V.NOT_ENOUGH, basis="requested budget", slope=math.nan, slope_low=math.nan, slope_high=math.nan,
        change=math.nan, change_low=math.nan, change_high=math.nan, change_low90=math.nan, change_high90=math.nan,
        p=math.nan, p_method="-", df=math.nan, equivalence=False, margin=margin_of(metric),
        spearman=math.nan, spearman_p=math.nan, n_obs=0, n_clusters=0, n_informative=0,
        n_errors=int((status == "error").sum()), n_not_answered=n_missed,
        not_answered_share=n_missed / answered if answered else math.nan,
        detectable_change=math.nan, scale="-", uniform_score=math.nan, shape=V.SHAPE_NA, shape_p=math.nan,
        complete_case_trend=V.NOT_ENOUGH, complete_case_change=math.nan, complete_case_p=math.nan,
        length_slope=math.nan, length_low=math.nan, length_high=math.nan, length_p=math.nan, reason="",
    )


def _budget_test(curve: Rows, metric: str, spearman: bool, seed: int) -> dict[str, Any]:
    out = _empty(curve, metric)
    worse_sign = 1 if metric == "rmse" else -1
    rows = _outcome(curve, metric, itt=True)
    out.update(n_obs=rows.n, n_clusters=rows.n_items())
    if out["n_clusters"] < MIN_VERDICT_ITEMS:
        out.update(trend=V.TOO_FEW, reason=f"{out['n_clusters']} items")
        return out
    margin = margin_of(metric)
    if metric == "rmse":  # the threshold is in RMSE; the model is on squared error: d(MSE) ~ 2 RMSE d(RMSE)
        margin = 2 * math.sqrt(max(rows.mean_y(), 1e-12)) * margin
    out["margin"] = margin
    fitted = _fit_budget(rows, metric, permute=True, seed=seed)
    if "reason" in fitted:
        out.update(reason=fitted["reason"])
        return out
    if np.ptp(rows.y) == 0:
        out.update(trend=V.NO_CLEAR, uniform_score=float(rows.y[0]), change=0.0, p=1.0, p_method="-",
                   scale=fitted["scale"], slope=0.0 if math.isfinite(fitted["slope"]) else math.nan)
        return out
    out.update({k: v for k, v in fitted.items() if not k.startswith("_")})
    out["trend"] = _call(out["change"], out["p"], out["change_low90"], out["change_high90"], margin, worse_sign)
    out["equivalence"] = bool(-margin < out["change_low90"] and out["change_high90"] < margin)
    out["detectable_change"] = _to_metric(_detectable(fitted["_fit"], fitted["_se"]), metric, rows)
    out.update({k: v for k, v in _shape(rows, fitted["_x"], fitted["_off"]).items() if not k.startswith("_")})
    if out["shape"] in (V.RISES_FALLS, V.FALLS_RISES):
        out["trend"] = out["shape"]
    cc = _outcome(curve, metric, itt=False)
    if cc.n == rows.n:  # nothing was left unanswered: complete cases are the primary analysis
        out.update(complete_case_trend=out["trend"], complete_case_change=out["change"], complete_case_p=out["p"])
    elif metric == "rmse" or cc.n_items() < MIN_VERDICT_ITEMS:
        out.update(complete_case_trend=out["trend"] if metric == "rmse" else V.TOO_FEW,
                   complete_case_change=out["change"] if metric == "rmse" else math.nan,
                   complete_case_p=out["p"] if metric == "rmse" else math.nan)
    else:
        ccf = _fit_budget(cc, metric, permute=True, seed=seed)
        if "reason" not in ccf:
            out.update(complete_case_change=ccf["change"], complete_case_p=ccf["p"],
                       complete_case_trend=_call(ccf["change"], ccf["p"], ccf["change_low90"],
                                                 ccf["change_high90"], margin, worse_sign))
    if spearman:  # the cross-checks: measured length within traces, and Spearman
        if rows.tokens is not None:
            out.update(_length_secondary(rows))
        out.update(_spearman(rows, _shape_axis(fitted["_x"], fitted["_off"])))
    return out


def _spearman(rows: Rows, x: np.ndarray) -> dict[str, float]:
    """Spearman's rho of within-item-demeaned score and budget axis; p from the CR2 fit of ranks on ranks.
    Average ranks by pandas (scipy.stats.rankdata's, without importing scipy.stats into every run summary)."""
    items, y = rows.items, rows.y
    yw = y - pd.Series(y).groupby(items).transform("mean").to_numpy()
    xw = x - pd.Series(x).groupby(items).transform("mean").to_numpy()
    rx, ry = pd.Series(xw).rank().to_numpy(), pd.Series(yw).rank().to_numpy()
    if np.std(ry) == 0 or np.std(rx) == 0:
        return dict(spearman=math.nan, spearman_p=math.nan)
    rho = float(np.corrcoef(rx, ry)[0, 1])
    fit = within_fit(ry, rx[:, None], np.zeros(len(rx)), items)
    p = fit.contrast(np.array([1.0]))[4] if fit is not None else math.nan
    return dict(spearman=rho, spearman_p=p)


def _length_test(curve: Rows, metric: str) -> dict[str, Any]:
    """The same model on measured length (natural runs, or frames without a budget): an association."""
    out = _empty(curve, metric)
    out.update(basis="measured length", complete_case_trend="-")
    rows = _outcome(curve, metric, itt=False)
    rows = rows.take(~np.isnan(rows.tokens))
    out.update(n_obs=rows.n, n_clusters=rows.n_items())
    if out["n_clusters"] < MIN_VERDICT_ITEMS:
        out.update(trend=V.TOO_FEW, reason=f"{out['n_clusters']} items")
        return out
    items = rows.items
    x = np.log2(1.0 + rows.tokens)
    y = rows.y
    xw = x - pd.Series(x).groupby(items).transform("mean").to_numpy()
    if np.std(xw) < 1e-9:
        out["trend"] = V.NO_LENGTH_VARIATION
        return out
    if np.ptp(y) == 0:
        out.update(trend=V.NO_CLEAR, uniform_score=float(y[0]), slope=0.0, change=0.0, p=1.0)
        return out
    fit = within_fit(y, x[:, None], items, items)
    if fit is None:
        return out
    span = float(np.quantile(x, 0.95) - np.quantile(x, 0.05)) or float(np.ptp(x))
    margin = margin_of(metric) if metric != "rmse" else 2 * math.sqrt(max(rows.mean_y(), 1e-12)) * margin_of(metric)
    change, se, lo, hi, p = fit.contrast(np.array([span]))
    _, _, lo90, hi90, _ = fit.contrast(np.array([span]), level=0.90)
    out.update(slope=change / span, slope_low=lo / span, slope_high=hi / span, change=change, change_low=lo,
               change_high=hi, change_low90=lo90, change_high90=hi90, p=p, p_method=f"CR2 t ({fit.df} df)",
               df=fit.df, scale="per doubling of reasoning tokens", margin=margin,
               equivalence=bool(-margin < lo90 and hi90 < margin),
               detectable_change=_to_metric(_detectable(fit, se), metric, rows),
               trend=_call(change, p, lo90, hi90, margin, 1 if metric == "rmse" else -1))
    return out


def _test(curve: Rows, metric: str, spearman: bool, basis: str | None, seed: int) -> dict[str, Any]:
    """trend_test on a curve's arrays."""
    natural = curve.budget == NATURAL if curve.budget is not None else None
    if basis is None:
        basis = "budget" if natural is not None and not natural.all() else "length"
    if basis == "length":
        return _length_test(curve, metric)
    return _budget_test(curve.take(~natural), metric, spearman, seed)


def trend_test(samples: pd.DataFrame | Rows, metric: str = "accuracy", *, spearman: bool = True,
               basis: str | None = None, seed: int = 0) -> dict[str, Any]:
    """The trend test of one curve's samples (any statuses; a frame, or its curve_rows.Rows), as described in the
    module docstring.

    `basis`: "budget" (the primary, causal test on requested budgets), "length" (measured reasoning length: an
    association, for natural runs) or None: "budget" when the frame has a budget column with a budget other than
    natural, else "length". `trend` is the call for this curve alone (no adjustment for other curves);
    `spearman=False` skips the cross-checks (Spearman and the measured-length analysis; the power planner and the
    calibration simulate many sweeps and need only the call).
    """
    return _test(samples if isinstance(samples, Rows) else Rows(samples), metric, spearman, basis, seed)


def calls_inverse(samples: pd.DataFrame | Rows, metric: str = "accuracy", *, seed: int = 0) -> bool:
    """trend_test(samples, metric, spearman=False, seed=seed)["trend"] == "inverse", with only the work that can
    change that answer (the power planner asks it of thousands of simulated sweeps):

    - "inverse" needs a fitted change in the worse direction of at least the margin, and p < 5 %: a change short
      of that is not inverse whatever its p-value, so none is computed;
    - a permutation p-value stops permuting once its hits rule out p < 5 % (a curtailed Monte Carlo test, Besag &
      Clifford 1991): the same permutations in the same order, so the same call;
    - the bend test, which replaces the trend word, runs only for a curve called inverse; the complete-case
      analysis and the detectable change, which are not part of the call, never run.
    `samples`: a samples frame, or curve_rows.sweep_rows() of a simulated sweep. tests/test_calls_inverse.py checks
    it against trend_test."""
    curve = samples if isinstance(samples, Rows) else Rows(samples)
    natural = curve.budget == NATURAL if curve.budget is not None else None
    if natural is None or natural.all():  # a length-based test: no shortcut
        return _test(curve, metric, False, None, seed)["trend"] == V.INVERSE
    rows = _outcome(curve.take(~natural), metric, itt=True)
    if rows.n_items() < MIN_VERDICT_ITEMS:
        return False
    margin = margin_of(metric)
    if metric == "rmse":
        margin = 2 * math.sqrt(max(rows.mean_y(), 1e-12)) * margin
    fitted = _fit_budget(rows, metric, permute=True, seed=seed, inverse_margin=margin)
    if "reason" in fitted or not fitted["p"] < ALPHA or np.ptp(rows.y) == 0:
        return False
    return _shape(rows, fitted["_x"], fitted["_off"])["shape"] not in V.SHAPES


def adjusted_calls(table: pd.DataFrame) -> pd.DataFrame:
    """Holm and Benjamini-Hochberg across the curves that were tested; `verdict` from the Holm-adjusted p-values
    (trend) and shape p-values (shape, adjusted in their own family)."""
    # the calls from plain lists (a Series per row costs more than the call itself)
    columns = {c: table[c].tolist() for c in ("verdict", "metric", "change", "change_low90", "change_high90",
                                              "margin", "shape")}
    columns.update({c: table[c].to_numpy(dtype=float, na_value=np.nan) for c in ("p", "shape_p")})
    verdicts, adj, q, shape_adj, count = holm_calls(columns)
    table = table.assign(p_adj_holm=adj, q_bh=q, shape_p_adj_holm=shape_adj, n_curves_tested=count)
    if count.any():
        table["verdict"] = pd.Series(verdicts, index=table.index, dtype=table["verdict"].dtype)
    return table


def holm_calls(columns: dict[str, Any]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """adjusted_calls on a verdict table's columns (p and shape_p float arrays; verdict, metric, change,
    change_low90, change_high90, margin and shape lists): the verdicts, Holm-adjusted p, BH q, Holm-adjusted shape
    p and the number of curves tested. The calibration calls it without a DataFrame (calibration_verdicts.py)."""
    p, verdicts = columns["p"], list(columns["verdict"])
    tested = np.array([not V.missing(v) and verdict not in V.NO_CALL for v, verdict in zip(p, verdicts)], dtype=bool)
    n = len(verdicts)
    adj, q, shape_adj = np.full(n, math.nan), np.full(n, math.nan), np.full(n, math.nan)
    count = np.where(tested, int(tested.sum()), 0)
    if tested.any():
        idx = np.flatnonzero(tested)
        adj[idx], q[idx] = holm(p[idx]), bh(p[idx])
        sp = columns["shape_p"][idx]
        ok = np.isfinite(sp)
        if ok.any():
            shape_adj[idx[ok]] = holm(sp[ok])
        metric, change, lo90, hi90, margin, shape = (columns[c] for c in (
            "metric", "change", "change_low90", "change_high90", "margin", "shape"))
        for i in idx:
            verdict = _call(change[i], float(adj[i]), lo90[i], hi90[i], margin[i], 1 if metric[i] == "rmse" else -1)
            if not V.missing(shape_adj[i]) and shape_adj[i] < ALPHA and shape[i] in V.SHAPES:
                verdict = shape[i]
            verdicts[i] = verdict
    return verdicts, adj, q, shape_adj, count


def _curves(scores: pd.DataFrame, keys: list[str]) -> list[tuple[tuple, np.ndarray, dict[str, Any]]]:
    """(key, row positions, columns) of each curve of a score table, in the order and with the keys of
    scores.groupby(keys, sort=False); the columns are read once for all curves (numpy arrays; budget a list,
    keeping its values' types) instead of a frame per curve."""
    names = [c for c in ("mean_reasoning_tokens", "n_items", "n_items_scored", "n_scored") if c in scores]
    col: dict[str, Any] = {c: scores[c].to_numpy() for c in names}
    col.update({c: scores[c].to_numpy(float, na_value=np.nan) for c in ("score", "ci_low", "ci_high")},
               budget=scores["budget"].tolist())
    return [(key, at, col) for key, at in group_rows(scores, keys).items()]


def verdict_table(samples: pd.DataFrame, scores: pd.DataFrame, metrics: dict[str, str],
                  keys: tuple[str, ...] = ("task", "model", "mechanism"),
                  audit: pd.DataFrame | None = None, *, cross_checks: bool = True) -> pd.DataFrame:
    """One row per curve: the primary test, its shape, the complete-case and measured-length analyses, the paper's
    rule, and the verdict (Holm-adjusted across the curves of this call).

    `verdict` is the curve's call in the shared vocabulary (analysis/verdicts.py), `verdict_words` its plain
    words and `verdict_detail` the one-line reason. With the enforcement `audit` (analysis/audit.py), a curve whose
    budgets did not move its lengths is "not identifiable" and leaves the family of tested curves.
    """
    rows = []
    numeric = scores[scores["budget"].astype(str) != NATURAL]
    arrays = Rows(samples)
    positions = group_rows(samples, list(keys))  # each curve's rows, read from `arrays`
    for key, at, col in _curves(numeric, list(keys)):  # each curve's score rows, from columns read once
        metric = metrics.get(key[0], "accuracy")
        items_scored = [col["n_items_scored"][i] for i in at] if "n_items_scored" in col else None
        verdict, delta = paper_rule(col["score"][at], col["ci_low"][at], col["ci_high"][at], items_scored, metric)
        first, last = at[0], at[-1]
        row = dict(zip(keys, key), metric=metric, paper_verdict=verdict, paper_delta=delta,
                   first_budget=col["budget"][first], last_budget=col["budget"][last],
                   first_score=col["score"][first], last_score=col["score"][last],
                   first_tokens=col["mean_reasoning_tokens"][first], last_tokens=col["mean_reasoning_tokens"][last],
                   n_items=int(col["n_items"][at].max()))
        # the first row with the fewest scored items (idxmin)
        thin = at[int(np.nanargmin(np.asarray(items_scored, float)))] if items_scored is not None else first
        row.update(min_scored=int(col["n_scored"][thin]) if "n_scored" in col else 0,
                   min_scored_budget=col["budget"][thin],
                   min_scored_items=int(col["n_items_scored"][thin]) if "n_items_scored" in col else 0,
                   items_needed=MIN_VERDICT_ITEMS)
        row.update(_test(arrays.take(positions[key]), metric, cross_checks, "budget", 0))
        row["verdict"] = row["trend"]
        if audit is not None:
            row.update(control_columns(curve_rows(audit, dict(zip(keys, key))), row["paper_verdict"]))
            if not row["control_active"]:
                row["verdict_basis"] = "none: the budget control was inactive, so the effect is not identifiable"
                row["verdict"] = V.NOT_IDENTIFIABLE
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = adjusted_calls(table)
    table["verdict_words"] = [V.words(v, m) for v, m in zip(table["verdict"], table["metric"])]
    columns = table.to_dict("list")  # records from the columns: DataFrame.to_dict("records") boxes cell by cell
    table["verdict_detail"] = [V.detail(dict(zip(columns, values))) for values in zip(*columns.values())]
    return table
