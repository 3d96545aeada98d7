"""Calibration of the trend test on simulated sweeps with a known truth (the designs of issue 24 and the grid are in
tests/test_calibration.py; these are the older checks, moved to the test on requested budgets).

No effect: items differ in difficulty, replicates share their item, and reasoning length varies; the verdict's
"inverse" call must come up in at most about 5 % of runs (for the new test and for the paper's rule).
Known drop: a drop as large as the report says it detects with 80 % power must be detected about that often.
These tests can fail: a test on measured length that ignores item clustering calls "inverse" far too often.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from overthink.analysis.curves import paper_verdict, score_table
from overthink.analysis.trends import trend_test
from overthink.calibration import sweep
from overthink.importers.table import frame_tables

N_NULL = 200
N_POWER = 120
INVERSE = ("inverse", "inverse, but smaller than 2 points")


def _samples(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(score=frame["correct"].astype(float)).drop(columns="correct")


def _naive_inverse(df: pd.DataFrame) -> bool:
    """What a test on measured length ignoring item clustering would say (shows the calibration has teeth)."""
    rho, p = stats.spearmanr(df["reasoning_tokens"], df["score"])
    return rho < 0 and p < 0.05


def test_null_inverse_rate_is_at_most_about_5_percent():
    rng = np.random.default_rng(2024)
    trend_calls, paper_calls, detectable = [], [], []
    for _ in range(N_NULL):
        # Strong item heterogeneity and 3 replicates: the setting where ignoring clustering goes wrong.
        df = _samples(sweep(rng, n_items=30, n_budgets=5, replicates=3, spread="high"))
        r = trend_test(df, spearman=False)
        trend_calls.append(r["trend"] in INVERSE)
        detectable.append(r["detectable_change"])
        paper_calls.append(paper_verdict(score_table(df, n_boot=50))[0] == "inverse")
    trend_rate, paper_rate = np.mean(trend_calls), np.mean(paper_calls)
    print(f"null inverse rate: new test {trend_rate:.3f}, paper's rule {paper_rate:.3f}")
    # Two-sided 5 %: about 2.5 % expected on the inverse side; 0.06 leaves room for noise (SD ~ 0.011 at 200 runs).
    assert trend_rate <= 0.06
    assert paper_rate <= 0.06
    assert np.isfinite(detectable).mean() > 0.9


def test_a_length_test_without_clustering_fails_the_same_calibration():
    """The check has teeth: lengths confounded with difficulty fool a pooled Spearman test, not the budget test."""
    rng = np.random.default_rng(7)
    calls = []
    for _ in range(N_NULL // 2):
        df = _samples(sweep(rng, n_items=30, n_budgets=5, replicates=3))
        hard = df["item_id"].str[1:].astype(int) % 2 == 1  # hard items think longer and fail more
        df.loc[hard, "reasoning_tokens"] *= 4
        df.loc[hard, "score"] = (rng.random(hard.sum()) < 0.3).astype(float)
        calls.append((_naive_inverse(df), trend_test(df, spearman=False)["trend"] in INVERSE))
    naive, ours = np.mean(calls, axis=0)
    print(f"confounded null: naive {naive:.3f}, budget test {ours:.3f}")
    assert naive > 0.2  # at least 4 times the nominal rate
    assert ours <= 0.07


@pytest.mark.slow
def test_power_matches_what_the_report_claims():
    rng = np.random.default_rng(99)
    design = dict(n_items=40, n_budgets=5, replicates=3, spread="low")
    claimed = float(np.median([trend_test(_samples(sweep(rng, **design)), spearman=False)["detectable_change"]
                               for _ in range(40)]))
    assert 0.03 < claimed < 0.5
    # The planted drop is the change from the smallest to the largest thinking budget: what the claim is about.
    hits = [trend_test(_samples(sweep(rng, drop=claimed, **design)), spearman=False)["trend"] == "inverse"
            for _ in range(N_POWER)]
    power = float(np.mean(hits))
    print(f"claimed 80 % power at a drop of {100 * claimed:.1f} points; simulated power {power:.2f}")
    assert 0.65 <= power <= 0.95
    half = np.mean([trend_test(_samples(sweep(rng, drop=claimed / 2, **design)), spearman=False)["trend"]
                    == "inverse" for _ in range(N_POWER // 2)])
    assert half < 0.5


def test_the_frame_the_calibration_uses_is_the_imported_frame():
    frame = sweep(np.random.default_rng(1), n_items=10, n_budgets=3, replicates=1)
    imported = frame_tables(frame)[0]
    assert (imported["score"].to_numpy() == _samples(frame)["score"].to_numpy()).all()
