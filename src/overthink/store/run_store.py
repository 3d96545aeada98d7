"""The run store: one SQLite database per run dir (WAL). Every sample is committed the moment it completes.

A sample's key is (model, task, item_id, budget, mechanism, replicate). A finished key (ok / truncated / unparsed) is
never overwritten or recomputed; an `error` row is replaced when the key is retried on resume.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import DONE_STATUSES, Item, SampleRecord
from ..errors import UserError
from .schema import (
    COLUMNS,
    DB_NAME,
    DERIVED_COLUMNS,
    KEY,
    SAMPLE_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    TEXT_COLUMNS,
    from_sql,
    to_sql,
)


class Store:
    """A run's database. Use as a context manager or call close()."""

    def __init__(self, run_dir: str | Path, *, create: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_NAME
        if not create and not self.path.exists():
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
        values = [to_sql(c, getattr(sample, c)) for c in COLUMNS]
        cur = self.conn.execute(_RECORD_SQL, values)
        return cur.rowcount > 0

    def begin(self) -> None:
        """Open a transaction that `commit` ends: the sweep's recorder commits finished samples in small batches
        (sweep/record.py states the bound). Outside one, every `record` commits at once."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN")

    def commit(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def record_many(self, samples: Iterable[SampleRecord]) -> int:
        """Commit many samples in one transaction (all or none, e.g. an import); returns how many were written."""
        with self.conn:
            self.conn.execute("BEGIN")
            return sum(self.record(s) for s in samples)

    def done_keys(self) -> set[tuple]:
        """Keys that must not be run again (everything but errors)."""
        done = ", ".join(f"'{s.value}'" for s in DONE_STATUSES)
        return {tuple(r) for r in self.conn.execute(
            f"SELECT {', '.join(KEY)} FROM samples WHERE status IN ({done})")}

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM samples WHERE status = ?", (status,)).fetchone()[0]

    def iter_samples(self, *, with_text: bool = True) -> Iterator[dict[str, Any]]:
        cols = [c for c in COLUMNS if with_text or c not in TEXT_COLUMNS]
        cur = self.conn.execute(f"SELECT {', '.join(cols)} FROM samples ORDER BY id")
        for row in cur:
            yield {c: from_sql(c, v) for c, v in zip(cols, row)}

    def dataframe(self, *, with_text: bool = False) -> pd.DataFrame:
        """All samples as a pandas DataFrame (metadata as a dict column)."""
        return pd.DataFrame(list(self.iter_samples(with_text=with_text)),
                            columns=[c for c in COLUMNS if with_text or c not in TEXT_COLUMNS])

    # -- reads for analysis and review (columns are checked against the schema: they are spliced into SQL) --------
    def sample_frame(self, columns: Sequence[str]) -> pd.DataFrame:
        """Chosen sample columns as stored (no decoding), read in one query: reports scale to millions of rows."""
        return pd.read_sql_query(f"SELECT {_columns(columns)} FROM samples", self.conn)

    def sample_rows(self, columns: Sequence[str], *, task: str | None = None,
                    item_id: str | None = None) -> list[dict[str, Any]]:
        """Chosen sample columns, decoded (bools, JSON), in insertion order; optionally of one task / item."""
        where = [(c, v) for c, v in (("task", task), ("item_id", item_id)) if v is not None]
        sql = f"SELECT {_columns(columns)} FROM samples"
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
        rows = self.conn.execute(sql + " ORDER BY id", tuple(v for _, v in where))
        return [{c: from_sql(c, v) for c, v in zip(columns, row)} for row in rows]

    def texts(self, keys: Iterable[Sequence[Any]]) -> list[tuple[str, str]]:
        """(reasoning, answer_text) per sample key (model, task, item_id, budget, mechanism, replicate);
        ("", "") for a key not in the store."""
        sql = f"SELECT reasoning, answer_text FROM samples WHERE {' AND '.join(f'{c} = ?' for c in KEY)}"
        return [self.conn.execute(sql, tuple(key)).fetchone() or ("", "") for key in keys]

    def reasoning_by_id(self, ids: Sequence[int]) -> list[tuple[int, str]]:
        """(id, reasoning) of the given sample rows (unknown ids are skipped)."""
        out: list[tuple[int, str]] = []
        for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            chunk = [int(i) for i in ids[start:start + 900]]
            out += self.conn.execute(f"SELECT id, reasoning FROM samples WHERE id IN ({','.join('?' * len(chunk))})",
                                     chunk).fetchall()
        return out

    # -- review labels ------------------------------------------------------------------------------------------
    def add_label(self, sample_id: int, labels: list[str], *, reviewer: str, tags: list[str] | None = None,
                  note: str = "", created_at: float | None = None) -> dict[str, Any]:
        """Commit one reviewer's labels for a sample at once (replaces their earlier verdict, keeps history)."""
        row = self.conn.execute("SELECT task, item_id FROM samples WHERE id = ?", (sample_id,)).fetchone()
        if row is None:
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

    # -- provider batches (the batch executor) ----------------------------------------------------------------------
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
        self.commit()  # an open batch is kept, never rolled back by closing
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in KEY)
_DONE = ", ".join(f"'{s.value}'" for s in DONE_STATUSES)
_RECORD_SQL = (  # built once: record() runs per sample
    f"INSERT INTO samples ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
    f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {_UPDATES}, attempts = samples.attempts + 1 "
    f"WHERE samples.status NOT IN ({_DONE})")


def _item_meta(item: Item) -> dict[str, Any]:
    meta = dict(item.metadata)
    if item.choices is not None:
        meta["choices"] = list(item.choices)
    return meta


def _columns(columns: Sequence[str]) -> str:
    unknown = [c for c in columns if c not in SAMPLE_COLUMNS and c not in DERIVED_COLUMNS]
    if unknown or not columns:
        raise ValueError(f"not sample columns: {', '.join(unknown) or '(none given)'}")
    return ", ".join(f"{DERIVED_COLUMNS[c]} AS {c}" if c in DERIVED_COLUMNS else c for c in columns)
