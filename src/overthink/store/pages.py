"""Pages of samples in SQL for the review app: an item-row index per process, filters and paging as SQL on it, and
the page's own samples, items and labels read from the store by key.

Why an index: an item row's verdict compares accuracy at its smallest and largest scored budget, an aggregate over
all its samples; computing it for every page would read every sample (seconds at a million). `ReviewIndex` reads
the store once into an in-memory SQLite database (one row per task / model / item with its verdict and the budgets
and statuses it has samples with; the current labels' codes and tags), and every filter, count and page is then SQL
on that. It is rebuilt when the store files change (size or modification time of the database and its WAL: a sample
written or replaced by a run or a resume); a label saved by the review app itself refreshes only the labels.

Page rows are then read from the store by key: samples through the UNIQUE (model, task, item_id, ...) index, items
through their primary key, labels through labels_sample. Nothing here reads a sample's text except `item_samples`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .connection import store_error
from .run_store import Store, _columns, _guarded

CHUNK = 500  # keys per IN (...) list: under SQLite's bound-parameter limit
FILTER_KEYS = ("task", "model", "budget", "status", "verdict", "label")

_INDEX_SCHEMA = """
CREATE TABLE rows (rid INTEGER PRIMARY KEY, task TEXT NOT NULL, model TEXT NOT NULL, item_id TEXT NOT NULL,
                   verdict TEXT NOT NULL, cells TEXT NOT NULL);
