"""inspect_ai eval logs (.eval or .json) -> samples, read with inspect_ai's own `read_eval_log` (optional).

One log is one cell of a sweep: its model, its task, and the budget from its generate config (`reasoning_tokens` ->
a token budget, `reasoning_effort` -> an effort level). Samples: id -> item id, epoch -> replicate, the chosen
scorer's value (C / I / P / N or a number) -> correct and score, reasoning tokens from the model usage (source
"usage"), reasoning text from the reasoning content blocks (the summary when the full text is redacted or absent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core import EFFORT_ORDER, NATURAL, Budget, Item, SampleRecord, Status
from ..errors import UserError, install_hint
from .common import Collected, Options, clean_error, mechanism_of, plain_json

INSTALL_HINT = f"reading inspect_ai logs needs inspect_ai: {install_hint('inspect')}"
LOG_SUFFIXES = (".eval", ".json")
TRUNCATED_STOPS = ("max_tokens", "model_length")
# inspect_ai's letter values (CORRECT, INCORRECT, PARTIAL, NOANSWER): score, correct
LETTERS = {"C": (1.0, True), "I": (0.0, False), "P": (0.5, None)}


def read_log_file(path: Path) -> Any:
    try:
        from inspect_ai.log import read_eval_log
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return read_eval_log(str(path))


def collect(path: Path, opts: Options, got: Collected) -> None:
    """Add one log's samples to `got` (problems go to got.errors)."""
    try:
        log = read_log_file(path)
    except UserError:
        raise
    except Exception as exc:  # inspect_ai raises many kinds for a file that is not a log; all mean the same here
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        got.errors.append(f"{path}: not an inspect_ai eval log ({type(exc).__name__}: {first})")
        return
    spec = log.eval
    exported = (spec.metadata or {}).get("overthink") or {}  # a log `overthink export --format inspect` wrote
    try:
        budget = _budget(spec.model_generate_config, opts, exported.get("budget"))
        mechanism = mechanism_of(opts) if opts.mechanism or "mechanism" not in exported else str(exported["mechanism"])
    except ValueError as exc:
        got.errors.append(f"{path}: {exc}")
        return
    samples = log.samples or []
    if not samples:
        got.errors.append(f"{path}: the log holds no samples (status {log.status})")
        return
    scorers = sorted({name for sample in samples for name in (sample.scores or {})})
    if opts.scorer is None and len(scorers) > 1:
        got.errors.append(f"{path}: several scorers ({', '.join(scorers)}); choose one with --scorer NAME")
        return
    if opts.scorer is not None and opts.scorer not in scorers:
        got.errors.append(f"{path}: no scorer {opts.scorer!r} (the log has {', '.join(scorers) or 'none'})")
        return
    scorer = opts.scorer or (scorers[0] if scorers else None)
    model = opts.model or spec.model
    own = _overthink_task(samples, scorer)  # a log of overthink's own inspect task: its name and metric
    task = opts.task or (own[0] if own else spec.task)
    metric = opts.metric or (own[1] if own else "accuracy")
    n = 0
    for sample in samples:
        origin = f"{path}: sample {sample.id!r} epoch {sample.epoch}"
        try:
            record, item = _sample(sample, spec, model=model, task=task, budget=budget, mechanism=mechanism,
                                   scorer=scorer, path=path)
        except ValueError as exc:
            got.errors.append(f"{origin}: {exc}")
            continue
        got.add(origin, record, item, metric)
        n += 1
    got.sources.append({"file": str(path), "format": "inspect", "samples": n, "task": spec.task,
                        "model": spec.model, "eval_id": spec.eval_id, "run_id": spec.run_id,
                        "log_status": log.status})


def _overthink_task(samples: list[Any], scorer: str | None) -> tuple[str, str] | None:
    """(task, metric) when every sample was scored by overthink's inspect scorer (ecosystem/inspect_tasks.py)."""
    found = set()
    for sample in samples:
        score = (sample.scores or {}).get(scorer) if scorer else None
        meta = (score.metadata or {}) if score is not None else {}
        if "overthink_task" not in meta or "metric" not in meta:
            return None
        found.add((str(meta["overthink_task"]), str(meta["metric"])))
    return found.pop() if len(found) == 1 else None


def _budget(config: Any, opts: Options, exported: Any = None) -> Budget:
    tokens, effort = config.reasoning_tokens, config.reasoning_effort
    if exported == NATURAL and tokens is None and effort is None and opts.unbudgeted is None:
        return NATURAL  # overthink's own export of a natural run says so
    if tokens is not None and effort is not None:
        if opts.budget_field is None:
            raise ValueError(f"the generate config sets both reasoning_tokens ({tokens}) and reasoning_effort "
                             f"({effort}); say which was the budget with --budget-field reasoning_tokens or "
                             "--budget-field reasoning_effort")
        tokens, effort = (tokens, None) if opts.budget_field == "reasoning_tokens" else (None, effort)
    if tokens is not None:
        return int(tokens)
    if effort is not None:
        if effort not in EFFORT_ORDER:
            raise ValueError(f"reasoning_effort {effort!r} is not one of {', '.join(EFFORT_ORDER)}")
        return str(effort)
    if opts.unbudgeted is None:
        raise ValueError("the generate config sets neither reasoning_tokens nor reasoning_effort; say what the "
                         "model did with --unbudgeted 0 (no thinking) or --unbudgeted natural (its own default)")
    return 0 if opts.unbudgeted == "0" else NATURAL


def _text(value: Any) -> str:
    """A sample input (a string or chat messages) or a message content as plain text."""
    if isinstance(value, str):
        return value
    parts = []
    for part in value or []:
        content = getattr(part, "content", part)
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(getattr(c, "text", "") for c in content if getattr(c, "type", "") == "text")
    return "\n\n".join(p for p in parts if p)


