"""Exports of a run store: samples in the export schema (jsonl, csv, parquet), the whole store as one SQLite file
(sqlite: samples, items, labels, metadata; no -wal beside it) and review labels (jsonl, csv)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import UserError
from .run_store import Store
from .schema import COLUMNS

EXPORT_FORMATS = ("jsonl", "csv", "parquet", "sqlite")
LABEL_FORMATS = ("jsonl", "csv")
LABEL_EXPORT_COLUMNS = ["sample_id", "task", "model", "item_id", "budget", "mechanism", "replicate", "status",
                        "correct", "reviewer", "labels", "tags", "note", "created_at"]


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


def write_export(store: Store, fmt: str, out: Any) -> int:
    """Write all samples as jsonl or csv to a text stream (parquet: to a path or binary stream); returns the count."""
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        return write_parquet(store, out)
    if fmt == "sqlite":
        if not isinstance(out, (str, Path)):
            raise UserError("--format sqlite writes a database file: give --out FILE.sqlite")
        store.backup(out)
        return store.count()
    if fmt == "jsonl":
        n = 0
        for rec in export_records(store):
            out.write(json.dumps(rec, default=str) + "\n")
            n += 1
        return n
    records = list(export_records(store))
    columns = list(dict.fromkeys(k for r in records for k in r)) or COLUMNS
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in rec.items()})
    return len(records)


def write_parquet(store: Store, out: Any) -> int:
    """The export schema as one Parquet table. Nested values (lists, dicts) are JSON text, as in the CSV; a column
    holding mixed types (budget: 64 and "high") is stored as text so one file can hold every run."""
    import pandas as pd  # only this optional path needs pandas (and pyarrow, extra [parquet])
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(out, io.TextIOBase):
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


def label_records(store: Store, *, history: bool = False) -> list[dict[str, Any]]:
    """Current labels (or the full history) joined with their sample's key and outcome."""
    keys = ("model", "budget", "mechanism", "replicate", "status", "correct")
    meta = {row.pop("id"): row for row in store.sample_rows(("id", *keys))}
    out = []
    for rec in store.labels(history=history):
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
