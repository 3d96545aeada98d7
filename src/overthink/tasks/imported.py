"""Imported tasks: `tasks import` (validate, then store), tasks read from those files, and `prize/<name>`.

The paper schema (read and written by tasks/files.py; also what `tasks export` writes): one record per line with
`id` (optional; default `<name>-<line>`), `prompt`, and either `answer` or `classes` (a list, or a Python-list
string as in the Inverse Scaling Prize CSVs) + `answer_index`. Every other key is metadata. Other schemas map onto
it with `mapping={"prompt": "question", "answer": "target"}`.

Import is all-or-nothing: every line is validated first (each error names file and line), then the normalised
records are written atomically to OVERTHINK_HOME/tasks/NAME.jsonl with a NAME.meta.json beside them.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from .. import datasets, paths
from ..core import Item
from ..errors import DataError
from . import BUILTIN, PREFIXES
from .base import Metric, Scoring, Task
from .files import item_to_record, read_items, read_prize_file
from .sampling import select

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def detect_scoring(items: list[Item]) -> Scoring:
    kinds = {i.choices is not None for i in items}
    if kinds == {True, False}:
        raise DataError("the file mixes multiple-choice (`classes`) and open (`answer`) items; split it in two")
    if kinds == {True}:
        return Scoring.CHOICE
    if all(_plain_number(i.answer) for i in items):
        return Scoring.NUMERIC
    return Scoring.EXACT


def _plain_number(value: Any) -> bool:
    """A number Task.score can compare (float(answer) works); "1,200" or "12 apples" stay exact-match."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise DataError(f"task name {name!r}: use letters, digits, '.', '_' and '-' (no '/'), at most 80 characters")
    if name in BUILTIN or name in PREFIXES:
        raise DataError(f"task name {name!r} is a built-in task; choose another --name")


def save_task(name: str, items: list[Item], meta: dict[str, Any], *, force: bool = False) -> Path:
    """Write NAME.jsonl + NAME.meta.json under OVERTHINK_HOME/tasks atomically (temp files, then rename)."""
    check_name(name)
    root = paths.writable(paths.tasks_dir())
    data, sidecar = root / f"{name}.jsonl", root / f"{name}.meta.json"
    if data.exists() and not force:
        raise DataError(f"task {name!r} already exists ({data}); pass --force to replace it")
    tmp_data, tmp_meta = data.with_suffix(".jsonl.part"), sidecar.with_suffix(".json.part")
    with open(tmp_data, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item_to_record(item), ensure_ascii=False) + "\n")
    tmp_meta.write_text(json.dumps({**meta, "name": name, "items": len(items),
                                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2) + "\n")
    os.replace(tmp_meta, sidecar)
    os.replace(tmp_data, data)  # the data file appears last: a task is visible only when complete
    return data


def import_task(path: Path, name: str, mapping: dict[str, str] | None = None, *, scoring: str | None = None,
                force: bool = False) -> tuple[Path, int]:
    """`overthink tasks import`: validate the whole file, then store it as task NAME."""
    check_name(name)
    items = read_items(Path(path), name, mapping)
    try:
        mode = Scoring(scoring) if scoring else detect_scoring(items)
    except ValueError:
        raise DataError(f"--scoring {scoring!r}: use one of {', '.join(s.value for s in Scoring)}") from None
    if mode is Scoring.CHOICE and any(i.choices is None for i in items):
        raise DataError("--scoring choice needs `classes` + `answer_index` on every line")
    meta = {"source": str(Path(path).resolve()), "mapping": mapping or {}, "scoring": mode.value,
            "metric": Metric.ACCURACY.value, "metric_label": "accuracy"}
    return save_task(name, items, meta, force=force), len(items)


class FileTask(Task):
    """A task read from a paper-schema file. Scoring, metric and label come from the file's metadata."""

    family = "file"

    def __init__(self, name: str, path: Path, meta: dict[str, Any] | None = None, items: list[Item] | None = None,
                 **options: Any) -> None:
        super().__init__(name=name, **options)
        self.path = Path(path)
        self._items = items
        meta = meta or {}
        self._meta = meta
        if self._items is None:
            self._items = read_items(self.path, name)
        self.scoring = Scoring(meta["scoring"]) if meta.get("scoring") else detect_scoring(self._items)
        self.metric = Metric(meta.get("metric", Metric.ACCURACY.value))
        self.metric_label = meta.get("metric_label", "accuracy")
        self.default_size = len(self._items)
        if meta.get("tolerance") is not None:
            self.tolerance = float(meta["tolerance"])

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        assert self._items is not None
        group = int(self._meta.get("group_size", 1))
        if group <= 1:
            return select(self._items, n, seed, self.name)
        # a derived (distractor) task: keep whole groups - the clean item and all its distracted copies
        groups: dict[str, list[Item]] = {}
        for item in self._items:
            groups.setdefault(str(item.metadata.get("source_item_id", item.id)), []).append(item)
        heads = [g[0] for g in groups.values()]
        k = None if n is None else max(1, n // group)
        return [i for head in select(heads, k, seed, self.name)
                for i in groups[str(head.metadata.get("source_item_id", head.id))]]

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update(source=str(self.path), scoring=self.scoring.value,
                   **{k: self._meta[k] for k in ("derived_from", "distractor_kinds", "distractor_counts")
                      if k in self._meta})
        return out


def resolve_imported(name: str, **options: Any) -> Task | None:
    """RESOLVER: a task imported with `overthink tasks import` (or made by `tasks distract`)."""
    if not NAME_RE.match(name):
        return None
    data = paths.tasks_dir() / f"{name}.jsonl"
    if not data.is_file():
        return None
    sidecar = data.with_name(f"{name}.meta.json")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {}
    except (ValueError, RecursionError):  # also bytes that are not UTF-8
        raise DataError(f"{sidecar}: not a valid task metadata file (JSON); re-import the task with "
                        f"`overthink tasks import ... --name {name} --force`") from None
    if not isinstance(meta, dict):
        raise DataError(f"{sidecar}: task metadata must be a JSON object; re-import the task")
    return FileTask(name, data, meta, **options)


def prize_task(name: str, rest: str, data: str | None = None, **options: Any) -> Task:
    """`prize/<name>`: an Inverse Scaling Prize classification file (option data=FILE to read one directly)."""
    path = data
    if path is None:
        found = find_prize_file(rest)
        if found is None:
            raise DataError(f"no Inverse Scaling Prize file for {name!r}; "
                            + datasets.fetch_hint("inverse-scaling-prize"))
        path = str(found)
    items = read_prize_file(Path(path))
    meta = {"scoring": Scoring.CHOICE.value, "metric": Metric.ACCURACY.value, "metric_label": "accuracy"}
    task = FileTask(name, Path(path), meta, items=items, **options)
    task.family = "prize"
    return task


def find_prize_file(rest: str) -> Path | None:
    for ds in datasets.registry().values():  # a pinned upstream copy named by the registry (memo-trap-part1)
        if ds.task == f"prize/{rest}" and ds.files:
            return datasets.locate(ds.name, ds.files[0].name)
    root = datasets.dataset_dir("inverse-scaling-prize")
    for stem in (rest, f"{rest}_classification", f"{rest}-classification"):
        for suffix in (".jsonl", ".csv"):
            if (root / f"{stem}{suffix}").is_file():
                return root / f"{stem}{suffix}"
    return None
