"""Calibration of the trend tests on simulated sweeps with a known truth.

No effect: items differ in difficulty, replicates share their item, and reasoning length varies; the report's
"inverse" call must come up in at most about 5 % of runs (for the regression test and for the paper's rule).
Known drop: a drop as large as the report says it detects with 80 % power must be detected about that often.
These tests can fail: an unclustered test or a one-sided 10 % test calls "inverse" far too often (checked below).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from overthink.analysis.curves import paper_verdict, score_table
from overthink.analysis.simulate import simulate_sweep
from overthink.analysis.trends import trend_test

N_NULL = 300
N_POWER = 200


def _naive_inverse(df: pd.DataFrame) -> bool:
    """What a test ignoring item clustering would say (kept to show the calibration test has teeth)."""
    rho, p = stats.spearmanr(df["reasoning_tokens"], df["score"])
    return rho < 0 and p < 0.05


def test_null_inverse_rate_is_at_most_about_5_percent():
    rng = np.random.default_rng(2024)
    trend_calls, paper_calls, detectable = [], [], []
    for _ in range(N_NULL):
        # Strong item heterogeneity and 5 replicates: the setting where ignoring clustering goes wrong.
        df = simulate_sweep(rng, n_items=30, replicates=5, base=(0.05, 0.95))
        r = trend_test(df)
        trend_calls.append(r["trend"] == "inverse")
        detectable.append(r["detectable_change"])
        paper_calls.append(paper_verdict(score_table(df, n_boot=200))[0] == "inverse")
    trend_rate, paper_rate = np.mean(trend_calls), np.mean(paper_calls)
    print(f"null inverse rate: regression {trend_rate:.3f}, paper's rule {paper_rate:.3f}")
    # Two-sided 5 % test: about 2.5 % expected; 0.06 leaves room for simulation noise (SD ~ 0.009 at 300 runs).
    assert trend_rate <= 0.06
    assert paper_rate <= 0.06
    assert np.isfinite(detectable).all()


def test_unclustered_test_fails_the_same_calibration():
    """The calibration check has teeth: a Spearman test treating replicates as independent fails it."""
    rng = np.random.default_rng(7)
    calls = []
    for _ in range(N_NULL):
        df = simulate_sweep(rng, n_items=30, replicates=5, base=(0.05, 0.95))
        # Lengths that differ by item (long items are the hard ones) but not within an item.
        hard = df["item_id"].astype(int) % 2 == 1
        df.loc[hard, "reasoning_tokens"] *= 4
        df.loc[hard, "score"] = (rng.random(hard.sum()) < 0.3).astype(float)
        calls.append((_naive_inverse(df), trend_test(df)["trend"] == "inverse"))
    naive, ours = np.mean(calls, axis=0)
    print(f"confounded null: naive {naive:.3f}, within-item {ours:.3f}")
    assert naive > 0.2  # at least 4 times the nominal rate
    assert ours <= 0.06


def test_power_matches_what_the_report_claims():
    rng = np.random.default_rng(99)
    design = dict(n_items=40, replicates=3, base=(0.6, 1.0))
    claimed = float(np.median([trend_test(simulate_sweep(rng, **design))["detectable_change"] for _ in range(60)]))
    assert 0.05 < claimed < 0.5
    hits = [trend_test(simulate_sweep(rng, drop=claimed, **design))["trend"] == "inverse" for _ in range(N_POWER)]
    power = float(np.mean(hits))
    print(f"claimed 80 % power at a drop of {100 * claimed:.1f} points; simulated power {power:.2f}")
    # The claim linearises the logit at the mean score; simulation gives 0.72-0.80 for this design.
    assert 0.65 <= power <= 0.92
    # And half that drop is clearly under-powered: the number means something.
    half = np.mean([trend_test(simulate_sweep(rng, drop=claimed / 2, **design))["trend"] == "inverse"
                    for _ in range(N_POWER // 2)])
    assert half < 0.5
