"""The run store package: the only place in overthink that writes SQL.

- `schema`: the SQLite schema, the sample key and how record fields map to columns.
- `run_store`: `Store`, one database per run dir: samples, items, metadata, review labels, provider batches, and
  the reads analysis and review need (frames, texts, rows).
- `export`: samples in the export schema (jsonl, csv, parquet) and review labels (jsonl, csv).
"""

from __future__ import annotations

from .export import (
                     EXPORT_FORMATS,
                     LABEL_EXPORT_COLUMNS,
                     export_records,
                     label_records,
                     write_export,
                     write_label_export,
                     write_parquet,
)
from .run_store import Store
from .schema import DB_NAME, KEY, SCHEMA, SCHEMA_VERSION

__all__ = ["DB_NAME", "EXPORT_FORMATS", "KEY", "LABEL_EXPORT_COLUMNS", "SCHEMA", "SCHEMA_VERSION", "Store",
           "export_records", "label_records", "write_export", "write_label_export", "write_parquet"]
