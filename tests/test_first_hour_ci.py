"""`overthink summary --json / --csv / --fail-on inverse`: a CI can read the table and gate on the verdict."""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import run_cli

# The documented field names (docs/report.md, "Machine-readable summary"): written out here, not imported, so a
# rename in the code fails this test.
SCORE_FIELDS = ["task", "model", "mechanism", "budget", "metric", "n", "n_scored", "n_items", "score", "ci_low",
                "ci_high", "ci_method", "mean_reasoning_tokens", "median_reasoning_tokens", "errors", "truncated",
                "unparsed"]
VERDICT_FIELDS = ["task", "model", "mechanism", "metric", "verdict", "verdict_words", "verdict_detail", "trend",
                  "slope", "slope_low", "slope_high", "p", "scale", "detectable_change", "n_items", "paper_verdict",
                  "paper_delta", "first_budget", "last_budget", "first_score", "last_score",
                  "basis", "change", "change_low", "change_high", "p_method", "p_adj_holm", "q_bh",
                  "n_curves_tested", "equivalence", "shape", "shape_p", "n_not_answered", "n_errors",
                  "complete_case_trend", "complete_case_change", "complete_case_p", "length_slope", "length_p"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("ci")
    out = {}
    for model in ("inverse", "oracle"):
        res = run_cli("run", "--model", f"stub:{model}", "--task", "misleading-math", "--budgets", "0,64,1024",
                      "--limit", "16", "--run-dir", str(base / model), "--quiet")
        assert res.returncode == 0, res.stderr
        out[model] = base / model
    return out


def test_json_has_the_documented_fields_and_fail_on_inverse_exits_1(runs):
    res = run_cli("summary", str(runs["inverse"]), "--json", "--fail-on", "inverse")
    assert res.returncode == 1, res.stderr
    assert ("called inverse by the calibrated test on requested budgets (Holm-adjusted across 1 tested curve): "
            "misleading-math / stub:inverse (forced)") in res.stderr
    data = json.loads(res.stdout)
    assert data["schema"] == "overthink.summary/1" and data["inverse"] == ["misleading-math / stub:inverse (forced)"]
    assert [list(r) for r in data["scores"]] == [SCORE_FIELDS] * 3
    assert [r["budget"] for r in data["scores"]] == [0, 64, 1024]
    assert all(r["n"] == 16 and r["n_scored"] <= 16 and 0 <= r["ci_low"] <= r["score"] <= r["ci_high"] <= 1
               for r in data["scores"])
    (v,) = data["verdicts"]
    assert list(v) == VERDICT_FIELDS and v["verdict"] == "inverse" and v["p"] < 0.05
    # The same run without --fail-on: exit 0, the same document.
    again = run_cli("summary", str(runs["inverse"]), "--json")
    assert again.returncode == 0 and json.loads(again.stdout) == data


def test_fail_on_passes_a_clean_curve_and_the_table_still_prints(runs):
    res = run_cli("summary", str(runs["oracle"]), "--fail-on", "inverse")
    assert res.returncode == 0, res.stderr
    assert "verdict misleading-math / stub:oracle (forced): no clear trend" in res.stdout
    assert "16/16" in res.stdout


def test_csv_rows_and_columns(runs):
    res = run_cli("summary", str(runs["inverse"]), "--csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0]) == SCORE_FIELDS + ["verdict", "p", "paper_verdict"]
    assert [r["budget"] for r in rows] == ["0", "64", "1024"] and {r["verdict"] for r in rows} == {"inverse"}
    assert all(r["ci_method"] == "wilson" and "nan" not in ",".join(r.values()).lower() for r in rows)


@pytest.mark.parametrize("args", [["--fail-on", "positive"], ["--json", "--csv"]])
def test_bad_options_exit_2(runs, args):
    res = run_cli("summary", str(runs["inverse"]), *args)
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr
