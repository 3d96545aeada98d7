"""The run store: one SQLite database per run dir (WAL). Every sample is committed the moment it completes.

A sample's key is (model, task, item_id, budget, mechanism, replicate). A finished key (ok / truncated / unparsed) is
never overwritten or recomputed; an `error` row is replaced when the key is retried on resume.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from .core import DONE_STATUSES, Item, SampleRecord

DB_NAME = "overthink.sqlite"
SCHEMA_VERSION = 1

_COLUMNS = [f.name for f in fields(SampleRecord)]
_KEY = ("model", "task", "item_id", "budget", "mechanism", "replicate")
_JSON_COLUMNS = {"metadata"}
_BOOL_COLUMNS = {"correct", "shared_trace"}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    task TEXT NOT NULL, item_id TEXT NOT NULL, prompt TEXT NOT NULL, expected TEXT, metadata TEXT NOT NULL,
    PRIMARY KEY (task, item_id)
);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    {", ".join(c + (" TEXT" if c in _JSON_COLUMNS else "") for c in _COLUMNS)},
    attempts INTEGER NOT NULL DEFAULT 1,
    UNIQUE ({", ".join(_KEY)})
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
"""
# `budget` has no declared type on purpose: ints stay ints and effort levels stay text.
# `labels` is an append-only log: each row is one reviewer's full verdict on a sample at a time (labels and tags as
# JSON lists); the newest row per (sample_id, reviewer) is the current one, older rows are the history.
# batches.entries: JSON {custom_id: sample key as a list}. status: submitted | collected.


class Store:
    """A run's database. Use as a context manager or call close()."""

    def __init__(self, run_dir: str | Path, *, create: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_NAME
        if not create and not self.path.exists():
            from .errors import UserError

            raise UserError(f"{self.run_dir} is not a run directory (no {DB_NAME} in it)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not power loss) and keeps commits cheap.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)

    # -- metadata -------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                          "value = excluded.value", (key, json.dumps(value)))

    # -- items ------------------------------------------------------------------------------------------------
    def add_items(self, task: str, items: Iterable[Item]) -> None:
        rows = [(task, it.id, it.prompt, it.expected, json.dumps(_item_meta(it))) for it in items]
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?)", rows)

    def items(self, task: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT task, item_id, prompt, expected, metadata FROM items"
        args: tuple = ()
        if task is not None:
            sql += " WHERE task = ?"
            args = (task,)
        return [{"task": t, "item_id": i, "prompt": p, "expected": e, "metadata": json.loads(m)}
                for t, i, p, e, m in self.conn.execute(sql, args)]

    # -- samples ----------------------------------------------------------------------------------------------
    def record(self, sample: SampleRecord) -> bool:
        """Commit one sample at once. Returns False (and writes nothing) if its key is already finished."""
        if sample.created_at is None:
            sample.created_at = time.time()
        values = [_to_sql(c, getattr(sample, c)) for c in _COLUMNS]
        placeholders = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c not in _KEY)
        done = ", ".join(f"'{s.value}'" for s in DONE_STATUSES)
        cur = self.conn.execute(
            f"INSERT INTO samples ({', '.join(_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates}, attempts = samples.attempts + 1 "
            f"WHERE samples.status NOT IN ({done})",
            values,
        )
        return cur.rowcount > 0

    def record_many(self, samples: Iterable[SampleRecord]) -> int:
        """Commit many samples in one transaction (all or none, e.g. an import); returns how many were written."""
        with self.conn:
            self.conn.execute("BEGIN")
            return sum(self.record(s) for s in samples)

    def done_keys(self) -> set[tuple]:
        """Keys that must not be run again (everything but errors)."""
        done = ", ".join(f"'{s.value}'" for s in DONE_STATUSES)
        return {tuple(r) for r in self.conn.execute(
            f"SELECT {', '.join(_KEY)} FROM samples WHERE status IN ({done})")}

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM samples WHERE status = ?", (status,)).fetchone()[0]

    def iter_samples(self, *, with_text: bool = True) -> Iterator[dict[str, Any]]:
        cols = [c for c in _COLUMNS if with_text or c not in ("reasoning", "answer_text")]
        cur = self.conn.execute(f"SELECT {', '.join(cols)} FROM samples ORDER BY id")
        for row in cur:
            yield {c: _from_sql(c, v) for c, v in zip(cols, row)}

    def dataframe(self, *, with_text: bool = False):
        """All samples as a pandas DataFrame (metadata as a dict column)."""
        import pandas as pd

        return pd.DataFrame(list(self.iter_samples(with_text=with_text)),
                            columns=[c for c in _COLUMNS if with_text or c not in ("reasoning", "answer_text")])

    # -- review labels ------------------------------------------------------------------------------------------
    def add_label(self, sample_id: int, labels: list[str], *, reviewer: str, tags: list[str] | None = None,
                  note: str = "", created_at: float | None = None) -> dict[str, Any]:
        """Commit one reviewer's labels for a sample at once (replaces their earlier verdict, keeps history)."""
        row = self.conn.execute("SELECT task, item_id FROM samples WHERE id = ?", (sample_id,)).fetchone()
        if row is None:
            from .errors import UserError

            raise UserError(f"no sample with id {sample_id} in {self.path}")
        when = time.time() if created_at is None else created_at
        cur = self.conn.execute(
            "INSERT INTO labels (sample_id, task, item_id, labels, tags, note, reviewer, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (sample_id, row[0], row[1], json.dumps(list(labels)), json.dumps(list(tags or [])), note, reviewer, when))
        return {"id": cur.lastrowid, "sample_id": sample_id, "task": row[0], "item_id": row[1],
                "labels": list(labels), "tags": list(tags or []), "note": note, "reviewer": reviewer,
                "created_at": when}

    def labels(self, *, history: bool = False) -> list[dict[str, Any]]:
        """Current labels (newest row per sample and reviewer), or every row with history=True."""
        sql = "SELECT id, sample_id, task, item_id, labels, tags, note, reviewer, created_at FROM labels"
        if not history:
            sql += " WHERE id IN (SELECT MAX(id) FROM labels GROUP BY sample_id, reviewer)"
        keys = ("id", "sample_id", "task", "item_id", "labels", "tags", "note", "reviewer", "created_at")
        out = []
        for row in self.conn.execute(sql + " ORDER BY id"):
            rec = dict(zip(keys, row))
            rec["labels"], rec["tags"] = json.loads(rec["labels"]), json.loads(rec["tags"])
            out.append(rec)
        return out

    # -- provider batches (see batch.py) ----------------------------------------------------------------------
    def add_batch(self, batch_id: str, model: str, entries: dict[str, list]) -> None:
        """Record a submitted batch at once, so a killed process polls it on resume instead of paying again."""
        now = time.time()
        self.conn.execute("INSERT INTO batches VALUES (?, ?, 'submitted', ?, ?, ?)",
                          (batch_id, model, json.dumps(entries), now, now))

    def open_batches(self, model: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT batch_id, model, entries FROM batches WHERE status = 'submitted'"
        rows = self.conn.execute(sql + (" AND model = ?" if model else "") + " ORDER BY created_at",
                                 (model,) if model else ())
        return [{"batch_id": b, "model": m, "entries": json.loads(e)} for b, m, e in rows]

    def set_batch_status(self, batch_id: str, status: str) -> None:
        self.conn.execute("UPDATE batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                          (status, time.time(), batch_id))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _item_meta(item: Item) -> dict[str, Any]:
    meta = dict(item.metadata)
    if item.choices is not None:
        meta["choices"] = list(item.choices)
    return meta


def _to_sql(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json.dumps(value, default=str)
    if column in _BOOL_COLUMNS:
        return None if value is None else int(bool(value))
    return value


def _from_sql(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json.loads(value) if value else {}
    if column in _BOOL_COLUMNS:
        return None if value is None else bool(value)
    return value


EXPORT_FORMATS = ("jsonl", "csv", "parquet")


def export_records(store: Store, *, with_text: bool = True) -> Iterator[dict[str, Any]]:
    """Samples in the export schema: the record fields, then the item's task metadata at top level.

    A metadata key that collides with a record field is prefixed `meta_`; per-sample provider details stay
    under `metadata`.
    """
    item_meta = {(i["task"], i["item_id"]): i["metadata"] for i in store.items()}
    for row in store.iter_samples(with_text=with_text):
        for key, value in item_meta.get((row["task"], row["item_id"]), {}).items():
            row["meta_" + key if key in row else key] = value
        yield row


def write_export(store: Store, fmt: str, out) -> int:
    """Write all samples as jsonl or csv to a text stream (parquet: to a path or binary stream); returns the count."""
    import csv

    if fmt not in EXPORT_FORMATS:
        from .errors import UserError

        raise UserError(f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        return write_parquet(store, out)
    n = 0
    if fmt == "jsonl":
        for n, rec in enumerate(export_records(store), 1):
            out.write(json.dumps(rec, default=str) + "\n")
        return n
    records = list(export_records(store))
    columns = list(dict.fromkeys(k for r in records for k in r)) or _COLUMNS
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in rec.items()})
    return len(records)


def write_parquet(store: Store, out) -> int:
    """The export schema as one Parquet table. Nested values (lists, dicts) are JSON text, as in the CSV; a column
    holding mixed types (budget: 64 and "high") is stored as text so one file can hold every run."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(out, io.TextIOBase):
        from .errors import UserError

        raise UserError("parquet is binary: give an output file (--out FILE.parquet)")
    frame = pd.DataFrame(list(export_records(store)))
    for col in frame.columns:
        values = frame[col].dropna()
        if frame[col].dtype != object or values.empty:
            continue
        if values.map(lambda v: isinstance(v, (list, dict))).any():
            frame[col] = frame[col].map(lambda v: None if v is None else json.dumps(v, default=str))
        elif values.map(type).nunique() > 1:
            frame[col] = frame[col].map(lambda v: None if v is None else str(v))
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out)
    return len(frame)
