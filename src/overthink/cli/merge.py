"""`overthink merge RUN_DIR... --into DIR`: join shard run dirs (thin; store/merge.py does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def merge(
    run_dirs: Annotated[list[Path], typer.Argument(help="run dirs to merge (the shards of one config, or any runs "
                                                        "with the same semantic settings)")],
    into: Annotated[Path, typer.Option("--into", help="the merged run dir (new, or an existing run to add to)")],
) -> None:
    """Merge run dirs losslessly: samples, items, labels, batch records and the sessions' provenance. Runs with
    different semantic settings are refused; the same sample twice is kept once (an overlap, counted), the same
    key with different content is a conflict and nothing is written."""
    from ..store.lock import RunLock  # the store (and pandas) load only when a command uses them: --help stays fast
    from ..store.merge import merge_runs

    with RunLock(into):
        result = merge_runs(run_dirs, into)
    shards = [s["shard"] for s in result.sources if s.get("shard")]
    typer.echo(f"merged {len(result.sources)} run(s){' (shards ' + ', '.join(shards) + ')' if shards else ''} into "
               f"{into}: {result.samples} samples, {result.items} items, {result.labels} labels, "
               f"{result.batches} batch records")
    if result.overlaps:
        typer.echo(f"{result.overlaps} sample(s) were in more than one run with the same content: kept once")
    if result.replaced_errors:
        typer.echo(f"{result.replaced_errors} error sample(s) gave way to a finished sample of the same key")
    typer.echo(f"next: overthink summary {into}   overthink report {into}")
