"""curves.score_table is vectorised over its groups (one groupby over (group, item), Wilson for all groups at once);
it must give the frame the per-group loop gave. The loop is kept here, verbatim, as the reference."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from overthink.analysis.curves import GROUP, N_BOOT, item_bootstrap, score_table, wilson_interval
from overthink.core import budget_sort_key


def reference_score_table(df: pd.DataFrame, metrics: dict[str, str] | None = None, *, by: Sequence[str] = GROUP,
                          n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """score_table as it was before vectorisation (a Python loop over groups)."""
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
            point, lo, hi = reference_wilson(sums, counts)
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


def reference_wilson(sums: np.ndarray, counts: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """wilson_interval as it was (scalar Python)."""
    from statistics import NormalDist

    total, k = float(counts.sum()), int((counts > 0).sum())
    if total == 0:
        return (math.nan, math.nan, math.nan)
    p = float(sums.sum() / total)
    n_eff = float(k)
    if 0 < p < 1 and k >= 2:
        v = k / (k - 1) * float(((sums - p * counts) ** 2).sum()) / total ** 2
        n_eff = min(total, max(float(k), p * (1 - p) / v)) if v > 0 else total
    z = NormalDist().inv_cdf(0.5 + level / 2)
    denom = 1 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff))
    return (p, max(0.0, centre - half), min(1.0, centre + half))


def random_samples(rng: np.random.Generator, *, budgets: list, n: int = 600, missing_keys: bool = False,
                   rmse: bool = False, fractional: bool = False) -> pd.DataFrame:
    """Samples of a few tasks / models / mechanisms with every status, NaN tokens and (optionally) NaN keys."""
    status = rng.choice(["ok", "ok", "ok", "ok", "error", "truncated", "unparsed"], n)
    score = np.where(rng.random(n) < 0.6, 1.0, 0.0)
    if fractional:
        score = rng.random(n).round(3)
    task = rng.choice(["math", "err"] if rmse else ["math", "words", "mcq"], n)
    if rmse:
        score = np.where(task == "err", rng.gamma(2.0, 1.5, n), score)  # squared errors on the rmse task
    score = np.where(status == "ok", score, np.nan)
    score[rng.random(n) < 0.03] = np.nan  # an ok sample without a score
    tokens = rng.integers(0, 5000, n).astype(float)
    tokens[(status == "error") | (rng.random(n) < 0.05)] = np.nan
    frame = pd.DataFrame({
        "task": task,
        "model": rng.choice(["a", "b"], n), "mechanism": rng.choice(["forced", "native"], n),
        "budget": [budgets[i] for i in rng.integers(0, len(budgets), n)],
        "item_id": [f"q{i}" for i in rng.integers(0, 25, n)], "replicate": rng.integers(0, 3, n),
        "status": status, "score": score, "reasoning_tokens": tokens,
    })
    if missing_keys:
        for col in ("model", "item_id"):
            frame.loc[rng.random(n) < 0.05, col] = np.nan
    return frame


def assert_same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    # the same floats, not just close ones: per-group sums keep the loop's order of summation
    pd.testing.assert_frame_equal(new, old, check_exact=True)


BUDGET_SHAPES = {
    "int": [0, 256, 1024, 4096],
    "natural": [0, 1024, "natural"],
    "effort": ["none", "low", "medium", "high"],
    "object ints": [np.int64(0), 256, 4096],
}


@pytest.mark.parametrize("shape", list(BUDGET_SHAPES))
@pytest.mark.parametrize("seed", range(3))
def test_score_table_equals_the_per_group_loop(shape, seed):
    rng = np.random.default_rng(seed)
    frame = random_samples(rng, budgets=BUDGET_SHAPES[shape], missing_keys=seed == 1, fractional=seed == 2)
    metrics = {"words": "matching_behavior"}
    assert_same(score_table(frame, metrics), reference_score_table(frame, metrics))


def test_samples_already_in_order_skip_the_sort_and_give_the_same_table():
    # score_table skips sorting its rows when they are already strictly in order (curves._in_order); frames whose
    # groups appear in sorted order, with ties of budget_sort_key (1024 and "1024") and missing keys, which sort
    for k, budgets in enumerate([*BUDGET_SHAPES.values(), [0, 1024, "1024", 4096]]):
        frame = random_samples(np.random.default_rng(20 + k), budgets=budgets, missing_keys=k == 1)
        in_order = frame.sort_values(["task", "model", "mechanism", "budget"], kind="stable",
                                     key=lambda c: c.map(budget_sort_key) if c.name == "budget" else c)
        assert_same(score_table(in_order), reference_score_table(in_order))  # shuffled frames: the tests above


@pytest.mark.parametrize("seed", range(3))
def test_rmse_curves_keep_their_item_bootstrap(seed):
    rng = np.random.default_rng(10 + seed)
    frame = random_samples(rng, budgets=[0, 256, 1024], rmse=True, missing_keys=seed == 2)
    new = score_table(frame, {"err": "rmse"}, n_boot=200, seed=seed)
    old = reference_score_table(frame, {"err": "rmse"}, n_boot=200, seed=seed)
    assert_same(new, old)
    assert "mae" in new and (new["ci_method"] == "bootstrap").sum() > 0


def test_a_factor_column_and_other_groupings():
    rng = np.random.default_rng(5)
    frame = random_samples(rng, budgets=[0, 512, 2048], missing_keys=True)
    frame["factor_value"] = rng.choice(["2", "3", "10"], len(frame))
    frame.loc[rng.random(len(frame)) < 0.05, "factor_value"] = np.nan
    by = ["task", "model", "mechanism", "factor_value", "budget"]
    assert_same(score_table(frame, {}, by=by), reference_score_table(frame, {}, by=by))
    # natural tables: no budget in `by`, an integer rank
    frame["length_rank"] = rng.integers(1, 6, len(frame))
    by = ["task", "model", "mechanism", "length_rank"]
    assert_same(score_table(frame, {}, by=by), reference_score_table(frame, {}, by=by))
    assert_same(score_table(frame, {}, by=["task"]), reference_score_table(frame, {}, by=["task"]))


def test_edge_frames():
    rng = np.random.default_rng(6)
    frame = random_samples(rng, budgets=[0, 1024], n=80)
    only_errors = frame.assign(status="error", score=np.nan, reasoning_tokens=np.nan)
    one_item = frame.assign(item_id="q0")
    all_right = frame.assign(score=np.where(frame["status"] == "ok", 1.0, np.nan))
    for f in (only_errors, one_item, all_right, frame.iloc[:1], frame.iloc[:0]):
        assert_same(score_table(f), reference_score_table(f))


def test_wilson_interval_is_unchanged():
    rng = np.random.default_rng(7)
    for _ in range(200):
        k = int(rng.integers(1, 30))
        counts = rng.integers(0, 4, k).astype(float)
        sums = np.minimum(counts, rng.integers(0, 4, k)).astype(float)
        np.testing.assert_array_equal(wilson_interval(sums, counts), reference_wilson(sums, counts))


def test_a_million_samples_are_scored_without_a_step_per_row():
    # a report's size: the vectorised table takes a few seconds at most (the loop took minutes on 2 cores)
    rng = np.random.default_rng(8)
    n = 1_000_000
    frame = pd.DataFrame({
        "task": "t", "model": "m", "mechanism": "forced", "budget": rng.choice([0, 256, 1024, 4096], n),
        "item_id": rng.integers(0, 50_000, n).astype(str), "status": "ok",
        "score": (rng.random(n) < 0.5).astype(float), "reasoning_tokens": rng.integers(0, 4096, n).astype(float)})
    table = score_table(frame)
    assert table["n"].sum() == n and len(table) == 4
    assert table["n_items"].max() <= 50_000
