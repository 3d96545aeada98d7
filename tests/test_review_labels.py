"""Labels in the run store, agreement (Cohen's kappa), label counts per budget, `export --labels`."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from typer.testing import CliRunner

from overthink.core import SampleRecord
from overthink.errors import UserError
from overthink.review.labels import CODES, agreement, label_counts, validate_label
from overthink.store import Store


def _store(tmp_path, n: int = 10, budgets=(0, 1024)) -> Store:
    store = Store(tmp_path / "run")
    for i in range(n):
        for b in budgets:
            store.record(SampleRecord(run_id="r", model="m", provider="p", task="t", item_id=f"i{i}", budget=b,
                                      mechanism="forced", replicate=0, seed=0, status="ok", answer="2",
                                      expected="2", score=1.0, correct=True))
    return store


def _ids(store: Store) -> list[int]:
    return [r["id"] for r in store.sample_rows(("id",))]


def test_add_label_keeps_history_and_the_newest_is_current(tmp_path):
    with _store(tmp_path) as store:
        sid = _ids(store)[0]
        store.add_label(sid, ["distracted"], reviewer="ann", tags=["prices"], note="adds the prices", created_at=1.0)
        store.add_label(sid, ["lost-constraints"], reviewer="ann", created_at=2.0)
        store.add_label(sid, ["distracted"], reviewer="bob", created_at=3.0)
    with Store(tmp_path / "run", create=False) as store:  # persisted, readable by a new connection
        current = store.labels()
        assert [(r["reviewer"], r["labels"], r["created_at"]) for r in current] == [
            ("ann", ["lost-constraints"], 2.0), ("bob", ["distracted"], 3.0)]
        assert current[0]["task"] == "t" and current[0]["item_id"] == "i0" and current[0]["sample_id"] == sid
        history = store.labels(history=True)
        assert len(history) == 3 and history[0]["tags"] == ["prices"] and history[0]["note"] == "adds the prices"
        with pytest.raises(UserError, match="no sample with id 999"):
            store.add_label(999, [], reviewer="ann")


def test_validate_label_names_the_bad_field():
    assert validate_label(["lost-constraints", "distracted", "distracted"], [" a ", "a", ""], "n", " ann ") == (
        ["distracted", "lost-constraints"], ["a"], "n", "ann")
    for args, field in [((["nope"], [], "", "a"), "labels"), (("distracted", [], "", "a"), "labels"),
                        ((["no-failure", "distracted"], [], "", "a"), "labels"), (([], "x", "", "a"), "tags"),
                        (([], ["x" * 41], "", "a"), "tags"), (([], [], 3, "a"), "note"),
                        (([], [], "", " "), "reviewer")]:
        with pytest.raises(UserError, match=f"^{field}"):
            validate_label(*args)


def _kappa_by_hand(a: list[bool], b: list[bool]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return (po - pe) / (1 - pe)


def test_agreement_is_cohens_kappa_per_label(tmp_path):
    # 10 samples; "distracted": both yes on 4, both no on 4, one disagreement each way -> po .8, pe .5, kappa .6.
    ann = [True] * 4 + [True, False] + [False] * 4
    bob = [True] * 4 + [False, True] + [False] * 4
    with _store(tmp_path, n=10, budgets=(0,)) as store:
        ids = _ids(store)
        for sid, a, b in zip(ids, ann, bob):
            store.add_label(sid, ["distracted"] if a else ["no-failure"], reviewer="ann")
            store.add_label(sid, ["distracted"] if b else ["no-failure"], reviewer="bob")
        store.add_label(ids[0], ["concerning"], reviewer="carl")  # a third reviewer: names must be given
        with pytest.raises(UserError, match="agreement needs two reviewers; the store has 3"):
            agreement(store)
        table = agreement(store, "ann", "bob").set_index("label")
    assert list(table.index) == list(CODES)
    assert table.loc["distracted", "kappa"] == pytest.approx(0.6)
    assert table.loc["distracted", "kappa"] == pytest.approx(_kappa_by_hand(ann, bob))
    assert table.loc["no-failure", "kappa"] == pytest.approx(0.6)
    assert table.loc["distracted", "n"] == 10 and table.loc["distracted", "agree"] == pytest.approx(0.8)
    assert table.loc["distracted", "a_yes"] == 5 and table.loc["distracted", "b_yes"] == 5
    assert math.isnan(table.loc["concerning", "kappa"])  # nobody said yes: kappa undefined, not 1 or 0


def test_agreement_counts_only_samples_both_reviewed_and_an_unbalanced_case(tmp_path):
    ann = [True, True, True, False, False, True]
    bob = [True, False, True, False, False, False]
    with _store(tmp_path, n=8, budgets=(0,)) as store:
        ids = _ids(store)
        for sid, a, b in zip(ids, ann, bob):
            store.add_label(sid, ["lost-constraints"] if a else [], reviewer="ann")
            store.add_label(sid, ["lost-constraints"] if b else [], reviewer="bob")
        store.add_label(ids[7], ["lost-constraints"], reviewer="ann")  # only ann: not in the comparison
        row = agreement(store).set_index("label").loc["lost-constraints"]
    assert row["n"] == 6
    assert row["kappa"] == pytest.approx(_kappa_by_hand(ann, bob))


def test_label_counts_per_budget(tmp_path):
    with _store(tmp_path, n=3, budgets=(0, 1024)) as store:
        by_key = {(r["item_id"], r["budget"]): r["id"] for r in store.sample_rows(("id", "item_id", "budget"))}
        assert label_counts(store).empty and list(label_counts(store).columns) == [
            "task", "model", "budget", "label", "count"]
        store.add_label(by_key[("i0", 1024)], ["distracted", "lost-constraints"], reviewer="ann")
        store.add_label(by_key[("i0", 1024)], ["distracted"], reviewer="bob")  # same sample: counted once
        store.add_label(by_key[("i1", 1024)], ["distracted"], reviewer="bob")
        store.add_label(by_key[("i1", 0)], ["no-failure"], reviewer="ann")
        store.add_label(by_key[("i2", 0)], ["concerning"], reviewer="ann")
        store.add_label(by_key[("i2", 0)], [], reviewer="ann")  # withdrawn: the current label is empty
        df = label_counts(store)
        only_bob = label_counts(store, reviewer="bob")
    assert [tuple(r) for r in df.itertuples(index=False)] == [
        ("t", "m", 0, "no-failure", 1), ("t", "m", 1024, "distracted", 2), ("t", "m", 1024, "lost-constraints", 1)]
    assert [tuple(r) for r in only_bob.itertuples(index=False)] == [("t", "m", 1024, "distracted", 2)]


def test_export_labels_jsonl_and_csv(tmp_path):
    from overthink.cli import app

    with _store(tmp_path, n=2) as store:
        sid = _ids(store)[1]
        store.add_label(sid, ["distracted"], reviewer="ann", tags=["a,b", 'q"'], note='line1\nline2 "x"')
    run = str(tmp_path / "run")
    result = CliRunner().invoke(app, ["export", run, "--labels"])
    assert result.exit_code == 0, result.output
    (rec,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert rec["sample_id"] == sid and rec["labels"] == ["distracted"] and rec["tags"] == ["a,b", 'q"']
    assert rec["budget"] == 1024 and rec["item_id"] == "i0" and rec["reviewer"] == "ann" and rec["correct"] is True
    out = tmp_path / "labels.csv"
    result = CliRunner().invoke(app, ["export", run, "--labels", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0 and "wrote 1 labels" in result.output
    (row,) = list(csv.DictReader(io.StringIO(out.read_text())))
    assert json.loads(row["tags"]) == ["a,b", 'q"'] and row["note"] == 'line1\nline2 "x"'
    # Without --labels the export is still the samples.
    result = CliRunner().invoke(app, ["export", run])
    assert len(result.stdout.splitlines()) == 4
    result = CliRunner().invoke(app, ["export", run, "--labels", "--format", "xml"])
    assert result.exit_code == 2 and "unknown export format 'xml'" in result.output
