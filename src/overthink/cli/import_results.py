"""`overthink import SOURCE... --run-dir DIR`: results from inspect_ai, the paper's code or any table (thin; see
overthink/importers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def import_results(
    sources: Annotated[list[Path], typer.Argument(
        help="files or directories: inspect_ai logs (.eval/.json), the paper's raw/MODEL/TASK.jsonl rows, or tables "
             "(.csv/.jsonl/.parquet)")],
    run_dir: Annotated[Path, typer.Option(help="the run store to create or extend")],
    format: Annotated[str | None, typer.Option("--format", "-f", help="inspect | paper | table "
                                               "(default: detected per file)")] = None,
    columns: Annotated[list[str] | None, typer.Option(help="table: FIELD=COLUMN,... or a YAML file of "
                                                      "field: column; repeatable")] = None,
    model: Annotated[str | None, typer.Option(help="the model name (overrides the files')")] = None,
    task: Annotated[str | None, typer.Option(help="the task name (overrides the files')")] = None,
    metric: Annotated[str | None, typer.Option(help="accuracy | rmse | matching_behavior (default: from the "
                                               "files, else accuracy)")] = None,
    mechanism: Annotated[str | None, typer.Option(help="how the budget was applied: native (default) | "
                                                  "prompted | forced")] = None,
    scorer: Annotated[str | None, typer.Option(help="inspect: the scorer to use when a log has several")] = None,
    unbudgeted: Annotated[str | None, typer.Option(help="inspect: budget of logs with neither reasoning_tokens "
                                                   "nor reasoning_effort: 0 | natural")] = None,
    budget_field: Annotated[str | None, typer.Option(help="inspect: reasoning_tokens | reasoning_effort, when a "
                                                     "log sets both")] = None,
) -> None:
    """Import results of sweeps run elsewhere; every row is validated and nothing is written unless all are good."""
    from ..importers.common import Options
    from ..importers.sources import import_sources
    from ..importers.table import parse_columns

    opts = Options(model=model, task=task, metric=metric, mechanism=mechanism, scorer=scorer, unbudgeted=unbudgeted,
                   budget_field=budget_field, columns=parse_columns(columns))
    res = import_sources(sources, run_dir, format, opts)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(res.formats.items()))
    typer.echo(f"imported {res.samples} samples from {res.files} file(s) ({kinds}) into {run_dir}: "
               f"{res.stats.new} new, {res.stats.unchanged} already there")
    typer.echo(f"tasks: {', '.join(res.tasks)}; models: {', '.join(res.models)}; budgets: {', '.join(res.budgets)}")
    typer.echo(f"next: overthink summary {run_dir}   overthink report {run_dir}   overthink review {run_dir}")
