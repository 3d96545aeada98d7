"""Helpers for dataset-backed tasks: line-numbered record reading and deterministic item selection."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from .. import datasets
from ..core import Item
from ..errors import DataError
from .base import Task


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


def _read_jsonl(path: Path, errors: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                _bad(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})", errors)
                continue
            if not isinstance(record, dict):
                _bad(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}", errors)
                continue
            yield lineno, record


def _read_csv(path: Path, errors: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
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


def select(items: list[Item], n: int | None, seed: int, key: str) -> list[Item]:
    """The first n items of a seeded shuffle (n=None: all). Any n is a subset of any larger n for one seed."""
    if n is None or n >= len(items):
        n = len(items)
    if n < 0:
        raise DataError(f"item count must be >= 0, got {n}")
    order = list(range(len(items)))
    random.Random(f"{key}:{seed}").shuffle(order)
    return [items[i] for i in order[:n]]


def interleave(groups: list[list[Item]], n: int | None) -> list[Item]:
    """Round-robin across groups so that any prefix stays balanced; first n (n=None: all)."""
    out: list[Item] = []
    longest = max((len(g) for g in groups), default=0)
    for i in range(longest):
        out.extend(g[i] for g in groups if i < len(g))
    return out if n is None else out[:n]


class DatasetTask(Task):
    """A task read from one file of a fetched dataset (or `data=PATH`); items are a seeded selection of it."""

    dataset: ClassVar[str]
    file: ClassVar[str]

    def __init__(self, name: str | None = None, data: str | None = None, **options: Any) -> None:
        super().__init__(name=name, **options)
        # locate now, so a missing dataset stops a run before anything is created on disk
        self.path = Path(data) if data else datasets.locate(self.dataset, self.file)

    def load(self, path: Path) -> list[Item]:
        raise NotImplementedError

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        return select(self.load(self.path), n, seed, self.name)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dataset": self.dataset}
