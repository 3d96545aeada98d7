"""The run store package: the only place in overthink that writes SQL.

- `schema`: the SQLite schema, the sample key and how record fields map to columns.
- `run_store`: `Store`, one database per run dir: samples, items, metadata, review labels, provider batches, and
  the reads analysis and review need (frames, texts, rows).
- `export`: samples in the export schema (jsonl, csv, parquet; streamed in batches), the store as one SQLite file,
  review labels.
- `pages`: the review app's reads: an in-memory item-row index filtered and paged in SQL, page rows read by key.
- `meta`: `RunMeta`, the run's metadata as one typed record (`Store.meta()`).
- `connection`: opening read-write / read-only, the WAL checkpoint, SQLite failures as one StoreError.

The files of a run dir: `overthink.sqlite` (the store), and beside it while a run writes or after a kill
`overthink.sqlite-wal` (committed samples not yet checkpointed) and `overthink.sqlite-shm`; `report.html` when a
report was built there. Copy the three store files together, or make one file with
`overthink export RUN --format sqlite --out FILE`.
"""

from __future__ import annotations

from .connection import StoreError
from .export import (
                     EXPORT_FORMATS,
                     LABEL_EXPORT_COLUMNS,
                     export_records,
                     label_records,
                     write_export,
                     write_label_export,
                     write_parquet,
)
from .meta import RunMeta
from .run_store import Store
from .schema import DB_NAME, KEY, SCHEMA, SCHEMA_VERSION

__all__ = ["DB_NAME", "EXPORT_FORMATS", "KEY", "LABEL_EXPORT_COLUMNS", "RunMeta", "SCHEMA", "SCHEMA_VERSION",
           "Store", "StoreError", "export_records", "label_records", "write_export", "write_label_export",
           "write_parquet"]
