"""Efficiency metrics against small hand-computed examples (analysis/efficiency.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from overthink.analysis import efficiency as E


def test_oaa_counts_correct_answers_strictly_under_the_threshold():
    correct, tokens = [1, 1, 0, 1], [50, 150, 20, 300]
    assert E.oaa(correct, tokens, 100) == 0.25  # only the 50-token correct answer
    assert E.oaa(correct, tokens, 200) == 0.5
    assert E.oaa([1], [100], 100) == 0.0  # tokens < t, not <=
    assert E.oaa([1, 1], [10, math.nan], 100) == 0.5  # an uncounted sample is never under a threshold


def test_auc_oaa_is_the_normalised_integral_of_oaa():
    correct, tokens = [1, 1, 0], [0, 500, 100]
    # per sample (1/1000) * integral of 1(T < t) over [0, 1000] = max(0, 1000 - T) / 1000: 1, 0.5, (wrong) 0
    assert E.auc_oaa(correct, tokens, 1000) == pytest.approx(0.5)
    grid = np.linspace(0, 1000, 100_001)
    numeric = np.trapezoid([E.oaa(correct, tokens, t) for t in grid[::100]], grid[::100]) / 1000
    assert numeric == pytest.approx(0.5, abs=2e-3)
    assert E.auc_oaa([1], [1500], 1000) == 0.0  # beyond t_max: no credit
    assert E.auc_oaa([1, 1, 0, 1], [50, 150, 20, 300]) == pytest.approx(0.625)  # docs/report.md's worked example
    assert E.T_MAX == 1000


def test_token_efficiency_is_min_max_over_the_configurations_compared():
    assert E.token_efficiency(300, [100, 300, 500]) == 0.5
    assert E.token_efficiency(100, [100, 300, 500]) == 1.0
    assert E.token_efficiency(500, [100, 300, 500]) == 0.0
    assert E.token_efficiency(42, [42, 42]) == 1.0  # all equal: LLMThinkBench's convention


def test_overthinking_score_is_the_harmonic_mean():
    assert E.overthinking_score(0.8, 0.5) == pytest.approx(2 * 0.8 * 0.5 / 1.3)  # 0.6154
    assert E.overthinking_score(0.0, 0.0) == 0.0
    assert E.overthinking_score(1.0, 1.0) == 1.0


def test_outcome_efficiency_and_wasted_share_follow_chen_et_al():
    # three traces: right at 100 of 400 tokens, right only at the end (400 of 400), wrong at the end
    assert E.outcome_efficiency([1, 1, 0], [100, 400, math.nan], [400, 400, 300]) == pytest.approx((0.25 + 1) / 3)
    # stayed correct from 100 of 400 and from 400 of 400: (300 + 0) / 800
    assert E.wasted_token_share([100, 400], [400, 400]) == pytest.approx(0.375)


def test_cost_per_correct_and_accuracy_per_1k_tokens():
    assert E.cost_per_correct([0.01, 0.02, 0.03], [1, 0, 1]) == pytest.approx(0.03)
    assert math.isnan(E.cost_per_correct([0.01], [0]))
    assert E.accuracy_per_1k_tokens([1, 0, 1, 1], [200, 400, 200, 200]) == pytest.approx(3.0)
    assert math.isnan(E.accuracy_per_1k_tokens([1, 1], [0, 0]))  # budget 0: no thinking to divide by


def _frame(rows):
    cols = ["task", "model", "mechanism", "item_id", "budget", "replicate", "status", "score", "reasoning_tokens",
            "cost_usd", "provider", "output_tokens", "input_tokens"]
    return pd.DataFrame(rows, columns=cols)


def test_efficiency_table_counts_non_answers_wrong_and_labels_costs():
    rows = []
    for i in range(10):
        # budget 0: all right, no thinking; budget 200: item 0 truncated, odd items wrong
        rows.append(("t", "m", "forced", f"i{i}", 0, 0, "ok", 1.0, 0, 0.001, "x", 5, 10))
        status = "truncated" if i == 0 else "ok"
        rows.append(("t", "m", "forced", f"i{i}", 200, 0, status, float(i % 2 == 0), 200, 0.002, "x", 205, 10))
    rows.append(("t", "m", "forced", "i0", 200, 1, "error", None, None, None, "x", None, None))  # left out
    table = E.efficiency_table(_frame(rows), {"t": "accuracy"}, n_boot=200)
    at0, at200 = table.iloc[0], table.iloc[1]
    assert at200["n"] == 10 and at200["n_not_answered"] == 1
    assert at200["accuracy"] == pytest.approx(0.4)  # items 2, 4, 6, 8 (item 0 truncated = wrong)
    assert at200["accuracy_lo"] <= 0.4 <= at200["accuracy_hi"]
    assert at200["oaa_250"] == pytest.approx(0.4) and at200["oaa_100"] == 0.0
    assert at200["auc_oaa"] == pytest.approx(0.4 * 0.8)
    assert at200["accuracy_per_1k"] == pytest.approx(1000 * 4 / 2000)
    assert at200["cost_per_correct_usd"] == pytest.approx(10 * 0.002 / 4) and at200["cost_source"] == "stored"
    # token efficiency over the two configurations: 0 tokens -> 1, 200 tokens -> 0
    assert (at0["token_efficiency"], at200["token_efficiency"]) == (1.0, 0.0)
    assert at0["overthinking_score"] == 1.0 and at200["overthinking_score"] == 0.0


def test_costs_come_from_the_price_table_when_not_stored_and_are_missing_without_a_price():
    rows = [("t", "m", "forced", f"i{i}", 64, 0, "ok", 1.0, 50, None, "stub", 55, 10) for i in range(3)]
    table = E.efficiency_table(_frame(rows), {"t": "accuracy"}, n_boot=50)
    assert table.iloc[0]["cost_source"] == "price table" and table.iloc[0]["cost_per_correct_usd"] == 0.0
    rows = [("t", "m", "forced", f"i{i}", 64, 0, "ok", 1.0, 50, None, "nobody-prices-this", 55, 10)
            for i in range(3)]
    table = E.efficiency_table(_frame(rows), {"t": "accuracy"}, n_boot=50)
    assert table.iloc[0]["cost_source"] == "price unknown" and math.isnan(table.iloc[0]["cost_per_correct_usd"])


def _traj(item, cuts, correct, design="shared"):
    return [{"run": "r", "task": "t", "model": "m", "mechanism": "forced", "item_id": item, "replicate": 0,
             "cut": c, "correct": k, "design": design} for c, k in zip(cuts, correct)]


def test_trajectory_waste_from_shared_traces_only():
    traj = pd.DataFrame(_traj("a", [0, 100, 200, 400], [False, True, False, True])
                        + _traj("b", [0, 100, 200, 400], [False, True, True, True]))
    out = E.trajectory_waste(traj, n_boot=100).iloc[0]
    # a: first correct at 100 (outcome 100/400), stays correct only from 400 (waste 0); b: 100/400, waste 300
    assert out["outcome_efficiency"] == pytest.approx(0.25)
    assert out["wasted_token_share"] == pytest.approx(300 / 800)
    independent = pd.DataFrame(_traj("a", [0, 100, 400], [True, True, True], design="independent"))
    assert E.trajectory_waste(independent).empty


def test_one_pass_bootstrap_equals_one_ratio_at_a_time():
    # cell_metrics draws every CI of a cell from one pass over the bootstrap weights (curves.item_bootstrap_many);
    # each column must be what item_bootstrap gives alone: same resamples, same percentiles
    from overthink.analysis.curves import item_bootstrap, item_bootstrap_many

    rng = np.random.default_rng(3)
    for n_items in (1, 2, 7, 250):
        sums = rng.integers(0, 4, size=(n_items, 4)).astype(float)
        counts = np.column_stack([np.full(n_items, 3.0), rng.integers(0, 3, size=n_items), np.zeros(n_items),
                                  rng.random(n_items) * 1000])
        many = item_bootstrap_many(sums, counts, n_boot=200, seed=5)
        for j in range(4):
            alone = item_bootstrap(sums[:, j], counts[:, j], n_boot=200, seed=5)
            np.testing.assert_allclose(many[j], alone, rtol=1e-12, atol=1e-15, equal_nan=True)
