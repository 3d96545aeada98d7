"""The `overthink` command line. Thin: parse arguments, call the library, print.

Each command group beyond the core commands lives in its own module here (`cli/tasks.py`, ...); helpers they
share (the error-handling group, --task-args, progress bars) are in `cli/common.py`.
A UserError anywhere prints one line to stderr and exits with code 2.
"""

from __future__ import annotations

import gc
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
from .compare import compare
from .estimate import estimate
from .merge import merge
from .power import power
from .report import report
from .review import review

app = typer.Typer(cls=ErrorGroup, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  help="Find where more thinking makes a reasoning model worse.")

GRACE_HELP = ("on Ctrl-C / SIGTERM: seconds the requests in flight get to be answered and stored before the run "
              "exits; a second signal exits at once (default: 30, or 0 when every model is local:)")

QUICKSTART = {
    "models": ["local:qwen2.5-coder-0.5b"],
    "tasks": ["misleading-math", "word-problems"],
    "budgets": [0, 64, 128, 256],
    "mechanism": "forced",
    "limit": 20,
    "seed": 0,
    "concurrency": 1,
}


# Exit codes of run / resume / quickstart (README "Exit codes").
EXIT_OK, EXIT_ERRORS, EXIT_STOPPED, EXIT_SIGNAL = 0, 3, 4, 128


def execute(overrides: dict[str, Any], config_file: Path | None, *, quiet: bool = False,
            resume: bool = False) -> tuple[Path, int]:
    """Begin the run (stored config of an existing run dir < file < flags), run it; the run dir and exit code."""
    from ..store import DB_NAME
    from ..store.lock import RunLock, describe
    from ..sweep import start

    lock = None
    given = overrides.get("run_dir")
    if given and (Path(given) / DB_NAME).exists():  # an existing run: refuse a second writer before anything
        lock = RunLock(given).acquire()
        if lock.took_over:
            typer.echo(f"took over the lock of a writer that is gone ({describe(lock.took_over)})", err=True)
    try:
        # bad config or model options, an unknown task, a missing key or an impossible budget stop here,
        # before the run dir exists
        sweep = start.begin(overrides, config_file, resume=resume, prepare_local=_prepare_local)
        checked = positive_control(sweep.cfg) if sweep.cfg.check else None  # exits 1 before the run dir exists
        run_dir = sweep.run_dir
        typer.echo(f"run dir: {run_dir}", err=True)
        for note in filter(None, (getattr(m, "start_note", "") for m in sweep.models.values())):
            typer.echo(note, err=True)  # e.g. the local model's threads and why
        try:
            stats = sweep.execute(progress=not quiet, meta={"check": checked.to_dict()} if checked else None,
                                  lock=lock)
        except KeyboardInterrupt:  # before the sweep's own handlers were installed
            typer.echo(f"interrupted: finished samples are saved; continue with `overthink resume {run_dir}`",
                       err=True)
            raise typer.Exit(130) from None
    finally:
        if lock is not None:
            lock.release()
    flags = ", ".join(f"{k} {v}" for k, v in sorted(stats.statuses.items()))
    typer.echo(f"ran {stats.completed} of {stats.planned} pending samples in {stats.wall_s:.1f}s "
               f"({flags or 'nothing to do'})" + (" - stopped at --max-cost" if stats.stopped_for_cost else ""),
               err=True)
    return Path(run_dir), _outcome(stats, run_dir)


def _outcome(stats: Any, run_dir: str) -> int:
    """Say how the run ended (a signal, a stopping failure, error samples) and return its exit code."""
    import signal

    if stats.signal is not None:
        name = signal.Signals(stats.signal).name
        lost = f"; {stats.abandoned} still unanswered after the grace period were not stored" if stats.abandoned else ""
        typer.echo(f"{name}: stopped; {stats.completed} samples stored this session, {stats.stored_after_signal} "
                   f"of them answered after the signal by the {stats.at_signal} request(s) in flight{lost}. "
                   f"Continue with `overthink resume {run_dir}`", err=True)
        return EXIT_SIGNAL + stats.signal
    if stats.timed_out:
        typer.echo(f"{stats.timed_out} sample(s) timed out (no answer within the model's timeout_s); stored as "
                   f"errors, `overthink resume {run_dir}` retries them", err=True)
    if stats.halted is not None:
        typer.echo(stats.halted, err=True)
        return EXIT_STOPPED
    errors = stats.statuses.get("error", 0)
    if errors:
        typer.echo(f"{errors} sample(s) ended with an error (stored with the error text); "
                   f"`overthink resume {run_dir}` retries them", err=True)
        return EXIT_ERRORS
    return EXIT_OK