CREATE TABLE labelled (rid INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX labelled_value ON labelled (kind, value, rid);
"""
# rows.cells: every (budget, status) the row has a sample with, as `,"budget":"status",` pieces (JSON strings: no
# raw separator can occur inside one), so a budget and/or status filter is one instr() per row. A table of cells
# was 5x slower to build at a million samples and no faster to filter. labelled.kind is 'code' (a taxonomy code of
# a current label) or 'tag'. Budgets are matched as text (str(budget)), as the page's budget filter is.


def _piece(budget: Any = None, status: str | None = None) -> str:
    """The cells text a (budget, status) pair is, or the part of it a budget-only / status-only filter looks for."""
    b = "," + json.dumps(str(budget)) + ":" if budget is not None else ":"
    return b + (json.dumps(status) + "," if status is not None else "")


def _stamp(path: Path) -> tuple:
    """Size and modification time of the database and its WAL: any commit changes one of them."""
    out: list[Any] = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
            out += [st.st_size, st.st_mtime_ns]
        except OSError:
            out += [None, None]
    return tuple(out)


class ReviewIndex:
    """The item rows of one run store, in memory, for filtering and paging in SQL (thread-safe)."""

    def __init__(self, verdict_of: Callable[[dict[Any, float]], str], budget_key: Callable[[Any], Any]) -> None:
        """`verdict_of(accuracy by budget)` names an item row's pattern from its smallest and largest scored budget
        (ordered by `budget_key`); it is given those two only."""
        self._verdict_of = verdict_of
        self._budget_key = budget_key
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._stamp: tuple | None = None
        self._labels_stamp: tuple | None = None
        self.generation = 0  # bumped on every rebuild (the per-filter answers cached in _cache are dropped then)
        self.budgets: list[Any] = []
        self.models: list[str] = []
        self.tasks: list[str] = []
        self.tags: list[str] = []
        self.total = 0
        self._rid: dict[tuple[str, str, str], int] = {}
        self._cache: dict[tuple, Any] = {}

    # -- keeping it current --------------------------------------------------------------------------------------
    def refresh(self, store: Store) -> None:
        """Rebuild from `store` if its files changed since the last build (labels only, if only labels did)."""
        stamp = _stamp(store.path)
        with self._lock:
            if stamp == self._stamp and self._labels_stamp == stamp:
                return
            try:
                if stamp != self._stamp:
                    self._build(store)
                self._build_labels(store)
            except sqlite3.Error as exc:
                self._stamp = self._labels_stamp = None
                raise store_error(exc, store.path, "reading the run for review") from None
            self._stamp = self._labels_stamp = stamp
            self.generation += 1
            self._cache.clear()

    def labels_written(self, before: tuple, after: tuple) -> None:
        """This process saved a label between two stamps (`stamp_of` before and after): if nothing else had changed
        the store, only the labels are re-read at the next refresh."""
        with self._lock:
            if before == self._stamp:
                self._stamp = after
                self._labels_stamp = None

    @staticmethod
    def stamp_of(store_path: Path) -> tuple:
        return _stamp(store_path)

    def _build(self, store: Store) -> None:
        # One pass over the store, grouped in SQL: per key, budget and status, how many samples are scored (status
        # ok with a grade) and how many of those are correct (the verdict's accuracy; see review/data.py).
        cur = store.conn.execute(
            "SELECT task, model, item_id, budget, status, "
            "SUM(status = 'ok' AND correct IS NOT NULL), SUM(status = 'ok' AND correct IS NOT NULL AND correct <> 0) "
            "FROM samples GROUP BY task, model, item_id, budget, status")
        found: dict[tuple[str, str, str], tuple[dict[Any, list[int]], list[str]]] = {}
        pieces: dict[tuple[Any, str], str] = {}
        for task, model, item_id, budget, status, n_graded, n_correct in cur:
            key = (task, model, item_id)
            entry = found.get(key)
            if entry is None:
                entry = found[key] = ({}, [])
            if n_graded:
                tally = entry[0].setdefault(budget, [0, 0])
                tally[0] += n_graded
                tally[1] += n_correct
            piece = pieces.get((budget, status))
            if piece is None:
                piece = pieces[(budget, status)] = _piece(budget, status)[:-1]
            entry[1].append(piece)
        # The verdict reads the smallest and the largest scored budget: rank the run's few budgets once.
        budgets = sorted({b for b, _ in pieces}, key=self._budget_key)
        rank = {b: i for i, b in enumerate(budgets)}
        rows = []
        for rid, key in enumerate(sorted(found)):
            graded, cells = found[key]
            ends = (min(graded, key=rank.__getitem__), max(graded, key=rank.__getitem__)) if graded else ()
            verdict = self._verdict_of({b: graded[b][1] / graded[b][0] for b in ends})
            rows.append((rid, *key, verdict, "".join(cells) + ","))
        db = self._db
        db.executescript("DROP TABLE IF EXISTS rows; DROP TABLE IF EXISTS labelled;" + _INDEX_SCHEMA)
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?)", rows)
        self._rid = {r[1:4]: r[0] for r in rows}
        self.total = len(rows)
        self.budgets = budgets
        self.models = sorted({r[2] for r in rows})
        self.tasks = sorted({r[1] for r in rows})

    def _build_labels(self, store: Store) -> None:
        rows: list[tuple[int, str, str]] = []
        for task, model, item_id, codes, tags in store.conn.execute(
                "SELECT s.task, s.model, s.item_id, l.labels, l.tags FROM labels AS l JOIN samples AS s "
                "ON s.id = l.sample_id WHERE l.id IN (SELECT MAX(id) FROM labels GROUP BY sample_id, reviewer)"):
            rid = self._rid.get((task, model, item_id))
            if rid is not None:
                rows += [(rid, "code", c) for c in store._loads(codes, "a label's labels (table labels)")]
                rows += [(rid, "tag", t) for t in store._loads(tags, "a label's tags (table labels)")]
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM labelled")
            self._db.executemany("INSERT INTO labelled VALUES (?, ?, ?)", rows)
        self.tags = sorted({v for _, kind, v in rows if kind == "tag"})

    # -- queries ---------------------------------------------------------------------------------------------------
    def counts(self, filters: Mapping[str, str]) -> dict[str, int]:
        """Matching item rows per verdict (cached per filter until the store changes)."""
        where, args = _where(filters)
        return self._cached(("counts", _fkey(filters)), lambda: dict(self._db.execute(
            f"SELECT verdict, COUNT(*) FROM rows WHERE {where} GROUP BY verdict", args).fetchall()))

    def page(self, filters: Mapping[str, str], offset: int, limit: int) -> list[tuple[int, str, str, str, str]]:
        """(rid, task, model, item_id, verdict) of matching rows `offset` .. `offset + limit`, in task / model / item
        order."""
        where, args = _where(filters)
        with self._lock:
            return self._db.execute(f"SELECT rid, task, model, item_id, verdict FROM rows WHERE {where} "
                                    f"ORDER BY rid LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()

    def item_order(self, filters: Mapping[str, str]) -> tuple[list[tuple[str, str]], dict[tuple[str, str], int]]:
        """Matching (task, item_id) in the order of their first row, and each one's position (cached)."""
        def order() -> tuple[list[tuple[str, str]], dict[tuple[str, str], int]]:
            where, args = _where(filters)
            keys = [tuple(r) for r in self._db.execute(
                f"SELECT task, item_id FROM rows WHERE {where} GROUP BY task, item_id ORDER BY MIN(rid)", args)]
            return keys, {k: i for i, k in enumerate(keys)}  # type: ignore[misc]
        return self._cached(("order", _fkey(filters)), order)

    def row_labels(self, rids: Sequence[int]) -> dict[int, tuple[set[str], set[str]]]:
        """rid -> (current label codes, tags) from any reviewer."""
        out: dict[int, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
        with self._lock:
            for start in range(0, len(rids), CHUNK):
                chunk = list(rids[start:start + CHUNK])
                for rid, kind, value in self._db.execute(
                        f"SELECT rid, kind, value FROM labelled WHERE rid IN ({','.join('?' * len(chunk))})", chunk):
                    out[rid][0 if kind == "code" else 1].add(value)
        return out

    def _cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._cache:
                if len(self._cache) > 64:
                    self._cache.clear()
                self._cache[key] = compute()
            return self._cache[key]


def _fkey(filters: Mapping[str, str]) -> tuple:
    return tuple(str(filters.get(k) or "") for k in FILTER_KEYS)


def _where(filters: Mapping[str, str]) -> tuple[str, list[Any]]:
    """The SQL condition on `rows` for the review filters (see review/data.Filters for their meaning)."""
    task, model, budget, status, verdict, label = _fkey(filters)
    conds: list[str] = []
    args: list[Any] = []
    for column, value in (("task", task), ("model", model), ("verdict", verdict)):
        if value:
            conds.append(f"{column} = ?")
            args.append(value)
    # A status filter asks for a sample with that status (at the chosen budget, if one is chosen).
    if budget or status:
        conds.append("instr(cells, ?) > 0")
        args.append(_piece(budget or None, status or None))
    if label == "any":
        conds.append("rid IN (SELECT rid FROM labelled WHERE kind = 'code')")
    elif label == "none":
        conds.append("rid NOT IN (SELECT rid FROM labelled WHERE kind = 'code')")
    elif label.startswith("tag:"):
        conds.append("rid IN (SELECT rid FROM labelled WHERE kind = 'tag' AND value = ?)")
        args.append(label[4:])
    elif label:
        conds.append("rid IN (SELECT rid FROM labelled WHERE kind = 'code' AND value = ?)")
        args.append(label)
    return " AND ".join(conds) or "1", args


# -- reads by key from the store -----------------------------------------------------------------------------------
@_guarded("reading samples")
def samples_of(store: Store, keys: Iterable[tuple[str, str, str]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Chosen columns (decoded) of the samples of the given (task, model, item_id) keys, in insertion order. Read
    through the UNIQUE (model, task, item_id, ...) index: a page costs its own rows, not the store's."""
    by_group: dict[tuple[str, str], list[str]] = defaultdict(list)
    for task, model, item_id in dict.fromkeys(keys):
        by_group[(model, task)].append(item_id)
    cols = list(dict.fromkeys(("id", *columns)))
    out: list[dict[str, Any]] = []
    for (model, task), ids in by_group.items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            out += [store._decode(cols, row) for row in store.conn.execute(
                f"SELECT {_columns(cols)} FROM samples WHERE model = ? AND task = ? "
                f"AND item_id IN ({','.join('?' * len(chunk))})", (model, task, *chunk))]
    out.sort(key=lambda r: r["id"])
    return out


@_guarded("reading the items")
def items_of(store: Store, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(task, item_id) -> the stored item (prompt, expected, metadata) for the given keys; missing keys are left out."""
    by_task: dict[str, list[str]] = defaultdict(list)
    for task, item_id in dict.fromkeys(keys):
        by_task[task].append(item_id)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for task, ids in by_task.items():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            for t, i, p, e, m in store.conn.execute(
                    f"SELECT task, item_id, prompt, expected, metadata FROM items WHERE task = ? "
                    f"AND item_id IN ({','.join('?' * len(chunk))})", (task, *chunk)):
                out[(t, i)] = {"task": t, "item_id": i, "prompt": p, "expected": e,
                               "metadata": store._loads(m, f"item {t}/{i}'s metadata (table items)")}
    return out


@_guarded("reading samples")
def item_samples(store: Store, task: str, item_id: str, models: Sequence[str],
                 columns: Sequence[str]) -> list[dict[str, Any]]:
    """One item's samples (chosen columns, decoded, insertion order): by the UNIQUE index for the known models,
    else (no model known: an index older than the store) by a scan of the task."""
    if models:
        return samples_of(store, [(task, m, item_id) for m in models], columns)
    return store.sample_rows(columns, task=task, item_id=item_id)


@_guarded("reading labels")
def current_labels_of(store: Store, sample_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Current labels (newest row per sample and reviewer) of the given samples, oldest first."""
    keys = ("id", "sample_id", "task", "item_id", "labels", "tags", "note", "reviewer", "created_at")
    out: list[dict[str, Any]] = []
    for start in range(0, len(sample_ids), CHUNK):
        chunk = [int(i) for i in sample_ids[start:start + CHUNK]]
        marks = ",".join("?" * len(chunk))
        for row in store.conn.execute(
                f"SELECT {', '.join(keys)} FROM labels WHERE id IN (SELECT MAX(id) FROM labels "
                f"WHERE sample_id IN ({marks}) GROUP BY sample_id, reviewer)", chunk):
            rec = dict(zip(keys, row))
            rec["labels"] = store._loads(rec["labels"], f"label {rec['id']}'s labels (table labels)")
            rec["tags"] = store._loads(rec["tags"], f"label {rec['id']}'s tags (table labels)")
            out.append(rec)
    return sorted(out, key=lambda r: r["id"])
