"""Items to and from files in the paper's public schema.

One JSON object per line: `id`, `prompt`, then either `answer` (open answer) or `classes` + `answer_index`
(multiple choice), and every metadata key at top level. CSV files use the same column names; there `classes` is
a JSON array, and a metadata cell holding JSON (an object, array, number, true/false/null) is decoded.
Any bad line raises DataError naming the file and line number.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core import Item
from ..errors import DataError

RESERVED = ("id", "prompt", "answer", "classes", "answer_index")


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


def record_to_item(record: dict[str, Any], where: str, default_id: str) -> Item:
    """An Item from one public-schema record; DataError mentioning `where` ("file: line N") when malformed."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    prompt = record.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise DataError(f"{where}: missing or empty 'prompt'")
    item_id = record.get("id", default_id)
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or str(item_id) == "":
        raise DataError(f"{where}: 'id' must be a non-empty string or integer")
    metadata = {k: v for k, v in record.items() if k not in RESERVED}
    if "classes" in record:
        classes, index = record["classes"], record.get("answer_index")
        if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
            raise DataError(f"{where}: 'classes' must be a list of at least two strings")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(classes):
            raise DataError(f"{where}: 'answer_index' must be an integer in 0..{len(classes) - 1}, got {index!r}")
        if "answer" in record:
            raise DataError(f"{where}: give either 'answer' or 'classes' + 'answer_index', not both")
        return Item(id=str(item_id), prompt=prompt, choices=tuple(classes), answer_index=index, metadata=metadata)
    if "answer" not in record:
        raise DataError(f"{where}: missing 'answer' (or 'classes' + 'answer_index')")
    answer = record["answer"]
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        raise DataError(f"{where}: 'answer' must be a string or a number, got {type(answer).__name__}")
    return Item(id=str(item_id), prompt=prompt, answer=answer, metadata=metadata)


def _read_jsonl(path: Path) -> list[Item]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {lineno}: not valid JSON ({exc.msg})") from None
            items.append(record_to_item(record, f"{path}: line {lineno}", f"{path.stem}-{len(items):05d}"))
    return items


def _cell(value: str) -> Any:
    text = value.strip()
    if text[:1] in "[{" or text in ("true", "false", "null"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return value


def _read_csv(path: Path) -> list[Item]:
    items = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            where = f"{path}: line {reader.line_num}"
            if None in row:
                raise DataError(f"{where}: more cells than header columns")
            record: dict[str, Any] = {}
            for key, value in row.items():
                if value is None:
                    raise DataError(f"{where}: fewer cells than header columns")
                if key in ("answer", "classes", "answer_index") and not value.strip():
                    continue  # an empty schema cell means "not given" (mixed open / multiple-choice files)
                if key in ("id", "prompt"):
                    record[key] = value
                elif key == "classes":
                    try:
                        record[key] = json.loads(value)
                    except json.JSONDecodeError:
                        raise DataError(f"{where}: 'classes' must be a JSON array of strings") from None
                else:
                    record[key] = _cell(value)
            items.append(record_to_item(record, where, f"{path.stem}-{len(items):05d}"))
    return items


def read_items(path: str | Path) -> list[Item]:
    """Items from a JSONL (.jsonl/.json lines) or CSV (.csv) file in the public schema."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        items = _read_csv(path) if suffix == ".csv" else _read_jsonl(path)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DataError(f"{path}: duplicate id {item.id!r}")
        seen.add(item.id)
    if not items:
        raise DataError(f"{path}: no items")
    return items