@app.command()
def run(
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="PROVIDER:MODEL[@BASE_URL]; repeatable "
                                                                          "(required, here or in --config)")] = None,
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="task name(s); repeatable or "
                                                                        "comma-separated (required, here or in "
                                                                        "--config)")] = None,
    budgets: Annotated[str | None, typer.Option(help="comma-separated budgets, e.g. 0,64,256 or low,high (default: "
                                                     "0,64,256)")] = None,
    mechanism: Annotated[str | None, typer.Option(help="auto | forced | prompted | native (default: auto: forced "
                                                  "for local:, the API's own control for hosted APIs, an "
                                                  "openai-compatible server's budget field else forcing)")] = None,
    replicates: Annotated[int | None, typer.Option(help="samples per item and budget (default: 1)")] = None,
    natural: Annotated[int | None, typer.Option(help="natural overthinking: K samples per item, no budget "
                                                     "(default: off)")] = None,
    natural_cap: Annotated[int | None, typer.Option("--natural-cap", help="natural samples think at most N tokens "
                                                    "(default: 2048 for local: models, 16384 for the others)")] = None,
    limit: Annotated[int | None, typer.Option(help="items per task (default: the task's default size)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of item selection and sampling (default: 0)")] = None,
    concurrency: Annotated[int | None, typer.Option(help="requests in flight at once (default: 1)")] = None,
    temperature: Annotated[float | None, typer.Option(help="sampling temperature (default: greedy for local "
                                                      "budget sweeps, 0.6 for --natural, the provider's own "
                                                      "otherwise)")] = None,
    answer_margin: Annotated[int | None, typer.Option(help="output tokens left for the answer after thinking "
                                                           "(default: per provider)")] = None,
    cautioned: Annotated[bool | None, typer.Option("--cautioned/--no-cautioned",
                                                   help="the paper's cautioned prompt (default: no-cautioned)")] = None,
    max_cost: Annotated[float | None, typer.Option(help="stop before spending more than this (USD) (default: no "
                                                        "limit)")] = None,
    batch: Annotated[bool | None, typer.Option("--batch/--no-batch", help="use the provider's batch API (default: "
                                                                          "no-batch)")] = None,
    server: Annotated[str | None, typer.Option(help="server profile of openai-compatible models: vllm | sglang | "
                                               "llamacpp | ollama | deepseek | xai | generic (default: "
                                               "detected)")] = None,
    check: Annotated[bool | None, typer.Option("--check/--no-check", help="first run `overthink check` on every "
                                               "model; stop (exit 1) if a budget control is not honoured "
                                               "(default: no-check)")] = None,
    independent: Annotated[bool | None, typer.Option("--independent", help="forced: a request pair per budget "
                                                     "instead of answering every budget from one trace (default: "
                                                     "shared trace)")] = None,
    probe_cuts: Annotated[int | None, typer.Option(help="N extra evenly spaced cuts answered for the answer "
                                                   "trajectories only (not added to the curve) (default: 0)")] = None,
    task_args: Annotated[list[str] | None, typer.Option(help="TASK.OPTION=VALUE, OPTION=VALUE or JSON; repeatable "
                                                             "(default: none)")] = None,
    data: Annotated[Path | None, typer.Option(help="data file for the task (e.g. the grades survey CSV) (default: "
                                                   "none)")] = None,
    run_dir: Annotated[str | None, typer.Option(help="where the run store lives; an existing one is continued "
                                                     "(default: a new dir under runs/)")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML experiment file; flags override it (default: none)")] = None,
    grace_s: Annotated[float | None, typer.Option("--grace-s", help=GRACE_HELP)] = None,
    until_decided: Annotated[bool | None, typer.Option("--until-decided", help="run items in rounds (seeded random "
                                                       "order) and stop each task x model when an anytime-valid "
                                                       "decision is reached; --limit is the ceiling (default: "
                                                       "off)")] = None,
    alpha: Annotated[float | None, typer.Option(help="--until-decided: error rate per task x model (default: "
                                                "0.05)")] = None,
    flat_margin: Annotated[float | None, typer.Option("--flat-margin", help="--until-decided: 'flat' when the "
                                                      "interval lies within +-this share (default: 0.02 = 2 "
                                                      "points)")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    shard: Annotated[str | None, typer.Option(help="I/N: run only the I-th of N slices of the items (0-based; "
                                              "`overthink merge` joins the shards' run dirs) (default: all)")] = None,
) -> None:
    """Sweep reasoning budgets (or sample natural lengths) and store every sample as it completes."""
    tasks = _split(task)
    if config is None and not (run_dir and Path(run_dir).is_dir()):  # nothing else could name them
        for given, flag in ((model, "--model PROVIDER:MODEL (e.g. --model local:qwen2.5-coder-0.5b)"),
                            (tasks, "--task NAME (see `overthink tasks list`)")):
            if not given:
                raise UserError(f"give {flag}, or a --config file that names it")
    if natural is not None and budgets is not None:
        raise UserError("--natural samples without a budget; give either --natural K or --budgets, not both")
    if data is not None:
        if not tasks or len(tasks) != 1:
            raise UserError("--data goes with exactly one --task; for several, use --task-args TASK.data=PATH")
        task_args = [*(task_args or []), f"{tasks[0]}.data={data}"]
    overrides = dict(models=_split(model), tasks=tasks, budgets=budgets, mechanism=mechanism, replicates=replicates,
                     natural=natural, natural_cap=natural_cap, limit=limit, seed=seed, concurrency=concurrency,
                     temperature=temperature, answer_margin=answer_margin, cautioned=cautioned, max_cost=max_cost,
                     batch=batch, check=check, server=server, independent=independent, probe_cuts=probe_cuts,
                     task_args=parse_task_args(task_args, tasks), run_dir=run_dir, grace_s=grace_s, shard=shard,
                     until_decided=until_decided, alpha=alpha, flat_margin=flat_margin)
    out, code = execute(overrides, config, quiet=quiet)
    _print_summary(out, plot=code < EXIT_SIGNAL)  # stopped by a signal: no figures, exit promptly
    if code:
        raise typer.Exit(code)


@app.command()
def resume(run_dir: Annotated[Path, typer.Argument(help="the run directory to continue")],
           concurrency: Annotated[int | None, typer.Option(help="requests in flight at once (default: the "
                                                                "run's)")] = None,
           grace_s: Annotated[float | None, typer.Option("--grace-s", help=GRACE_HELP)] = None,
           quiet: Annotated[bool, typer.Option(help="no progress bar")] = False) -> None:
    """Continue a run: finished samples are never recomputed; errors are retried."""
    _, code = execute({"run_dir": str(run_dir), "concurrency": concurrency, "grace_s": grace_s}, None,
                      quiet=quiet, resume=True)
    _print_summary(run_dir, plot=code < EXIT_SIGNAL)
    if code:
        raise typer.Exit(code)


@app.command()
def summary(
    run_dir: Path,
    as_json: Annotated[bool, typer.Option("--json", help="the score table and verdicts as JSON on stdout")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="the score table with each curve's verdict as CSV")] = False,
    fail_on: Annotated[str | None, typer.Option(help="inverse: exit 1 when any curve is called inverse")] = None,
    tolerance: Annotated[float, typer.Option(help="recommended budget: the cheapest whose accuracy is not worse "
                                                  "than the best budget's by more than this many points "
                                                  "(default: 2)")] = 2.0,
) -> None:
    """Per task x model x budget: n (scored / total), score with 95 % CI, reasoning tokens, errors / truncations /
    unparsed, and each curve's verdict. Exit code 1 with --fail-on inverse when a curve is called inverse."""
    from ..report.terminal import run_summary_command

    raise typer.Exit(run_summary_command(run_dir, as_json=as_json, as_csv=as_csv, fail_on=fail_on,
                                         tolerance=tolerance))


