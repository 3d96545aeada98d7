"""The paper's own result rows (inverse-scaling-ttc, `raw/{model_id}/{task_id}.jsonl`, one JSON object per sample).

Fields read: model, task_id, instance_id (a `_runN` suffix is the N-th repeat of one budget -> replicate N-1),
reasoning_budget, metric (accuracy | mse), correct, squared_error, extracted_answer, response, reasoning_content,
stop_reason, input_tokens, output_tokens, usage, latency, cost, error, prompt, correct_answer,
correct_answer_index, icl_enabled, icl_num_examples.

Deliberate differences from the paper's scoring: a row without an extracted answer is `unparsed` (the paper counted
it wrong), a row cut at max tokens without an answer is `truncated`. The paper counted reasoning length with a
tokenizer on `reasoning_content`, which is a summary for Claude 4 models; overthink takes the reasoning-token figure
from `usage` where the row has one (source "usage") and otherwise estimates it from the text (source "estimate").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core import Item, SampleRecord, Status
from ..tokens import estimate_tokens
from .common import Collected, Options, clean_error, mechanism_of, plain_json, to_budget, to_int
from .rows import read_rows

PAPER_KEYS = ("instance_id", "reasoning_budget")
METRIC_MAP = {"accuracy": "accuracy", "mse": "rmse"}
TRUNCATED_STOPS = ("max_tokens", "length", "model_length")
_RUN = re.compile(r"^(?P<base>.+)_run(?P<n>\d+)$")


def looks_like_paper(record: dict[str, Any]) -> bool:
    return all(k in record for k in PAPER_KEYS)


def collect(path: Path, opts: Options, got: Collected) -> None:
    n = 0
    mechanism = mechanism_of(opts)
    for origin, row in read_rows(path, got.errors):
        try:
            record, item, metric = _row(row, path, opts, mechanism)
        except ValueError as exc:
            got.errors.append(f"{origin}: {exc}")
            continue
        record.metadata["source"]["line"] = origin.rsplit(":", 1)[-1]
        got.add(origin, record, item, metric)
        n += 1
    got.sources.append({"file": str(path), "format": "paper", "samples": n})


def split_instance(instance_id: str) -> tuple[str, int]:
    """'q17_run3' -> ('q17', 2): the paper suffixes repeats of one budget with _run2, _run3, ..."""
    m = _RUN.match(instance_id)
    return (m["base"], int(m["n"]) - 1) if m and int(m["n"]) >= 1 else (instance_id, 0)


def usage_reasoning_tokens(usage: Any) -> int | None:
    """The reasoning-token figure the API reported, where the row's usage has one."""
    if not isinstance(usage, dict):
        return None
    candidates = [usage.get("reasoning_tokens")]
    for key in ("output_tokens_details", "completion_tokens_details"):
        details = usage.get(key)
        if isinstance(details, dict):
            candidates += [details.get("reasoning_tokens"), details.get("thinking_tokens")]
    for value in candidates:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return int(value)
    return None


def _stop(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text.split(".", 1)[1] if text.startswith("stopreason.") else text


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"`{key}` must be text, got {type(value).__name__}")
    return value


def _row(row: dict[str, Any], path: Path, opts: Options, mechanism: str) -> tuple[SampleRecord, Item, str]:
    for key in PAPER_KEYS:
        if row.get(key) in (None, ""):
            raise ValueError(f"missing field `{key}` (not a row of the paper's raw results)")
    model = opts.model or row.get("model") or path.parent.name
    task = opts.task or row.get("task_id") or path.stem
    base, replicate = split_instance(str(row["instance_id"]))
    budget = to_budget(row["reasoning_budget"])
    raw_metric = str(row.get("metric") or "accuracy").strip().lower()
    if raw_metric not in METRIC_MAP:
        raise ValueError(f"metric {raw_metric!r} has no overthink equivalent (accuracy, mse -> rmse)")
    metric = opts.metric or METRIC_MAP[raw_metric]
    item_meta: dict[str, Any] = {}
    item_id = base
    shots = to_int(row.get("icl_num_examples"), "icl_num_examples") if row.get("icl_enabled") else 0
    if "icl_num_examples" in row or "icl_enabled" in row:
        item_meta["shots"] = shots or 0
    if shots:
        item_id = f"{base}@{shots}-shot"  # the same question with k examples is another item of the factor
    answer = row.get("extracted_answer")
    answer = None if answer is None else str(answer)
    stop = _stop(row.get("stop_reason"))
    score = correct = None
    error = row.get("error")
    if error not in (None, ""):
        status = Status.ERROR.value
        error = clean_error(error)
    elif answer is None:
        status = Status.TRUNCATED.value if stop in TRUNCATED_STOPS else Status.UNPARSED.value
    elif raw_metric == "accuracy":
        if not isinstance(row.get("correct"), bool):
            raise ValueError(f"`correct` must be true or false for an answered accuracy row, got "
                             f"{row.get('correct')!r}")
        status, correct = Status.OK.value, row["correct"]
        score = 1.0 if correct else 0.0
    else:
        value = row.get("squared_error")
        if value is None:
            status = Status.UNPARSED.value  # the answer was not a number
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"`squared_error` must be a number, got {value!r}")
        else:
            status, score = Status.OK.value, float(value)
    reasoning = _text(row, "reasoning_content")
    tokens = usage_reasoning_tokens(row.get("usage"))
    source = "usage"
    if tokens is None:
        tokens, source = (estimate_tokens(reasoning), "estimate") if reasoning else (None, "none")
    expected = row.get("correct_answer")
    if expected is None and isinstance(row.get("correct_answer_index"), int):
        expected = chr(ord("A") + row["correct_answer_index"])
    latency, cost = row.get("latency"), row.get("cost")
    record = SampleRecord(
        run_id="paper", model=str(model), provider="imported", task=str(task), item_id=item_id, budget=budget,
        mechanism=mechanism, replicate=replicate, seed=0, status=status, reasoning_tokens=tokens,
        reasoning_tokens_source=source, output_tokens=to_int(row.get("output_tokens"), "output_tokens"),
        input_tokens=to_int(row.get("input_tokens"), "input_tokens"), answer=answer,
        expected=None if expected is None else str(expected), score=score, correct=correct,
        latency_s=float(latency) if isinstance(latency, (int, float)) else None,
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None, error=error, stop_reason=stop,
        thinking_stop=None, reasoning=reasoning, answer_text=_text(row, "response"),
        metadata={"source": {"format": "paper", "file": str(path), "instance_id": row["instance_id"]},
                  "paper_correct": row.get("correct"), "paper_metric": raw_metric,
                  "usage": plain_json(row.get("usage"))})
    item = Item(id=item_id, prompt=_text(row, "prompt"), answer=record.expected, metadata=item_meta)
    return record, item, metric
