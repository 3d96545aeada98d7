"""The `overthink` command line. Thin: parse arguments, call the library, print.

Each command group beyond the core commands lives in its own module here (`cli/tasks.py`, ...).
A UserError anywhere prints one line to stderr and exits with code 2.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from typer.core import TyperGroup

from ..errors import UserError


class _Group(TyperGroup):
    """Turns UserError into one clear line and exit code 2, for every command and sub-group."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(cls=_Group, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  help="Find where more thinking makes a reasoning model worse.")

QUICKSTART = {
    "models": ["local:qwen2.5-coder-0.5b"],
    "tasks": ["misleading-math", "word-problems"],
    "budgets": [0, 64, 128, 256],
    "mechanism": "forced",
    "limit": 20,
    "seed": 0,
    "concurrency": 1,
}


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def parse_task_args(values: list[str] | None, tasks: list[str] | None) -> dict[str, dict[str, Any]] | None:
    """`--task-args` as JSON ({"task": {"opt": value}}) or TASK.OPT=VALUE / OPT=VALUE (all tasks)."""
    if not values:
        return None
    out: dict[str, dict[str, Any]] = {}
    for value in values:
        if value.lstrip().startswith("{"):
            try:
                data = json.loads(value)
            except json.JSONDecodeError as exc:
                raise UserError(f"--task-args: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
                raise UserError('--task-args JSON must map task names to options: {"task": {"option": value}}')
            for task, opts in data.items():
                out.setdefault(task, {}).update(opts)
            continue
        if "=" not in value:
            raise UserError(f"--task-args {value!r}: write TASK.OPTION=VALUE, OPTION=VALUE or a JSON object")
        key, raw = value.split("=", 1)
        parsed = yaml.safe_load(raw) if raw else ""
        task, _, option = key.rpartition(".")
        if not task:
            if not tasks or len(tasks) > 1:
                raise UserError(f"--task-args {value!r}: with {'several tasks' if tasks else 'no --task'}, "
                                f"name the task: TASK.{key}={raw}")
            task = tasks[0]
        out.setdefault(task, {})[option] = parsed
    return out


def _default_run_dir(models: list[str], tasks: list[str]) -> str:
    slug = "-".join([models[0].split(":", 1)[-1].split("@")[0].replace("/", "_"), tasks[0].replace("/", "_")])
    return str(Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}")


def _prepare_local(name: str) -> None:
    """Join and verify the embedded model's file once, with a progress bar (no silent minutes)."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from ..models.packs import ensure_model

    with Progress(TextColumn("  {task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        stages: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in stages:
                stages[stage] = bar.add_task(stage, total=total)
            bar.update(stages[stage], completed=done)

        path = ensure_model(name, progress=update)
    typer.echo(f"embedded model {name}: {path} (sha256 verified)", err=True)


def execute(overrides: dict[str, Any], config_file: Path | None, *, quiet: bool = False) -> Path:
    """Build the config (file < stored config of an existing run dir < flags), run it, return the run dir."""
    from ..config import build_config
    from ..runner import prepare_models, run_sync
    from ..store import Store

    run_dir = overrides.get("run_dir")
    stored: dict[str, Any] = {}
    if run_dir and (Path(run_dir) / "overthink.sqlite").exists():
        with Store(run_dir, create=False) as old:
            stored = old.get_meta("config") or {}
    if overrides.get("budgets") is not None and overrides.get("natural") is None:
        stored.pop("natural", None)  # explicit budgets on a natural run dir add a controlled sweep
    cfg = build_config(config_file, overrides, base=stored)
    from ..tasks import get_task

    for name in cfg.tasks:  # fail on an unknown task before anything is created on disk
        get_task(name, **cfg.task_args.get(name, {}))
    # bad model options, a missing key or an impossible budget stop here, before the run dir exists
    models = prepare_models(cfg)
    for spec in cfg.models:
        if spec.startswith("local:"):
            _prepare_local(spec.split(":", 1)[1])
    run_dir = cfg.run_dir or _default_run_dir(cfg.models, cfg.tasks)
    cfg = cfg.model_copy(update={"run_dir": run_dir})
    typer.echo(f"run dir: {run_dir}", err=True)
    with Store(run_dir) as store:
        try:
            stats = run_sync(cfg, store, models=models, progress=not quiet)
        except KeyboardInterrupt:
            typer.echo(f"interrupted: finished samples are saved; continue with `overthink resume {run_dir}`",
                       err=True)
            raise typer.Exit(130) from None
    flags = ", ".join(f"{k} {v}" for k, v in sorted(stats.statuses.items()))
    typer.echo(f"ran {stats.completed} of {stats.planned} pending samples in {stats.wall_s:.1f}s "
               f"({flags or 'nothing to do'})" + (" - stopped at --max-cost" if stats.stopped_for_cost else ""),
               err=True)
    return Path(run_dir)


@app.command()
def run(
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="PROVIDER:MODEL[@BASE_URL]; repeatable")] = None,
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="task name(s); repeatable or comma-separated")] = None,
    budgets: Annotated[str | None, typer.Option(help="comma-separated budgets, e.g. 0,64,256 or low,high")] = None,
    mechanism: Annotated[str | None, typer.Option(help="forced | prompted | native")] = None,
    replicates: Annotated[int | None, typer.Option(help="samples per item and budget")] = None,
    natural: Annotated[int | None, typer.Option(help="natural overthinking: K samples per item, no budget")] = None,
    limit: Annotated[int | None, typer.Option(help="items per task")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    concurrency: Annotated[int | None, typer.Option()] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    answer_margin: Annotated[int | None, typer.Option(help="output tokens left for the answer after thinking")] = None,
    cautioned: Annotated[bool | None, typer.Option("--cautioned/--no-cautioned", help="the paper's cautioned prompt")] = None,
    max_cost: Annotated[float | None, typer.Option(help="stop before spending more than this (USD)")] = None,
    batch: Annotated[bool | None, typer.Option("--batch/--no-batch", help="use the provider's batch API")] = None,
    task_args: Annotated[list[str] | None, typer.Option(help="TASK.OPTION=VALUE, OPTION=VALUE or JSON; repeatable")] = None,
    data: Annotated[Path | None, typer.Option(help="data file for the task (e.g. the grades survey CSV)")] = None,
    run_dir: Annotated[str | None, typer.Option(help="where the run store lives; an existing one is continued")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML experiment file; flags override it")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Sweep reasoning budgets (or sample natural lengths) and store every sample as it completes."""
    tasks = _split(task)
    if natural is not None and budgets is not None:
        raise UserError("--natural samples without a budget; give either --natural K or --budgets, not both")
    if data is not None:
        if not tasks or len(tasks) != 1:
            raise UserError("--data goes with exactly one --task; for several, use --task-args TASK.data=PATH")
        task_args = [*(task_args or []), f"{tasks[0]}.data={data}"]
    overrides = dict(models=_split(model), tasks=tasks, budgets=budgets, mechanism=mechanism, replicates=replicates,
                     natural=natural, limit=limit, seed=seed, concurrency=concurrency, temperature=temperature,
                     answer_margin=answer_margin, cautioned=cautioned, max_cost=max_cost, batch=batch,
                     task_args=parse_task_args(task_args, tasks), run_dir=run_dir)
    out = execute(overrides, config, quiet=quiet)
    _print_summary(out)


@app.command()
def resume(run_dir: Path, concurrency: Annotated[int | None, typer.Option()] = None,
           quiet: Annotated[bool, typer.Option(help="no progress bar")] = False) -> None:
    """Continue a run: finished samples are never recomputed; errors are retried."""
    from ..store import Store

    with Store(run_dir, create=False) as store:
        if store.get_meta("config") is None:
            raise UserError(f"{run_dir} has no stored config to resume")
    execute({"run_dir": str(run_dir), "concurrency": concurrency}, None, quiet=quiet)
    _print_summary(run_dir)


@app.command()
def summary(
    run_dir: Path,
    as_json: Annotated[bool, typer.Option("--json", help="the score table and verdicts as JSON on stdout")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="the score table with each curve's verdict as CSV")] = False,
    fail_on: Annotated[str | None, typer.Option(help="inverse: exit 1 when any curve is called inverse")] = None,
) -> None:
    """Per task x model x budget: n (scored / total), score with 95 % CI, reasoning tokens, errors / truncations /
    unparsed, and each curve's verdict. Exit code 1 with --fail-on inverse when a curve is called inverse."""
    from ..report.terminal import run_summary_command

    raise typer.Exit(run_summary_command(run_dir, as_json=as_json, as_csv=as_csv, fail_on=fail_on))


