"""`overthink tasks import` and `overthink tasks distract`, added to the `tasks` group by `register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UserError
from ..tasks.files import FIELDS

ALL_KINDS = "math,python,irrelevant-facts"


def parse_mapping(values: list[str] | None) -> dict[str, str]:
    """--map prompt=question --map answer=target (or comma-separated) -> {"prompt": "question", ...}."""
    out: dict[str, str] = {}
    for value in values or []:
        for pair in value.split(","):
            if not pair.strip():
                continue
            target, sep, source = pair.partition("=")
            target, source = target.strip(), source.strip()
            if not sep or not target or not source:
                raise UserError(f"--map {pair!r}: write FIELD=COLUMN, e.g. prompt=question")
            if target not in FIELDS:
                raise UserError(f"--map {pair!r}: {target!r} is not one of {', '.join(FIELDS)}")
            out[target] = source
    return out


def import_(
    file: Annotated[Path, typer.Argument(help="a .jsonl or .csv file")],
    name: Annotated[str, typer.Option(help="the new task's name")],
    map_: Annotated[list[str] | None,
                    typer.Option("--map", help="FIELD=COLUMN for other schemas; repeatable")] = None,
    scoring: Annotated[str | None, typer.Option(help="exact | numeric | choice (default: detected)")] = None,
    force: Annotated[bool, typer.Option(help="replace an existing task of that name")] = False,
) -> None:
    """Import your own data (paper schema: id, prompt, answer | classes + answer_index); every line is validated."""
    from ..tasks.imported import import_task  # lazy: it imports httpx (datasets); `overthink --help` should not

    path, n = import_task(file, name, parse_mapping(map_), scoring=scoring, force=force)
    typer.echo(f"imported {n} items as task {name!r} ({path}); run it with --task {name}")


def distract(
    name: Annotated[str, typer.Argument(help="the source task")],
    out: Annotated[str, typer.Option(help="name of the derived task")],
    kinds: Annotated[str, typer.Option(help="comma-separated: math, python, irrelevant-facts")] = ALL_KINDS,
    counts: Annotated[str, typer.Option(help="comma-separated counts; 0 (clean copy) is always included")] = "1,3,5",
    limit: Annotated[int | None, typer.Option(help="source items to use (default: all)")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    force: Annotated[bool, typer.Option(help="replace an existing task of that name")] = False,
) -> None:
    """Make a derived task with distractors injected, next to clean copies of the same items."""
    from ..tasks.distract import derive  # lazy, as import_task above

    path, n = derive(name, kinds, counts, out, limit=limit, seed=seed, force=force)
    typer.echo(f"wrote {n} items as task {out!r} ({path}); metadata num_distractors / source_item_id "
               "let the report compare each count with the clean items")


def register(tasks_app: typer.Typer) -> None:
    tasks_app.command("import")(import_)
    tasks_app.command("distract")(distract)
