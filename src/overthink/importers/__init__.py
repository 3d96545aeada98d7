"""Bring results from elsewhere into a run store: inspect_ai logs, the paper's result rows, any table.

- `sources`: `import_sources(sources, run_dir, fmt, opts)`, the entry point (finds files, detects their format).
- `inspect_logs`, `paper`, `table`: one reader per format; `rows`: line-numbered JSONL / CSV / Parquet reading.
- `common`: validation and the one place that writes, through the run store's public API.

This package imports nothing itself, so `analysis` can use `importers.table` without loading the other readers.
"""
