"""The recommended budget (analysis/recommend.py) and its place in `summary --json`."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest
from helpers import run_cli
from report_fixtures import stub_run

from overthink.analysis.efficiency import efficiency_table, scored_frame
from overthink.analysis.recommend import paired_upper_bound, pareto_frontier, recommend, recommendation_table


def test_pareto_frontier_by_hand():
    # (accuracy, cost): (0.5, 0) frontier, (0.7, 10) frontier, (0.6, 20) dominated by (0.7, 10), (0.8, 40) frontier
    assert pareto_frontier([0.5, 0.7, 0.6, 0.8], [0, 10, 20, 40]) == [True, True, False, True]


def test_paired_upper_bound_by_hand():
    best = pd.Series([1.0, 1.0, 1.0, 1.0], index=list("abcd"))
    other = pd.Series([1.0, 0.0, 1.0, 1.0, 0.0], index=list("abcde"))  # e is not paired
    mean, upper, n = paired_upper_bound(best, other)
    # differences 0, 1, 0, 0: mean 0.25, sd 0.5, t(0.95, 3) = 2.353363
    assert n == 4 and mean == 0.25
    assert upper == pytest.approx(0.25 + 2.353363 * 0.5 / 2, abs=1e-6)


def _samples(acc_by_budget, n_items=12, tokens=None):
    rows = []
    for b, pattern in acc_by_budget.items():
        for i in range(n_items):
            rows.append({"task": "t", "model": "m", "mechanism": "forced", "item_id": f"i{i}", "budget": b,
                         "replicate": 0, "status": "ok", "score": float(pattern(i)),
                         "reasoning_tokens": (tokens or {}).get(b, b * 0.8), "cost_usd": None, "provider": "stub",
                         "output_tokens": int(b) + 5, "input_tokens": 10})
    return pd.DataFrame(rows)


def _recommend(samples, **kw):
    metrics = {"t": "accuracy"}
    table = efficiency_table(samples, metrics, n_boot=100)
    return recommendation_table(scored_frame(samples, metrics), table, **kw).iloc[0], table


def test_a_cheaper_budget_with_the_same_answers_is_recommended():
    # 64 and 1024 answer every item alike (9 of 12 right); 0 is worse
    rec, table = _recommend(_samples({0: lambda i: i < 3, 64: lambda i: i < 9, 1024: lambda i: i < 9}))
    assert rec["best_budget"] == 64 and rec["recommended_budget"] == 64
    assert rec["saving_tokens_share"] == pytest.approx(1 - 64 / 1024)
    assert list(table["on_frontier"]) == [True, True, False]


def test_without_evidence_of_equivalence_the_best_budget_is_kept():
    # 64 loses 2 of 12 items (16.7 points): its upper bound is far above 2 points
    rec, _ = _recommend(_samples({64: lambda i: i < 7, 1024: lambda i: i < 9}))
    assert rec["recommended_budget"] == 1024
    assert "no cheaper budget was shown within 2 points" in rec["reason"]
    # a generous tolerance accepts it
    rec, _ = _recommend(_samples({64: lambda i: i < 7, 1024: lambda i: i < 9}), tolerance=0.5)
    assert rec["recommended_budget"] == 64 and "cheapest budget within 50 points" in rec["reason"]


def test_reasons_when_there_is_no_recommendation():
    few = _recommend(_samples({64: lambda i: 1, 256: lambda i: 1}, n_items=6))[0]
    assert few["recommended_budget"] is None and few["reason"].startswith("too few items for a recommendation: 6")
    none = _recommend(_samples({64: lambda i: 0, 256: lambda i: 0}))[0]
    assert none["recommended_budget"] is None and "no budget answered any item correctly" in none["reason"]
    cells = pd.DataFrame({"budget": [64, 256], "accuracy": [0.5, 0.6], "mean_thinking_tokens": [50, 200],
                          "mean_cost_usd": [math.nan, math.nan]})
    curve = pd.DataFrame({"item_id": [f"i{i}" for i in range(12)]})
    inactive = recommend(curve, cells, active=False)
    assert inactive["recommended_budget"] is None and "control inactive" in inactive["reason"]


@pytest.mark.slow
def test_summary_json_carries_the_efficiency_fields(tmp_path):
    run = stub_run(tmp_path / "run")
    result = run_cli("summary", str(run), "--json", "--tolerance", "50")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["efficiency"][0]
    for key in ("oaa", "auc_oaa", "overthinking_score", "wasted_token_share", "cost_per_correct_usd",
                "recommended_budget", "recommended_budget_reason", "t_max", "budgets"):
        assert key in entry
    assert set(entry["oaa"]) == {"100", "250", "500", "1000"} and entry["t_max"] == 1000
    assert entry["wasted_token_share"] is None and "not measurable" in entry["wasted_token_share_note"]
    assert entry["recommended_budget"] is not None and entry["cost_source"] == "price table"
    assert entry["tolerance"] == 0.5
    text = run_cli("summary", str(run))
    assert "budget misleading-math / stub:inverse (forced): use " in text.stdout
    assert not re.search(r"\bnan\b", text.stdout, re.IGNORECASE)  # ("provenance" holds the letters n-a-n)


def test_html_report_has_the_frontier_and_the_recommendation(tmp_path):
    from overthink.core import Item, SampleRecord
    from overthink.report.html import build_report
    from overthink.store import Store

    run = tmp_path / "run"
    with Store(run) as store:
        store.set_meta("tasks", {"t<b>": {"metric": "accuracy"}})
        store.add_items("t<b>", [Item(id=f"i{i}", prompt="q", answer="1") for i in range(12)])
        for i in range(12):
            for b in (0, 64, 256):
                right = i < (3 if b == 0 else 9)  # 64 and 256 answer alike: 64 is recommended
                store.record(SampleRecord(
                    run_id="r", model="stub:flat", provider="stub", task="t<b>", item_id=f"i{i}", budget=b,
                    mechanism="forced", replicate=0, seed=0, status="ok", reasoning_tokens=int(b * 0.9),
                    reasoning_tokens_source="stub", output_tokens=b + 5, input_tokens=10, answer="1" if right else "2",
                    expected="1", score=float(right), correct=right))
    out = build_report([run], tmp_path / "report.html", n_boot=100)
    html = out.read_text()
    assert 'id="efficiency"' in html and 'id="efficiency-table"' in html
    assert "budget t&lt;b&gt; / stub:flat (forced): use 64 (the best budget (64); no cheaper budget" in html
    assert "75 % fewer thinking tokens than the largest budget" in html
    assert (tmp_path / "figures" / "frontier.png").exists() and "nan" not in html.split('id="efficiency"')[1][:4000]