def _print_summary(run_dir: Path, plot: bool = True) -> None:
    from ..report.terminal import print_summary

    print_summary(run_dir, plot=plot)


@app.command()
def export(
    run_dir: Path,
    format: Annotated[str, typer.Option("--format", "-f", help="jsonl | csv | parquet")] = "jsonl",
    out: Annotated[Path | None, typer.Option(help="output file (default: stdout)")] = None,
    labels: Annotated[bool, typer.Option("--labels", help="export the review labels instead of the samples")] = False,
) -> None:
    """One record per sample, in the export schema (with --labels: one per reviewed sample and reviewer)."""
    from ..store import Store, write_export

    writer = write_export
    if labels:
        from ..review.labels import write_label_export as writer
    if labels and format == "parquet":
        raise UserError("--labels exports as jsonl or csv, not parquet")
    if format == "parquet" and out is None and sys.stdout.isatty():
        raise UserError("parquet is binary: give --out FILE (or pipe stdout to a file)")
    with Store(run_dir, create=False) as store:
        if format == "parquet":  # binary: a file (or a pipe via stdout's buffer)
            n = write_export(store, format, out if out is not None else sys.stdout.buffer)
            if out is not None:
                typer.echo(f"wrote {n} records to {out}", err=True)
            return
        if out is None:
            writer(store, format, sys.stdout)
            return
        with open(out, "w", newline="") as fh:
            n = writer(store, format, fh)
    typer.echo(f"wrote {n} {'labels' if labels else 'records'} to {out}", err=True)