def _print_summary(run_dir: Path, plot: bool = True) -> None:
    from ..report.terminal import print_summary
    from ..sweep.signals import exit_at_once

    with exit_at_once():  # everything is stored: Ctrl-C / SIGTERM during the summary exit at once
        print_summary(run_dir, plot=plot)


def _export_inspect(run_dir: Path, out: Path | None) -> None:
    if out is None:
        raise UserError("--format inspect writes a folder of inspect_ai logs: give --out DIR")
    try:
        from ..ecosystem.inspect_export import export_inspect
    except ImportError:
        raise UserError("--format inspect needs inspect_ai: pip install 'overthink[inspect]'") from None
    paths = export_inspect(run_dir, out)
    typer.echo(f"wrote {len(paths)} inspect_ai log(s) to {out}; view them with `inspect view --log-dir {out}`",
               err=True)


@app.command()
def export(
    run_dir: Path,
    format: Annotated[str, typer.Option("--format", "-f", help="jsonl | csv | parquet | sqlite (the whole store "
                                        "as one self-contained file; needs --out) | inspect (inspect_ai eval "
                                        "logs, one per cell, into the folder --out)")] = "jsonl",
    out: Annotated[Path | None, typer.Option(help="output file (default: stdout)")] = None,
    labels: Annotated[bool, typer.Option("--labels", help="export the review labels instead of the samples")] = False,
) -> None:
    """One record per sample, in the export schema (with --labels: one per reviewed sample and reviewer)."""
    from ..store import Store, write_export, write_label_export

    writer = write_label_export if labels else write_export
    if format == "inspect" and not labels:
        _export_inspect(run_dir, out)
        return
    if labels and format in ("parquet", "sqlite", "inspect"):
        raise UserError(f"--labels exports as jsonl or csv, not {format} (--format sqlite holds the labels too)")
    if format == "parquet" and out is None and sys.stdout.isatty():
        raise UserError("parquet is binary: give --out FILE (or pipe stdout to a file)")
    with Store(run_dir, create=False, readonly=True) as store:
        if format == "sqlite":
            n = write_export(store, format, out)
            typer.echo(f"wrote {n} samples (and the run's items, labels and metadata) to {out}", err=True)
            return
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
    budgets: Annotated[str | None, typer.Option(help="comma-separated budgets (default: 0,64,128,256)")] = None,
    model: Annotated[str | None, typer.Option(help="PROVIDER:MODEL (default: local:qwen2.5-coder-0.5b)")] = None,
) -> None:
    """A small budget sweep on the embedded model: misleading math (inverse?) next to word problems (positive)."""
    spec = model or QUICKSTART["models"][0]
    overrides = {**QUICKSTART, "models": [spec], "run_dir": run_dir, "limit": limit or QUICKSTART["limit"],
                 "budgets": budgets or QUICKSTART["budgets"]}
    out, code = execute(overrides, None)
    _print_summary(out, plot=code < EXIT_SIGNAL)
    if code >= EXIT_SIGNAL:  # stopped by a signal: no report, exit promptly
        raise typer.Exit(code)
    from ..report.html import build_report

    typer.echo(f"report: {build_report([out], Path(out) / 'report.html')}")
    if code:
        raise typer.Exit(code)


