"""`overthink power RUN_DIR --detect 10`: items (and replicates) needed to detect a drop (thin; analysis/power.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ..report.console import wide_console


def power(
    run_dir: Annotated[Path, typer.Argument(help="a pilot run with a budget sweep")],
    detect: Annotated[float, typer.Option(help="the drop to detect, in points (10 = from 60 % to 50 %)")] = 10.0,
    target: Annotated[float, typer.Option("--power", help="the power to plan for")] = 0.8,
    sims: Annotated[int, typer.Option(help="simulated sweeps at the sizes beside the power crossing (the search "
                                           "before them uses a fifth of that)")] = 500,
    seed: Annotated[int, typer.Option(help="seed of the simulation")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="the plan as JSON on stdout")] = False,
) -> None:
    """From a pilot run: how many items (and replicates) detect a drop of --detect points with 80 % power."""
    from ..analysis.power import plan_run
    from ..report.terminal import print_power

    plan = plan_run(str(run_dir), detect, target=target, n_sims=sims, seed=seed)
    if as_json:
        rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v.item() if hasattr(v, "item")
                     else v) for k, v in rec.items()} for rec in plan.to_dict("records")]
        typer.echo(json.dumps(rows, indent=2, allow_nan=False))
        return
    print_power(plan, str(run_dir), console=wide_console())
