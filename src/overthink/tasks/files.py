"""Task data files: line-numbered record reading (.jsonl / .csv) and items in the paper's public schema.

One JSON object per line: `id`, `prompt`, then either `answer` (open answer) or `classes` + `answer_index`
(multiple choice), and every metadata key at top level. CSV files use the same column names; there `classes` is
a JSON array, and a metadata cell holding JSON (an object, array, number, true/false/null) is decoded.
(The Inverse Scaling Prize files give `classes` as a Python-list string; that is read too.)
Reading validates every line and reports all bad lines as `file:line: reason`. `read_prize_file` reads an Inverse
Scaling Prize classification file (used by `prize/<name>` tasks and to check a user-supplied copy on `data fetch`).
"""

from __future__ import annotations

import ast
import csv
import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..core import Item
from ..errors import DataError

RESERVED = ("id", "prompt", "answer", "classes", "answer_index")
FIELDS = RESERVED
MAX_ERRORS = 10


def read_records(path: Path, errors: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) from a .jsonl or .csv file. A malformed line raises DataError naming file and line,
    or, when an `errors` list is given, is added to it and skipped (to report every bad line at once)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _read_csv(path, errors)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        yield from _read_jsonl(path, errors)
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r} (use .jsonl or .csv)")


def _bad(message: str, errors: list[str] | None) -> None:
    if errors is None:
        raise DataError(message)
    errors.append(message)


def text_lines(path: Path) -> Iterator[str]:
    """A file's lines decoded as UTF-8 (a leading BOM dropped, line endings kept); a line that is not UTF-8
    (a binary file, a Latin-1 export) raises one DataError naming the file and line."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                yield raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                f"{exc.start + 1}); save the file as UTF-8 (a binary file cannot be read)") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _read_jsonl(path: Path, errors: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    for lineno, line in enumerate(text_lines(path), 1):
        if not line.strip():
            continue
        if "\0" in line:
            _bad(f"{path}:{lineno}: holds NUL bytes (a binary file?)", errors)
            continue
        try:
            record = json.loads(line, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            _bad(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})", errors)
            continue
        except RecursionError:
            _bad(f"{path}:{lineno}: JSON nested too deeply", errors)
            continue
        except ValueError as exc:  # NaN / Infinity (Python's json accepts them, JSON does not)
            _bad(f"{path}:{lineno}: not valid JSON ({exc})", errors)
            continue
        if not isinstance(record, dict):
            _bad(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}", errors)
            continue
        yield lineno, record


def _read_csv(path: Path, errors: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text_lines(path))  # decoded line by line: a non-UTF-8 line is reported by number
    if not reader.fieldnames:
        raise DataError(f"{path}: empty CSV (no header row)")
    start = 2
    try:
        for row in reader:
            if None in row:  # more cells than header columns
                _bad(f"{path}:{start}: {len(row) - 1 + len(row[None])} cells but "
                     f"{len(reader.fieldnames)} header columns", errors)
            elif any(v is None for v in row.values()):
                _bad(f"{path}:{start}: fewer cells than the {len(reader.fieldnames)} header columns", errors)
            else:
                yield start, dict(row)
            start = reader.line_num + 1  # a quoted cell may span lines; report where the record starts
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None


def item_to_record(item: Item) -> dict[str, Any]:
    """The public-schema record of an item (metadata keys at top level; they may not shadow the reserved keys)."""
    record: dict[str, Any] = {"id": item.id, "prompt": item.prompt}
    if item.choices is not None:
        record["classes"] = list(item.choices)
        record["answer_index"] = item.answer_index
    else:
        record["answer"] = item.answer
    clash = [k for k in item.metadata if k in RESERVED]
    if clash:
        raise DataError(f"item {item.id}: metadata key(s) {', '.join(clash)} collide with the schema's fields")
    record.update(item.metadata)
    return record


def write_items(items: Iterable[Item], path: str | Path) -> int:
    """Write items as JSONL (UTF-8, one record per line); returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item_to_record(item), ensure_ascii=False) + "\n")
            count += 1
    return count


def _parse_classes(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ValueError("`classes` is a string but not a Python/JSON list literal") from None
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"`classes` must be a list, got {type(value).__name__}")
    if len(value) < 2:
        raise ValueError(f"`classes` needs at least 2 entries, got {len(value)}")
    if len(value) > 26:
        raise ValueError(f"`classes` has {len(value)} entries; at most 26 (A-Z) are supported")
    if not all(isinstance(c, str) and c.strip() for c in value):
        raise ValueError("`classes` entries must be non-empty strings")
    return [str(c) for c in value]


