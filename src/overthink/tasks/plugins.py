"""Tasks from a plain Python file: `--task path/to/file.py:ClassName` (installed plugins use the entry point
group `overthink.tasks`, handled in tasks/__init__.py). The file is imported as a module, so it runs with the
user's permissions - the same trust as `python file.py`."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import UserError
from .base import Task
from .sampling import check_options

_SPEC = re.compile(r"^(?P<file>.+\.py):(?P<attr>[A-Za-z_]\w*)$")


def resolve_file(name: str, **options: Any) -> Task | None:
    """RESOLVER for FILE.py:ATTR, where ATTR is a Task subclass or a factory(name=..., **options) -> Task."""
    m = _SPEC.match(name)
    if not m:
        return None
    path = Path(m.group("file")).expanduser()
    if not path.is_file():
        raise UserError(f"task {name!r}: no such file {path}")
    module_name = "overthink_user_task_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UserError(f"task {name!r}: cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's code: report it as their error, with its type
            del sys.modules[module_name]
            raise UserError(f"task {name!r}: importing {path} failed: {type(exc).__name__}: {exc}") from exc
    obj = getattr(module, m.group("attr"), None)
    if obj is None:
        raise UserError(f"task {name!r}: {path} has no attribute {m.group('attr')!r}")
    task = make_plugin_task(obj, name, options)
    if not isinstance(task, Task):
        raise UserError(f"task {name!r}: {m.group('attr')} did not produce an overthink Task "
                        "(subclass overthink.tasks.Task)")
    return task


def declared_options(obj: Any) -> tuple[str, ...]:
    """The option names a plugin (a Task subclass or a factory) takes: its `known_options` attribute, else the
    keyword parameters of its constructor or factory other than `name` (`**options` alone declares none)."""
    known = getattr(obj, "known_options", None)
    if known is not None:
        return tuple(known)
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):  # a callable without a readable signature: it declares nothing
        return ()
    return tuple(p.name for p in params if p.name != "name"
                 and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY))


def make_plugin_task(obj: Any, name: str, options: dict[str, Any]) -> Task:
    """Call a plugin after refusing options it does not declare (the same message as a built-in task's). The
    plugin is the user's code: a class that is not a Task, a constructor that raises, or an `items()` that raises
    is one line naming the plugin (UserError), never a traceback."""
    what = getattr(obj, "__name__", type(obj).__name__)
    if inspect.isclass(obj) and not issubclass(obj, Task) or not callable(obj):
        raise UserError(f"task {name!r}: {what} is not an overthink Task (subclass overthink.tasks.Task, or give "
                        "a factory function that returns one)")
    check_options(options, declared_options(obj), name)
    try:
        task = obj(name=name, **options)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"task {name!r}: creating {what} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(task, Task):
        raise UserError(f"task {name!r}: {what} did not produce an overthink Task (subclass overthink.tasks.Task)")
    _guard_items(task, name)
    return task


def _guard_items(task: Task, name: str) -> None:
    """Make a failure inside the plugin's `items()` a UserError naming the plugin (it runs at the start of a run,
    in `tasks show`, ...)."""
    items = task.items

    @functools.wraps(items)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return items(*args, **kwargs)
        except UserError:
            raise
        except Exception as exc:
            raise UserError(f"task {name!r}: its items() failed: {type(exc).__name__}: {exc}") from exc

    task.items = guarded  # type: ignore[method-assign]
