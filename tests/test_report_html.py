"""The HTML report, the analysis API and exports, built from real run stores."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import grades_run, hostile_run, stub_run
from typer.testing import CliRunner

from overthink.analysis.api import analyze
from overthink.cli.report import app as report_app
from overthink.report.html import build_report


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    return {"inverse": stub_run(base / "inv"), "flat": stub_run(base / "flat", model="stub:flat"),
            "natural": stub_run(base / "nat", natural=4), "evil": hostile_run(base / "evil"),
            "grades": grades_run(base / "grades")}


def test_analyze_returns_all_tables(runs):
    t = analyze([runs["inverse"], runs["flat"], runs["natural"]], n_boot=200)
    assert all(isinstance(v, pd.DataFrame) for v in t.values())
    v = t["verdicts"].set_index("model")
    assert v.loc["stub:inverse [inv]", "trend"] == "inverse"  # the stub gets worse with budget
    assert v.loc["stub:flat", "trend"] != "inverse"
    assert set(t["natural_rank"]["length_rank"]) == {1, 2, 3, 4}
    assert set(t["factor_scores"]["factor"]) == {"num_distractors"}
    assert t["sweet_spot"].set_index("model").loc["stub:inverse [inv]", "peak_budget"] == 0
    probes = t["probes"]
    assert probes["share_truncated"].notna().all() and (probes["n"] > 0).all()


def test_report_sections_figures_and_files(runs, tmp_path):
    out = build_report([runs["inverse"], runs["flat"], runs["natural"], runs["grades"]], tmp_path / "r.html",
                       n_boot=200)
    html = out.read_text()
    assert html.index('id="verdicts"') < html.index('id="curves"') < html.index('id="sweet-spot"') \
        < html.index('id="details"')
    assert "a larger reasoning budget makes it worse" in html  # the stub:inverse headline
    assert html.count("<svg") >= 5  # curves, factors, natural, feature heatmap, probes
    assert "http://" not in re.sub(r'xmlns(:\w+)?="http://[^"]+"', "", html)  # nothing to fetch
    for name in ("curves", "natural_rank", "probes"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / "figures" / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    assert "R² causal" in html  # grades variance shares
    assert "RMSE" in html and "Natural overthinking" in html


def test_model_text_is_escaped(runs, tmp_path):
    html = build_report([runs["evil"]], tmp_path / "r.html", n_boot=200).read_text()
    body = html.split("</style>", 1)[1]
    assert "<script" not in body and "onerror=" not in body.replace("onerror=&#34;", "")
    assert "&lt;script&gt;window.__xss = 1" in body
    assert "onmouseover=alert" not in body.replace("&lt;b onmouseover=alert", "")


def test_cli_report_says_when_sections_are_skipped_and_refuses_bad_input(runs, tmp_path):
    runner = CliRunner()
    res = runner.invoke(report_app, [str(runs["inverse"]), str(runs["flat"]), "--out", str(tmp_path / "x.html"),
                                     "--n-boot", "200"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "x.html").read_text()
    assert "no run with --natural K" in html  # neither run has natural samples
    assert "no item carries input features" in html
    assert "Reviewers&#39; labels" not in html and "Reviewers' labels" not in html  # no labels, no section
    from overthink.errors import UserError

    with pytest.raises(UserError, match="not a run directory"):
        build_report([tmp_path / "nope"], tmp_path / "y.html")


def test_parquet_export_joins_item_metadata(runs, tmp_path):
    from overthink.cli import app

    out = tmp_path / "s.parquet"
    res = CliRunner().invoke(app, ["export", str(runs["inverse"]), "--format", "parquet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(out)
    assert len(df) == 24 * 4 and {"num_distractors", "reasoning", "score"} <= set(df.columns)
    mixed = tmp_path / "g.parquet"
    assert CliRunner().invoke(app, ["export", str(runs["grades"]), "-f", "parquet", "--out", str(mixed)]).exit_code == 0
    assert pd.read_parquet(mixed)["features"].str.contains("Study_Hours").all()  # nested values as JSON text


def test_report_shows_label_counts_per_budget(runs, tmp_path):
    import shutil

    from overthink.review.labels import CODES
    from overthink.store import Store

    # a copy of the module's run (a run directory is self-contained); the unlabelled report is the CLI test's
    run = Path(shutil.copytree(runs["inverse"], tmp_path / "labelled"))
    with Store(run) as store:
        ids = [r["id"] for r in store.sample_rows(("id", "budget")) if r["budget"] == 1024][:3]
        for sid in ids:
            store.add_label(sid, [CODES[0]], reviewer="ana")
            store.add_label(sid, [CODES[0]], reviewer="ben")  # a second reviewer does not double the count
    html = build_report([run], tmp_path / "after.html", n_boot=200).read_text()
    section = html[html.index("labels</summary>"):]
    row = re.search(r"<tr><td>misleading-math</td><td>stub:inverse</td><td>1024</td><td>(\d+)</td>", section)
    assert row and row.group(1) == "3"


def test_report_of_a_run_with_no_scored_sample(tmp_path):
    """Every sample truncated: the report still renders and shows the censoring instead of crashing."""
    from overthink.core import Item, SampleRecord
    from overthink.store import Store

    run = tmp_path / "censored"
    with Store(run) as store:
        store.set_meta("tasks", {"misleading-math": {"metric": "accuracy"}})
        store.add_items("misleading-math", [Item(f"i{i}", "Q", answer=2) for i in range(3)])
        for i in range(3):
            for budget in (0, 32, 128):
                store.record(SampleRecord(run_id="x", model="local:m", provider="local", task="misleading-math",
                                          item_id=f"i{i}", budget=budget, mechanism="prompted", replicate=0, seed=1,
                                          status="truncated", reasoning_tokens=budget + 10, stop_reason="max_tokens"))
    html = build_report([run], tmp_path / "r.html").read_text()
    assert "truncated" in html and "nan" not in html.lower().replace("nano", "")
