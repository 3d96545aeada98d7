"""The run store: one SQLite database per run dir (WAL). Every sample is committed the moment it completes.

A sample's key is (model, task, item_id, budget, mechanism, replicate). A finished key (ok / truncated / unparsed) is
never overwritten or recomputed; an `error` row is replaced when the key is retried on resume.

Readers open read-only (a run dir on a read-only mount or owned by someone else is readable); a writer checkpoints
the WAL into the main file on close (see `connection`). Every SQLite failure becomes one StoreError naming the file,
what failed and what to do; a sample whose write failed raises, so it is never counted as stored. Every stored
text field passes through `secrets.redact` (a model may echo a configured key). Items carry a content hash: a task
whose item changed under the same id (a re-import) refuses to continue the run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from ..core import DONE_STATUSES, Item, SampleRecord
from ..errors import UserError
from ..secrets import redact_stored
from ..trace_probes import PROBE_VERSION, Cues, item_cues, sample_probes
from .connection import StoreError, check_wal, checkpoint, connect_ro, connect_rw, store_error, writable
from .meta import RunMeta, parse_meta
from .schema import (
    CACHED_COLUMNS,
    COLUMNS,
    DB_NAME,
    DERIVED_COLUMNS,
    KEY,
    REDACTED_COLUMNS,
    SAMPLE_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    TEXT_COLUMNS,
    from_sql,
    to_sql,
)

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(doing: str) -> Callable[[F], F]:
    """Turn a SQLite failure inside a Store method into one StoreError naming the file (`doing` says what failed)."""
    def wrap(method: F) -> F:
        @functools.wraps(method)
        def inner(self: Store, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (sqlite3.Error, pd.errors.DatabaseError) as exc:
                cause = exc.__cause__ if isinstance(exc.__cause__, sqlite3.Error) else exc
                raise store_error(cause, self.path, doing) from None  # type: ignore[arg-type]
        return inner  # type: ignore[return-value]
    return wrap


_READER: Any = object()  # `readonly`'s default: a creator writes, an opener of an existing store only reads


class Store:
    """A run's database. Use as a context manager or call close().

    `create=True` (the default) opens or creates the store to write. `create=False` refuses a directory without
    a store and, by default, only reads (summary, report, export, analysis: nothing is written into the run
    dir); `readonly=None` writes when the run dir allows it and else reads (the review app saving a label).
    """

    def __init__(self, run_dir: str | Path, *, create: bool = True, readonly: bool | None = _READER) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_NAME
        self._copy_dir: Path | None = None
        self._creator = create  # a writer empties the WAL on close; other openers never make a run wait
        self._cues: dict[tuple[str, str], Cues | None] = {}  # (task, item_id) -> distractor cues, for record()
        if not create and not self.path.is_file():
            raise UserError(f"{self.run_dir} is not a run directory (no {DB_NAME} in it)")
        if readonly is _READER:
            readonly = not create
        elif readonly is None:
            readonly = not create and not writable(self.path)
        self.readonly = bool(readonly)
        check_wal(self.path)
        if self.readonly and self.path.is_file() and self.path.stat().st_size == 0 and not _wal_has_data(self.path):
            raise StoreError(f"{self.path}: the store is empty (0 bytes): the run stopped before it stored "
                             f"anything, or the file was cut or replaced. Nothing to read; run again into this "
                             f"dir, or restore the file from a copy")
        try:
            if readonly:
                self.conn, self._copy_dir = connect_ro(self.path)
                self._check_tables()
                self._view_old_samples()
            else:
                existed = self.path.is_file() and self.path.stat().st_size > 0
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self.conn = connect_rw(self.path)
                if existed:  # never add our tables to some other SQLite file
                    self._check_tables()
                self.conn.executescript(SCHEMA)
                self._migrate()
        except sqlite3.Error as exc:
            self._drop_copy()
            raise store_error(exc, self.path, "opening the store") from None

    def _check_tables(self) -> None:
        names = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"meta", "samples"} <= names:
            self.close()
            raise StoreError(f"{self.path}: a SQLite file, but not an overthink run store (no samples table)")
        version = self.get_meta("schema_version")  # a newer layout is never read, migrated or resumed
        if version is not None and (type(version) is not int or version > SCHEMA_VERSION):
            self.close()
            raise StoreError(f"{self.path}: store schema version {str(version)[:20]!r} is newer than this overthink "
                             f"reads (up to {SCHEMA_VERSION}); upgrade overthink to read or resume it")

    def _migrate(self) -> None:
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
            return
        if version < 2:  # items gain a content hash, filled from what is stored
            with self.conn:
                self.conn.execute("BEGIN")
                columns = {r[1] for r in self.conn.execute("PRAGMA table_info(items)")}
                if "content_hash" not in columns:
                    self.conn.execute("ALTER TABLE items ADD COLUMN content_hash TEXT")
                rows = self.conn.execute("SELECT task, item_id, prompt, expected, metadata FROM items").fetchall()
                self.conn.executemany("UPDATE items SET content_hash = ? WHERE task = ? AND item_id = ?",
                                      [(_hash(p, e, json.loads(m).get("choices")), t, i) for t, i, p, e, m in rows])
                self.set_meta("schema_version", 2)
        if version < 3:  # samples gain enforced_by; older samples keep NULL (the audit infers and labels them)
            with self.conn:
                self.conn.execute("BEGIN")
                if "enforced_by" not in {r[1] for r in self.conn.execute("PRAGMA table_info(samples)")}:
                    self.conn.execute("ALTER TABLE samples ADD COLUMN enforced_by TEXT")
                self.set_meta("schema_version", 3)
        if version < 4:  # the sample_probes cache (created empty by SCHEMA): older samples are measured when read
            self.set_meta("schema_version", SCHEMA_VERSION)

    def _view_old_samples(self) -> None:
        """An older store opened read-only is not migrated: a temporary view (in memory, shadowing the table)
        gives the columns it lacks as NULL, so every read works on it."""
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(samples)")}
        missing = [c for c in COLUMNS if c not in have]
        if missing:
            self.conn.execute("PRAGMA query_only=0")  # a temporary view writes nothing to the store
            self.conn.execute("CREATE TEMP VIEW samples AS SELECT *, "
                              + ", ".join(f"NULL AS {c}" for c in missing) + " FROM main.samples")
            self.conn.execute("PRAGMA query_only=1")

    # -- metadata -------------------------------------------------------------------------------------------
    @_guarded("reading the run's metadata")
    def get_meta(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else self._loads(row[0], f"the run's {key!r} (table meta)")

    @_guarded("reading the run's metadata")
    def meta(self) -> RunMeta:
        """Every meta key at once, typed (store/meta.py); keys this version does not know are kept as extras."""
        rows = self.conn.execute("SELECT key, value FROM meta").fetchall()
        return parse_meta({k: self._loads(v, f"the run's {k!r} (table meta)") for k, v in rows}, str(self.path))

    @_guarded("writing the run's metadata")
    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                          "value = excluded.value", (key, json.dumps(value)))

    def set_meta_many(self, values: dict[str, Any]) -> None:
        """Several meta keys in one transaction: all are seen together or none."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for key, value in values.items():
                self.set_meta(key, value)

    # -- items ------------------------------------------------------------------------------------------------
    @_guarded("storing the task's items")
    def add_items(self, task: str, items: Iterable[Item]) -> None:
        """Store a task's items; refuses (StoreError, nothing written) when a stored item id now has other content
        (the task was changed or re-imported since the run began): its samples would mix two questions."""
        rows = [(task, it.id, it.prompt, it.expected, json.dumps(_item_meta(it)),
                 _hash(it.prompt, it.expected, None if it.choices is None else list(it.choices))) for it in items]
        with self.conn:
            self.conn.execute("BEGIN")
            stored = dict(self.conn.execute("SELECT item_id, content_hash FROM items WHERE task = ?", (task,)))
            for row in rows:
                old = stored.get(row[1])
                if old is not None and old != row[5]:
                    raise StoreError(
                        f"task {task!r}: item {row[1]!r} is not the item this run dir stored under that id (its "
                        f"prompt, answer or choices changed: the task was edited or re-imported since the run "
                        f"began); samples would mix two questions. Use a new --run-dir, or restore the task")
            self.conn.executemany("INSERT OR IGNORE INTO items (task, item_id, prompt, expected, metadata, "
                                  "content_hash) VALUES (?, ?, ?, ?, ?, ?)", rows)

    @_guarded("reading the items")
    def items(self, task: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT task, item_id, prompt, expected, metadata FROM items"
        args: tuple = ()
        if task is not None:
            sql += " WHERE task = ?"
            args = (task,)
        return [{"task": t, "item_id": i, "prompt": p, "expected": e,
                 "metadata": self._loads(m, f"item {t}/{i}'s metadata (table items)")}
                for t, i, p, e, m in self.conn.execute(sql, args)]

    # -- samples ----------------------------------------------------------------------------------------------
    @_guarded("storing a sample")
    def record(self, sample: SampleRecord) -> bool:
        """Commit one sample at once. Returns False (and writes nothing) if its key is already finished.
        A failed write raises StoreError: the caller must not count the sample as stored."""
        if sample.created_at is None:
            sample.created_at = time.time()
        values = [redact_stored(v) if c in REDACTED_COLUMNS else v
                  for c, v in ((c, to_sql(c, getattr(sample, c))) for c in COLUMNS)]
        try:
            rows = self._upsert(values)
        except (UnicodeEncodeError, OverflowError):  # untrusted text with a lone surrogate, an absurd integer
            values = [_storable(v) for v in values]
            rows = self._upsert(values)
        if not rows:
            return False
        self._store_probes(rows[0][0], *(values[_COL[c]] for c in ("task", "item_id", "reasoning", "answer_text")))
        return True

    def _upsert(self, values: list[Any]) -> list[tuple]:
        """Write one sample; [(its id,)] when it was written, [] when its key was already finished."""
        if _RETURNING:
            return self.conn.execute(_RECORD_SQL + " RETURNING id", values).fetchall()  # all: statement finished
        if self.conn.execute(_RECORD_SQL, values).rowcount <= 0:  # SQLite before 3.35 has no RETURNING
            return []
        key = [values[_COL[c]] for c in KEY]
        return self.conn.execute(f"SELECT id FROM samples WHERE {' AND '.join(f'{c} = ?' for c in KEY)}",
                                 key).fetchall()

    def _store_probes(self, sample_id: int, task: str, item_id: str, reasoning: Any, answer_text: Any) -> None:
        """The trace probes of a sample just written, measured on the text as stored (the schema's sample_probes
        cache). Skipped while its item is not stored yet: a reader then measures it from the text."""
        key = (task, item_id)
        if key not in self._cues:
            item = self.conn.execute("SELECT prompt, expected, metadata FROM items WHERE task = ? AND item_id = ?",
                                     key).fetchone()
            if item is None:
                return
            self._cues[key] = item_cues(*item)
        markers, changes, engaged = sample_probes(reasoning, self._cues[key])
        self.conn.execute("INSERT OR REPLACE INTO sample_probes (sample_id, version, reasoning_chars, answer_chars, "
                          "markers, answer_changes, engaged) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (sample_id, PROBE_VERSION, _length(reasoning), _length(answer_text), markers, changes,
                           engaged))

    @_guarded("storing samples")
    def begin(self) -> None:
        """Open a transaction that `commit` ends: the sweep's recorder commits finished samples in small batches
        (sweep/record.py states the bound). Outside one, every `record` commits at once."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN")

    @_guarded("storing samples")
    def commit(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    @_guarded("storing samples")
    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @_guarded("storing samples")
    def record_many(self, samples: Iterable[SampleRecord]) -> int:
        """Commit many samples in one transaction (all or none, e.g. an import); returns how many were written."""
        with self.conn:
            self.conn.execute("BEGIN")
            return sum(self.record(s) for s in samples)

    @_guarded("reading the finished samples")
    def done_keys(self) -> set[tuple]:
        """Keys that must not be run again (everything but errors)."""
        done = ", ".join(f"'{s.value}'" for s in DONE_STATUSES)
        return {tuple(r) for r in self.conn.execute(
            f"SELECT {', '.join(KEY)} FROM samples WHERE status IN ({done})")}

    @_guarded("counting samples")
    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM samples WHERE status = ?", (status,)).fetchone()[0]

    def iter_samples(self, *, with_text: bool = True) -> Iterator[dict[str, Any]]:
        cols = [c for c in COLUMNS if with_text or c not in TEXT_COLUMNS]
        try:
            cur = self.conn.execute(f"SELECT {', '.join(cols)} FROM samples ORDER BY id")
            for row in cur:
                yield self._decode(cols, row)
        except sqlite3.Error as exc:
            raise store_error(exc, self.path, "reading samples") from None

    @_guarded("copying the store")
    def backup(self, out: str | Path) -> Path:
        """One self-contained SQLite file (no -wal beside it) with everything stored, via SQLite's backup API."""
        out = Path(out)
        if out.resolve() == self.path.resolve():
            raise UserError(f"--out {out} is the run's own store; give another file")
        if not out.parent.is_dir():
            raise UserError(f"--out {out}: the directory {out.parent} does not exist")
        part = out.with_name(out.name + ".part")
        part.unlink(missing_ok=True)
        dest = sqlite3.connect(part, isolation_level=None)
        try:
            self.conn.backup(dest)
            dest.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, whatever the source's mode
        finally:
            dest.close()
        part.replace(out)
        return out

    def checkpoint(self) -> None:
        """Copy committed samples from the WAL into the main file (a plain copy of it then holds them)."""
        if not self.readonly:
            try:
                checkpoint(self.conn, truncate=self._creator)
            except sqlite3.Error:
                pass  # busy readers or a full disk: the WAL keeps everything, the next open recovers it

    def dataframe(self, *, with_text: bool = False) -> pd.DataFrame:
        """All samples as a pandas DataFrame (metadata as a dict column)."""
        return pd.DataFrame(list(self.iter_samples(with_text=with_text)),
                            columns=[c for c in COLUMNS if with_text or c not in TEXT_COLUMNS])

    # -- reads for analysis and review (columns are checked against the schema: they are spliced into SQL) --------
    @_guarded("reading samples")
    def sample_frame(self, columns: Sequence[str]) -> pd.DataFrame:
        """Chosen sample columns as stored (no decoding), read in one query: reports scale to millions of rows.
        Text sizes come from the probe cache where it has them (the text itself is then never read)."""
        if not self.has_probe_cache() or not set(columns) & set(CACHED_COLUMNS):
            sql = f"SELECT {_columns(columns)} FROM samples"
        else:
            _columns(columns)  # checks the names; no other column name occurs in both tables
            picked = ", ".join(f"{CACHED_COLUMNS[c]} AS {c}" if c in CACHED_COLUMNS else _columns([c])
                               for c in columns)
            sql = f"SELECT {picked} FROM samples AS s LEFT JOIN sample_probes AS p ON p.sample_id = s.id"
        # in chunks: the rows of one chunk as Python tuples at a time, not a million (peak memory of a report)
        chunks = list(pd.read_sql_query(sql, self.conn, chunksize=FRAME_CHUNK))
        if len(chunks) < 2:
            return self._checked(chunks[0] if chunks else pd.read_sql_query(sql, self.conn))
        frame = pd.concat(chunks, ignore_index=True)
        for col in frame.columns:  # a column typed differently by chunks (NULL in one): inferred over all rows
            if len({str(c[col].dtype) for c in chunks}) > 1:
                frame[col] = pd.Series(frame[col].astype(object).tolist(), index=frame.index)
        return self._checked(frame)

    @_guarded("measuring the trace probes")
    def fill_probes(self, *, batch: int = 20_000) -> int:
        """Measure and cache the trace probes of every sample the cache lacks or holds under other probe
        definitions (a store from before schema 4, samples copied by a merge), one transaction per batch; returns
        how many were measured. Readers never call this: it writes."""
        ids = [r[0] for r in self.conn.execute(
            "SELECT s.id FROM samples AS s LEFT JOIN sample_probes AS p ON p.sample_id = s.id "
            "WHERE p.sample_id IS NULL OR p.version != ? ORDER BY s.id", (PROBE_VERSION,))]
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            with self.conn:
                self.conn.execute("BEGIN")
                rows = self.conn.execute("SELECT id, task, item_id, reasoning, answer_text FROM samples "
                                         "WHERE id BETWEEN ? AND ?", (chunk[0], chunk[-1])).fetchall()
                wanted = set(chunk)
                for row in rows:
                    if row[0] in wanted:
                        self._store_probes(*row)
        return len(ids)

    def has_probe_cache(self) -> bool:
        """Whether the store has the sample_probes table (schema 4; an older store opened read-only has not)."""
        if not hasattr(self, "_has_probes"):
            self._has_probes = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sample_probes'").fetchone() is not None
        return self._has_probes

    @_guarded("reading the trace probes")
    def probe_rows(self, ids: Sequence[int]) -> list[tuple[int, int | None, int, int, int | None]]:
        """(id, reasoning_chars, markers, answer_changes, engaged) of the given samples as cached when stored,
        for those whose cache row is of today's probe definitions (trace_probes.PROBE_VERSION); others are left
        out (the caller measures them from the text)."""
        if not self.has_probe_cache():
            return []
        out: list[tuple] = []
        for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            chunk = [int(i) for i in ids[start:start + 900]]
            out += self.conn.execute(
                f"SELECT sample_id, reasoning_chars, markers, answer_changes, engaged FROM sample_probes "
                f"WHERE version = ? AND sample_id IN ({','.join('?' * len(chunk))})", [PROBE_VERSION, *chunk]
            ).fetchall()
        return out

    @_guarded("reading samples")
    def sample_rows(self, columns: Sequence[str], *, task: str | None = None,
                    item_id: str | None = None) -> list[dict[str, Any]]:
        """Chosen sample columns, decoded (bools, JSON), in insertion order; optionally of one task / item."""
        where = [(c, v) for c, v in (("task", task), ("item_id", item_id)) if v is not None]
        sql = f"SELECT {_columns(columns)} FROM samples"
        if where:
            sql += " WHERE " + " AND ".join(f"{c} = ?" for c, _ in where)
        rows = self.conn.execute(sql + " ORDER BY id", tuple(v for _, v in where))
        return [self._decode(columns, row) for row in rows]

    @_guarded("reading sample texts")
    def texts(self, keys: Iterable[Sequence[Any]]) -> list[tuple[str, str]]:
        """(reasoning, answer_text) per sample key (model, task, item_id, budget, mechanism, replicate);
        ("", "") for a key not in the store."""
        sql = f"SELECT reasoning, answer_text FROM samples WHERE {' AND '.join(f'{c} = ?' for c in KEY)}"
        return [self.conn.execute(sql, tuple(key)).fetchone() or ("", "") for key in keys]

    @_guarded("reading sample texts")
    def reasoning_by_id(self, ids: Sequence[int]) -> list[tuple[int, str]]:
        """(id, reasoning) of the given sample rows (unknown ids are skipped)."""
        out: list[tuple[int, str]] = []
        for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            chunk = [int(i) for i in ids[start:start + 900]]
            out += self.conn.execute(f"SELECT id, reasoning FROM samples WHERE id IN ({','.join('?' * len(chunk))})",
                                     chunk).fetchall()
        return out

    # -- review labels ------------------------------------------------------------------------------------------
    @_guarded("saving a label")
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

    @_guarded("reading labels")
    def labels(self, *, history: bool = False) -> list[dict[str, Any]]:
        """Current labels (newest row per sample and reviewer), or every row with history=True."""
        sql = "SELECT id, sample_id, task, item_id, labels, tags, note, reviewer, created_at FROM labels"
        if not history:
            sql += " WHERE id IN (SELECT MAX(id) FROM labels GROUP BY sample_id, reviewer)"
        keys = ("id", "sample_id", "task", "item_id", "labels", "tags", "note", "reviewer", "created_at")
        out = []
        for row in self.conn.execute(sql + " ORDER BY id"):
            rec = dict(zip(keys, row))
            rec["labels"] = self._loads(rec["labels"], f"label {rec['id']}'s labels (table labels)")
            rec["tags"] = self._loads(rec["tags"], f"label {rec['id']}'s tags (table labels)")
            out.append(rec)
        return out

    # -- provider batches (the batch executor) ----------------------------------------------------------------------
    @_guarded("recording a provider batch")
    def add_batch(self, batch_id: str, model: str, entries: dict[str, list]) -> None:
        """Record a submitted batch at once, so a killed process polls it on resume instead of paying again."""
        now = time.time()
        self.conn.execute("INSERT INTO batches VALUES (?, ?, 'submitted', ?, ?, ?)",
                          (batch_id, model, json.dumps(entries), now, now))

    @_guarded("reading provider batches")
    def open_batches(self, model: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT batch_id, model, entries FROM batches WHERE status = 'submitted'"
        rows = self.conn.execute(sql + (" AND model = ?" if model else "") + " ORDER BY created_at",
                                 (model,) if model else ())
        return [{"batch_id": b, "model": m, "entries": self._loads(e, f"batch {b}'s entries (table batches)")}
                for b, m, e in rows]

    @_guarded("recording a provider batch")
    def set_batch_status(self, batch_id: str, status: str) -> None:
        self.conn.execute("UPDATE batches SET status = ?, updated_at = ? WHERE batch_id = ?",
                          (status, time.time(), batch_id))

    def _loads(self, text: str, what: str) -> Any:
        """A stored JSON value; text that is not JSON (an edited or damaged store) is one StoreError naming it."""
        try:
            return json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise StoreError(f"{self.path}: {what} is not valid JSON ({str(exc)[:100]}); the store was edited or "
                             f"damaged. Restore it from a copy, or fix that value with sqlite3") from None

    def _decode(self, columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
        try:
            return {c: from_sql(c, v) for c, v in zip(columns, row)}
        except (ValueError, TypeError, RecursionError) as exc:
            raise self._bad_metadata(dict(zip(columns, row)), exc) from None

    def _bad_metadata(self, named: dict[str, Any], exc: Exception) -> StoreError:
        which = ", ".join(f"{k} {named[k]}" for k in ("id", "task", "item_id", "budget") if k in named)
        return StoreError(f"{self.path}: a sample's metadata ({which or 'table samples'}) is not valid JSON "
                          f"({str(exc)[:100]}); the store was edited or damaged. Restore it from a copy, or fix "
                          f"that value with sqlite3")

    def _checked(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame whose metadata goes on as JSON text (`sample_meta`) is checked to decode as Store.dataframe
        decodes it, so a damaged value is said here rather than read as {} later: each distinct value once."""
        if "sample_meta" not in frame or frame.empty:
            return frame
        for value in frame["sample_meta"].dropna().unique():
            try:
                from_sql("metadata", value)
            except (ValueError, TypeError, RecursionError) as exc:
                row = frame.loc[frame["sample_meta"] == value].iloc[0]
                raise self._bad_metadata(row.to_dict(), exc) from None
        return frame

    def close(self) -> None:
        try:
            self.commit()  # an open batch is kept, never rolled back by closing
        finally:
            self.checkpoint()
            self.conn.close()
            self._drop_copy()

    def _drop_copy(self) -> None:
        if self._copy_dir is not None:
            shutil.rmtree(self._copy_dir, ignore_errors=True)
            self._copy_dir = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            self.close()
        except StoreError:
            if kind is None:
                raise  # else the error already on its way says more (a full disk fails the close's commit too)


_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in KEY)
_DONE = ", ".join(f"'{s.value}'" for s in DONE_STATUSES)
FRAME_CHUNK = 100_000  # rows per chunk of sample_frame
_RECORD_SQL = (  # built once: record() runs per sample
    f"INSERT INTO samples ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
    f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {_UPDATES}, attempts = samples.attempts + 1 "
    f"WHERE samples.status NOT IN ({_DONE})")
_RETURNING = sqlite3.sqlite_version_info >= (3, 35)
_COL = {c: i for i, c in enumerate(COLUMNS)}


def _length(text: Any) -> int | None:
    """SQLite's length() of a stored text value: characters; NULL stays NULL."""
    return None if text is None else len(text) if isinstance(text, str) else len(str(text))


def _storable(value: Any) -> Any:
    """A value SQLite can bind: a lone surrogate (a model's or a file's broken JSON escape) becomes U+FFFD, an
    integer beyond 64 bits its text."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, int) and not -2**63 <= value < 2**63:
        return str(value)
    return value


def _wal_has_data(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return wal.is_file() and wal.stat().st_size > 0


def _item_meta(item: Item) -> dict[str, Any]:
    meta = dict(item.metadata)
    if item.choices is not None:
        meta["choices"] = list(item.choices)
    return meta


def _hash(prompt: str, expected: Any, choices: list[str] | None) -> str:
    """What makes an item the same question: its prompt, expected answer and choices (not its metadata)."""
    blob = json.dumps([prompt, None if expected is None else str(expected), choices], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _columns(columns: Sequence[str]) -> str:
    unknown = [c for c in columns if c not in SAMPLE_COLUMNS and c not in DERIVED_COLUMNS]
    if unknown or not columns:
        raise ValueError(f"not sample columns: {', '.join(unknown) or '(none given)'}")
    return ", ".join(f"{DERIVED_COLUMNS[c]} AS {c}" if c in DERIVED_COLUMNS else c for c in columns)
