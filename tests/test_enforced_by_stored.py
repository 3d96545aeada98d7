"""`enforced_by` is stored with each sample when it runs (SampleRecord.enforced_by, store schema 3), and the audit
reads the stored label: a later change of the capability table never relabels an old run. Samples from a store
written before the column existed are inferred from today's tables, and the audit says "(inferred)"."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from servers.fake_api import FakeAPI

from overthink.analysis import audit
from overthink.analysis.audit import audit_table
from overthink.analysis.load import load_runs
from overthink.config import build_config
from overthink.store import SCHEMA_VERSION, Store
from overthink.sweep.start import run, run_sync

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.2, "timeout_s": 5, "max_attempts": 2}


@pytest.fixture()
def claude_run(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-000")
    api = FakeAPI().start()
    spec = f"anthropic:claude-sonnet-4-20250514@{api.url}"
    cfg = build_config(None, dict(models=[spec], tasks=["misleading-math"], budgets=[0, 1024], limit=3,
                                  mechanism="native", run_dir=str(tmp_path / "r"), model_options={spec: FAST}))
    try:
        with Store(cfg.run_dir) as store:
            asyncio.run(run(cfg, store, progress=False))
    finally:
        api.stop()
    return tmp_path / "r"


def labels(run_dir) -> dict:
    table = audit_table(load_runs([run_dir]).samples)
    return dict(zip(table["budget"], table["enforced_by"]))


def test_each_sample_stores_what_enforced_it(claude_run):
    with Store(claude_run) as store:
        rows = list(store.iter_samples(with_text=False))
    assert {(r["budget"], r["enforced_by"]) for r in rows} == {(0, "thinking_off"), (1024, "budget_tokens")}


def test_the_audit_reads_the_stored_label_not_todays_table(claude_run, monkeypatch):
    assert labels(claude_run) == {0: "thinking_off", 1024: "budget_tokens"}
    # today's table would call it something else (e.g. a model moved to adaptive effort): the old run keeps its label
    monkeypatch.setattr(audit, "derive_enforced_by", lambda *a, **k: "effort")
    assert labels(claude_run) == {0: "thinking_off", 1024: "budget_tokens"}


def _make_schema_2(run_dir) -> None:
    """What a store written before schema 3 looks like: no enforced_by column, no label in the metadata."""
    with sqlite3.connect(run_dir / "overthink.sqlite") as conn:
        conn.executescript("""
            ALTER TABLE samples DROP COLUMN enforced_by;
            UPDATE samples SET metadata = json_remove(metadata, '$.enforced_by');
            UPDATE meta SET value = '2' WHERE key = 'schema_version';
        """)


def test_an_old_store_is_migrated_and_its_labels_are_marked_inferred(claude_run, monkeypatch):
    _make_schema_2(claude_run)
    with Store(claude_run, create=False, readonly=True) as store:  # read-only: not migrated, read through a view
        assert {r["enforced_by"] for r in store.iter_samples(with_text=False)} == {None}
        assert store.get_meta("schema_version") == 2
    assert labels(claude_run) == {0: "thinking_off (inferred)", 1024: "budget_tokens (inferred)"}
    monkeypatch.setattr(audit, "derive_enforced_by", lambda *a, **k: "effort")
    assert labels(claude_run) == {0: "effort (inferred)", 1024: "effort (inferred)"}  # inferred: today's table
    with Store(claude_run) as store:  # a writer migrates: the column exists, old samples stay NULL
        assert store.get_meta("schema_version") == SCHEMA_VERSION == 4
        assert {r["enforced_by"] for r in store.iter_samples(with_text=False)} == {None}


def test_a_resumed_old_run_stores_labels_for_its_new_samples(tmp_path):
    def cfg(limit):
        return build_config(None, dict(models=["stub:flat"], tasks=["misleading-math"], budgets=[0, 64],
                                       limit=limit, mechanism="forced", run_dir=str(tmp_path / "stub")))

    with Store(tmp_path / "stub") as store:
        run_sync(cfg(2), store, progress=False)
    _make_schema_2(tmp_path / "stub")
    with Store(tmp_path / "stub") as store:  # resumed with more items: only the new samples carry a label
        run_sync(cfg(3), store, progress=False)
        got = sorted((r["item_id"], r["enforced_by"] or "-") for r in store.iter_samples(with_text=False))
    assert [e for _, e in got].count("client_forcing") == 2 and [e for _, e in got].count("-") == 4
