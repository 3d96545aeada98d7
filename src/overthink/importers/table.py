"""Any table of results (CSV, JSONL, Parquet, or a pandas DataFrame) with a column map -> samples.

Fields (the table-import columns; map other column names with `--columns FIELD=COLUMN,...` or a YAML file):
  required  item_id, budget, reasoning_tokens (cells may be empty), and correct or score
  optional  model, task (else --model / --task), replicate (else numbered in file order per item and budget),
            reasoning, answer, expected, prompt, status (ok | error | truncated | unparsed; default ok),
            error, mechanism, metric (accuracy | rmse | matching_behavior), reasoning_tokens_source,
            input_tokens, output_tokens, latency_s, cost_usd
`correct` is true/false (also 1/0, yes/no, C/I); `score` is a number (for rmse: the squared error). A table says
nothing about how reasoning tokens were counted: the source is "table" unless a reasoning_tokens_source column says.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ..core import Item, SampleRecord, Status
from ..errors import UserError
from ..yaml_text import parse_yaml
from .common import STATUSES, Collected, Options, clean_error, mechanism_of, metric_of, to_budget, to_int
from .rows import read_rows

REQUIRED = ("item_id", "budget", "reasoning_tokens")
GRADES = ("correct", "score")
OPTIONAL = ("model", "task", "replicate", "reasoning", "answer", "expected", "prompt", "status", "error",
            "mechanism", "metric", "reasoning_tokens_source", "input_tokens", "output_tokens", "latency_s", "cost_usd")
FIELDS = (*REQUIRED, *GRADES, *OPTIONAL)
TRUE = {"true", "1", "yes", "y", "c", "correct", "1.0"}
FALSE = {"false", "0", "no", "n", "i", "incorrect", "0.0"}


def parse_columns(values: list[str] | None) -> dict[str, str]:
    """`--columns item_id=qid,budget=effort` (repeatable) or `--columns map.yaml` ({field: column}) -> mapping."""
    out: dict[str, str] = {}
    for value in values or []:
        if value.lower().endswith((".yaml", ".yml")) and "=" not in value:
            out.update(_yaml_map(Path(value)))
            continue
        for pair in value.split(","):
            if not pair.strip():
                continue
            target, sep, source = (p.strip() for p in pair.partition("="))
            if not sep or not target or not source:
                raise UserError(f"--columns {pair!r}: write FIELD=COLUMN, e.g. item_id=question_id")
            out[target] = source
    unknown = [k for k in out if k not in FIELDS]
    if unknown:
        raise UserError(f"--columns: {', '.join(map(repr, unknown))} not a field; fields: {', '.join(FIELDS)}")
    return out


def _yaml_map(path: Path) -> dict[str, str]:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"--columns {path}: cannot read ({exc.strerror or exc})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"--columns {path}: not a YAML file ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UserError(f"--columns {path}: expected a mapping of field: column, e.g. `item_id: question_id`")
    return {str(k): v for k, v in data.items()}


def missing_columns(keys: set[str], mapping: dict[str, str], opts: Options) -> list[str]:
    """Required fields whose column is absent (model/task too, unless given on the command line)."""
    col = lambda f: mapping.get(f, f)  # noqa: E731
    need = [f for f in REQUIRED if col(f) not in keys]
    if not any(col(g) in keys for g in GRADES):
        need.append("correct or score")
    need += [f for f, given in (("model", opts.model), ("task", opts.task)) if not given and col(f) not in keys]
    return need


def collect(path: Path, opts: Options, got: Collected) -> None:
    rows = list(read_rows(path, got.errors))
    if not rows:
        if not any(e.startswith(str(path)) for e in got.errors):
            got.errors.append(f"{path}: no rows")
        return
    keys = set().union(*(r.keys() for _, r in rows))
    need = missing_columns(keys, opts.columns, opts)
    if need:
        names = ", ".join(f"{f} (column {opts.columns.get(f, f)!r})" if f in FIELDS else f for f in need)
        got.errors.append(f"{path}: missing column(s) for {names}; the file has {', '.join(sorted(keys))}. Map "
                          "them with --columns FIELD=COLUMN (or give --model / --task)")
        return
    counter: Counter = Counter()
    n = 0
    for origin, row in rows:
        try:
            record, item, metric = table_row(row, opts, counter)
        except ValueError as exc:
            got.errors.append(f"{origin}: {exc}")
            continue
        record.metadata = {"source": {"format": "table", "file": str(path), "row": origin.rsplit(":", 1)[-1].strip(),
                                      "item_id": row.get(opts.columns.get("item_id", "item_id"))}}
        got.add(origin, record, item, metric)
        n += 1
    got.sources.append({"file": str(path), "format": "table", "samples": n, "columns": dict(opts.columns)})


def _correct(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"correct {value!r} is not true/false (or 1/0, yes/no, C/I)")


def _score(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        score = float(value) if not isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"score {value!r} is not a number") from None
    if not math.isfinite(score):
        raise ValueError(f"score {value!r} is not a finite number")
    return score


def _number(value: Any, name: str) -> float | None:
    try:
        number = _score(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if number is not None and number < 0:
        raise ValueError(f"{name} {value!r} is negative")
    return number


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id column read as float by pandas
    return str(value)


def table_row(row: dict[str, Any], opts: Options, counter: Counter) -> tuple[SampleRecord, Item, str]:
    """One mapped row -> (record, item, metric). Raises ValueError with the reason."""
    get = lambda f: row.get(opts.columns.get(f, f))  # noqa: E731
    item_id = _str(get("item_id"))
    if not item_id or not item_id.strip():
        raise ValueError("empty item_id")
    model = opts.model or _str(get("model"))
    task = opts.task or _str(get("task"))
    if not model or not task:
        raise ValueError(f"empty {'model' if not model else 'task'}")
    budget = to_budget(get("budget"))
    metric = metric_of(opts.metric or get("metric") or "accuracy")
    mechanism = mechanism_of(Options(mechanism=opts.mechanism or _str(get("mechanism"))))
    correct, score = _correct(get("correct")), _score(get("score"))
    if correct is not None and score is None:
        score = 1.0 if correct else 0.0
    if metric != "rmse" and score is not None:
        if not 0 <= score <= 1:
            raise ValueError(f"score {score:g} is outside [0, 1] for metric {metric}; for squared errors use "
                             "--metric rmse")
        if correct is None and score in (0.0, 1.0):
            correct = score == 1.0
    status = str(get("status") or Status.OK.value).strip().lower()
    if status == Status.OK.value and score is None:
        raise ValueError("no correct or score value (give a status column for ungraded rows: error, truncated, "
                         "unparsed)")
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(s.value for s in Status)}")
    if status != Status.OK.value:
        score = correct = None  # errors, truncations and unparsed answers are never scored
    rep = to_int(get("replicate"), "replicate")
    if rep is None:
        key = (model, task, item_id, budget, mechanism)
        rep = counter[key]
        counter[key] += 1
    tokens = to_int(get("reasoning_tokens"), "reasoning_tokens")
    source = _str(get("reasoning_tokens_source")) or ("table" if tokens is not None else "none")
    expected = _str(get("expected"))
    record = SampleRecord(
        run_id="table", model=model, provider="imported", task=task, item_id=item_id, budget=budget,
        mechanism=mechanism, replicate=rep, seed=0, status=status, reasoning_tokens=tokens,
        reasoning_tokens_source=source, output_tokens=to_int(get("output_tokens"), "output_tokens"),
        input_tokens=to_int(get("input_tokens"), "input_tokens"), answer=_str(get("answer")), expected=expected,
        score=score, correct=correct, error=clean_error(get("error")) if get("error") is not None else None,
        latency_s=_number(get("latency_s"), "latency_s"), cost_usd=_number(get("cost_usd"), "cost_usd"),
        reasoning=_str(get("reasoning")) or "")
    item = Item(id=item_id, prompt=_str(get("prompt")) or "", answer=expected)
    return record, item, metric


def frame_tables(frame: Any, run: str = "dataframe") -> tuple[Any, Any, dict[str, dict[str, Any]]]:
    """A DataFrame with the table-import columns -> (samples, items, tasks) in the shape analysis loads from a
    run dir. Every bad row is listed (DataError); model and task default to "model" and "task"."""
    import pandas as pd

    from .common import Collected, find_duplicates, raise_errors

    opts = Options(model=None if "model" in frame else "model", task=None if "task" in frame else "task")
    need = missing_columns(set(map(str, frame.columns)), {}, opts)
    if need:
        raise UserError(f"DataFrame: missing column(s) {', '.join(need)}; it has {', '.join(map(str, frame.columns))}")
    got, counter = Collected(), Counter()
    for index, row in zip(frame.index, frame.to_dict("records")):
        row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        try:
            record, item, metric = table_row(row, opts, counter)
        except ValueError as exc:
            got.errors.append(f"DataFrame row {index}: {exc}")
            continue
        got.add(f"DataFrame row {index}", record, item, metric)
    find_duplicates(got.samples, got.errors)
    if not got.samples and not got.errors:
        got.errors.append("DataFrame: no rows")
    raise_errors(got.errors)
    cols = ("model", "task", "item_id", "budget", "mechanism", "replicate", "status", "reasoning_tokens", "score",
            "answer", "provider", "reasoning_tokens_source", "output_tokens", "cost_usd")
    samples = pd.DataFrame([{"id": i, **{c: getattr(r, c) for c in cols}, "sample_meta": json.dumps(r.metadata),
                             "reasoning_chars": len(r.reasoning or ""), "answer_chars": len(r.answer_text or "")}
                            for i, (_, r) in enumerate(got.samples, 1)])
    samples = samples.astype({"reasoning_tokens": "float64", "score": "float64"})
    samples["run"] = run
    samples["model_id"] = samples["model"]
    items = pd.DataFrame([{"run": run, "task": t, "item_id": i, "prompt": it.prompt, "expected": it.expected,
                           "metadata": {}} for (t, i), it in got.items.items()])
    tasks = {t: {"name": t, "metric": m} for t, m in got.metrics.items()}
    return samples, items, tasks
