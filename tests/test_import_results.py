"""`overthink import`: real inspect_ai logs (made by running inspect_ai against the local OpenAI wire-format server),
the paper's raw result rows, tables with a column map, and malformed inputs; then every reader of a run dir."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_cli
from import_fixtures import (
    EFFORTS,
    QUESTIONS,
    expected_reasoning_tokens,
    inspect_task,
    paper_row,
    write_jsonl,
)
from servers.fake_api import FakeAPI
from starlette.testclient import TestClient
from typer.testing import CliRunner

from overthink import analyze
from overthink.cli import app
from overthink.importers.inspect_logs import _grade
from overthink.review.app import ReviewConfig, create_app
from overthink.store import DB_NAME, Store


def ot(*args):
    """The real CLI app in process (UserError -> one line, exit 2)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def samples(run: Path) -> list[dict]:
    with Store(run, create=False) as store:
        return list(store.iter_samples())


def assert_refused(res, run: Path, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "nothing imported" in res.output, res.output
    for needle in needles:
        assert needle in res.output, res.output
    assert not (run / DB_NAME).exists()


@pytest.fixture(scope="module")
def logs(inspect_logs) -> dict[str, Path]:
    return inspect_logs  # made once per session (conftest.py), shared with test_summary_cost.py


@pytest.fixture(scope="module")
def inspect_run(logs, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("imported") / "run"
    res = ot("import", logs["low"].parent, "--run-dir", run, "--scorer", "includes")
    assert res.exit_code == 0, res.output
    assert "imported 18 samples from 3 file(s) (3 inspect)" in res.output
    return run


# -- inspect_ai -------------------------------------------------------------------------------------------------
def test_inspect_logs_one_curve_over_three_efforts(inspect_run, logs):
    rows = samples(inspect_run)
    assert len(rows) == 2 * len(QUESTIONS) * len(EFFORTS)
    assert {r["budget"] for r in rows} == set(EFFORTS)
    assert {(r["model"], r["task"], r["mechanism"], r["provider"]) for r in rows} == {
        ("openai/o4-mini", "tiny_math", "native", "openai")}
    assert {r["replicate"] for r in rows} == {0, 1}  # epochs 1, 2
    expected_correct = {qid: target == "2" for qid, target, _ in QUESTIONS}
    for r in rows:
        src = r["metadata"]["source"]
        assert src["file"] == str(logs[r["budget"]]) and src["sample_id"] == r["item_id"]
        assert src["epoch"] == r["replicate"] + 1
        if r["status"] == "error":
            continue
        assert r["reasoning_tokens"] == expected_reasoning_tokens(r["budget"])
        assert r["reasoning_tokens_source"] == "usage"
        assert r["reasoning"] == "short summary" and r["metadata"]["reasoning_text"] == "summary"
        assert r["input_tokens"] == 20
        if r["budget"] == "high":  # 2,500 thinking tokens against max_tokens 1,000: cut before any answer
            assert r["status"] == "truncated" and r["score"] is None and r["stop_reason"] == "max_tokens"
            assert r["metadata"]["score_value"] == "I"  # what inspect's scorer said, kept as provenance
        else:
            assert r["status"] == "ok" and r["correct"] is expected_correct[r["item_id"]]
            assert r["score"] == float(expected_correct[r["item_id"]]) and r["answer_text"] == "<answer>2</answer>"
    errors = [r for r in rows if r["status"] == "error"]
    assert len(errors) == 1 and errors[0]["budget"] == "medium" and "fake bad request" in errors[0]["error"]
    with Store(inspect_run, create=False) as store:
        items = {i["item_id"]: i for i in store.items("tiny_math")}
        assert store.get_meta("tasks")["tiny_math"]["metric"] == "accuracy"
        assert {s["file"] for s in store.get_meta("imported")["sources"]} == {str(p) for p in logs.values()}
    assert items["q2"]["prompt"] == "How many? (q2)" and items["q2"]["expected"] == "3"
    assert items["q2"]["metadata"] == {"num_distractors": 1}


def test_several_scorers_need_a_choice(logs, tmp_path):
    run = tmp_path / "run"
    assert_refused(ot("import", logs["low"], "--run-dir", run), run,
                   "several scorers (includes, match); choose one with --scorer NAME")
    assert_refused(ot("import", logs["low"], "--run-dir", run, "--scorer", "nope"), run,
                   f"{logs['low']}: no scorer 'nope' (the log has includes, match)")
    res = ot("import", logs["low"].parent, "--run-dir", run)
    assert "3 problem(s)" in res.output  # one line per log, not one per sample


def test_reimport_is_idempotent_and_more_budgets_extend_the_curve(logs, tmp_path):
    run = tmp_path / "run"
    first = ot("import", logs["low"], logs["medium"], "--run-dir", run, "--scorer", "match")
    assert first.exit_code == 0 and "12 new, 0 already there" in first.output, first.output
    again = ot("import", logs["low"], logs["medium"], "--run-dir", run, "--scorer", "match")
    assert "0 new, 12 already there" in again.output, again.output  # the error row too
    more = ot("import", logs["low"].parent, "--run-dir", run, "--scorer", "match")
    assert "6 new, 12 already there" in more.output, more.output
    rows = samples(run)
    assert len(rows) == 18 and len({(r["item_id"], r["budget"], r["replicate"]) for r in rows}) == 18
    scores = analyze([run], n_boot=100)["scores"]
    assert list(scores["budget"]) == list(EFFORTS)


def test_inspect_log_without_a_reasoning_setting_needs_a_flag(tmp_path, monkeypatch):
    inspect_ai = pytest.importorskip("inspect_ai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    server = FakeAPI().start()
    try:
        (log,) = inspect_ai.eval(inspect_task(), model="openai/o4-mini", model_base_url=server.url + "/v1",
                                 log_dir=str(tmp_path / "logs"), display="none", reasoning_summary="auto")
        # a token limit of the sample (not max_tokens of one request): 20 + 305 tokens used of 100 allowed
        (limited,) = inspect_ai.eval(inspect_task(), model="openai/o4-mini", model_base_url=server.url + "/v1",
                                     log_dir=str(tmp_path / "limited"), display="none", reasoning_summary="auto",
                                     reasoning_effort="low", token_limit=100)
    finally:
        server.stop()
    res = ot("import", limited.location, "--run-dir", tmp_path / "limited_run", "--scorer", "match")
    assert res.exit_code == 0, res.output
    limited_rows = samples(tmp_path / "limited_run")
    assert {r["status"] for r in limited_rows} == {"truncated"} and {r["score"] for r in limited_rows} == {None}
    assert {r["metadata"]["limit"]["type"] for r in limited_rows} == {"token"}
    run = tmp_path / "run"
    assert_refused(ot("import", log.location, "--run-dir", run, "--scorer", "match"), run,
                   "neither reasoning_tokens nor reasoning_effort", "--unbudgeted 0")
    res = ot("import", log.location, "--run-dir", run, "--scorer", "match", "--unbudgeted", "natural")
    assert res.exit_code == 0, res.output
    assert {r["budget"] for r in samples(run)} == {"natural"}


def test_resume_refuses_an_imported_run(inspect_run):
    res = run_cli("resume", str(inspect_run))
    assert res.returncode == 2 and "holds imported results (overthink import)" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_every_reader_works_on_an_imported_run(inspect_run, tmp_path):
    summary = ot("summary", inspect_run)
    assert summary.exit_code == 0, summary.output
    assert "tiny_math" in summary.output and "medium" in summary.output and "nan" not in summary.output
    out = tmp_path / "report.html"
    report = ot("report", inspect_run, "--out", out, "--n-boot", 100)
    assert report.exit_code == 0, report.output
    html = out.read_text()
    assert "tiny_math" in html and "openai/o4-mini" in html
    exported = ot("export", inspect_run, "--format", "jsonl")
    records = [json.loads(line) for line in exported.output.splitlines()]
    assert len(records) == 18 and all(r["metadata"]["source"]["format"] == "inspect" for r in records)
    assert {r["num_distractors"] for r in records} == {0, 1, 2}  # item metadata at top level, as for any run
    assert ot("export", inspect_run, "--format", "csv", "--out", tmp_path / "x.csv").exit_code == 0
    assert len(pd.read_csv(tmp_path / "x.csv")) == 18
    tables = analyze([inspect_run], n_boot=100)
    scores = tables["scores"].set_index("budget")
    assert scores.loc["low", "score"] == pytest.approx(2 / 3) and scores.loc["high", "truncated"] == 6
    assert scores.loc["medium", "errors"] == 1
    assert set(tables["factor_scores"]["factor_value"]) == {"0", "1", "2"}
    config = ReviewConfig(inspect_run, default_reviewer="ann")
    client = TestClient(create_app(config), base_url="http://127.0.0.1")
    client.get(f"/?token={config.token}")
    page = client.get("/")
    assert page.status_code == 200 and "q2" in page.text
    item = client.get("/item", params={"task": "tiny_math", "item": "q2"})
    assert item.status_code == 200 and "short summary" in item.text


def test_missing_inspect_ai_names_the_extra(logs, tmp_path):
    script = ("import sys; sys.modules['inspect_ai'] = None; sys.modules['inspect_ai.log'] = None; "
              "from overthink.cli import main; sys.argv = ['overthink'] + sys.argv[1:]; main()")
    res = subprocess.run([sys.executable, "-c", script, "import", str(logs["medium"]), "--run-dir",
                          str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "-e '.[inspect]'" in res.stderr, res.stderr


# -- the paper's rows -------------------------------------------------------------------------------------------
def paper_tree(root: Path) -> Path:
    rows = []
    for qid in ("q1", "q2", "q3"):
        for budget in (0, 1024, 4096):
            for run in (1, 2):
                iid = qid if run == 1 else f"{qid}_run{run}"
                wrong = budget == 4096 and qid != "q1"
                rows.append(paper_row(iid, budget, correct=not wrong, answer="3" if wrong else "2"))
    rows[0]["usage"] = {"input_tokens": 120, "output_tokens": 50,
                        "output_tokens_details": {"thinking_tokens": 37}}  # the API's own count
    rows.append(paper_row("q4", 1024, correct=False, answer=None))  # no answer: the paper scored it wrong
    rows.append(paper_row("q4", 4096, correct=None, answer=None, stop_reason="max_tokens"))
    rows.append(paper_row("q4", 0, correct=None, answer=None, error="Max retries reached. Last error: 529 "
                          "(Authorization: Bearer sk-ant-api03-abcdefghijklmnop)"))
    write_jsonl(root / "raw" / "claude-x" / "synthetic_misleading_math.jsonl", rows)
    grades = [paper_row(f"s{i}", b, correct=None, answer=str(7 + b // 4096), metric="mse", correct_answer="7",
                        squared_error=float((b // 4096) ** 2), icl_enabled=shots > 0, icl_num_examples=shots,
                        task_id="grades_regression")
              for i in range(3) for b in (0, 4096) for shots in (0, 8)]
    write_jsonl(root / "raw" / "claude-x" / "grades_regression.jsonl", grades)
    return root / "raw"


def test_paper_rows(tmp_path):
    raw = paper_tree(tmp_path)
    run = tmp_path / "run"
    res = ot("import", raw, "--run-dir", run)
    assert res.exit_code == 0, res.output
    assert "(2 paper)" in res.output and "budgets: 0, 1024, 4096" in res.output
    rows = samples(run)
    mm = {(r["item_id"], r["budget"], r["replicate"]): r for r in rows if r["task"] == "synthetic_misleading_math"}
    assert len(mm) == 3 * 3 * 2 + 3
    first = mm[("q1", 0, 0)]
    assert first["reasoning_tokens"] == 37 and first["reasoning_tokens_source"] == "usage"
    other = mm[("q2", 1024, 1)]  # q2_run2: the second repeat of budget 1024
    assert other["metadata"]["source"]["instance_id"] == "q2_run2"
    assert other["reasoning_tokens_source"] == "estimate"
    assert other["reasoning_tokens"] == math.ceil(len(other["reasoning"]) / 4)
    assert mm[("q2", 4096, 0)]["correct"] is False and mm[("q1", 4096, 1)]["correct"] is True
    assert mm[("q4", 1024, 0)]["status"] == "unparsed" and mm[("q4", 1024, 0)]["metadata"]["paper_correct"] is False
    assert mm[("q4", 4096, 0)]["status"] == "truncated"
    assert mm[("q4", 0, 0)]["status"] == "error" and "529" in mm[("q4", 0, 0)]["error"]
    assert "abcdefghijklmnop" not in mm[("q4", 0, 0)]["error"]  # a key in a result file never reaches the store
    assert "abcdefghijklmnop" not in (run / DB_NAME).read_bytes().decode("utf-8", "replace")
    assert first["stop_reason"] == "stop_sequence" and first["expected"] == "2"
    grades = [r for r in rows if r["task"] == "grades_regression"]
    assert {r["item_id"] for r in grades} == {"s0", "s1", "s2", "s0@8-shot", "s1@8-shot", "s2@8-shot"}
    with Store(run, create=False) as store:
        assert store.get_meta("tasks")["grades_regression"]["metric"] == "rmse"
        shots = {i["item_id"]: i["metadata"]["shots"] for i in store.items("grades_regression")}
    assert shots["s1@8-shot"] == 8 and shots["s1"] == 0
    scores = analyze([run], n_boot=100)["scores"]
    rmse = scores[scores["task"] == "grades_regression"].set_index("budget")["score"]
    assert rmse[0] == 0.0 and rmse[4096] == 1.0
    acc = scores[scores["task"] == "synthetic_misleading_math"].set_index("budget")
    assert acc.loc[1024, "unparsed"] == 1 and acc.loc[1024, "score"] == 1.0  # never folded into the score
    assert ot("import", raw, "--run-dir", run).output.count("0 new") == 1  # idempotent


def test_paper_metric_without_an_equivalent_is_refused(tmp_path):
    src = write_jsonl(tmp_path / "asdiv.jsonl", [paper_row("a1", 0), paper_row("a2", 0, metric="relative_error")])
    run = tmp_path / "run"
    assert_refused(ot("import", src, "--run-dir", run), run,
                   f"{src}:2: metric 'relative_error' has no overthink equivalent")


# -- tables -----------------------------------------------------------------------------------------------------
TABLE = ("qid,effort,is_right,think_tok,model_name\n"
         "a,0,1,0,m1\na,0,1,0,m1\nb,0,true,0,m1\nb,0,yes,0,m1\n"
         "a,1024,0,900,m1\na,1024,1,950,m1\nb,1024,false,800,m1\nb,1024,no,870,m1\n")
MAP = "item_id=qid,budget=effort,correct=is_right,reasoning_tokens=think_tok,model=model_name"


def test_table_with_a_column_map(tmp_path):
    src = tmp_path / "sweep.csv"
    src.write_text(TABLE)
    run = tmp_path / "run"
    res = ot("import", src, "--run-dir", run, "--columns", MAP, "--task", "mine")
    assert res.exit_code == 0, res.output
    rows = samples(run)
    assert len(rows) == 8 and {r["model"] for r in rows} == {"m1"} and {r["task"] for r in rows} == {"mine"}
    keyed = {(r["item_id"], r["budget"], r["replicate"]): r for r in rows}
    assert keyed[("a", 1024, 0)]["correct"] is False and keyed[("a", 1024, 1)]["correct"] is True
    assert keyed[("a", 1024, 1)]["reasoning_tokens"] == 950
    assert keyed[("a", 1024, 1)]["reasoning_tokens_source"] == "table"
    assert keyed[("b", 0, 1)]["metadata"]["source"] == {"format": "table", "file": str(src), "row": "5",
                                                        "item_id": "b"}
    scores = analyze([run], n_boot=100)["scores"].set_index("budget")
    assert scores.loc[0, "score"] == 1.0 and scores.loc[1024, "score"] == 0.25
    # the same table as parquet with the map in a YAML file; then as JSONL into the same dir (nothing new)
    frame = pd.read_csv(src)
    frame.to_parquet(tmp_path / "sweep.parquet")
    (tmp_path / "map.yaml").write_text("\n".join(f"{k}: {v}" for k, v in (p.split("=") for p in MAP.split(","))))
    run2 = tmp_path / "run2"
    res = ot("import", tmp_path / "sweep.parquet", "--run-dir", run2, "--columns", tmp_path / "map.yaml",
             "--task", "mine")
    assert res.exit_code == 0, res.output
    assert sorted((r["item_id"], r["budget"], r["replicate"], r["correct"]) for r in samples(run2)) == sorted(
        (r["item_id"], r["budget"], r["replicate"], r["correct"]) for r in rows)
    write_jsonl(tmp_path / "sweep.jsonl", frame.to_dict("records"))
    res = ot("import", tmp_path / "sweep.jsonl", "--run-dir", run2, "--columns", tmp_path / "map.yaml",
             "--task", "mine")
    assert "0 new, 8 already there" in res.output, res.output


def test_analyze_accepts_a_dataframe_with_the_table_columns(tmp_path):
    frame = pd.read_csv(io.StringIO(TABLE)).rename(columns={
        "qid": "item_id", "effort": "budget", "is_right": "correct", "think_tok": "reasoning_tokens",
        "model_name": "model"}).assign(task="mine")
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert ot("import", tmp_path / "t.csv", "--run-dir", tmp_path / "run").exit_code == 0
    from_frame = analyze(frame, n_boot=200)
    from_dir = analyze([tmp_path / "run"], n_boot=200)
    cols = ["task", "model", "budget", "n", "score", "ci_low", "ci_high", "mean_reasoning_tokens"]
    pd.testing.assert_frame_equal(from_frame["scores"][cols], from_dir["scores"][cols])
    assert from_frame["verdicts"]["paper_verdict"].tolist() == from_dir["verdicts"]["paper_verdict"].tolist()
    with pytest.raises(Exception, match=r"DataFrame row 1: budget 'lots'"):
        analyze(frame.assign(budget=[0, "lots", *frame["budget"][2:]]))
    with pytest.raises(Exception, match="missing column"):
        analyze(frame.drop(columns=["reasoning_tokens"]))


# -- malformed inputs -------------------------------------------------------------------------------------------
def test_every_bad_row_is_listed_and_nothing_is_written(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(TABLE)
    bad = tmp_path / "bad.csv"
    bad.write_text("qid,effort,is_right,think_tok,model_name\n"
                   "a,0,1,0,m1\n"
                   "a,lots,1,0,m1\n"
                   "b,0,maybe,0,m1\n"
                   ",0,1,0,m1\n"
                   "c,0,1,-5,m1\n"
                   "d,0,1,0\n")
    run = tmp_path / "run"
    res = ot("import", good, bad, "--run-dir", run, "--columns", MAP, "--task", "mine")
    assert_refused(res, run, "6 problem(s)", f"{bad}:3: budget 'lots'", f"{bad}:4: correct 'maybe'",
                   f"{bad}:5: empty item_id", f"{bad}:6: reasoning_tokens must be a whole number >= 0",
                   f"{bad}:7: fewer cells", f"{bad}:2: the same sample (model m1, item a, budget 0, replicate 0) "
                   f"is already at {good}:2")


def test_missing_columns_and_wrong_formats(tmp_path, logs):
    src = tmp_path / "t.csv"
    src.write_text(TABLE)
    run = tmp_path / "run"
    assert_refused(ot("import", src, "--run-dir", run, "--task", "x"), run,
                   "missing column(s) for item_id (column 'item_id')", "reasoning_tokens", "--columns FIELD=COLUMN")
    assert_refused(ot("import", src, "--run-dir", run, "--format", "inspect"), run,
                   f"{src}: not an inspect_ai eval log")
    assert_refused(ot("import", src, "--run-dir", run, "--format", "paper"), run,
                   f"{src}:2: missing field `instance_id`")
    assert_refused(ot("import", logs["high"], "--run-dir", run, "--format", "table"), run,
                   "unsupported file type '.eval'")
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    assert_refused(ot("import", odd, "--run-dir", run), run, "unknown file type '.txt'")
    res = ot("import", src, "--run-dir", run, "--columns", "item=qid")
    assert res.exit_code == 2 and "'item' not a field" in res.output
    res = ot("import", tmp_path / "nope.csv", "--run-dir", run)
    assert res.exit_code == 2 and "no such file or directory" in res.output


def test_non_utf8_and_binary_files(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"item_id,budget,correct,reasoning_tokens\na,0,1,0\nb\xe9,0,1,0\n")
    binary = tmp_path / "blob.jsonl"
    binary.write_bytes(bytes(range(256)) * 4)
    fake_log = tmp_path / "broken.eval"
    fake_log.write_bytes(b"PK\x03\x04 not really a zip")
    run = tmp_path / "run"
    assert_refused(ot("import", latin, "--run-dir", run, "--model", "m", "--task", "t"), run,
                   f"{latin}:3: not UTF-8 text (byte 0xe9)")
    assert_refused(ot("import", binary, "--run-dir", run), run, f"{binary}: a binary file")
    assert_refused(ot("import", fake_log, "--run-dir", run), run, f"{fake_log}: not an inspect_ai eval log")
    res = run_cli("import", str(latin), "--run-dir", str(run), "--model", "m", "--task", "t")
    assert res.returncode == 2 and "not UTF-8" in res.stderr and "Traceback" not in res.stderr


def test_a_sweep_run_dir_is_not_mixed_with_imports(tmp_path):
    run = tmp_path / "run"
    with Store(run) as store:
        store.set_meta("config", {"models": ["stub:inverse"]})
    src = tmp_path / "t.csv"
    src.write_text(TABLE)
    res = ot("import", src, "--run-dir", run, "--columns", MAP, "--task", "mine")
    assert res.exit_code == 2 and "holds a sweep run by `overthink run`" in res.output
    with Store(run, create=False) as store:
        assert store.count() == 0


def test_score_values_map_to_correct_and_score():
    assert _grade("C") == (1.0, True, False) and _grade("I") == (0.0, False, False)
    assert _grade("P") == (0.5, None, False) and _grade("N") == (None, None, True)
    assert _grade(1) == (1.0, True, False) and _grade(0.25) == (0.25, None, False) and _grade(True)[1] is True
    with pytest.raises(ValueError, match="not C / I / P / N or a number"):
        _grade({"a": 1})


def test_table_status_scores_and_metrics(tmp_path):
    src = write_jsonl(tmp_path / "t.jsonl", [
        {"item_id": "a", "budget": 0, "score": 0.5, "reasoning_tokens": 3, "latency_s": 1.25, "cost_usd": 0.01},
        {"item_id": "a", "budget": 512, "status": "error", "error": "HTTP 529", "reasoning_tokens": None},
        {"item_id": "b", "budget": 512, "status": "truncated", "correct": False, "reasoning_tokens": 512},
        {"item_id": "b", "budget": 0, "correct": "C", "reasoning_tokens": 0, "reasoning_tokens_source": "usage"},
    ])
    run = tmp_path / "run"
    res = ot("import", src, "--run-dir", run, "--model", "m", "--task", "t")
    assert res.exit_code == 0, res.output
    rows = {(r["item_id"], r["budget"]): r for r in samples(run)}
    assert rows[("a", 0)]["score"] == 0.5 and rows[("a", 0)]["correct"] is None
    assert rows[("a", 0)]["latency_s"] == 1.25 and rows[("a", 0)]["cost_usd"] == 0.01
    assert rows[("a", 512)]["status"] == "error" and rows[("a", 512)]["error"] == "HTTP 529"
    assert rows[("b", 512)]["status"] == "truncated" and rows[("b", 512)]["correct"] is None  # never scored
    assert rows[("b", 0)]["correct"] is True and rows[("b", 0)]["reasoning_tokens_source"] == "usage"
    sq = write_jsonl(tmp_path / "sq.jsonl", [{"item_id": "a", "budget": 0, "score": 4.0, "reasoning_tokens": 1}])
    assert_refused(ot("import", sq, "--run-dir", tmp_path / "r2", "--model", "m", "--task", "g"), tmp_path / "r2",
                   f"{sq}:1: score 4 is outside [0, 1] for metric accuracy; for squared errors use --metric rmse")
    res = ot("import", sq, "--run-dir", tmp_path / "r2", "--model", "m", "--task", "g", "--metric", "rmse")
    assert res.exit_code == 0, res.output
    zero = write_jsonl(tmp_path / "zero.jsonl", [{"item_id": "b", "budget": 0, "score": 0, "reasoning_tokens": 1}])
    res = ot("import", zero, "--run-dir", tmp_path / "r2", "--model", "m", "--task", "g")
    assert res.exit_code == 2 and "stored with metric 'rmse'; this import says 'accuracy'" in res.output
    res = ot("import", sq, "--run-dir", tmp_path / "r3", "--model", "m", "--task", "g", "--metric", "f1")
    assert res.exit_code == 2 and "--metric 'f1' is not one of accuracy, rmse, matching_behavior" in res.output
