"""What every importer shares: collecting samples, validating them, and writing them through the run store.

Importers never write: they hand `Collected` rows (each with its origin, `file:line`) to `write`, which refuses
everything if a single row is bad. The store gets ordinary samples plus provenance in `metadata["source"]`, and the
meta key `imported` marks the run dir as imported (so `resume` never calls a model for it).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..budget import check_budget_size
from ..core import EFFORT_ORDER, NATURAL, Budget, Item, Mechanism, SampleRecord, Status, parse_budget
from ..errors import DataError, UserError
from ..secrets import redact
from ..store import DB_NAME, Store

MAX_ERRORS = 10
METRICS = ("accuracy", "rmse", "matching_behavior")
METRIC_LABELS = {"accuracy": "accuracy", "rmse": "RMSE", "matching_behavior": "% matching the behaviour"}
IMPORTED_KEY = "imported"
STATUSES = frozenset(s.value for s in Status)  # read per imported row: built once
MECHANISMS = frozenset(m.value for m in Mechanism if m is not Mechanism.AUTO)


@dataclass
class Options:
    """Choices the files cannot answer themselves (from the command line)."""

    model: str | None = None  # overrides / fills the model name
    task: str | None = None  # overrides / fills the task name
    metric: str | None = None  # the tasks' metric when a file does not say
    mechanism: str | None = None  # how the budget was applied (default: native)
    scorer: str | None = None  # inspect: which scorer when a log has several
    unbudgeted: str | None = None  # inspect: "0" or "natural" for logs without a reasoning setting
    budget_field: str | None = None  # inspect: reasoning_tokens | reasoning_effort when a log sets both
    columns: dict[str, str] = field(default_factory=dict)  # table: field -> column


@dataclass
class Collected:
    """Samples and items read from the sources, and every problem found on the way."""

    samples: list[tuple[str, SampleRecord]] = field(default_factory=list)  # (origin, record)
    items: dict[tuple[str, str], Item] = field(default_factory=dict)  # (task, item_id) -> item
    metrics: dict[str, str] = field(default_factory=dict)  # task -> metric
    sources: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, origin: str, record: SampleRecord, item: Item, metric: str) -> None:
        problem = check_record(record)
        if problem:
            self.errors.append(f"{origin}: {problem}")
            return
        known = self.metrics.setdefault(record.task, metric)
        if known != metric:
            self.errors.append(f"{origin}: task {record.task!r} has metric {metric!r} here but {known!r} elsewhere")
            return
        self.items.setdefault((record.task, record.item_id), item)
        self.samples.append((origin, record))


def check_record(rec: SampleRecord) -> str | None:
    """Why a record cannot be stored, or None."""
    for name in ("model", "task", "item_id"):
        value = getattr(rec, name)
        if not isinstance(value, str) or not value.strip():
            return f"empty {name}"
    if rec.status not in STATUSES:
        return f"status {rec.status!r} is not one of {', '.join(s.value for s in Status)}"
    if isinstance(rec.replicate, bool) or not isinstance(rec.replicate, int) or rec.replicate < 0:
        return f"replicate must be an integer >= 0, got {rec.replicate!r}"
    if not (isinstance(rec.budget, int) and not isinstance(rec.budget, bool) and rec.budget >= 0) and \
            rec.budget not in (*EFFORT_ORDER, NATURAL):
        return f"budget {rec.budget!r} is neither a token count nor an effort level"
    for name in ("reasoning_tokens", "input_tokens", "output_tokens"):
        value = getattr(rec, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            return f"{name} must be an integer >= 0, got {value!r}"
    if rec.score is not None and not math.isfinite(rec.score):
        return f"score must be a finite number, got {rec.score!r}"
    if rec.status == Status.OK and rec.score is None:
        return "status ok but no score or correct value"
    return None


def to_int(value: Any, name: str) -> int | None:
    """A count from JSON, CSV text or parquet (1024, "1024", 1024.0); None when empty. Raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        value = int(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
        if not number.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        value = int(number)
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return value


def to_budget(value: Any) -> Budget:
    """1024 / "1024" / 1024.0 -> 1024; "High" -> "high"; "natural". Raises ValueError."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None or isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"budget must be a token count or an effort level, got {value!r}")
    budget = parse_budget(value)
    if isinstance(budget, int):
        check_budget_size(budget)  # a store column holds 64 bits; no model thinks past MAX_BUDGET anyway
    return budget


def mechanism_of(opts: Options) -> str:
    mech = (opts.mechanism or Mechanism.NATIVE.value).strip().lower()
    if mech not in MECHANISMS:
        raise ValueError(f"mechanism {mech!r} is not one of forced, prompted, native")
    return mech


def metric_of(value: Any) -> str:
    metric = str(value).strip().lower()
    if metric not in METRICS:
        raise ValueError(f"metric {value!r} is not one of {', '.join(METRICS)}")
    return metric


def check_options(opts: Options) -> None:
    """Refuse bad command-line choices before any file is read."""
    try:
        if opts.mechanism is not None:
            opts.mechanism = mechanism_of(opts)
        if opts.metric is not None:
            opts.metric = metric_of(opts.metric)
    except ValueError as exc:
        raise UserError(f"--{exc}") from None  # the message starts with the option's name
    if opts.unbudgeted not in (None, "0", NATURAL):
        raise UserError(f"--unbudgeted {opts.unbudgeted!r}: 0 (no thinking) or natural (the model's default)")
    if opts.budget_field not in (None, "reasoning_tokens", "reasoning_effort"):
        raise UserError(f"--budget-field {opts.budget_field!r}: reasoning_tokens or reasoning_effort")
    for name in ("model", "task"):
        value = getattr(opts, name)
        if value is not None and not value.strip():
            raise UserError(f"--{name} is empty")


def clean_error(text: Any, limit: int = 500) -> str:
    """An error message from a result file, one line, with key-like values redacted (keys never reach the store).
    Long messages keep their end, where SDKs put the provider's own error."""
    one = " ".join(str(text).split())
    one = redact(one, tuple(v for k, v in os.environ.items() if k.endswith(("_API_KEY", "_TOKEN")) and v))
    one = re.sub(r"\b(sk-[A-Za-z0-9_\-]{8,})", "[REDACTED]", one)
    return one if len(one) <= limit else "..." + one[-limit:]


def plain_json(value: Any) -> Any:
    """Metadata as plain JSON values (an SDK object or a datetime becomes its text)."""
    return json.loads(json.dumps(value, default=str))


def check_target(run_dir: Path) -> None:
    """Refuse to mix imported samples into a run dir that `overthink run` made (resume would call its models)."""
    if not (run_dir / DB_NAME).exists():
        return
    with Store(run_dir, create=False) as store:
        meta = store.meta()
        if meta.config is not None and not meta.is_imported:
            raise UserError(f"{run_dir} holds a sweep run by `overthink run`; import into a new --run-dir "
                            "(compare both with `overthink report RUN_A RUN_B`)")


def _line_order(message: str) -> tuple[str, int]:
    m = re.match(r"^(.*?):(\d+): ", message)
    return (m[1], int(m[2])) if m else (message.split(": ", 1)[0], 0)


def raise_errors(errors: list[str]) -> None:
    if errors:
        errors = sorted(errors, key=_line_order)  # by file, then line (a file's own problems first)
        more = f"\n... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        raise DataError(f"{len(errors)} problem(s); nothing imported:\n" + "\n".join(errors[:MAX_ERRORS]) + more)


def find_duplicates(samples: list[tuple[str, SampleRecord]], errors: list[str]) -> None:
    seen: dict[tuple, str] = {}
    for origin, rec in samples:
        key = _key(vars(rec))
        if key in seen:
            errors.append(f"{origin}: the same sample (model {rec.model}, item {rec.item_id}, budget {rec.budget}, "
                          f"replicate {rec.replicate}) is already at {seen[key]}")
        else:
            seen[key] = origin


def _key(rec: dict[str, Any]) -> tuple:
    return tuple(rec[k] for k in ("model", "task", "item_id", "budget", "mechanism", "replicate"))


@dataclass
class WriteStats:
    new: int = 0
    unchanged: int = 0  # already in the store (re-import): left as they are


def write(run_dir: Path, got: Collected) -> WriteStats:
    """Validate everything, then store it (the samples in one transaction). Raises DataError listing every bad
    row, and then nothing is written."""
    find_duplicates(got.samples, got.errors)
    if not got.samples and not got.errors:
        got.errors.append("no samples found in the sources")
    raise_errors(got.errors)
    check_target(run_dir)
    with Store(run_dir) as store:
        meta = store.meta()
        tasks = meta.task_dicts()
        for task, metric in got.metrics.items():
            old = tasks.get(task, {}).get("metric")
            if old is not None and old != metric:
                raise DataError(f"{run_dir}: task {task!r} is stored with metric {old!r}; this import says {metric!r}")
        if meta.run_id is None:
            store.set_meta("run_id", uuid.uuid4().hex[:12])
            store.set_meta("created_at", time.time())
        # the marker goes first: even a write cut short leaves a dir that `resume` refuses
        marker = dict(meta.imported or {"sources": []})
        known = {s["file"]: s for s in marker["sources"]}
        for src in got.sources:
            known[src["file"]] = {**src, "imported_at": time.time()}
        marker["sources"] = list(known.values())
        store.set_meta(IMPORTED_KEY, marker)
        by_task: dict[str, list[Item]] = {}
        for (task, _), item in got.items.items():
            by_task.setdefault(task, []).append(item)
        for task, items in by_task.items():
            store.add_items(task, items)
        # A key already finished stays as it is; an error row is replaced only by a sample that is not an error
        # (the same error imported again changes nothing), as `resume` would.
        stored = {_key(r): r["status"] for r in store.iter_samples(with_text=False)}
        fresh = [rec for _, rec in got.samples if _key(vars(rec)) not in stored
                 or (stored[_key(vars(rec))] == Status.ERROR.value and rec.status != Status.ERROR.value)]
        new = store.record_many(fresh)
        for task, metric in got.metrics.items():
            tasks.setdefault(task, {"name": task, "family": "imported", "metric": metric,
                                    "metric_label": METRIC_LABELS[metric], "default_size": None})
        store.set_meta("tasks", tasks)
    return WriteStats(new=new, unchanged=len(got.samples) - new)
