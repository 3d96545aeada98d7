"""The run store's SQLite schema and how record fields map to columns (JSON and bool columns)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from ..core import SampleRecord

DB_NAME = "overthink.sqlite"
SCHEMA_VERSION = 4  # 2: items.content_hash; 3: samples.enforced_by; 4: the sample_probes cache

COLUMNS = [f.name for f in fields(SampleRecord)]
KEY = ("model", "task", "item_id", "budget", "mechanism", "replicate")
JSON_COLUMNS = {"metadata"}
BOOL_COLUMNS = {"correct", "shared_trace"}
TEXT_COLUMNS = ("reasoning", "answer_text")
# text a model or a provider wrote (an echoed key may be in any of them): redacted before it is stored
REDACTED_COLUMNS = frozenset({"reasoning", "answer_text", "answer", "error", "metadata", "stop_reason"})

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    task TEXT NOT NULL, item_id TEXT NOT NULL, prompt TEXT NOT NULL, expected TEXT, metadata TEXT NOT NULL,
    content_hash TEXT, PRIMARY KEY (task, item_id)
);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    {", ".join(c + (" TEXT" if c in JSON_COLUMNS else "") for c in COLUMNS)},
    attempts INTEGER NOT NULL DEFAULT 1,
    UNIQUE ({", ".join(KEY)})
);
CREATE INDEX IF NOT EXISTS samples_group ON samples (task, model, budget);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY, sample_id INTEGER NOT NULL REFERENCES samples (id), task TEXT NOT NULL,
    item_id TEXT NOT NULL, labels TEXT NOT NULL, tags TEXT NOT NULL, note TEXT NOT NULL,
    reviewer TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS labels_sample ON labels (sample_id, reviewer);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, model TEXT NOT NULL, status TEXT NOT NULL, entries TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
""" + """
CREATE TABLE IF NOT EXISTS sample_probes (
    sample_id INTEGER PRIMARY KEY, version INTEGER NOT NULL, reasoning_chars INTEGER, answer_chars INTEGER,
    markers INTEGER NOT NULL, answer_changes INTEGER NOT NULL, engaged INTEGER
);
CREATE TRIGGER IF NOT EXISTS sample_probes_insert AFTER INSERT ON samples
    BEGIN DELETE FROM sample_probes WHERE sample_id = new.id; END;
CREATE TRIGGER IF NOT EXISTS sample_probes_update AFTER UPDATE OF id, task, item_id, reasoning, answer_text ON samples
    BEGIN DELETE FROM sample_probes WHERE sample_id = old.id; END;
CREATE TRIGGER IF NOT EXISTS sample_probes_delete AFTER DELETE ON samples
    BEGIN DELETE FROM sample_probes WHERE sample_id = old.id; END;
"""
# `budget` has no declared type on purpose: ints stay ints and effort levels stay text.
# `labels` is an append-only log: each row is one reviewer's full verdict on a sample at a time (labels and tags as
# JSON lists); the newest row per (sample_id, reviewer) is the current one, older rows are the history.
# batches.entries: JSON {custom_id: sample key as a list}. status: submitted | collected.
# sample_probes (schema 4): per sample, computed once when it is stored (trace_probes.py): text sizes and the trace
# probes (engaged NULL: the item lists no distractor spans; version: trace_probes.PROBE_VERSION). A cache: the
# triggers drop a row whenever its sample is inserted, replaced, deleted or its text changes, whoever writes SQL,
# so a row present is always of the sample's current text; a sample without a row (stored before schema 4, or
# copied by a merge) is measured from its text when read.

SAMPLE_COLUMNS = frozenset(("id", "attempts", *COLUMNS))  # what a read may ask for
# Derived columns a frame read may ask for by name: sizes of the texts without reading them (the audit's ledger).
DERIVED_COLUMNS = {"sample_meta": "metadata", "reasoning_chars": "length(reasoning)",
                   "answer_chars": "length(answer_text)"}
# The same sizes from the probe cache where it has them: the text is read only for samples it lacks.
CACHED_COLUMNS = {"reasoning_chars": "coalesce(p.reasoning_chars, length(s.reasoning))",
                  "answer_chars": "coalesce(p.answer_chars, length(s.answer_text))"}


def to_sql(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return json.dumps(value, default=str)
    if column in BOOL_COLUMNS:
        return None if value is None else int(bool(value))
    return value


def from_sql(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return json.loads(value) if value else {}
    if column in BOOL_COLUMNS:
        return None if value is None else bool(value)
    return value
