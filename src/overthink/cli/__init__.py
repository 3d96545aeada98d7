"""The `overthink` command line. Thin: parse arguments, call the library, print.

Each command group beyond the core commands lives in its own module here (`cli/tasks.py`, ...); helpers they
share (the error-handling group, --task-args, progress bars) are in `cli/common.py`.
A UserError anywhere prints one line to stderr and exits with code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UserError
from . import data as data_cli
from . import import_results, tasks_import
from . import tasks as tasks_cli
from .check import check as check_command
from .check import positive_control
from .common import ErrorGroup, parse_task_args
from .common import prepare_local as _prepare_local
from .common import split_values as _split
from .estimate import estimate
from .report import report
from .review import review

app = typer.Typer(cls=ErrorGroup, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
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


def execute(overrides: dict[str, Any], config_file: Path | None, *, quiet: bool = False,
            resume: bool = False) -> Path:
    """Begin the run (stored config of an existing run dir < file < flags), run it, return the run dir."""
    from ..sweep import start

    # bad config or model options, an unknown task, a missing key or an impossible budget stop here,
    # before the run dir exists
    sweep = start.begin(overrides, config_file, resume=resume, prepare_local=_prepare_local)
    checked = positive_control(sweep.cfg) if sweep.cfg.check else None  # exits 1 before the run dir exists
    run_dir = sweep.run_dir
    typer.echo(f"run dir: {run_dir}", err=True)
    try:
        stats = sweep.execute(progress=not quiet, meta={"check": checked.to_dict()} if checked else None)
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
    check: Annotated[bool | None, typer.Option("--check/--no-check", help="first run `overthink check` on every "
                                               "model; stop (exit 1) if a budget control is not honoured")] = None,
    independent: Annotated[bool | None, typer.Option("--independent", help="forced: a request pair per budget "
                                                     "instead of answering every budget from one trace")] = None,
    probe_cuts: Annotated[int | None, typer.Option(help="N extra evenly spaced cuts answered for the answer "
                                                   "trajectories only (not added to the curve)")] = None,
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
                     answer_margin=answer_margin, cautioned=cautioned, max_cost=max_cost, batch=batch, check=check,
                     independent=independent, probe_cuts=probe_cuts,
                     task_args=parse_task_args(task_args, tasks), run_dir=run_dir)
    out = execute(overrides, config, quiet=quiet)
    _print_summary(out)


@app.command()
def resume(run_dir: Path, concurrency: Annotated[int | None, typer.Option()] = None,
           quiet: Annotated[bool, typer.Option(help="no progress bar")] = False) -> None:
    """Continue a run: finished samples are never recomputed; errors are retried."""
    execute({"run_dir": str(run_dir), "concurrency": concurrency}, None, quiet=quiet, resume=True)
    _print_summary(run_dir)


@app.command()
def summary(run_dir: Path) -> None:
    """Per task x model x budget: n, score with 95 % CI, reasoning tokens, errors / truncations / unparsed."""
    _print_summary(run_dir, plot=False)


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
    from ..store import Store, write_export, write_label_export

    writer = write_label_export if labels else write_export
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
    tasks_import.register(tasks_cli.app)
    app.add_typer(tasks_cli.app, name="tasks", help="List, show, export, import and distract tasks.")
    app.add_typer(data_cli.app, name="data", help="Fetch and list the real datasets.")
    app.command("review")(review)
    app.command("estimate")(estimate)
    app.command("report")(report)
    app.command("import")(import_results.import_results)
    app.command("check")(check_command)


_register_groups()


def main() -> None:
    app()
