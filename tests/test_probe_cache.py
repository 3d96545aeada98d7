"""The trace-probe cache (schema 4, table sample_probes): measured once when a sample is stored, equal to what the
text gives, kept consistent when a sample is replaced, and an older store without it still reports the same
numbers (measured from the text). Also: progress lines on stderr for a long analysis when stderr is no terminal."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd

from overthink.analysis.api import analyze
from overthink.analysis.load import load_runs
from overthink.analysis.probes import probe_table
from overthink.core import Item, SampleRecord
from overthink.report.html import build_report
from overthink.store import SCHEMA_VERSION, Store
from overthink.trace_probes import PROBE_VERSION, item_cues, sample_probes

TEXTS = [
    "Let me count. The answer is 4. Wait, the 37% chance matters? Hmm, the answer is 5.",
    "Two apples and two pears, so the answer is 4. Double-check: yes.",
    "On second thought the rain (37%) is irrelevant. <answer>4</answer>",
    "",  # no reasoning text: not probed
    "Actually the answer is 3. Let me reconsider... The answer is 4. Hold on, the answer: 4",
    "The weather in Lisbon is irrelevant; the answer is 4.",
]


def _store(run_dir: Path) -> Path:
    with Store(run_dir) as store:
        store.set_meta("tasks", {"t": {"metric": "accuracy"}})
        store.add_items("t", [
            Item(id=f"i{i}", prompt=f"You have {i} apples and 2 pears. There is a 37% chance of rain in Lisbon. "
                 f"How many fruits?", answer=str(i + 2),
                 metadata={"distractor_spans": ["There is a 37% chance of rain in Lisbon."]}) for i in range(6)])
        store.add_items("t", [Item(id="plain", prompt="2 + 2?", answer="4")])  # no distractor spans
        n = 0
        for item in [*(f"i{i}" for i in range(6)), "plain"]:
            for budget in (0, 256, 1024):
                for rep in range(3):
                    text = "" if budget == 0 else TEXTS[n % len(TEXTS)]
                    status = "error" if n % 17 == 5 else "ok"
                    store.record(SampleRecord(
                        run_id="r", model="sim:a", provider="sim", task="t", item_id=item, budget=budget,
                        mechanism="forced", replicate=rep, seed=rep, status=status, reasoning_tokens=budget // 2,
                        answer="4", expected="4", score=float(n % 3 != 0) if status == "ok" else None,
                        reasoning=text, answer_text="<answer>4</answer>"))
                    n += 1
    return run_dir


def _make_old(run_dir: Path) -> None:
    """What a store written before schema 4 looks like: no sample_probes table, no triggers, schema_version 3."""
    conn = sqlite3.connect(run_dir / "overthink.sqlite")
    with conn:
        for trigger in ("sample_probes_insert", "sample_probes_update", "sample_probes_delete"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE sample_probes")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.close()


def test_cached_probes_equal_the_probes_measured_from_text(tmp_path):
    run = _store(tmp_path / "run")
    with Store(run, create=False) as store:
        assert store.get_meta("schema_version") == SCHEMA_VERSION == 4
        rows = store.sample_rows(["id", "task", "item_id", "reasoning", "answer_text"])
        items = {(i["task"], i["item_id"]): i for i in store.items()}
        cached = {r[0]: r[1:] for r in store.probe_rows([r["id"] for r in rows])}
    assert len(cached) == len(rows)  # every stored sample was measured when stored
    for r in rows:
        it = items[(r["task"], r["item_id"])]
        cues = item_cues(it["prompt"], it["expected"], it["metadata"])
        assert (it["item_id"] == "plain") == (cues is None)
        assert cached[r["id"]] == (len(r["reasoning"]), *sample_probes(r["reasoning"], cues))
    assert any(v[1] > 0 for v in cached.values()) and any(v[2] > 0 for v in cached.values())
    assert {v[3] for v in cached.values()} == {None, 0, 1}  # engagement measured where the item has cues

    # the same store as an older overthink wrote it: no cache; the tables must not change
    old = tmp_path / "old"
    shutil.copytree(run, old)
    _make_old(old)
    new_data, old_data = load_runs([run]), load_runs([old])
    pd.testing.assert_frame_equal(new_data.samples.drop(columns="run"), old_data.samples.drop(columns="run"))
    for per_group in (2, 2000):  # a subset of each budget's texts, and all of them
        table = probe_table(new_data.samples, new_data.items, new_data.runs, per_group=per_group)
        from_text = probe_table(old_data.samples, old_data.items, old_data.runs, per_group=per_group)
        pd.testing.assert_frame_equal(table, from_text)
    assert table["distractor_engagement"].notna().any() and (table["n_text"] > 0).any()
    assert table["mean_answer_changes"].gt(0).any() and table["share_second_guessing"].gt(0).any()


def test_an_old_store_without_the_cache_reports_and_is_not_written(tmp_path):
    old = _store(tmp_path / "old")
    _make_old(old)
    before = (old / "overthink.sqlite").read_bytes()
    out = build_report([old], tmp_path / "report.html", n_boot=100)
    assert "second-guessing" in out.read_text(encoding="utf-8")
    assert (old / "overthink.sqlite").read_bytes() == before  # a reader never migrates or fills the cache
    with Store(old) as store:  # a writer migrates: the cache table appears, older samples are measured on demand
        assert store.get_meta("schema_version") == SCHEMA_VERSION
        assert store.probe_rows([1, 2, 3]) == []
        assert store.fill_probes() == store.count()
        assert len(store.probe_rows([1, 2, 3])) == 3


def test_a_replaced_sample_gets_the_probes_of_its_new_text(tmp_path):
    run = tmp_path / "run"
    with Store(run) as store:
        store.add_items("t", [Item(id="a", prompt="There is a 40% chance. 1 + 1?", answer="2",
                                   metadata={"distractor_spans": ["There is a 40% chance."]})])
        base = dict(run_id="r", model="sim:a", provider="sim", task="t", item_id="a", budget=64, mechanism="forced",
                    replicate=0, seed=0)
        store.record(SampleRecord(**base, status="error", reasoning="wait wait, 40% matters"))
        sid = store.sample_rows(["id"])[0]["id"]
        assert store.probe_rows([sid]) == [(sid, 22, 2, 0, 1)]
        store.record(SampleRecord(**base, status="ok", reasoning="the answer is 2"))  # the retry replaces it
        assert store.probe_rows([sid]) == [(sid, 15, 0, 0, 0)]
        assert not store.record(SampleRecord(**base, status="ok", reasoning="hmm"))  # finished: kept as it was
        assert store.probe_rows([sid]) == [(sid, 15, 0, 0, 0)]
    # SQL that replaces a sample's text behind the store's back (another tool): the stale row is dropped
    conn = sqlite3.connect(run / "overthink.sqlite")
    with conn:
        conn.execute("UPDATE samples SET reasoning = 'hmm, hmm' WHERE id = ?", (sid,))
    conn.close()
    with Store(run, create=False) as store:
        assert store.probe_rows([sid]) == []
        data = load_runs([run])
        assert data.samples["reasoning_chars"].tolist() == [8]  # measured from the text where the cache has no row
        assert probe_table(data.samples, data.items, data.runs)["markers_per_sample"].tolist() == [2.0]
    assert PROBE_VERSION >= 1


def test_progress_lines_on_stderr_when_it_is_not_a_terminal(tmp_path, monkeypatch, capsys):
    run = _store(tmp_path / "run")
    monkeypatch.setenv("OVERTHINK_PROGRESS_MIN_SAMPLES", "10")  # a long step, made small
    analyze([run], n_boot=100)
    err = capsys.readouterr().err.splitlines()
    steps = [line for line in err if line.startswith("analyze: step ")]
    assert steps[0].startswith("analyze: step 1/15 load done, elapsed ")
    assert steps[-1].startswith("analyze: step 15/15 warnings done")
    assert len(steps) == 15 and "\x1b[" not in "".join(err)  # plain lines, no terminal escapes
    monkeypatch.setenv("OVERTHINK_PROGRESS_MIN_SAMPLES", "1000")  # a small run stays quiet
    analyze([run], n_boot=100)
    assert "analyze: step" not in capsys.readouterr().err


def test_probe_table_without_texts(tmp_path):
    run = tmp_path / "run"
    with Store(run) as store:
        store.add_items("t", [Item(id="a", prompt="1 + 1?", answer="2")])
        for rep in range(2):
            store.record(SampleRecord(run_id="r", model="sim:a", provider="sim", task="t", item_id="a", budget=0,
                                      mechanism="forced", replicate=rep, seed=0, status="ok", score=1.0))
    data = load_runs([run])
    table = probe_table(data.samples, data.items, data.runs)
    assert table["n"].tolist() == [2] and table["n_text"].tolist() == [0] and table["markers_per_sample"].isna().all()


def test_the_cache_is_written_without_returning(tmp_path, monkeypatch):
    """SQLite before 3.35 has no RETURNING: the sample's id is read back by its key instead."""
    import overthink.store.run_store as run_store

    monkeypatch.setattr(run_store, "_RETURNING", False)
    with Store(tmp_path / "run") as store:
        store.add_items("t", [Item(id="a", prompt="1 + 1?", answer="2")])
        base = dict(run_id="r", model="sim:a", provider="sim", task="t", item_id="a", budget=64,
                    mechanism="forced", replicate=0, seed=0)
        assert store.record(SampleRecord(**base, status="error", reasoning="wait"))
        assert store.record(SampleRecord(**base, status="ok", reasoning="hmm, hmm"))
        assert not store.record(SampleRecord(**base, status="ok", reasoning="other"))
        assert store.probe_rows([1]) == [(1, 8, 2, 0, None)]
