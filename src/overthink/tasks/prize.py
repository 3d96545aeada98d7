"""Users' own data: the paper schema reader with validation, `tasks import`, imported tasks and `prize/<name>`.

The paper schema (also what `tasks export` writes): one record per line with `id` (optional; default
`<name>-<line>`), `prompt`, and either `answer` or `classes` (a list, or a Python-list string as in the Inverse
Scaling Prize CSVs) + `answer_index`. Every other key is metadata. Other schemas map onto it with
`mapping={"prompt": "question", "answer": "target"}`.

Import is all-or-nothing: every line is validated first (each error names file and line), then the normalised
records are written atomically to OVERTHINK_HOME/tasks/NAME.jsonl with a NAME.meta.json beside them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from .. import paths
from ..core import Item
from ..errors import DataError
from .base import Metric, Scoring, Task
from .loading import read_records, select

FIELDS = ("id", "prompt", "answer", "classes", "answer_index")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
MAX_ERRORS = 10


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
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return value


def to_item(record: dict[str, Any], name: str, lineno: int, mapping: dict[str, str] | None = None,
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
        raise ValueError(f"`prompt` must be a non-empty string, got {type(prompt).__name__}")
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
    answer = rec["answer"]
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        raise ValueError(f"`answer` must be a string or number, got {type(answer).__name__}")
    return Item(id=str(item_id), prompt=prompt, answer=answer, metadata=meta)


def read_task_file(path: Path, name: str, mapping: dict[str, str] | None = None) -> list[Item]:
    """Validate every line of a JSONL/CSV task file; DataError listing the bad lines (file:line: reason)."""
    items: list[Item] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    csv_cells = Path(path).suffix.lower() == ".csv"
    for lineno, record in read_records(Path(path)):
        try:
            item = to_item(record, name, lineno, mapping, csv_cells)
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


def read_prize_file(path: Path) -> list[Item]:
    """An Inverse Scaling Prize classification file (prompt, classes, answer_index); validated."""
    items = read_task_file(path, prize_name(Path(path)))
    if any(i.choices is None for i in items):
        raise DataError(f"{path}: Inverse Scaling Prize files need `classes` and `answer_index` on every line")
    return items


def prize_name(path: Path) -> str:
    return path.stem.removesuffix("_classification").removesuffix("-classification")


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


def item_record(item: Item) -> dict[str, Any]:
    """Item -> paper-schema record."""
    rec: dict[str, Any] = {"id": item.id, "prompt": item.prompt}
    if item.choices is not None:
        rec.update(classes=list(item.choices), answer_index=item.answer_index)
    else:
        rec["answer"] = item.answer
    rec.update(item.metadata)
    return rec


def check_name(name: str) -> None:
    from . import BUILTIN, PREFIXES

    if not NAME_RE.match(name):
        raise DataError(f"task name {name!r}: use letters, digits, '.', '_' and '-' (no '/'), at most 80 characters")
    if name in BUILTIN or name in PREFIXES:
        raise DataError(f"task name {name!r} is a built-in task; choose another --name")


def save_task(name: str, items: list[Item], meta: dict[str, Any], *, force: bool = False) -> Path:
    """Write NAME.jsonl + NAME.meta.json under OVERTHINK_HOME/tasks atomically (temp files, then rename)."""
    check_name(name)
    root = paths.tasks_dir()
    data, sidecar = root / f"{name}.jsonl", root / f"{name}.meta.json"
    if data.exists() and not force:
        raise DataError(f"task {name!r} already exists ({data}); pass --force to replace it")
    tmp_data, tmp_meta = data.with_suffix(".jsonl.part"), sidecar.with_suffix(".json.part")
    with open(tmp_data, "w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item_record(item), ensure_ascii=False) + "\n")
    tmp_meta.write_text(json.dumps({**meta, "name": name, "items": len(items),
                                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2) + "\n")
    os.replace(tmp_meta, sidecar)
    os.replace(tmp_data, data)  # the data file appears last: a task is visible only when complete
    return data


def import_task(path: Path, name: str, mapping: dict[str, str] | None = None, *, scoring: str | None = None,
                force: bool = False) -> tuple[Path, int]:
    """`overthink tasks import`: validate the whole file, then store it as task NAME."""
    check_name(name)
    items = read_task_file(Path(path), name, mapping)
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
            self._items = read_task_file(self.path, name)
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
    meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    return FileTask(name, data, meta, **options)


def prize_task(name: str, rest: str, data: str | None = None, **options: Any) -> Task:
    """`prize/<name>`: an Inverse Scaling Prize classification file (option data=FILE to read one directly)."""
    from .. import datasets

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
    from .. import datasets

    for ds in datasets.registry().values():  # a pinned upstream copy named by the registry (memo-trap-part1)
        if ds.task == f"prize/{rest}" and ds.files:
            return datasets.locate(ds.name, ds.files[0].name)
    root = datasets.dataset_dir("inverse-scaling-prize")
    for stem in (rest, f"{rest}_classification", f"{rest}-classification"):
        for suffix in (".jsonl", ".csv"):
            if (root / f"{stem}{suffix}").is_file():
                return root / f"{stem}{suffix}"
    return None