@app.command()
def quickstart(
    run_dir: Annotated[str, typer.Option(help="where to store the run")] = "runs/quickstart",
    limit: Annotated[int | None, typer.Option(help="items per task")] = None,
    budgets: Annotated[str | None, typer.Option()] = None,
    model: Annotated[str | None, typer.Option()] = None,
) -> None:
    """A small budget sweep on the embedded model: misleading math (inverse?) next to word problems (positive)."""
    spec = model or QUICKSTART["models"][0]
    overrides = {**QUICKSTART, "models": [spec], "run_dir": run_dir, "limit": limit or QUICKSTART["limit"],
                 "budgets": budgets or QUICKSTART["budgets"]}
    out = execute(overrides, None)
    _print_summary(out)
    from ..report.html import build_report

    typer.echo(f"report: {build_report([out], Path(out) / 'report.html')}")


@app.command()
def models() -> None:
    """Model specs overthink knows, and whether each is installed."""
    from ..report.terminal import print_models

    print_models()


def _register_groups() -> None:
    from . import data as data_cli
    from . import tasks as tasks_cli
    from . import tasks_import
    from .estimate import estimate
    from .power import power
    from .report import report
    from .review import review

    tasks_import.register(tasks_cli.app)
    app.add_typer(tasks_cli.app, name="tasks", help="List, show, export, import and distract tasks.")
    app.add_typer(data_cli.app, name="data", help="Fetch and list the real datasets.")
    app.command("review")(review)
    app.command("estimate")(estimate)
    app.command("report")(report)
    app.command("power")(power)


_register_groups()


def main() -> None:
    app()
