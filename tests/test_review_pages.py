"""The review pages in SQL (store/pages.py) against the whole-store reference (`item_rows` + `Filters.match`): the
same rows, cells, verdicts, labels, counts and item order for every filter; and the index follows the store."""

from __future__ import annotations

import itertools
import random

import pytest

from overthink.core import Item, SampleRecord
from overthink.review import data
from overthink.store import Store

TASKS = ("t-a", "t-b")
MODELS = {"m1": (0, 256, 1024), "m2": ("low", "high"), "m3": (0, "high")}


def _record(store: Store, rnd: random.Random, model: str, task: str, item_id: str, budget, replicate: int) -> None:
    status = rnd.choice(("ok", "ok", "ok", "ok", "error", "truncated", "unparsed"))
    correct = rnd.choice((True, False, None)) if status == "ok" else None
    store.record(SampleRecord(run_id="r", model=model, provider="p", task=task, item_id=item_id, budget=budget,
                              mechanism="forced", replicate=replicate, seed=0, status=status, answer=rnd.choice("23"),
                              expected="2", correct=correct, reasoning="<b>why</b>", answer_text="<i>2</i>"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("pages")
    rnd = random.Random(7)
    with Store(path) as store:
        for task in TASKS:  # the last two items of each task have no stored item (an older store)
            store.add_items(task, [Item(id=f"i{i:02d}", prompt=f"<p>{task} {i}</p>", answer=i) for i in range(10)])
            for i, (model, budgets) in itertools.product(range(12), MODELS.items()):
                if (i + len(model)) % 5 == 0:
                    continue  # not every model answered every item
                for budget, rep in itertools.product(budgets, (0, 1)):
                    if rnd.random() < 0.85:
                        _record(store, rnd, model, task, f"i{i:02d}", budget, rep)
        ids = [r["id"] for r in store.sample_rows(("id",))]
        for sid in rnd.sample(ids, 25):
            store.add_label(sid, rnd.sample(["distracted", "lost-constraints"], rnd.randint(0, 2)),
                            reviewer=rnd.choice(("ann", "bob")), tags=rnd.sample(["x", "<y>"], rnd.randint(0, 1)))
    return path


def _row(r: data.ItemRow) -> tuple:
    cells = {b: [(s["id"], s["status"], s["correct"], s["answer"]) for s in ss] for b, ss in r.cells.items()}
    return (r.task, r.model, r.item_id, r.prompt, r.expected, r.verdict, list(cells.items()), sorted(r.labels),
            sorted(r.tags))


def _filters(store: Store) -> list[data.Filters]:
    rows = data.item_rows(store)
    values = {"task": ["", *TASKS, "nope"], "model": ["", *MODELS],
              "budget": ["", *sorted({str(b) for r in rows for b in r.cells}), "999"],
              "status": ["", *data.STATUSES], "verdict": ["", *data.VERDICTS],
              "label": ["", "any", "none", "distracted", "lost-constraints", "tag:x", "tag:<y>", "tag:zz"]}
    combos = [data.Filters(**{k: v}) for k, vs in values.items() for v in vs]  # each filter alone
    rnd = random.Random(3)
    combos += [data.Filters(**{k: rnd.choice(vs) for k, vs in values.items()}) for _ in range(150)]
    combos += [data.Filters(budget=b, status=s) for b in values["budget"] for s in values["status"]]
    return combos


def test_pages_equal_the_python_filter(run_dir):
    index = data.new_index()
    with Store(run_dir, create=False) as store:
        index.refresh(store)
        reference = data.item_rows(store)
        assert index.total == len(reference) and len(reference) > 50
        for f in _filters(store):
            expected = [r for r in reference if f.match(r)]
            got = []
            for offset in range(0, len(expected) + 7, 7):  # pages of 7, one past the end
                got += data.page_rows(store, index, f, offset, 7)
            assert [_row(r) for r in got] == [_row(r) for r in expected], f
            counts = index.counts(f.query())
            assert counts == {v: n for v in data.VERDICTS if (n := sum(r.verdict == v for r in expected))}, f
            order, where = index.item_order(f.query())
            assert order == list(dict.fromkeys((r.task, r.item_id) for r in expected)), f
            assert all(order[where[k]] == k for k in order)


def test_item_detail_by_key_equals_the_scan(run_dir):
    index = data.new_index()
    with Store(run_dir, create=False) as store:
        index.refresh(store)
        for task, item_id in [("t-a", "i00"), ("t-b", "i11"), ("t-a", "i07")]:
            by_key = data.item_detail(store, task, item_id, index.models)
            scanned = data.item_detail(store, task, item_id)  # no models: read by a scan of the task
            assert by_key == scanned and by_key is not None and by_key["models"]
        assert data.item_detail(store, "t-a", "nope", index.models) is None


def test_the_index_follows_the_store(tmp_path):
    def rec(status: str, correct: bool | None, budget: int) -> SampleRecord:
        return SampleRecord(run_id="r", model="m", provider="p", task="t", item_id="i", budget=budget,
                            mechanism="forced", replicate=0, seed=0, status=status, correct=correct)

    with Store(tmp_path) as store:
        store.record(rec("ok", True, 0))
        store.record(rec("error", None, 1024))
    index = data.new_index()
    with Store(tmp_path, create=False) as store:
        index.refresh(store)
        assert index.counts({}) == {"incomplete": 1} and index.counts({"status": "error"}) == {"incomplete": 1}
    with Store(tmp_path) as store:  # a resume replaces the error in place: same row count, same ids
        store.record(rec("ok", False, 1024))
    with Store(tmp_path, create=False) as store:
        index.refresh(store)
        assert index.counts({}) == {"inverse": 1} and index.counts({"status": "error"}) == {}
    # A label saved by this process re-reads the labels only; the verdicts stay (and are still right).
    before = index.stamp_of(tmp_path / "overthink.sqlite")
    with Store(tmp_path, create=False, readonly=False) as store:
        store.add_label(1, ["distracted"], reviewer="ann")
    index.labels_written(before, index.stamp_of(tmp_path / "overthink.sqlite"))
    with Store(tmp_path, create=False) as store:
        index.refresh(store)
        assert index.counts({"label": "distracted"}) == {"inverse": 1}
        assert index.counts({"label": "none"}) == {}
