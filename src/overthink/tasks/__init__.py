"""Task registry: built-in families, name prefixes (`ai-risk/<subset>`), imported tasks and plugins.

Built-ins are listed as "module:Class" and imported lazily. Plugins register through the entry point group
`overthink.tasks` (name -> a Task subclass or a factory taking (name, **options)); a plugin declares the options
it takes (`known_options`, or its keyword parameters) and any other option is refused.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any

from ..errors import UserError
from ..paths import home
from .base import Graded, Metric, Scoring, Task, extract_answer
from .plugins import make_plugin_task

BUILTIN: dict[str, str] = {
    "misleading-math": "overthink.tasks.misleading_math:MisleadingMath",
    "misleading-python": "overthink.tasks.misleading_python:MisleadingPython",
    "famous-paradoxes": "overthink.tasks.paradoxes:FamousParadoxes",
    "grades-regression": "overthink.tasks.grades:GradesRegression",
    "zebra": "overthink.tasks.zebra:Zebra",
    "word-problems": "overthink.tasks.word_problems:WordProblems",
    "ai-risk": "overthink.tasks.ai_risk:AiRisk",
    "bbeh-zebra": "overthink.tasks.bbeh_zebra:BbehZebra",
    "gsm8k": "overthink.tasks.gsm8k:Gsm8k",
}

# Prefix families: "prefix/<rest>" -> "module:factory", factory(name, rest, **options) -> Task
PREFIXES: dict[str, str] = {
    "ai-risk": "overthink.tasks.ai_risk:subset_task",
    "prize": "overthink.tasks.imported:prize_task",
}

# Extra resolvers (imported tasks on disk, ...) consulted after built-ins; each returns a Task or None.
RESOLVERS: list[Callable[..., Task | None]] = []


def _resolve_lazily(target: str) -> Callable[..., Task | None]:
    return lambda name, **options: _load(target)(name, **options)


RESOLVERS.append(_resolve_lazily("overthink.tasks.imported:resolve_imported"))  # `tasks import` / `tasks distract`
RESOLVERS.append(_resolve_lazily("overthink.tasks.plugins:resolve_file"))  # --task path/to/file.py:Class


def _load(target: str) -> Any:
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def _plugins() -> dict[str, Any]:
    from importlib.metadata import entry_points  # here: importing it costs every start (even --help) ~25 ms

    return {ep.name: ep for ep in entry_points(group="overthink.tasks")}


def imported_names() -> list[str]:
    """Tasks made by `overthink tasks import` / `tasks distract` (stored in OVERTHINK_HOME/tasks)."""
    folder = home() / "tasks"
    return sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []


def task_names() -> list[str]:
    """Names a user can pass to --task: built-ins, installed plugins and imported tasks (prefix families such as
    `ai-risk/<subset>` are listed by their docs)."""
    return sorted(set(BUILTIN) | set(_plugins()) | set(imported_names()))


def get_task(name: str, **options: Any) -> Task:
    """Instantiate a task by name. Unknown names raise UserError listing what exists."""
    if name in BUILTIN:
        return _load(BUILTIN[name])(name=name, **options)
    if "/" in name:
        prefix, rest = name.split("/", 1)
        if prefix in PREFIXES:
            return _load(PREFIXES[prefix])(name, rest, **options)
    for resolve in RESOLVERS:
        task = resolve(name, **options)
        if task is not None:
            return task
    plugins = _plugins()
    if name in plugins:
        return make_plugin_task(plugins[name].load(), name, options)
    known = task_names()
    close = difflib.get_close_matches(name, known + sorted(f"{p}/" for p in PREFIXES), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UserError(f"unknown task {name!r}{hint}; known tasks: {', '.join(known)}")


__all__ = ["Graded", "Metric", "Scoring", "Task", "extract_answer", "get_task", "task_names", "BUILTIN"]
