"""`overthink estimate CONFIG`: expected requests, tokens and cost of an experiment before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..report.console import wide_console

app = typer.Typer(help="Estimate requests, tokens and cost of an experiment file.", no_args_is_help=True)


def estimate(config: Annotated[Path, typer.Argument(help="YAML experiment file")]) -> None:
    """Print expected and worst-case requests, tokens and cost per model and budget (no API calls, no key)."""
    from rich.table import Table

    from ..config import build_config
    from ..sweep.estimate import RegistryGuess, estimate_run, registry_note

    cfg = build_config(config)
    guesses: list[RegistryGuess] = []
    rows = estimate_run(cfg, guesses)
    table = Table(title=f"estimate for {config}" + (" (batch prices)" if cfg.batch else ""))
    for col in ("model", "budget", "requests", "input tok", "output tok (expected)", "output tok (max)",
                "cost USD (expected)", "cost USD (max)"):
        table.add_column(col, justify="left" if col in ("model", "budget") else "right")

    def usd(v: float | None) -> str:
        return "no price" if v is None else f"{v:,.2f}"

    for r in rows:
        table.add_row(r.model, str(r.budget), f"{r.requests:,}", f"{r.input_tokens:,}", f"{r.output_tokens:,}",
                      f"{r.max_output_tokens:,}", usd(r.cost_usd), usd(r.max_cost_usd))
    priced = [r for r in rows if r.cost_usd is not None]
    table.add_row("total", "", f"{sum(r.requests for r in rows):,}", f"{sum(r.input_tokens for r in rows):,}",
                  f"{sum(r.output_tokens for r in rows):,}", f"{sum(r.max_output_tokens for r in rows):,}",
                  usd(sum(r.cost_usd for r in priced)) if priced else "no price",
                  usd(sum(r.max_cost_usd or 0 for r in priced)) if priced else "no price")
    wide_console().print(table)
    for guess in guesses:
        typer.echo(f"estimated input: {registry_note(guess)}")
    if cfg.max_cost is not None:
        typer.echo(f"--max-cost {cfg.max_cost:g} USD: the run stops before a request could pass it")


app.command("estimate")(estimate)
