"""Small data, honest words: one verdict vocabulary, no "nan" anywhere, boundary-honest intervals, scored / total,
no "confident" sweet spot on degenerate data, weak-setup warnings shown once."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from first_hour_fixtures import tiny_run
from helpers import run_cli

from overthink.analysis.api import analyze
from overthink.analysis.curves import score_table, wilson_interval
from overthink.analysis.verdicts import NOT_ENOUGH, TOO_FEW, TREND_VERDICTS, WORDS
from overthink.report.html import build_report

NAN = re.compile(r"\bnan\b", re.IGNORECASE)


def _outputs(run_dir, tmp_path) -> dict[str, str]:
    term = run_cli("summary", str(run_dir))
    assert term.returncode == 0, term.stderr
    js = run_cli("summary", str(run_dir), "--json")
    assert js.returncode == 0, js.stderr
    html = build_report([run_dir], tmp_path / f"{run_dir.name}.html", n_boot=200).read_text()
    return {"terminal": term.stdout, "json": js.stdout, "html": html.split("</style>", 1)[1]}


TINY = {
    "one_sample_per_budget": dict(items=1),
    "three_items_all_wrong": dict(items=3, score=lambda i, b, r: 0.0),
    "all_zero": dict(items=20, score=lambda i, b, r: 0.0),
    "all_truncated": dict(items=4, status=lambda i, b, r: "truncated"),
    "errors_at_one_budget": dict(items=6, status=lambda i, b, r: "error" if b == 256 else "ok",
                                 score=lambda i, b, r: float(i % 2)),
}


@pytest.mark.parametrize("case", sorted(TINY))
def test_no_nan_in_terminal_json_or_html(case, tmp_path):
    run = tiny_run(tmp_path / case, **TINY[case])
    out = _outputs(run, tmp_path)
    for where, text in out.items():
        assert not NAN.search(text), (case, where, NAN.search(text) and text[max(0, NAN.search(text).start() - 200):
                                                                           NAN.search(text).end() + 50])
    data = json.loads(out["json"])  # strict JSON: no NaN tokens, missing values are null
    assert data["schema"] == "overthink.summary/1"
    if case in ("three_items_all_wrong", "all_zero"):
        assert "confident" not in out["html"] and "confident" not in out["terminal"]


def test_one_sample_per_budget_says_too_few_items_everywhere(tmp_path):
    # Issue 24: no verdict below 10 items, and the reason is the item count.
    run = tiny_run(tmp_path / "one", items=1)
    out = _outputs(run, tmp_path)
    phrase = "too few items for a verdict: 1"
    assert phrase in out["terminal"].replace("\n", " ")
    assert phrase in out["json"]
    assert phrase.replace("t", "T", 1) in out["html"] or phrase in out["html"]
    assert "flat (+0.0 points)" not in out["terminal"]
    verdicts = json.loads(out["json"])["verdicts"]
    assert [v["verdict"] for v in verdicts] == [TOO_FEW]
    assert analyze([run], n_boot=200)["verdicts"]["verdict"].tolist() == [TOO_FEW]
    assert 'data-verdict="too few items"' in out["html"]


def test_the_verdict_names_are_one_vocabulary(tmp_path):
    run = tiny_run(tmp_path / "v", items=12, score=lambda i, b, r: float(b == 0 or i % 4 == 0))
    t = analyze([run], n_boot=200)["verdicts"]
    row = t.iloc[0]
    assert row["verdict"] in TREND_VERDICTS and row["verdict_words"] == WORDS[row["verdict"]]
    out = _outputs(run, tmp_path)
    assert f": {row['verdict']} (" in out["terminal"]
    assert WORDS[row["verdict"]] in out["html"]
    assert json.loads(out["json"])["verdicts"][0]["verdict_detail"] == row["verdict_detail"]


def test_sweet_spot_is_not_confident_when_every_score_is_zero(tmp_path):
    t = analyze([tiny_run(tmp_path / "z", items=20, score=lambda i, b, r: 0.0)], n_boot=200)["sweet_spot"]
    assert t["sureness_words"].tolist() == ["no difference"]
    t = analyze([tiny_run(tmp_path / "three", items=3, score=lambda i, b, r: float(b == 0))], n_boot=200)
    assert t["sweet_spot"]["sureness_words"].tolist() == [NOT_ENOUGH]


def test_wilson_interval_is_honest_at_the_boundary():
    p, lo, hi = wilson_interval(np.zeros(20), np.ones(20))
    assert (p, lo) == (0.0, 0.0) and hi == pytest.approx(0.1611, abs=1e-3)  # not [0, 0]
    p, lo, hi = wilson_interval(np.r_[np.ones(13), np.zeros(7)], np.ones(20))
    assert (lo, hi) == (pytest.approx(0.4329, abs=1e-3), pytest.approx(0.8188, abs=1e-3))  # textbook Wilson 13/20
    # Three identical replicates per item carry no more information than one: same interval as 13 of 20 items.
    _, lo3, hi3 = wilson_interval(3 * np.r_[np.ones(13), np.zeros(7)], 3 * np.ones(20))
    assert (lo3, hi3) == (pytest.approx(lo), pytest.approx(hi))
    # Independent replicates (half of each item's replicates right) narrow it towards 60 samples.
    _, lo_i, hi_i = wilson_interval(np.r_[np.full(10, 2.0), np.full(10, 1.0)], np.full(20, 3.0))
    assert hi_i - lo_i < 0.25


def test_score_table_n_column_and_interval(tmp_path):
    df = pd.DataFrame([dict(task="t", model="m", mechanism="forced", item_id=f"i{i}", budget=0, replicate=0,
                            status="unparsed" if i == 0 else "ok", score=None if i == 0 else 0.0,
                            reasoning_tokens=5) for i in range(20)])
    row = score_table(df, n_boot=100).iloc[0]
    assert (row["n"], row["n_scored"], row["ci_method"]) == (20, 19, "wilson") and row["ci_high"] > 0.1
    run = tiny_run(tmp_path / "n", items=20, status=lambda i, b, r: "unparsed" if i == 0 else "ok")
    assert "19/20" in run_cli("summary", str(run)).stdout


def test_weak_setup_warnings_once_in_terminal_and_report(tmp_path):
    config = {"models": ["local:m"], "tasks": ["misleading-math"], "replicates": 2, "temperature": 0}
    run = tiny_run(tmp_path / "weak", items=6, replicates=2, config=config,
                   status=lambda i, b, r: "truncated" if b == 256 and i < 4 else "ok")
    term = run_cli("summary", str(run)).stdout.replace("\n", " ")
    html = build_report([run], tmp_path / "weak.html", n_boot=200).read_text()
    for text in (term, html):
        assert text.count("replicates: 2 at temperature 0") == 1
        assert text.count("only 6 items per curve") == 1
        assert text.count("budget 256: 8 of 12 samples truncated") == 1
    # Without the config, the data give identical replicates away (same answer and length every time).
    plain = tiny_run(tmp_path / "same", items=12, replicates=2)
    assert "every replicate of all 36 item x budget cells gave the same answer" in \
        run_cli("summary", str(plain)).stdout.replace("\n", " ")
    sound = tiny_run(tmp_path / "ok", items=12, score=lambda i, b, r: float((i + b + r) % 3 > 0), replicates=2,
                     tokens=lambda i, b, r: int(0.9 * b) + r)
    assert "warning:" not in run_cli("summary", str(sound)).stdout
