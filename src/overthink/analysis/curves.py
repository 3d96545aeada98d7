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
from collections.abc import Callable, Sequence
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
    point, lo, hi = item_bootstrap_many(np.asarray(sums, float)[:, None], np.asarray(counts, float)[:, None],
                                        n_boot=n_boot, seed=seed, level=level)[0]
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


def _wilson(p: np.ndarray, total: np.ndarray, k: np.ndarray, dev: np.ndarray,
            level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson bounds for arrays of curves: p, scored samples, items with a score, sum over items of
    (sum - p count)^2. The operations are wilson_interval's, in its order (the same floats)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        v = k / (k - 1) * dev / total ** 2
        clustered = np.where(v > 0, np.minimum(total, np.maximum(k, p * (1 - p) / v)), total)
        n_eff = np.where((0 < p) & (p < 1) & (k >= 2), clustered, k)
        z = NormalDist().inv_cdf(0.5 + level / 2)  # the stdlib quantile: scipy.stats costs ~0.5 s to import
        denom = 1 + z * z / n_eff
        centre = (p + z * z / (2 * n_eff)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff))
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def wilson_interval(sums: np.ndarray, counts: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Point estimate and Wilson score interval of sum(sums)/sum(counts), with the item-clustered effective n.

    `sums` and `counts` are per item (score sum and number of scored samples). See the module docstring.
    """
    sums, counts = np.asarray(sums, float), np.asarray(counts, float)
    total, k = float(counts.sum()), float((counts > 0).sum())
    if total == 0:
        return (math.nan, math.nan, math.nan)
    p = float(sums.sum() / total)
    dev = float(((sums - p * counts) ** 2).sum())
    lo, hi = _wilson(np.array([p]), np.array([total]), np.array([k]), np.array([dev]), level)
    return (p, float(lo[0]), float(hi[0]))


def group_codes(df: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, list[tuple]]:
    """Each row's group number in order of first appearance and each group's key: what
    df.groupby(by, sort=False, dropna=False) numbers and iterates (without building its index)."""
    codes = np.zeros(len(df), np.int64)
    columns = []
    for col in by:
        col_codes, uniques = pd.factorize(df[col], use_na_sentinel=False)
        columns.append((col_codes, uniques))
        codes = pd.factorize(codes * len(uniques) + col_codes)[0]  # dense after each column: no overflow
    # codes number the groups in order of first appearance: a group's first row is where the running max grows
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0) if len(codes) else codes
    keys = list(zip(*[uniques.take(col_codes[first]).tolist() for col_codes, uniques in columns])) if by else []
    return codes, keys


def group_rows(df: pd.DataFrame, by: list[str]) -> dict[tuple, np.ndarray]:
    """df.groupby(by, sort=False).indices without building its index: each group's row positions, groups in order
    of first appearance, a group with a missing key left out (groupby's default dropna)."""
    codes, keys = group_codes(df, by)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    return {key: order[a:b] for key, a, b in zip(keys, starts[:-1], starts[1:])
            if not any(pd.isna(v) for v in key)}


def _status_flags(status: pd.Series) -> Callable[[str], np.ndarray]:
    """value -> status == value as a numpy bool array (one factorize; a missing status matches nothing)."""
    codes, uniques = pd.factorize(status)
    index = {value: i for i, value in enumerate(uniques)}
    return lambda value: codes == index.get(value, -2)


def _slice_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """values[starts[i]:starts[i + 1]].sum() for each i (one numpy sum per group, never per row)."""
    return np.array([values[a:b].sum() for a, b in zip(starts[:-1], starts[1:])], dtype=float)


def item_wilson(sums: np.ndarray, counts: np.ndarray, item_group: np.ndarray,
                n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each group's score and Wilson CI (score_table's) from its items' score sums and scored counts: `item_group`
    is each item's group, ascending (a group's items in the order of their ids). Returns p, low, high (NaN for a
    group with nothing scored) and each group's start in the item arrays. The calibration calls it on per-item sums
    of its own (calibration_verdicts.py)."""
    item_start = np.searchsorted(item_group, np.arange(n_groups + 1))
    # Sums over a group's items are numpy sums of its slice, as the loop took them (pairwise summation: the same
    # floats); bincount would add in another order and move the last bits.
    total = np.bincount(item_group, weights=counts, minlength=n_groups)
    k = np.bincount(item_group, weights=(counts > 0).astype(float), minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = _slice_sums(sums, item_start) / total
    dev = _slice_sums((sums - p[item_group] * counts) ** 2, item_start)
    lo, hi = _wilson(p, total, k, dev)
    empty = total == 0
    p, lo, hi = (np.where(empty, math.nan, a) for a in (p, lo, hi))
    return p, lo, hi, item_start


def score_table(df: pd.DataFrame, metrics: dict[str, str] | None = None, *, by: Sequence[str] = GROUP,
                n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """One row per group: n, score with CI, reasoning-length stats and the status counts.

    `metrics` maps task name -> metric ("accuracy", "rmse", "matching_behavior"); default accuracy.
    No step per sample (a report holds a million): per-item sums come from one groupby over (group, item), the
    status counts from bincounts and the Wilson intervals are computed for all groups at once. Per group there are
    only numpy sums over its slice, in the order the per-group loop this replaced added them (the same floats,
    tests/test_score_table_vectorised.py), and the item bootstrap of RMSE curves.
    """
    metrics = metrics or {}
    by = list(by)
    codes, keys = group_codes(df, by)
    n_groups = len(keys)
    if n_groups == 0:
        return pd.DataFrame().reset_index(drop=True)

    def per_group(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        c = codes if mask is None else codes[mask]
        return np.bincount(c, weights=weights, minlength=n_groups)

    flag = _status_flags(df["status"])
    ok = flag("ok")
    # items (sorted codes, as a per-group groupby("item_id") orders them; NaN ids are left out, as there)
    item_codes = pd.factorize(df["item_id"], sort=True)[0].astype(np.int64)
    n_ids = int(item_codes.max()) + 1 if len(item_codes) else 1
    has_id = item_codes >= 0
    pairs = pd.unique(codes[has_id] * n_ids + item_codes[has_id])
    n_items = np.bincount(pairs // n_ids, minlength=n_groups)
    scored_rows = ok & has_id
    per_item = pd.Series(df["score"].to_numpy(float, na_value=np.nan)[scored_rows]).groupby(
        codes[scored_rows] * n_ids + item_codes[scored_rows])
    sums, counts = per_item.sum(), per_item.count()  # pandas' group sums (compensated), as the loop had them
    item_group = sums.index.to_numpy(np.int64) // n_ids
    sums, counts = sums.to_numpy(float), counts.to_numpy(float)
    p, lo, hi, item_start = item_wilson(sums, counts, item_group, n_groups)
    n_items_scored = np.diff(item_start)

    answered = ~flag("error")
    tokens = df["reasoning_tokens"].to_numpy(float, na_value=np.nan)
    answered &= ~np.isnan(tokens)
    tok_rows = np.flatnonzero(answered)
    tok_rows = tok_rows[np.argsort(codes[tok_rows], kind="stable")]
    tokens = tokens[tok_rows]
    tok_start = np.searchsorted(codes[tok_rows], np.arange(n_groups + 1))
    counts_by = {s: per_group(flag(s)) for s in ("error", "truncated", "unparsed")}
    n, n_scored = per_group(), per_group(ok)
    ok_order = np.flatnonzero(ok)[np.argsort(codes[ok], kind="stable")]
    ok_start = np.searchsorted(codes[ok_order], np.arange(n_groups + 1))
    score = df["score"]

    rows = []
    for g, key in enumerate(keys):
        row = dict(zip(by, key))
        metric = metrics.get(row.get("task", ""), "accuracy")
        point, low, high = float(p[g]), float(lo[g]), float(hi[g])
        lengths = tokens[tok_start[g]:tok_start[g + 1]]
        if metric == "rmse":
            items = slice(item_start[g], item_start[g + 1])
            point, low, high = item_bootstrap(sums[items], counts[items], rmse=True, n_boot=n_boot, seed=seed)
        row.update(
            metric=metric, n=int(n[g]), n_scored=int(n_scored[g]), n_items=int(n_items[g]),
            n_items_scored=int(n_items_scored[g]),
            score=point, ci_low=low, ci_high=high, ci_method="bootstrap" if metric == "rmse" else "wilson",
            mean_reasoning_tokens=float(lengths.sum() / len(lengths)) if len(lengths) else math.nan,
            median_reasoning_tokens=float(np.median(lengths)) if len(lengths) else math.nan,
            errors=int(counts_by["error"][g]), truncated=int(counts_by["truncated"][g]),
            unparsed=int(counts_by["unparsed"][g]),
        )
        if metric == "rmse":
            scored = score.iloc[ok_order[ok_start[g]:ok_start[g + 1]]]
            row["mae"] = float(np.sqrt(scored).mean()) if len(scored) else math.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    order = [c for c in by if c != "budget"] + ["budget"]
    if len(out) > 1 and "budget" in out and not _in_order(rows, order):
        out = out.sort_values(order, key=lambda col: col.map(budget_sort_key) if col.name == "budget" else col)
    return out.reset_index(drop=True)


def _in_order(rows: list[dict], order: list[str]) -> bool:
    """Whether the rows are strictly increasing in `order` (budget by budget_sort_key): then sorting them leaves
    them as they are, and the sort (most of a small table's time) is skipped. False when unsure: a missing value,
    or values that do not compare."""
    try:
        keys = [tuple(budget_sort_key(row[c]) if c == "budget" else row[c] for c in order) for row in rows]
        if any(pd.isna(row[c]) for row in rows for c in order):
            return False
        return all(a < b for a, b in zip(keys, keys[1:]))
    except TypeError:
        return False


MIN_ITEMS = 5  # fewer items than this at an extreme budget and neither test makes a call


def paper_verdict(curve: pd.DataFrame, metric: str = "accuracy") -> tuple[str, float]:
    """The paper's rule between the extremes of one curve (rows ordered by budget).

    inverse / positive: the score moves by more than 2 points (RMSE: 0.05) with non-overlapping 95 % CIs;
    flat: below the threshold; noisy: above it with overlapping CIs; "not enough data" with fewer than MIN_ITEMS
    scored items at an extreme budget. Returns (verdict, change in score units). For RMSE "inverse" means the
    error grows.
    """
    def column(name: str) -> np.ndarray:
        return curve[name].to_numpy(float, na_value=np.nan)

    items = curve["n_items_scored"].tolist() if "n_items_scored" in curve else None
    return paper_rule(column("score"), column("ci_low"), column("ci_high"), items, metric)


def paper_rule(score: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray, n_items_scored: list | None,
               metric: str = "accuracy") -> tuple[str, float]:
    """paper_verdict on a curve's columns (numpy arrays; n_items_scored a list, or None without that column):
    verdict_table applies it to many curves without a DataFrame per curve."""
    kept = np.flatnonzero(~np.isnan(score))  # the rows with a score (dropna)
    if len(kept) < 2:
        return ("not enough data", math.nan)
    first, last = kept[0], kept[-1]
    delta = float(score[last] - score[first])
    if n_items_scored is not None and min(n_items_scored[first], n_items_scored[last]) < MIN_ITEMS:
        return ("not enough data", delta)
    threshold = 0.05 if metric == "rmse" else 0.02
    if abs(delta) <= threshold:
        return ("flat", delta)
    overlap = not (ci_low[last] > ci_high[first] or ci_high[last] < ci_low[first])
    if overlap or any(math.isnan(v) for v in (ci_low[first], ci_low[last])):
        return ("noisy", delta)
    worse = delta > 0 if metric == "rmse" else delta < 0
    return ("inverse" if worse else "positive", delta)
