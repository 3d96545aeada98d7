"""Issue 24: verdicts you can defend. Simulated designs with a known truth go through the report's verdicts
(calibration.py table_verdicts, checked here to equal analyze(DataFrame)["verdicts"]; the bulk reads the same
columns from calibration_verdicts.lean_verdicts, checked here to equal table_verdicts).

Fast tests check the machinery and each design's decision on a few datasets; the slow test measures the false
"inverse" rate of every design (<= 5 % within its Monte Carlo error) and prints the power for a modest drop.
bench/bench_calibration.py prints the full table (docs/report.md, "Calibration of the verdicts").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from overthink import analyze
from overthink import calibration as cs
from overthink.analysis import verdicts as V
from overthink.analysis import within
from overthink.analysis.curves import score_table
from overthink.analysis.multiplicity import bh, holm
from overthink.analysis.setup_checks import setup_warnings
from overthink.analysis.trends import _call, trend_test
from overthink.analysis.within import permutation_p, within_fit
from overthink.calibration_verdicts import COLUMNS as LEAN_COLUMNS
from overthink.calibration_verdicts import lean_verdicts

COLUMNS = ["verdict", "trend", "p", "p_adj_holm", "change", "shape", "complete_case_trend", "paper_verdict"]


@pytest.mark.parametrize("make", [cs.shared_trace, cs.truncation, cs.inactive])
def test_the_simulated_verdicts_are_what_analyze_reports(make):
    frame = make(np.random.default_rng(11))
    ours = cs.table_verdicts(frame)[COLUMNS].reset_index(drop=True)
    report = analyze(frame, n_boot=50)["verdicts"][COLUMNS].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, report)


def test_the_lean_verdicts_of_the_calibration_are_the_full_ones():
    # the calibration reads its columns from lean_verdicts (numpy arrays; no import checks, no cross-checks, the
    # audit's length control for the inactive design only): on datasets of every design but natural runs (their
    # own verdicts), with no effect and with a drop, they are table_verdicts' exactly, and outcome's gate is
    # fail_on_hits'
    seen, grid = set(), 0
    for design in cs.designs():
        if design.make is cs.natural:
            continue
        rng = np.random.default_rng(2)
        drops = (0.0, 0.15)
        if design.name.startswith("grid "):  # 24 plain sweeps: every other one with the drop (the test's time)
            drops, grid = drops[grid % 2:][:1], grid + 1
        elif design.name.startswith("--fail-on over 30"):  # the costliest full table: the null only
            drops = (0.0,)
        for drop in drops:
            frame = design.make(rng, drop=drop, **design.kwargs)
            lean = pd.DataFrame(lean_verdicts(frame, control=design.make is cs.inactive))
            full = cs.table_verdicts(frame)
            pd.testing.assert_frame_equal(lean, full[list(LEAN_COLUMNS)].reset_index(drop=True), check_exact=True)
            assert (V.INVERSE in set(lean["verdict"])) == (len(V.fail_on_hits(full, V.INVERSE)) > 0)
            seen |= set(lean["verdict"]) | set(lean["paper_verdict"]) | set(lean["complete_case_trend"])
    # the datasets gave the calls the calibration counts, in each column it reads
    assert {V.INVERSE, V.NO_CLEAR, V.TOO_FEW, V.RISES_FALLS, V.NOT_IDENTIFIABLE, V.FLAT, V.NOISY} <= seen


def test_cr2_is_the_t_test_on_per_item_slopes_in_a_balanced_design():
    rng = np.random.default_rng(1)
    items, n = 12, 8
    x = np.tile(np.log2([256, 512, 1024, 2048] * 2), items)
    groups = np.repeat(np.arange(items), n)
    y = (rng.random(items * n) < 0.5).astype(float)
    est, _se, _lo, _hi, p = within_fit(y, x[:, None], groups, groups).contrast(np.array([1.0]))
    xc = x[:n] - x[:n].mean()
    slopes = [xc @ (y[groups == g] - y[groups == g].mean()) / (xc @ xc) for g in range(items)]
    assert est == pytest.approx(np.mean(slopes))
    assert p == pytest.approx(stats.ttest_1samp(slopes, 0).pvalue)


def test_permutation_p_is_uniform_under_the_null():
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(10), 6)
    x = np.tile(np.log2([256, 1024, 4096] * 2), 10)
    ps = [permutation_p((rng.random(60) < 0.6).astype(float), x[:, None], groups, groups, n_perm=199, seed=s)
          for s in range(200)]
    assert 0.02 <= np.mean(np.array(ps) < 0.1) <= 0.18  # nominal 10 %


def test_permutation_p_from_the_kept_draws_is_the_drawn_one(monkeypatch):
    # curves of one shape share their permutations' draws (within._drawn_orders): the same p-values, to the bit, as
    # drawing them for each curve; a curtailed test (stop_at) never keeps them
    rng = np.random.default_rng(13)
    groups = np.repeat(np.arange(12), 10)
    traces = np.repeat(np.arange(24), 5)
    x = np.tile(np.log2([256, 512, 1024, 2048, 4096]), 24)
    ys = [(rng.random(120) < 0.5 + 0.03 * k * (x - 10)).astype(float) for k in range(6)]
    kept = [permutation_p(y, x[:, None], groups, traces, n_perm=499, seed=s) for s in (0, 1) for y in ys]
    monkeypatch.setattr(within, "MAX_CACHED_DRAWS", 0)
    drawn = [permutation_p(y, x[:, None], groups, traces, n_perm=499, seed=s) for s in (0, 1) for y in ys]
    assert kept == drawn and len(set(drawn)) > 3
    assert within._drawn_orders.cache_info().currsize >= 2


def test_holm_and_bh_hand_computed():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    assert holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert bh(p) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_words_of_the_call():
    assert _call(-0.10, 0.01, -0.15, -0.05, 0.02, -1) == V.INVERSE
    assert _call(-0.01, 0.01, -0.015, -0.005, 0.02, -1) == V.INVERSE_SMALL == "inverse, but smaller than 2 points"
    assert _call(0.001, 0.6, -0.015, 0.017, 0.02, -1) == V.FLAT  # 90 % CI inside +-2 points
    assert _call(0.001, 0.6, -0.05, 0.05, 0.02, -1) == V.NO_CLEAR == "no clear trend"
    assert _call(0.10, 0.01, 0.05, 0.15, 0.02, 1) == V.INVERSE  # RMSE: a growing error is inverse


def test_too_few_items_gets_no_verdict():
    table = cs.table_verdicts(cs.sweep(np.random.default_rng(2), n_items=5, drop=0.3))
    row = table.iloc[0]
    assert row["verdict"] == V.TOO_FEW
    assert row["verdict_detail"].startswith("too few items for a verdict: 5")


def test_inactive_control_is_not_identifiable_never_a_trend_word():
    # Lengths that ignore the budget entirely, with a real drop: still no trend word.
    frame = cs.inactive(np.random.default_rng(0), drop=0.3).assign(reasoning_tokens=1000.0)
    row = cs.table_verdicts(frame).iloc[0]
    assert not row["control_active"] and row["verdict"] == V.NOT_IDENTIFIABLE
    assert row["verdict_detail"].startswith("not identifiable: the budgets did not change the reasoning length")
    assert row["verdict_words"] == V.WORDS[V.NOT_IDENTIFIABLE]
    # The noisy design (lengths drawn at random, wrong answers longer): whenever the audit flags it, no trend word.
    seen = 0
    for seed in range(4):
        row = cs.table_verdicts(cs.inactive(np.random.default_rng(seed))).iloc[0]
        if not row["control_active"]:
            seen += 1
            assert row["verdict"] == V.NOT_IDENTIFIABLE
    assert seen >= 2


def test_natural_runs_are_worded_as_associations():
    for seed in range(5):
        table = analyze(cs.natural(np.random.default_rng(seed)), n_boot=50)["natural_verdicts"]
        row = table.iloc[0]
        assert row["trend"] not in (V.INVERSE, V.INVERSE_SMALL, V.POSITIVE, V.POSITIVE_SMALL)
        if row["trend"] == V.LONGER_WORSE:
            assert row["verdict_words"] == ("longer answers to the same item were less often correct "
                                            "(an association: lengths were not assigned)")


def test_truncation_counts_as_wrong_and_complete_cases_are_shown_beside():
    design = next(d for d in cs.designs() if d.make is cs.truncation)
    r = cs.rates(design, 30, seed=5)
    # Dropping truncated would-be-wrong answers makes small budgets look better: complete cases call "inverse"
    # often; counting them wrong (the primary test) does not.
    assert r["complete_case_inverse"] >= 0.3
    assert r["inverse"] <= 0.1
    frame = cs.truncation(np.random.default_rng(3))
    warnings = setup_warnings(frame_samples := _samples(frame), score_table(frame_samples))
    assert (warnings["kind"] == "not_answered_gap").any()


def _samples(frame: pd.DataFrame) -> pd.DataFrame:
    from overthink.importers.table import frame_tables

    return frame_tables(frame)[0]


def test_a_peaked_curve_rises_then_falls_not_positive():
    frame = cs.peaked(np.random.default_rng(8), n_items=80, height=0.3)
    row = cs.table_verdicts(frame).iloc[0]
    assert row["verdict"] == V.RISES_FALLS and row["shape"] == V.RISES_FALLS
    assert row["verdict_words"] == "the score rises, then falls, as the budget grows"


def test_budget_zero_does_not_drive_the_slope():
    # Thinking off scores 30 points lower; the thinking budgets are all alike: no trend over the thinking budgets.
    rng = np.random.default_rng(6)
    frame = cs.sweep(rng, n_items=60, replicates=3)
    off = frame["budget"] == 0
    frame.loc[off, "correct"] = rng.random(off.sum()) < 0.3
    r = trend_test(_samples(frame))
    assert r["trend"] not in (V.POSITIVE, V.POSITIVE_SMALL)
    assert abs(r["change"]) < 0.1


def test_many_curves_are_adjusted_and_the_gate_uses_holm():
    rng = np.random.default_rng(9)
    frame = pd.concat([cs.many_curves(rng, curves=8), cs.sweep(rng, n_items=60, drop=0.4, model="bad")])
    table = cs.table_verdicts(frame)
    assert (table["n_curves_tested"] == 9).all()
    assert (table["p_adj_holm"] >= table["p"] - 1e-12).all() and (table["q_bh"] >= table["p"] - 1e-12).all()
    hits = V.fail_on_hits(table, V.INVERSE)
    assert list(hits["model"]) == ["bad"]
    assert "Holm-adjusted over 9 curves" in table.loc[table["model"] == "bad", "verdict_detail"].iloc[0]


def test_rmse_curves_regress_squared_error_and_report_the_not_answered():
    rng = np.random.default_rng(12)
    rows = []
    for i in range(20):
        for b in (0, 256, 1024, 4096):
            for r in range(2):
                status = "truncated" if (b == 256 and r == 0 and i < 5) else "ok"
                err = rng.normal(1 + 0.2 * math.log2(max(b, 1)), 0.3) ** 2 if status == "ok" else None
                rows.append(dict(item_id=f"q{i}", budget=b, replicate=r, status=status, score=err,
                                 reasoning_tokens=b))
    res = trend_test(pd.DataFrame(rows), "rmse")
    assert res["n_not_answered"] == 5 and res["not_answered_share"] == pytest.approx(5 / 160)
    assert res["trend"] == V.INVERSE and res["change"] > 0  # the error grows with the budget


def test_many_curves_is_the_concatenation_of_its_sweeps():
    # many_curves builds one frame from the curves' arrays; it must be the frame of sweep() after sweep()
    frame = cs.many_curves(np.random.default_rng(3), curves=4, drop=0.1)
    rng = np.random.default_rng(3)
    parts = [cs.sweep(rng, n_items=20, n_budgets=5, replicates=2, drop=0.1, model=f"m{j}") for j in range(4)]
    pd.testing.assert_frame_equal(frame, pd.concat(parts, ignore_index=True), check_exact=True)


@pytest.mark.slow
@pytest.mark.parametrize("design", cs.designs(), ids=lambda d: d.name)
def test_false_inverse_rate_at_most_5_percent_in_every_design(design):
    # a regression guard in CI; bench/bench_calibration.py measures the full table in docs/report.md, with the power
    # at a modest drop (only printed here before: a third of this test's time for no assertion). Issue 24's designs:
    # 60 datasets (bound 10.5 %: fails at >= 7, so a true false-call rate of 10 / 15 / 20 % fails it with
    # probability 0.39 / 0.82 / 0.97); 30 curves a dataset and the 24 grid designs: 40 (bound 11.75 %: fails at >= 5;
    # 0.37 / 0.74 / 0.92 - the grid is 24 regressions checked at once)
    n = 40 if design.name.startswith(("--fail-on over 30", "grid ")) else 60
    r = cs.rates(design, n, seed=24)
    # --fail-on designs: the gate's exit 1; the peaked curve does fall after 1024, so its false call is "positive".
    key = "failed" if design.name.startswith("--fail-on") else "positive" if design.make is cs.peaked else "inverse"
    bound = 0.05 + 1.96 * math.sqrt(0.05 * 0.95 / n)  # 5 % within its Monte Carlo error
    assert r[key] <= bound, f"{design.name}: false inverse {r[key]:.3f} (MC SE {cs.mc_error(r[key], n):.3f})"
