"""Exports of a run store: samples in the export schema (jsonl, csv, parquet), the whole store as one SQLite file
(sqlite: samples, items, labels, metadata; no -wal beside it) and review labels (jsonl, csv)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import UserError
from .connection import store_error
from .run_store import Store
from .schema import BOOL_COLUMNS, COLUMNS, JSON_COLUMNS, TEXT_COLUMNS

EXPORT_FORMATS = ("jsonl", "csv", "parquet", "sqlite")
LABEL_FORMATS = ("jsonl", "csv")
LABEL_EXPORT_COLUMNS = ["sample_id", "task", "model", "item_id", "budget", "mechanism", "replicate", "status",
                        "correct", "reviewer", "labels", "tags", "note", "created_at"]


BATCH = 5000  # samples per fetch and per Parquet row group: memory holds one batch, whatever the run's size


def export_records(store: Store, *, with_text: bool = True, batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Samples in the export schema: the record fields, then the item's task metadata at top level.

    A metadata key that collides with a record field is prefixed `meta_`; per-sample provider details stay
    under `metadata`. Streamed: rows are fetched `batch` at a time with their item joined in SQL.
    """
    cols = [c for c in COLUMNS if with_text or c not in TEXT_COLUMNS]
    try:
        cur = store.conn.execute(
            f"SELECT {', '.join('s.' + c for c in cols)}, i.metadata FROM samples AS s LEFT JOIN items AS i "
            f"ON i.task = s.task AND i.item_id = s.item_id ORDER BY s.id")
        last: tuple[str | None, dict[str, Any]] = (None, {})  # an item's samples mostly come together: parse once
        while chunk := cur.fetchmany(batch):
            for *values, meta in chunk:
                row = store._decode(cols, values)
                if meta:
                    if meta != last[0]:
                        last = (meta, _item_meta(store, row, meta))
                    for key, value in last[1].items():
                        row["meta_" + key if key in row else key] = value
                yield row
    except sqlite3.Error as exc:
        raise store_error(exc, store.path, "reading samples") from None


def _item_meta(store: Store, row: dict[str, Any], meta: str) -> dict[str, Any]:
    value = store._loads(meta, f"item {row['task']}/{row['item_id']}'s metadata (table items)")
    return value if isinstance(value, dict) else {}


def export_columns(store: Store, *, with_text: bool = True) -> tuple[list[str], dict[str, set[type]]]:
    """The export's columns in the order records first hold them (the record fields, then item metadata keys by
    the first sample of an item having them), and the Python types of the metadata columns' values. Read from the
    items that have samples (one grouped pass over the samples in SQL), so a streamed export knows its header."""
    cols = [c for c in COLUMNS if with_text or c not in TEXT_COLUMNS]
    first: dict[str, tuple[int, int]] = {}
    types: dict[str, set[type]] = {}
    try:
        rows = store.conn.execute(
            "SELECT f.first, f.task, f.item_id, i.metadata FROM (SELECT task, item_id, MIN(id) AS first "
            "FROM samples GROUP BY task, item_id) AS f JOIN items AS i ON i.task = f.task AND i.item_id = f.item_id")
        for sid, task, item_id, meta in rows:
            keys = dict.fromkeys(cols)
            for pos, (key, value) in enumerate(_item_meta(store, {"task": task, "item_id": item_id}, meta).items()):
                name = "meta_" + key if key in keys else key
                keys[name] = None
                if name not in first or (sid, pos) < first[name]:
                    first[name] = (sid, pos)
                if value is not None:
                    types.setdefault(name, set()).add(type(value))
    except sqlite3.Error as exc:
        raise store_error(exc, store.path, "reading the items") from None
    return cols + sorted(first, key=first.__getitem__), types


def write_export(store: Store, fmt: str, out: Any, *, batch: int = BATCH) -> int:
    """Write all samples as jsonl or csv to a text stream (parquet: to a path or binary stream); returns the count.
    Every format streams: memory holds one batch of samples, not the run."""
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        return write_parquet(store, out, batch=batch)
    if fmt == "sqlite":
        if not isinstance(out, (str, Path)):
            raise UserError("--format sqlite writes a database file: give --out FILE.sqlite")
        store.backup(out)
        return store.count()
    n = 0
    if fmt == "jsonl":
        for rec in export_records(store, batch=batch):
            out.write(json.dumps(rec, default=str) + "\n")
            n += 1
        return n
    columns, _ = export_columns(store)
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for rec in export_records(store, batch=batch):
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in rec.items()})
        n += 1
    return n


