"""Reading result files row by row: JSONL, CSV and Parquet, with every bad line named as `file:line: reason`.

A file that is binary where text is expected, or not UTF-8, is one clear error (naming the first bad line), never a
traceback. Parquet rows are numbered from 1 ("row N"); text files by line.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import install_hint

TEXT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")
TABLE_SUFFIXES = (*TEXT_SUFFIXES, ".parquet")


def where(path: Path, line: int, *, parquet: bool = False) -> str:
    return f"{path}: row {line}" if parquet else f"{path}:{line}"


def read_text(path: Path, errors: list[str]) -> str | None:
    """The file as text, or None (with the reason added to `errors`) when it is binary or not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        errors.append(f"{path}: cannot read ({exc.strerror or exc})")
        return None
    if b"\x00" in data[:65536]:
        errors.append(f"{path}: a binary file, not UTF-8 text (expected {', '.join(TEXT_SUFFIXES)})")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        errors.append(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8")
        return None
    return text[1:] if text.startswith("\ufeff") else text


def read_rows(path: Path, errors: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(origin, record) for each row of a .jsonl/.json/.csv/.parquet file; bad rows go to `errors`."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet(path, errors)
        return
    if suffix not in TEXT_SUFFIXES:
        errors.append(f"{path}: unsupported file type {suffix or '(none)'!r} (use {', '.join(TABLE_SUFFIXES)})")
        return
    text = read_text(path, errors)
    if text is None:
        return
    if suffix == ".csv":
        yield from _csv(path, text, errors)
    else:
        yield from _jsonl(path, text, errors)


def _jsonl(path: Path, text: str, errors: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except RecursionError:
            errors.append(f"{path}:{lineno}: JSON nested too deeply to read")
            continue
        except ValueError as exc:  # e.g. an integer of thousands of digits
            errors.append(f"{path}:{lineno}: a JSON value that cannot be read ({str(exc)[:120]})")
            continue
        if not isinstance(record, dict):
            errors.append(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
            continue
        if "\\u" in line and not _encodable(record):
            errors.append(f"{path}:{lineno}: text with a lone surrogate escape (\\ud800-\\udfff without its pair) "
                          "is not Unicode text; fix the writer of this file")
            continue
        yield f"{path}:{lineno}", record


def _encodable(record: dict[str, Any]) -> bool:
    """Whether every string in a decoded row is valid Unicode (JSON escapes can spell a lone surrogate)."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _csv(path: Path, text: str, errors: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if not reader.fieldnames:
            errors.append(f"{path}: empty CSV (no header row)")
            return
        start = 2
        for row in reader:
            if None in row:
                errors.append(f"{path}:{start}: more cells than the {len(reader.fieldnames)} header columns")
            elif any(v is None for v in row.values()):
                errors.append(f"{path}:{start}: fewer cells than the {len(reader.fieldnames)} header columns")
            else:
                yield f"{path}:{start}", {k: (None if v == "" else v) for k, v in row.items()}
            start = reader.line_num + 1  # a quoted cell may span lines: report where the record starts
    except csv.Error as exc:
        errors.append(f"{path}:{reader.line_num}: malformed CSV ({exc})")


def _parquet(path: Path, errors: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        errors.append(f"{path}: reading parquet needs pyarrow: {install_hint('parquet')}")
        return
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != b"PAR1":
            errors.append(f"{path}: not a parquet file (no PAR1 header)")
            return
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several kinds for a damaged file; all mean the same to the user
        errors.append(f"{path}: unreadable parquet file ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
        return
    for n, row in enumerate(rows, 1):
        yield where(path, n, parquet=True), {k: _plain(v) for k, v in row.items()}


def _plain(value: Any) -> Any:
    """A parquet cell as a plain value: NaN and None both mean an empty cell."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
