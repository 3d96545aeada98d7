"""`overthink tasks list | show | export`: browse the task suite and write it in the paper's public schema.

(`overthink tasks import` and `distract` live in cli/tasks_import.py and are registered on this same app.)
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import DataError, UserError
from ..report.console import wide_console
from ..tasks import BUILTIN, Task, get_task, task_names
from ..tasks.files import write_items
from .common import parse_task_args, task_options

app = typer.Typer(no_args_is_help=True, help="List, preview and export tasks.")

TaskArgs = Annotated[list[str] | None, typer.Option(
    "--task-args", help="Task option OPTION=VALUE or TASK.OPTION=VALUE (repeatable), or a JSON object of options.")]
Data = Annotated[Path | None, typer.Option("--data", help="Data file for tasks that load one (grades-regression).")]


def _task(name: str, args: list[str] | None, data: Path | None) -> Task:
    return get_task(name, **task_options(name, args, data))


@app.command("list")
def list_tasks(as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False) -> None:
    """Built-in and plugin tasks: name, family, items at default size (and in the paper), metric, status."""
    from ..sweep.estimate import dataset_of, registry_guess  # lazy: the registry needs pydantic and httpx

    rows = []
    for name in task_names():
        try:
            task = get_task(name)
        except DataError:  # a dataset task before `data fetch`: one short cell, not the whole error
            found = dataset_of(name)
            if found is None:
                raise
            guess = registry_guess(name, None)  # the registry knows the item count before the download
            rows.append({"name": name, "family": _family(name), "default_size": guess.items if guess else None,
                         "paper_size": None, "metric": _metric_of(name),
                         "status": f"not downloaded: overthink data fetch {found[0]}"})
            continue
        except UserError as exc:  # a plugin that needs options: show it, say why
            rows.append({"name": name, "family": "?", "default_size": None, "paper_size": None, "metric": None,
                         "status": f"needs options: {exc}"})
            continue
        rows.append({"name": name, "family": task.family, "default_size": task.default_size,
                     "paper_size": getattr(task, "paper_size", None), "metric": task.metric_label,
                     "status": "ready"})
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    table = Table("name", "family", "items (default)", "items (paper)", "metric", "status")
    for row in rows:
        table.add_row(row["name"], row["family"], str(row["default_size"] or "-"), str(row["paper_size"] or "-"),
                      row["metric"] or "-", row["status"])
    wide_console().print(table)


def _class_attr(name: str, attr: str) -> str | None:
    """A built-in task's class attribute, without instantiating it (its data may be missing)."""
    if name not in BUILTIN:
        return None
    module, _, cls = BUILTIN[name].partition(":")
    value = getattr(getattr(importlib.import_module(module), cls), attr, None)
    return value if isinstance(value, str) else None


def _metric_of(name: str) -> str | None:
    """A dataset task's metric before its data is there (the class's Metric; labels as the loaded task says)."""
    metric = _class_attr(name, "metric")
    return {"accuracy": "accuracy", "rmse": "RMSE", "matching_behavior": "% answers matching the behaviour"}.get(
        str(metric), metric)


def _family(name: str) -> str:
    """A built-in task's family from its class, without instantiating it (its data may be missing)."""
    return _class_attr(name, "family") or "?"


@app.command("show")
def show(name: str, n: Annotated[int, typer.Option("--n", min=1, help="How many items.")] = 3,
         seed: Annotated[int, typer.Option("--seed", help="Seed of the item "
                                                          "selection.")] = 0,
         task_args: TaskArgs = None, data: Data = None,
         rendered: Annotated[bool, typer.Option("--rendered/--raw", help="Show the full user message.")] = True,
         ) -> None:
    """Sample prompts with their expected answers."""
    task = _task(name, task_args, data)
    for item in task.items(n, seed):
        typer.echo(f"=== {item.id}  expected: {item.expected}")
        typer.echo(task.render(item) if rendered else item.prompt)
        spans = item.metadata.get("distractor_spans")
        if spans:
            typer.echo(f"--- {len(spans)} distractor(s)")
        typer.echo("")


@app.command("export")
def export(name: Annotated[str, typer.Argument(help="Task name; with --format hf also several, comma-separated.")],
           out: Annotated[Path, typer.Option("--out", help="Output: a .jsonl file, or a folder with --format hf.")],
           n: Annotated[int | None, typer.Option("--n", min=1, help="Items (default: the task's size).")] = None,
           seed: Annotated[int, typer.Option("--seed", help="Seed of the item "
                                                            "selection.")] = 0,
           task_args: TaskArgs = None, data: Data = None,
           format: Annotated[str, typer.Option("--format", help="jsonl (the paper's public schema) | hf (a Hugging "
                                                                "Face dataset folder: parquet per task + card)")]
           = "jsonl") -> None:
    """Write a task's items as JSONL in the paper's public schema, or as a Hugging Face dataset folder."""
    if format == "hf":
        _export_hf(name, out, n, seed, task_args, data)
        return
    if format != "jsonl":
        raise UserError(f"--format {format!r}: tasks export writes jsonl or hf")
    if out.suffix.lower() != ".jsonl":  # the format follows the name: never JSONL inside a .csv
        raise UserError(f"--out {out}: tasks export writes JSONL (the paper's public schema); name the file "
                        f"{out.with_suffix('.jsonl').name}")
    task = _task(name, task_args, data)
    count = write_items(task.items(n, seed), out)
    typer.echo(f"wrote {count} items of {name} to {out}")


def _export_hf(names: str, out: Path, n: int | None, seed: int, task_args: list[str] | None,
               data: Path | None) -> None:
    try:
        from ..ecosystem.hf_dataset import write_hf_dataset
    except ImportError:  # pyarrow
        raise UserError("--format hf writes parquet: pip install 'overthink[parquet]'") from None
    if out.suffix.lower() in (".jsonl", ".parquet", ".json"):
        raise UserError(f"--out {out}: --format hf writes a dataset folder; give a folder name")
    chosen = [x.strip() for x in names.split(",") if x.strip()]
    parsed = parse_task_args(task_args, chosen) or {}
    tasks = []
    for name in chosen:
        options = dict(parsed.get(name, {}))
        if data is not None and len(chosen) == 1:
            options["data"] = str(data)
        tasks.append((get_task(name, **options), options))
    entries = write_hf_dataset(tasks, out, n=n, seed=seed)
    total = sum(e["items"] for e in entries)
    typer.echo(f"wrote {total} items of {len(entries)} task(s) to {out} (parquet per task under data/, card "
               f"README.md); load with datasets.load_dataset(\"parquet\", data_dir=\"{out}/data\")")
