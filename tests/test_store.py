import csv
import io
import json

import pytest

from overthink.core import Item, SampleRecord
from overthink.errors import UserError
from overthink.store import Store, write_export


def rec(item="i1", budget=64, status="ok", **kw):
    base = dict(run_id="r", model="stub:oracle", provider="stub", task="t", item_id=item, budget=budget,
                mechanism="forced", replicate=0, seed=1, status=status)
    base.update(kw)
    return SampleRecord(**base)


def test_finished_key_is_never_overwritten(tmp_path):
    with Store(tmp_path) as s:
        assert s.record(rec(score=1.0, correct=True))
        assert not s.record(rec(score=0.0, correct=False))  # same key, already finished
        assert s.count() == 1
        assert next(s.iter_samples())["correct"] is True


def test_error_is_replaced_on_retry(tmp_path):
    with Store(tmp_path) as s:
        s.record(rec(status="error", error="boom"))
        assert s.done_keys() == set()
        assert s.record(rec(status="ok", score=1.0, correct=True))
        rows = list(s.iter_samples())
        assert len(rows) == 1 and rows[0]["status"] == "ok" and rows[0]["error"] is None
        assert s.sample_rows(("attempts",)) == [{"attempts": 2}]


def test_budget_types_kept_and_keys(tmp_path):
    with Store(tmp_path) as s:
        s.record(rec(budget=0))
        s.record(rec(budget="high"))
        assert s.done_keys() == {("stub:oracle", "t", "i1", 0, "forced", 0),
                                 ("stub:oracle", "t", "i1", "high", "forced", 0)}


def test_persists_across_connections(tmp_path):
    with Store(tmp_path) as s:
        s.record(rec())
        s.set_meta("config", {"a": 1})
    with Store(tmp_path, create=False) as s:
        assert s.count() == 1 and s.get_meta("config") == {"a": 1}


def test_not_a_run_dir(tmp_path):
    with pytest.raises(UserError, match="not a run directory"):
        Store(tmp_path / "nope", create=False)


def test_export_jsonl_and_csv_join_item_metadata(tmp_path):
    with Store(tmp_path) as s:
        s.add_items("t", [Item("i1", "Q?", answer=2, metadata={"num_distractors": 3, "spans": ["a, b"],
                                                                  "status": "clash"})])
        s.record(rec(reasoning='he said "<script>"', answer_text="<answer>2</answer>", score=1.0, correct=True))
        buf = io.StringIO()
        assert write_export(s, "jsonl", buf) == 1
        row = json.loads(buf.getvalue())
        assert row["num_distractors"] == 3 and row["meta_status"] == "clash" and row["status"] == "ok"
        assert row["reasoning"] == 'he said "<script>"'
        buf = io.StringIO()
        write_export(s, "csv", buf)
        rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
        assert rows[0]["spans"] == '["a, b"]' and rows[0]["budget"] == "64"
        with pytest.raises(UserError):
            write_export(s, "xml", io.StringIO())


def test_reads_for_analysis_and_review(tmp_path):
    with Store(tmp_path) as s:
        s.record(rec("i1", 0, reasoning="short", answer_text="<answer>1</answer>", correct=True, shared_trace=True))
        s.record(rec("i1", "high", reasoning="long " * 50, answer_text="<answer>2</answer>", correct=False))
        s.record(rec("i2", 0, task="other", reasoning="", correct=None))
        frame = s.sample_frame(("id", "item_id", "budget", "correct"))
        assert list(frame.columns) == ["id", "item_id", "budget", "correct"] and len(frame) == 3
        assert frame["budget"].tolist() == [0, "high", 0]  # stored types, not text
        rows = s.sample_rows(("id", "budget", "correct", "shared_trace"), task="t", item_id="i1")
        got = [(r["budget"], r["correct"], r["shared_trace"]) for r in rows]
        assert got == [(0, True, True), ("high", False, False)]
        assert [r["item_id"] for r in s.sample_rows(("item_id",), task="other")] == ["i2"]
        keys = [("stub:oracle", "t", "i1", "high", "forced", 0), ("stub:oracle", "t", "nope", 0, "forced", 0)]
        assert s.texts(keys) == [("long " * 50, "<answer>2</answer>"), ("", "")]
        ids = [r["id"] for r in rows]
        assert sorted(s.reasoning_by_id([*ids, 999])) == [(ids[0], "short"), (ids[1], "long " * 50)]
        with pytest.raises(ValueError, match="not sample columns: id; DROP TABLE samples"):
            s.sample_rows(("id; DROP TABLE samples",))
        assert s.count() == 3
