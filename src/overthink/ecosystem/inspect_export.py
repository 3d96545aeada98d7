"""`overthink export RUN_DIR --format inspect --out DIR`: a run as inspect_ai eval logs, for `inspect view`.

One log per task x model x mechanism x budget, built from inspect_ai's own log types and written by its own
`write_eval_log` (never hand-written JSON), so any inspect_ai that reads its logs reads these. The budget is the
generate config's `reasoning_tokens` (a token budget) or `reasoning_effort` (an effort level); a natural run sets
neither. Samples carry the prompt, the reasoning (a ContentReasoning block) and the visible answer, the target,
overthink's score (C / I / N, or the squared error), the item's metadata, per-sample usage with reasoning tokens,
the stop reason (max_tokens for a truncated sample) and the error of an error sample. The eval's metadata names the
overthink run, mechanism and budget, so `overthink import DIR` gives the same curves back.

Texts come from the store, which redacts keys before it stores anything; they pass the redaction once more here
(keys in the environment), like every other export.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspect_ai._util.error import EvalError
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    ChatMessageUser,
    ContentReasoning,
    ContentText,
    GenerateConfig,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER, Score

from ..core import NATURAL, Item, Status, budget_sort_key
from ..errors import UserError
from ..secrets import redact
from ..store import Store
from ..tasks import get_task
from ..version import __version__
from .inspect_tasks import ITEM_KEY, SCORER, SQUARED_ERROR_SCORER, TASK_KEY

Cell = tuple[str, str, str, Any]  # task, model, mechanism, budget


def _env_keys() -> tuple[str, ...]:
    return tuple(v for k, v in os.environ.items() if k.endswith(("_API_KEY", "_TOKEN", "_KEY")) and len(v) >= 8)


def _clean(text: Any, keys: tuple[str, ...]) -> str:
    return redact(str(text or ""), keys)


def _generate_config(budget: Any, seed: int | None) -> GenerateConfig:
    if budget == NATURAL:
        return GenerateConfig(seed=seed)
    if isinstance(budget, int):
        return GenerateConfig(reasoning_tokens=budget, seed=seed)
    return GenerateConfig(reasoning_effort=budget, seed=seed)


def _score(row: dict[str, Any], task: str, metric: str) -> Score | None:
    status = row["status"]
    if status == Status.ERROR.value:
        return None
    meta = {"overthink_task": task, "metric": metric, "status": status}
    if status != Status.OK.value:
        return Score(value=NOANSWER, answer=row.get("answer"), metadata=meta)
    if metric == "rmse":
        return Score(value=float(row["score"]), answer=row.get("answer"), metadata=meta)
    return Score(value=CORRECT if row.get("correct") else INCORRECT, answer=row.get("answer"), metadata=meta)


def _sample(row: dict[str, Any], item: dict[str, Any], prompt: str, task: str, metric: str,
            keys: tuple[str, ...]) -> EvalSample:
    model = row["model"]
    content: list[Any] = []
    if row.get("reasoning"):
        content.append(ContentReasoning(reasoning=_clean(row["reasoning"], keys)))
    content.append(ContentText(text=_clean(row.get("answer_text"), keys)))
    message = ChatMessageAssistant(content=content, model=model)
    stop = "max_tokens" if row["status"] == Status.TRUNCATED.value else "stop"
    output = ModelOutput(model=model, choices=[ChatCompletionChoice(message=message, stop_reason=stop)])
    usage = ModelUsage(input_tokens=row.get("input_tokens") or 0, output_tokens=row.get("output_tokens") or 0,
                       total_tokens=(row.get("input_tokens") or 0) + (row.get("output_tokens") or 0),
                       reasoning_tokens=row.get("reasoning_tokens"), total_cost=row.get("cost_usd"))
    meta = dict(item.get("metadata") or {})
    meta[TASK_KEY] = task
    meta[ITEM_KEY] = {"answer": row.get("expected"), "choices": meta.pop("choices", None), "answer_index": None}
    meta["overthink"] = {k: row.get(k) for k in ("reasoning_tokens_source", "thinking_stop", "shared_trace",
                                                 "seed", "status")}
    score = _score(row, task, metric)
    error = None
    if row["status"] == Status.ERROR.value:
        text = _clean(row.get("error") or "error", keys)
        error = EvalError(message=text, traceback=text, traceback_ansi=text)
    name = SQUARED_ERROR_SCORER if metric == "rmse" else SCORER
    return EvalSample(id=row["item_id"], epoch=int(row["replicate"]) + 1, input=prompt,
                      target=row.get("expected") or "",
                      messages=[ChatMessageUser(content=prompt), message], output=output,
                      scores={name: score} if score is not None else None, metadata=meta,
                      model_usage={model: usage}, total_time=row.get("latency_s"), error=error)


def _results(samples: list[EvalSample], metric: str) -> EvalResults:
    name = SQUARED_ERROR_SCORER if metric == "rmse" else SCORER
    letters = {CORRECT: 1.0, INCORRECT: 0.0}
    values = [letters.get(v, v) for v in (s.scores[name].value for s in samples if s.scores)
              if v != NOANSWER]
    shown = "mean" if metric == "rmse" else "accuracy"
    value = sum(values) / len(values) if values else 0.0
    score = EvalScore(name=name, scorer=name, scored_samples=len(values), unscored_samples=len(samples) - len(values),
                      metrics={shown: EvalMetric(name=shown, value=value)})
    return EvalResults(total_samples=len(samples), completed_samples=len(samples), scores=[score])


def _usage(samples: list[EvalSample]) -> dict[str, ModelUsage]:
    """The log's total usage per model (inspect's viewer shows it per log)."""
    total: dict[str, ModelUsage] = {}
    for sample in samples:
        for model, usage in sample.model_usage.items():
            total[model] = total[model] + usage if model in total else usage
    return total


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60] or "x"


def _prompts(store: Store, tasks: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(task, item id) -> (the user message as the run rendered it, the stored item). A task this install cannot
    make (an imported or plugin task from elsewhere) shows the stored question as it is."""
    renderers: dict[str, Any] = {}
    out = {}
    for stored in store.items():
        task = stored["task"]
        if task not in renderers:
            try:
                renderers[task] = get_task(task, **((tasks.get(task) or {}).get("options") or {}))
            except Exception:  # any failure to make the task only costs the rendering
                renderers[task] = None
        meta = stored["metadata"] or {}
        choices = tuple(meta["choices"]) if meta.get("choices") else None
        item = Item(id=stored["item_id"], prompt=stored["prompt"], answer=stored["expected"], choices=choices,
                    metadata=meta)
        prompt = renderers[task].render(item) if renderers[task] is not None else stored["prompt"]
        out[(task, stored["item_id"])] = (prompt, stored)
    return out


