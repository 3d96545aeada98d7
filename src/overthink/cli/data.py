"""`overthink data`: list known datasets, fetch one from its pinned upstream or from a local copy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..report.console import wide_console
from .common import ErrorGroup, byte_progress

app = typer.Typer(cls=ErrorGroup, no_args_is_help=True, help="Public datasets: list, fetch (or --from a local copy).")


@app.command("list")
def list_() -> None:
    """Known datasets, licence, upstream and whether they are cached."""
    # imported here: every `overthink` start (even --help) would otherwise pay for httpx, pandas and scipy
    from ..datasets import describe_all

    table = Table("name", "licence", "upstream", "cached")
    for row in describe_all():
        upstream = row["upstream"].removeprefix("https://")
        upstream += f"@{row['commit'][:8]}" if row["commit"] else " (you download it)"
        table.add_row(row["name"], row["licence"], upstream, row["cached"])
    wide_console().print(table)


@app.command()
def fetch(
    name: Annotated[str, typer.Argument(help="dataset name (see `overthink data list`)")],
    from_: Annotated[Path | None,
                     typer.Option("--from", help="a local file or folder to use instead (offline)")] = None,
    force: Annotated[bool, typer.Option(help="fetch again even if cached")] = False,
) -> None:
    """Download NAME into OVERTHINK_HOME/data/NAME, verify its pinned checksum, record source and licence."""
    from ..datasets import fetch as do_fetch
    from ..datasets import get_dataset  # lazy: httpx is only needed to download
    from ..tasks.files import read_prize_file  # a user-supplied prize copy is checked line by line

    ds = get_dataset(name)
    with byte_progress() as progress:
        result = do_fetch(name, source=from_, force=force, progress=progress, validate=read_prize_file)
    for f in result.fetched:
        typer.echo(f"{'copied' if from_ else 'downloaded'} and verified {f}", err=True)
    if result.already:
        typer.echo(f"already cached: {len(result.already)} file(s) (--force to fetch again)", err=True)
    if result.missing:
        typer.echo(f"not in {from_}: {', '.join(result.missing)}", err=True)
    typer.echo(f"{ds.name}: {result.directory} ({ds.licence}; see SOURCE.json)")
