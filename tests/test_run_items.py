"""A run's items are built once and read back from the store on resume (tasks are not regenerated), unless the
settings they were built from changed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from overthink.cli import app
from overthink.store import Store
from overthink.tasks.zebra import Zebra


def ot(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def finished(tmp_path):
    run = tmp_path / "run"
    res = ot("run", "--model", "stub:inverse", "--task", "zebra", "--budgets", "0,64", "--limit", 4, "--run-dir", run,
             "--quiet")
    assert res.exit_code == 0, res.output
    return run


def test_resume_reads_the_items_back_instead_of_building_them(finished, monkeypatch):
    with Store(finished, create=False, readonly=True) as store:
        before = store.items("zebra")

    def no_build(self, n=None, seed=0):
        raise AssertionError("resume built the zebra puzzles again")

    monkeypatch.setattr(Zebra, "items", no_build)
    res = ot("resume", finished, "--quiet")
    assert res.exit_code == 0, res.output
    with Store(finished, create=False, readonly=True) as store:
        assert store.items("zebra") == before and store.count() == 8


def test_a_resume_that_needs_more_items_builds_them(finished, monkeypatch):
    calls = []
    real = Zebra.items

    def counted(self, n=None, seed=0):
        calls.append(n)
        return real(self, n, seed)

    monkeypatch.setattr(Zebra, "items", counted)
    res = ot("run", "--model", "stub:inverse", "--task", "zebra", "--budgets", "0,64", "--limit", 6, "--run-dir",
             finished, "--quiet")
    assert res.exit_code == 0, res.output
    assert calls == [6]
    with Store(finished, create=False, readonly=True) as store:
        assert store.count() == 12


def test_items_read_back_grade_like_the_built_ones(finished):
    """The stored items, read back, score every stored answer as the generated items did."""
    from overthink.sweep.items import _item
    from overthink.tasks import get_task

    task = get_task("zebra")
    built = {it.id: it for it in task.items(4, 0)}
    with Store(finished, create=False, readonly=True) as store:
        rows = store.items("zebra")
        samples = store.sample_rows(["item_id", "answer_text", "score", "status"])
    back = {r["item_id"]: _item(r) for r in rows}
    assert {k: (v.prompt, v.expected, v.choices) for k, v in back.items()} == {
        k: (v.prompt, v.expected, v.choices) for k, v in built.items()}
    for s in samples:
        assert task.grade(back[s["item_id"]], s["answer_text"]) == task.grade(built[s["item_id"]], s["answer_text"])