def export_inspect(run_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write one inspect_ai log per cell of the run into `out_dir`; the paths written."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: --format inspect writes a folder of logs; {out} is a file")
    keys = _env_keys()
    with Store(run_dir, create=False, readonly=True) as store:
        meta = store.meta()
        tasks, config = meta.task_dicts(), meta.config or {}
        items = _prompts(store, tasks)
        cells: dict[Cell, list[dict[str, Any]]] = defaultdict(list)
        for row in store.iter_samples(with_text=True):
            cells[(row["task"], row["model"], row["mechanism"], row["budget"])].append(row)
    if not cells:
        raise UserError(f"{run_dir}: no samples to export")
    out.mkdir(parents=True, exist_ok=True)
    run_name = Path(run_dir).resolve().name
    created = datetime.now(UTC).isoformat()
    written = []
    order = sorted(cells, key=lambda c: (c[0], c[1], c[2], budget_sort_key(c[3])))
    for task, model, mechanism, budget in order:
        rows = sorted(cells[(task, model, mechanism, budget)], key=lambda r: (r["item_id"], r["replicate"]))
        metric = (tasks.get(task) or {}).get("metric", "accuracy")
        samples = [_sample(r, *_item(items, task, r), task, metric, keys) for r in rows]
        epochs = max(int(r["replicate"]) for r in rows) + 1
        spec = EvalSpec(created=created, task=f"overthink/{task}", task_version=0, run_id=str(rows[0]["run_id"]),
                        dataset=EvalDataset(name=task, samples=len({r["item_id"] for r in rows})),
                        model=_clean(model, keys), model_generate_config=_generate_config(budget, config.get("seed")),
                        config=EvalConfig(epochs=epochs), packages={"overthink": __version__},
                        task_args={"budget": budget, "mechanism": mechanism},
                        metadata={"overthink": {"run": run_name, "task": task, "mechanism": mechanism,
                                                "budget": budget, "metric": metric}})
        log = EvalLog(status="success", eval=spec, results=_results(samples, metric),
                      stats=EvalStats(started_at=created, completed_at=created, model_usage=_usage(samples)),
                      samples=samples)
        path = out / f"{_slug(task)}_{_slug(model)}_{mechanism}_{_slug(str(budget))}.eval"
        write_eval_log(log, str(path))
        written.append(path)
    return written


def _item(items: dict, task: str, row: dict[str, Any]) -> tuple[dict[str, Any], str]:
    prompt, item = items.get((task, row["item_id"]), ("", {}))
    return item, prompt
