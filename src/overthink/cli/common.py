"""Helpers every command module shares: the error-handling group, list flags, --task-args, run dirs, progress bars."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperGroup, TyperOption

from ..errors import UserError, install_hint

ByteProgress = Callable[[str, int, int | None], None]
"""progress(label, bytes done, bytes total or None): what datasets.fetch and packs.ensure_model report."""


# The optional SDKs (imported lazily where they are used) and the pyproject extra that installs each.
EXTRAS = {"anthropic": "api", "openai": "api", "google": "api", "boto3": "api", "botocore": "api",
          "pyarrow": "parquet", "inspect_ai": "inspect", "starlette": "review", "uvicorn": "review",
          "xllamacpp": "local"}


def missing_extra_message(exc: ModuleNotFoundError) -> str | None:
    """The one line for an optional SDK that is not installed (None: not an optional SDK, a real bug)."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return None
    return f"this needs the package {exc.name!r}, which is not installed: {install_hint(extra)}"


def parse_value(raw: str) -> Any:
    """A KEY=VALUE flag's value as YAML reads it (30 -> int, true -> bool, "" -> ""); text YAML cannot read (a
    Jinja chat template: `{% for m in messages %}...`) is the text itself."""
    import yaml  # here: importing it at the top costs every start (even --help) ~20 ms

    try:
        return yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        return raw


def _untagged(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = ""
        elif isinstance(param, TyperArgument):  # its metavar is its shown name: drop only the type column
            param.display_type_rich = _no_type
    return params


def _no_type(ctx: Any = None) -> None:
    return None


def hide_type_tags(command: Any) -> None:
    """No `<bool>`, `<int>`, `<list[str]>` column in `--help` (typer >= 0.20 shows the annotation): each option's
    help says what it takes, and a tag beside `--cautioned / --no-cautioned` says nothing. An empty metavar hides
    the column; error messages name options by their flags, not by metavar. Wraps `get_params`, so the `--help`
    option click adds at help time is covered too."""
    if not getattr(command, "_untagged", False):
        original = command.get_params
        command.get_params = lambda ctx: _untagged(original(ctx))
        command._untagged = True
    for sub in getattr(command, "commands", {}).values():
        hide_type_tags(sub)


class ErrorGroup(TyperGroup):
    """Turns UserError (and a missing optional SDK) into one clear line and exit code 2, for every command."""

    def get_params(self, ctx):  # type: ignore[no-untyped-def]
        return _untagged(super().get_params(ctx))

    def get_command(self, ctx, cmd_name):  # type: ignore[no-untyped-def]
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            hide_type_tags(command)
        return command

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except ModuleNotFoundError as exc:
            message = missing_extra_message(exc)
            if message is None:
                raise
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:  # Ctrl-C outside a run's own handlers (loading, checking): one line
            typer.echo("interrupted; a run's finished samples are stored (`overthink resume RUN_DIR` continues)",
                       err=True)
            raise typer.Exit(130) from None
        except OSError as exc:  # a file or directory the user named (--out, a source) that cannot be used
            typer.echo(f"error: {os_error_line(exc)}", err=True)
            raise typer.Exit(2) from None


def os_error_line(exc: OSError) -> str:
    """`PATH: reason` for a file the command could not open, read or write."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}" + (" (its directory does not exist)" if isinstance(
        exc, FileNotFoundError) and exc.filename and not Path(str(exc.filename)).parent.exists() else "")


def split_values(values: list[str] | None) -> list[str] | None:
    """Repeatable, comma-separated flag values as one list (None when none were given)."""
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def parse_task_args(values: list[str] | None, tasks: list[str] | None) -> dict[str, dict[str, Any]] | None:
    """`--task-args` as JSON or TASK.OPT=VALUE / OPT=VALUE (VALUE typed as YAML). A JSON object maps task names to
    options ({"task": {"opt": value}}); with exactly one task it may also hold that task's options directly.
    OPT=VALUE and option-only JSON need exactly one task in `tasks`."""
    if not values:
        return None
    out: dict[str, dict[str, Any]] = {}
    for value in values:
        if value.lstrip().startswith("{"):
            try:
                data = json.loads(value)
            except json.JSONDecodeError as exc:
                raise UserError(f"--task-args: not valid JSON ({exc.msg} at column {exc.colno})") from None
            except RecursionError:
                raise UserError("--task-args: JSON nested too deeply") from None
            if not isinstance(data, dict):
                raise UserError('--task-args JSON must be an object: {"task": {"option": value}}')
            if tasks and len(tasks) == 1 and not set(data) <= set(tasks):
                data = {tasks[0]: data}  # the options of the one task
            if not all(isinstance(v, dict) for v in data.values()):
                raise UserError('--task-args JSON must map task names to options: {"task": {"option": value}}')
            for task, opts in data.items():
                out.setdefault(task, {}).update(opts)
            continue
        if "=" not in value:
            raise UserError(f"--task-args {value!r}: write TASK.OPTION=VALUE, OPTION=VALUE or a JSON object")
        key, raw = value.split("=", 1)
        parsed = parse_value(raw)
        task, _, option = key.strip().rpartition(".")
        if not task:
            if not tasks or len(tasks) > 1:
                raise UserError(f"--task-args {value!r}: with {'several tasks' if tasks else 'no --task'}, "
                                f"name the task: TASK.{key}={raw}")
            task = tasks[0]
        out.setdefault(task, {})[option] = parsed
    return out


def task_options(name: str, values: list[str] | None, data: Path | None = None) -> dict[str, Any]:
    """Options for the one task NAME (`tasks show` / `tasks export`) from --task-args and --data."""
    parsed = parse_task_args(values, [name]) or {}
    other = sorted(set(parsed) - {name})
    if other:
        raise UserError(f"--task-args names task {other[0]!r}, but this command is for {name!r}")
    out = dict(parsed.get(name, {}))
    if data is not None:
        out["data"] = str(data)
    return out


@contextmanager
def byte_progress(indent: str = "") -> Iterator[ByteProgress]:
    """A transient download-style bar on stderr, one line per label; yields the progress callback."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn  # only downloads

    with Progress(TextColumn(indent + "{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        ids: dict[str, Any] = {}

        def update(label: str, done: int, total: int | None) -> None:
            if label not in ids:
                ids[label] = bar.add_task(label, total=total)
            bar.update(ids[label], completed=done, total=total)

        yield update


def prepare_local(name: str) -> None:
    """Join and verify the embedded model's file once, with a progress bar (no silent minutes)."""
    from ..local.packs import ensure_model  # lazy: only `local:` runs need it, not every CLI start

    with byte_progress("  ") as update:
        path = ensure_model(name, progress=update)
    typer.echo(f"embedded model {name}: {path} (sha256 verified)", err=True)
