"""overthink's task suite as an inspect_ai extension: `inspect eval overthink/misleading_math -T distractors=3`.

inspect_ai finds this module through the `inspect_ai` entry point in pyproject.toml (its "Extensions" mechanism)
and names each task `overthink/<function name>`. A task here is a thin shell around overthink's own: the items come
from overthink's generator (same ids, same seed), the prompt from `Task.render`, and the scorer calls `Task.grade`,
so the `<answer>` rules, numeric / choice / squared-error scoring and "unparsed" are overthink's, not re-implemented.
`-T` arguments are the task's options (as `--task-args`); an unknown option is refused with overthink's own line.

Scores: "C" / "I" for accuracy-type tasks (NOANSWER "N" when the answer could not be read or the output was cut),
the squared error for regression tasks. Each score's metadata names the overthink task, its metric and the grade's
status, which `overthink import` reads back so imported curves equal those of an overthink run.
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task as InspectTask
from inspect_ai import task
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER, Score, Scorer, Target, accuracy, mean, scorer, stderr
from inspect_ai.solver import TaskState, generate, system_message

from ..core import Item, Status
from ..errors import UserError
from ..tasks import Metric, Scoring, get_task
from ..tasks import Task as OverthinkTask

SCORER, SQUARED_ERROR_SCORER = "overthink", "overthink_squared_error"
# Sample metadata keys this module adds beside the item's own metadata (read back by importers/inspect_logs.py).
TASK_KEY, ITEM_KEY = "overthink_task", "overthink_item"
# inspect passes its --model to every task that takes **kwargs; it is not a task option
_INSPECT_ARGS = ("model",)


def item_sample(ot: OverthinkTask, item: Item) -> Sample:
    """One inspect Sample from one overthink item: id, rendered prompt, expected answer, metadata."""
    meta = dict(item.metadata)
    meta[TASK_KEY] = ot.name
    meta[ITEM_KEY] = {"answer": item.answer, "choices": list(item.choices) if item.choices else None,
                      "answer_index": item.answer_index}
    return Sample(id=item.id, input=ot.render(item), target=item.expected, metadata=meta)


def _item_of(state: TaskState) -> Item:
    saved = state.metadata[ITEM_KEY]
    meta = {k: v for k, v in state.metadata.items() if k not in (TASK_KEY, ITEM_KEY)}
    choices = tuple(saved["choices"]) if saved.get("choices") else None
    return Item(id=str(state.sample_id), prompt="", answer=saved.get("answer"), choices=choices,
                answer_index=saved.get("answer_index"), metadata=meta)


def _score_fn(task_name: str, task_options: dict[str, Any] | None) -> Scorer:
    ot = get_task(task_name, **(task_options or {}))

    async def score(state: TaskState, target: Target) -> Score:
        item = _item_of(state)
        truncated = state.output.stop_reason in ("max_tokens", "model_length")
        graded = ot.grade(item, state.output.completion or "")
        status = Status.TRUNCATED if truncated and graded.status is not Status.OK else graded.status
        meta = {"overthink_task": ot.name, "metric": ot.metric.value, "status": status.value}
        if status is not Status.OK:
            return Score(value=NOANSWER, answer=graded.answer, metadata=meta,
                         explanation=f"{status.value}: no answer overthink could score")
        if ot.scoring is Scoring.SQUARED_ERROR:
            return Score(value=float(graded.score), answer=graded.answer, metadata=meta)  # type: ignore[arg-type]
        return Score(value=CORRECT if graded.correct else INCORRECT, answer=graded.answer, metadata=meta)

    return score


@scorer(metrics=[accuracy(), stderr()], name=SCORER)
def overthink_scorer(task_name: str, task_options: dict[str, Any] | None = None) -> Scorer:
    """overthink's extraction and scoring of the model's visible answer (Task.grade)."""
    return _score_fn(task_name, task_options)


@scorer(metrics=[mean(), stderr()], name=SQUARED_ERROR_SCORER)
def overthink_error_scorer(task_name: str, task_options: dict[str, Any] | None = None) -> Scorer:
    """The same scoring for regression tasks, whose metric is the mean squared error, not accuracy."""
    return _score_fn(task_name, task_options)


def overthink_task(name: str, n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """An inspect Task running overthink task `name`'s first `n` items for `seed` (n=None: its default size)."""
    for key in _INSPECT_ARGS:
        options.pop(key, None)
    try:
        ot = get_task(name, **options)
        items = ot.items(n, seed)
    except UserError as exc:  # an unknown option, a missing data file: overthink's one line
        raise PrerequisiteError(f"overthink/{name}: {exc}") from None
    dataset = MemoryDataset([item_sample(ot, item) for item in items], name=ot.name)
    solver = [system_message(ot.system), generate()] if ot.system else [generate()]
    make = overthink_error_scorer if ot.metric is Metric.RMSE else overthink_scorer
    return InspectTask(dataset=dataset, solver=solver, scorer=make(ot.name, options), name=ot.name,
                       metadata={TASK_KEY: ot.name, "options": options, "n": n, "seed": seed})


# One inspect task per built-in family; `task` takes any overthink task name (plugins, imported tasks, subsets).
@task
def misleading_math(n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """Count two objects while distractors bait arithmetic (options: distractors, distribution, ...)."""
    return overthink_task("misleading-math", n, seed, **options)


@task
def misleading_python(n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """Misleading Math with distractors written as Python code."""
    return overthink_task("misleading-python", n, seed, **options)


@task
def famous_paradoxes(n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """Easy questions dressed as famous paradoxes."""
    return overthink_task("famous-paradoxes", n, seed, **options)


@task
def grades_regression(n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """Predict a grade from features, some spurious (scored by squared error)."""
    return overthink_task("grades-regression", n, seed, **options)


@task
def zebra(n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """Zebra (Einstein) puzzles with many constraints."""
    return overthink_task("zebra", n, seed, **options)


@task
def word_problems(n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """Short arithmetic word problems (a positive control)."""
    return overthink_task("word-problems", n, seed, **options)


@task
def ai_risk(subset: str | None = None, n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """Advanced-AI-risk questions; `-T subset=NAME` for one subset (overthink's `ai-risk/NAME`)."""
    return overthink_task(f"ai-risk/{subset}" if subset else "ai-risk", n, seed, **options)


@task
def bbeh_zebra(n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """BBEH zebra puzzles (dataset-backed: `overthink data fetch bbeh` first)."""
    return overthink_task("bbeh-zebra", n, seed, **options)


@task
def gsm8k(n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """GSM8K (dataset-backed: `overthink data fetch gsm8k` first)."""
    return overthink_task("gsm8k", n, seed, **options)


@task(name="task")
def any_task(name: str, n: int | None = None, seed: int = 0, **options: Any) -> InspectTask:
    """Any overthink task by name: `-T name=memotrap` (imported, plugin or prefix tasks such as `prize/...`)."""
    return overthink_task(name, n, seed, **options)