def write_parquet(store: Store, out: Any, *, batch: int = BATCH) -> int:
    """The export schema as one Parquet file, written a row group per batch. Nested values (lists, dicts) are JSON
    text, as in the CSV; a column holding mixed types (budget: 64 and "high") is stored as text so one file can hold
    every run. Column types are decided before the first row is written (SQLite's typeof per sample column, the
    items' metadata values), as pandas infers them from the whole run: read back with pandas, the file holds what
    a one-table export held; a sample without an item's metadata key holds null there."""
    import pyarrow as pa  # only this optional path needs pyarrow (extra [parquet])
    import pyarrow.parquet as pq

    if isinstance(out, io.TextIOBase):
        raise UserError("parquet is binary: give an output file (--out FILE.parquet)")
    columns, types = export_columns(store)
    types.update(_sample_types(store))
    kinds = {c: _kind(types.get(c, set())) for c in columns}
    arrow = {"null": pa.null(), "bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}
    schema = pa.schema([(c, arrow.get(kinds[c], pa.string())) for c in columns])
    n = 0
    with pq.ParquetWriter(out, schema) as writer:
        rows: list[dict[str, Any]] = []
        for rec in export_records(store, batch=batch):
            rows.append(rec)
            if len(rows) >= batch:
                writer.write_batch(_record_batch(pa, rows, columns, kinds, schema))
                n += len(rows)
                rows = []
        if rows:
            writer.write_batch(_record_batch(pa, rows, columns, kinds, schema))
            n += len(rows)
    return n


# How a column is written, from the Python types of its values (None aside), as pandas would infer one frame.
def _kind(found: set[type]) -> str:
    if not found:
        return "null"
    if found & {list, dict}:
        return "json"
    for kind, allowed in (("bool", {bool}), ("int", {int}), ("float", {int, float}), ("str", {str})):
        if found <= allowed:
            return kind
    return "text"  # mixed types: each value as its text


def _record_batch(pa: Any, rows: list[dict[str, Any]], columns: list[str], kinds: dict[str, str], schema: Any) -> Any:
    arrays = []
    for col in columns:
        values = [r.get(col) for r in rows]
        kind = kinds[col]
        if kind == "json":
            values = [None if v is None else json.dumps(v, default=str) for v in values]
        elif kind == "text":
            values = [None if v is None else str(v) for v in values]
        arrays.append(pa.array(values, type=schema.field(col).type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


_PY_TYPE = {"integer": int, "real": float, "text": str, "blob": bytes}


def _sample_types(store: Store) -> dict[str, set[type]]:
    """The Python types each sample column's values decode to, from SQLite's typeof in one grouped pass."""
    try:
        rows = store.conn.execute(f"SELECT DISTINCT {', '.join(f'typeof({c})' for c in COLUMNS)} FROM samples")
        found: dict[str, set[type]] = {c: set() for c in COLUMNS}
        for row in rows:
            for col, sql_type in zip(COLUMNS, row):
                if sql_type == "null" and col not in JSON_COLUMNS:
                    continue
                found[col].add(dict if col in JSON_COLUMNS else bool if col in BOOL_COLUMNS else _PY_TYPE[sql_type])
    except sqlite3.Error as exc:
        raise store_error(exc, store.path, "reading samples") from None
    return found


def label_records(store: Store, *, history: bool = False) -> list[dict[str, Any]]:
    """Current labels (or the full history) joined with their sample's key and outcome."""
    keys = ("id", "model", "budget", "mechanism", "replicate", "status", "correct")
    labels = store.labels(history=history)
    ids = sorted({rec["sample_id"] for rec in labels})
    meta: dict[int, dict[str, Any]] = {}
    try:  # only the labelled samples: a run of a million samples with a few hundred labels reads a few hundred
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in store.conn.execute(f"SELECT {', '.join(keys)} FROM samples WHERE id IN "
                                          f"({','.join('?' * len(chunk))})", chunk):
                rec = store._decode(keys, row)
                meta[rec.pop("id")] = rec
    except sqlite3.Error as exc:
        raise store_error(exc, store.path, "reading samples") from None
    out = []
    for rec in labels:
        merged = {**rec, **meta.get(rec["sample_id"], {})}
        out.append({c: merged.get(c) for c in LABEL_EXPORT_COLUMNS})
    return out


def write_label_export(store: Store, fmt: str, out: IO[str], *, history: bool = False) -> int:
    """Write labels as jsonl or csv (lists as JSON text in csv); returns the number of records."""
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown export format {fmt!r}; one of {', '.join(LABEL_FORMATS)}")
    if fmt not in LABEL_FORMATS:
        raise UserError(f"labels export as {' or '.join(LABEL_FORMATS)}, not {fmt!r}")
    records = label_records(store, history=history)
    if fmt == "jsonl":
        for rec in records:
            out.write(json.dumps(rec) + "\n")
        return len(records)
    writer = csv.DictWriter(out, fieldnames=LABEL_EXPORT_COLUMNS)
    writer.writeheader()
    for rec in records:
        writer.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in rec.items()})
    return len(records)