@app.command()
def models() -> None:
    """Model specs overthink knows, and whether each is installed."""
    from ..report.terminal import print_models

    print_models()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"overthink {version('overthink')}")
        except PackageNotFoundError:  # a source tree on PYTHONPATH without an install
            typer.echo("overthink (not installed)")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version and exit")] = False) -> None:
    """Find where more thinking makes a reasoning model worse."""


def _register_groups() -> None:
    tasks_import.register(tasks_cli.app)
    app.add_typer(tasks_cli.app, name="tasks", help="List, show, export, import and distract tasks.")
    app.add_typer(data_cli.app, name="data", help="Fetch and list the real datasets.")
    app.command("review")(review)
    app.command("estimate")(estimate)
    app.command("report")(report)
    app.command("import")(import_results.import_results)
    app.command("check")(check_command)
    app.command("power")(power)
    app.command("merge")(merge)
    app.command("compare")(compare)


_register_groups()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # while typer builds the commands, before ErrorGroup.invoke's handler: nothing ran
        typer.echo("interrupted while starting; nothing was run", err=True)
        raise SystemExit(130) from None
    finally:
        # Interpreter shutdown runs a full garbage collection over every imported module's objects: ~0.5 s after
        # importing the openai SDK, on every command. Frozen objects are skipped; nothing is left to collect here
        # (the store and the lock are closed by their context managers before app() returns).
        gc.freeze()
