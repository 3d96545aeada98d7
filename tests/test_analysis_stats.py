"""Statistics against known answers: hand-computed small cases and simulated data with a known truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from overthink.analysis.curves import paper_verdict, score_table
from overthink.analysis.features import feature_tables
from overthink.analysis.natural import quantile_table, rank_table
from overthink.analysis.probes import answer_changes, distractor_cues, engages
from overthink.analysis.simulate import simulate_sweep
from overthink.analysis.sweetspot import sweet_spot
from overthink.analysis.trends import trend_test


def _curve(scores: dict[int, list[float]], tokens: dict[int, float] | None = None) -> pd.DataFrame:
    """Samples for budgets -> per-item scores (item i gets scores[b][i]); one replicate."""
    rows = []
    for b, values in scores.items():
        for i, s in enumerate(values):
            rows.append(dict(task="t", model="m", mechanism="forced", item_id=f"i{i}", budget=b, replicate=0,
                             status="ok", score=s, reasoning_tokens=(tokens or {}).get(b, b)))
    return pd.DataFrame(rows)


def test_score_table_hand_computed_and_rmse():
    df = _curve({0: [1, 1, 0, 1], 64: [0, 1, 0, 0]})
    t = score_table(df, n_boot=200)
    assert list(t["score"]) == [0.75, 0.25]
    sq = _curve({0: [4.0, 0.0, 1.0, 1.0]})  # squared errors: RMSE = sqrt(6 / 4)
    t = score_table(sq, {"t": "rmse"}, n_boot=200)
    assert t["score"].iloc[0] == pytest.approx(math.sqrt(1.5))


def test_paper_rule_cases():
    table = pd.DataFrame({"score": [0.9, 0.5], "ci_low": [0.85, 0.4], "ci_high": [0.95, 0.6]})
    assert paper_verdict(table)[0] == "inverse"
    assert paper_verdict(table.iloc[::-1])[0] == "positive"
    flat = pd.DataFrame({"score": [0.90, 0.89], "ci_low": [0.8, 0.8], "ci_high": [1, 1]})
    assert paper_verdict(flat)[0] == "flat"
    noisy = pd.DataFrame({"score": [0.9, 0.8], "ci_low": [0.7, 0.6], "ci_high": [1, 0.95]})
    assert paper_verdict(noisy)[0] == "noisy"
    rmse = pd.DataFrame({"score": [1.0, 1.2], "ci_low": [0.95, 1.15], "ci_high": [1.05, 1.25]})
    assert paper_verdict(rmse, "rmse")[0] == "inverse"  # error grows


def test_trend_slope_recovers_known_linear_effect_for_rmse():
    # Squared error = 1 + 0.5 * log2(1 + tokens) + item offset, exactly: OLS must return 0.5 with a tight CI.
    rng = np.random.default_rng(0)
    rows = []
    for i in range(20):
        offset = rng.normal()
        for b in (0, 15, 255, 4095):
            rows.append(dict(item_id=str(i), status="ok", reasoning_tokens=b,
                             score=1 + 0.5 * math.log2(1 + b) + offset))
    r = trend_test(pd.DataFrame(rows), "rmse")
    assert r["slope"] == pytest.approx(0.5, abs=1e-9)
    assert r["trend"] == "inverse"  # error grows with length


def test_trend_is_within_item_not_fooled_by_difficulty():
    # Hard items think longer and fail more, but within an item length does nothing: a pooled test would call
    # "inverse"; the within-item test (here on measured length: the frame has no budgets) must not.
    rng = np.random.default_rng(3)
    rows = []
    for i in range(60):
        hard = i % 2
        for _r in range(8):
            tokens = rng.uniform(2000, 4000) if hard else rng.uniform(50, 200)
            rows.append(dict(item_id=str(i), status="ok", reasoning_tokens=tokens,
                             score=float(rng.random() < (0.2 if hard else 0.9))))
    df = pd.DataFrame(rows)
    pooled = np.corrcoef(np.log2(1 + df["reasoning_tokens"]), df["score"])[0, 1]
    assert pooled < -0.5  # the confound is real
    res = trend_test(df)
    assert res["basis"] == "measured length" and res["trend"] == "no clear trend"


def test_trend_detects_simulated_drop():
    df = simulate_sweep(np.random.default_rng(5), n_items=80, drop=0.35)
    r = trend_test(df)
    assert r["trend"] == "inverse" and r["slope_high"] < 0 and r["spearman"] < 0 and r["spearman_p"] < 0.05


def test_errors_truncations_are_not_scored():
    df = _curve({0: [1, 1, 1, 1], 64: [1, 1, 1, 1]})
    df.loc[df["budget"] == 64, "status"] = ["ok", "truncated", "error", "unparsed"]
    df.loc[df["status"] != "ok", "score"] = None
    t = score_table(df, n_boot=100)
    row = t[t["budget"] == 64].iloc[0]
    assert (row["score"], row["truncated"], row["errors"], row["unparsed"]) == (1.0, 1, 1, 1)


def test_sweet_spot_peak_and_change_point():
    n = 60
    df = _curve({0: [1] * 30 + [0] * 30, 256: [1] * 54 + [0] * 6, 1024: [1] * 53 + [0] * 7, 4096: [1] * 20 + [0] * 40})
    s = sweet_spot(df, n_boot=500)
    assert s["peak_budget"] == 256 and s["peak_score"] == pytest.approx(54 / n)
    assert s["change_point"] == 4096  # 1024 is within noise of the peak, 4096 is clearly worse
    assert s["recommended_budget"] == 256  # 0 is significantly worse than the peak
    assert 0 <= s["sureness"] <= 1 and s["sureness_words"] in ("confident", "fairly sure", "unsure")


def test_natural_ranks_control_for_difficulty():
    # 2 items x 3 samples: within each item the longest sample is wrong; item b is long overall.
    rows = []
    for item, toks, scores in (("a", [10, 20, 30], [1, 1, 0]), ("b", [300, 100, 200], [0, 1, 1])):
        for rep, (t, s) in enumerate(zip(toks, scores)):
            rows.append(dict(task="t", model="m", mechanism="forced", item_id=item, budget="natural",
                             replicate=rep, status="ok", reasoning_tokens=t, score=s))
    ranks = rank_table(pd.DataFrame(rows), {}, n_boot=100)
    assert list(ranks["length_rank"]) == [1, 2, 3]
    assert list(ranks["score"]) == [1.0, 1.0, 0.0]
    q = quantile_table(pd.DataFrame(rows), {}, q=3, n_boot=100)
    assert list(q["length_quantile"]) == [1, 2, 3] and q["n"].sum() == 6


def test_feature_correlations_and_variance_shares():
    rng = np.random.default_rng(1)
    study, sleep = rng.normal(size=200), rng.normal(size=200)
    truth = 6 + study
    items = pd.DataFrame({"run": "r", "task": "g", "item_id": [str(i) for i in range(200)], "prompt": "",
                          "expected": [f"{v:.4f}" for v in truth],
                          "metadata": [{"features": {"study": a, "sleep": b, "stress": ["Low", "High"][i % 2]}}
                                       for i, (a, b) in enumerate(zip(study, sleep))]})
    # Budget 0 predicts from study hours, budget 1024 from sleep hours: a spurious shift.
    samples = pd.concat([pd.DataFrame({"run": "r", "task": "g", "model": "m", "mechanism": "forced",
                                       "item_id": items["item_id"], "budget": b, "status": "ok",
                                       "answer": [f"{v:.4f}" for v in pred]})
                         for b, pred in ((0, 6 + study), (1024, 6 + sleep))])
    corr, var = feature_tables(samples, items, {"g": {"causal": ["study"], "spurious": ["sleep"]}})
    r = corr.set_index(["budget", "feature"])["r"]
    assert r[("ground truth", "study")] == pytest.approx(1.0) and abs(r[("ground truth", "sleep")]) < 0.2
    assert r[(0, "study")] == pytest.approx(1.0) and r[(1024, "sleep")] == pytest.approx(1.0)
    assert ("ground truth", "stress") in r.index  # ordinal text feature mapped to numbers
    v = var.set_index("budget")
    assert v.loc[0, "r2_causal"] == pytest.approx(1.0) and v.loc[1024, "r2_spurious"] == pytest.approx(1.0)
    assert v.loc[1024, "r2_causal"] < 0.05


def test_probe_helpers():
    prompt = "You have one apple and one pear. There is a 61% chance the apple is from Spain. How many fruits?"
    spans = ["There is a 61% chance the apple is from Spain."]
    cues = distractor_cues(prompt, spans, "2")
    assert "61" in cues[0] and "spain" in cues[1] and "apple" not in cues[1]
    assert engages("Given the 61% probability, maybe 0.61 of...", cues)
    assert engages("The Spain origin is irrelevant", cues)
    assert not engages("An apple and a pear: two types.", cues)
    assert answer_changes("the answer is 2. Wait, the answer is 3. Hmm, the answer is 2") == 2
    assert answer_changes("<answer>2</answer>") == 0