def _reasoning(message: Any) -> tuple[str, str]:
    """(reasoning text, what it is: full | summary | none) from the reasoning content blocks of a message."""
    content = getattr(message, "content", "")
    if isinstance(content, str):
        return "", "none"
    texts, kinds = [], set()
    for block in content:
        if getattr(block, "type", "") != "reasoning":
            continue
        if block.reasoning and not block.redacted:
            texts.append(block.reasoning)
            kinds.add("full")
        elif block.summary:
            texts.append(block.summary)
            kinds.add("summary")
    kind = "full" if kinds == {"full"} else ("summary" if kinds else "none")
    return "\n\n".join(texts), kind


def _score(sample: Any, scorer: str | None) -> tuple[str | None, Any, Any]:
    """(scorer name, value, the Score) of the chosen scorer; (None, None, None) when the sample lacks it."""
    found = (sample.scores or {}).get(scorer) if scorer is not None else None
    return (None, None, None) if found is None else (scorer, found.value, found)


def _grade(value: Any) -> tuple[float | None, bool | None, bool]:
    """(score, correct, unparsed) from a score value."""
    if isinstance(value, bool):
        return float(value), value, False
    if isinstance(value, (int, float)):
        return float(value), (True if value == 1 else False if value == 0 else None), False
    if isinstance(value, str):
        letter = value.strip().upper()
        if letter == "N":
            return None, None, True
        if letter in LETTERS:
            score, correct = LETTERS[letter]
            return score, correct, False
        try:
            return _grade(float(value))
        except ValueError:
            pass
    raise ValueError(f"score value {value!r} is not C / I / P / N or a number (a dict or list value has no "
                     "single score)")


def _sample(sample: Any, spec: Any, *, model: str, task: str, budget: Budget, mechanism: str, scorer: str | None,
            path: Path) -> tuple[SampleRecord, Item]:
    name, value, score = _score(sample, scorer)
    output = sample.output
    choice = output.choices[0] if output and output.choices else None  # an error sample has no choice
    message = choice.message if choice is not None else None
    reasoning, reasoning_kind = _reasoning(message) if message is not None else ("", "none")
    answer_text = output.completion if choice is not None else ""
    usage = (sample.model_usage or {}).get(spec.model)
    if usage is None and len(sample.model_usage or {}) == 1:
        usage = next(iter(sample.model_usage.values()))
    tokens = usage.reasoning_tokens if usage is not None else None
    status, error, grade = Status.OK.value, None, (None, None, False)
    stop = choice.stop_reason if choice is not None else None
    limit = getattr(sample, "limit", None)
    if sample.error is not None:
        status, error = Status.ERROR.value, clean_error(sample.error.message or "error")
    elif limit is not None and limit.type == "token" or stop in TRUNCATED_STOPS:
        status = Status.TRUNCATED.value
    elif limit is not None:
        status, error = Status.ERROR.value, f"{limit.type} limit reached ({limit.limit})"
    elif name is None:
        status, error = Status.ERROR.value, "the sample has no score"
    else:
        grade = _grade(value)
        own_status = ((score.metadata or {}).get("status") if score is not None else None)
        if grade[2]:
            status = Status.TRUNCATED.value if own_status == Status.TRUNCATED.value else Status.UNPARSED.value
        if (score.metadata or {}).get("metric") == "rmse":  # a squared error, not a 0/1 grade
            grade = (grade[0], None, grade[2])
    target = sample.target if isinstance(sample.target, str) else " | ".join(sample.target)
    meta: dict[str, Any] = {
        "source": {"format": "inspect", "file": str(path), "sample_id": sample.id, "epoch": sample.epoch,
                   "eval_id": spec.eval_id, "task": spec.task, "model": spec.model},
        "reasoning_text": reasoning_kind,
    }
    if name is not None:
        meta.update(scorer=name, score_value=plain_json(value))
    if limit is not None:
        meta["limit"] = {"type": limit.type, "limit": limit.limit, "reason": clean_error(limit.reason or "")}
    record = SampleRecord(
        run_id=spec.run_id, model=model, provider=spec.model.split("/", 1)[0], task=task, item_id=str(sample.id),
        budget=budget, mechanism=mechanism, replicate=int(sample.epoch) - 1,
        seed=spec.model_generate_config.seed or 0, status=status,
        reasoning_tokens=int(tokens) if tokens is not None else None,
        reasoning_tokens_source="usage" if tokens is not None else "none",
        output_tokens=usage.output_tokens if usage is not None else None,
        input_tokens=usage.input_tokens if usage is not None else None,
        answer=score.answer if score is not None and status == Status.OK.value else None,
        expected=target, score=grade[0], correct=grade[1], latency_s=sample.total_time,
        cost_usd=usage.total_cost if usage is not None else None, error=error, stop_reason=stop,
        thinking_stop=None, reasoning=reasoning, answer_text=answer_text or "", metadata=meta)
    meta_in = dict(sample.metadata or {})
    saved = meta_in.pop("overthink_item", None)  # overthink's own task: the item as overthink holds it
    meta_in.pop("overthink_task", None)
    if isinstance(saved, dict):
        choices = tuple(saved["choices"]) if saved.get("choices") else None
        item = Item(id=str(sample.id), prompt=_text(sample.input), answer=saved.get("answer"), choices=choices,
                    answer_index=saved.get("answer_index"), metadata=plain_json(meta_in))
    else:
        item = Item(id=str(sample.id), prompt=_text(sample.input), answer=target, metadata=plain_json(meta_in))
    return record, item