def _parse_index(value: Any, n: int) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():  # CSV cells are text
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"`answer_index` must be an integer, got {value!r}")
    if not 0 <= value < n:
        raise ValueError(f"`answer_index` {value} is out of range for {n} classes")
    return value


def _cell(value: Any) -> Any:
    """A CSV metadata cell as `tasks export` writes it: JSON (list, object, true/false/null) and numbers decoded."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:1] in "[{" or text in ("true", "false", "null"):
        try:
            return json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return value
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if math.isfinite(number) else value  # "nan" / "inf" stay text
    return value


def record_to_item(record: dict[str, Any], name: str, lineno: int, mapping: dict[str, str] | None = None,
            csv_cells: bool = False) -> Item:
    """One record -> Item. Raises ValueError with a message (the caller adds file and line)."""
    rec = dict(record)
    for target, source in (mapping or {}).items():
        if source not in rec:
            raise ValueError(f"mapped field {source!r} (for {target!r}) is missing")
        rec[target] = rec.pop(source)
    prompt = rec.get("prompt")
    if prompt is None:
        raise ValueError("missing field `prompt`")
    if not isinstance(prompt, str) or not prompt.strip():
        got = "an empty string" if isinstance(prompt, str) else type(prompt).__name__
        raise ValueError(f"`prompt` must be a non-empty string, got {got}")
    item_id = rec.get("id")
    if item_id in (None, ""):
        item_id = f"{name}-{lineno}"
    elif isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        raise ValueError(f"`id` must be a string or integer, got {type(item_id).__name__}")
    meta = {k: (_cell(v) if csv_cells else v) for k, v in rec.items() if k not in FIELDS}
    has_classes = rec.get("classes") not in (None, "")
    has_answer = rec.get("answer") not in (None, "")
    if has_classes:
        if has_answer:
            raise ValueError("give either `answer` or `classes` + `answer_index`, not both")
        classes = _parse_classes(rec["classes"])
        if rec.get("answer_index") in (None, ""):
            raise ValueError("missing field `answer_index` (required with `classes`)")
        index = _parse_index(rec["answer_index"], len(classes))
        return Item(id=str(item_id), prompt=prompt, choices=tuple(classes), answer_index=index, metadata=meta)
    if not has_answer:
        raise ValueError("missing field `answer` (or `classes` + `answer_index`)")
    answer = _cell(rec["answer"]) if csv_cells else rec["answer"]
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        raise ValueError(f"`answer` must be a string or number, got {type(answer).__name__}")
    if isinstance(answer, float) and not math.isfinite(answer) or \
            isinstance(answer, str) and answer.strip().lower() in ("nan", "-nan", "inf", "-inf", "infinity"):
        raise ValueError("`answer` is not a number (NaN or infinity); give the expected answer")
    return Item(id=str(item_id), prompt=prompt, answer=answer, metadata=meta)


def read_items(path: str | Path, name: str | None = None, mapping: dict[str, str] | None = None) -> list[Item]:
    """Items from a JSONL/CSV file in the public schema. Every line is validated; a DataError lists the bad lines
    (file:line: reason). `name` gives default ids (`<name>-<line>`, default the file stem); `mapping` maps schema
    fields to other column names ({"prompt": "question"})."""
    path = Path(path)
    name = name or path.stem
    items: list[Item] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    csv_cells = Path(path).suffix.lower() == ".csv"
    for lineno, record in read_records(Path(path), errors):
        try:
            item = record_to_item(record, name, lineno, mapping, csv_cells)
        except ValueError as exc:
            errors.append(f"{path}:{lineno}: {exc}")
            continue
        if item.id in seen:
            errors.append(f"{path}:{lineno}: duplicate id {item.id!r} (first on line {seen[item.id]})")
            continue
        seen[item.id] = lineno
        items.append(item)
    if errors:
        more = f"\n... and {len(errors) - MAX_ERRORS} more bad lines" if len(errors) > MAX_ERRORS else ""
        raise DataError(f"{len(errors)} bad line(s); nothing imported:\n" + "\n".join(errors[:MAX_ERRORS]) + more)
    if not items:
        raise DataError(f"{path}: no records")
    return items


def prize_name(path: Path) -> str:
    return path.stem.removesuffix("_classification").removesuffix("-classification")


def read_prize_file(path: Path) -> list[Item]:
    """An Inverse Scaling Prize classification file (prompt, classes, answer_index); validated."""
    items = read_items(path, prize_name(Path(path)))
    if any(i.choices is None for i in items):
        raise DataError(f"{path}: Inverse Scaling Prize files need `classes` and `answer_index` on every line")
    return items
