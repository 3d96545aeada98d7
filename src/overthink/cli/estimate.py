"""`overthink estimate CONFIG`: expected requests, tokens and cost of an experiment before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..report.console import wide_console

app = typer.Typer(help="Estimate requests, tokens and cost of an experiment file.", no_args_is_help=True)


def estimate(config: Annotated[Path, typer.Argument(help="YAML experiment file")],
             speed_from: Annotated[list[Path] | None, typer.Option(
                 "--speed-from", help="a run dir with finished samples of the same model: its measured tokens per "
                                      "second give a wall-time estimate (default: the config's own run dir)")] = None,
             until_decided: Annotated[bool, typer.Option("--until-decided", help="also the expected cost of "
                                                         "stopping each task x model once decided (run "
                                                         "--until-decided), by simulation")] = False,
             effect: Annotated[float, typer.Option(help="--until-decided: the inverse effect to price, in points "
                                                   "from the shortest to the longest budget")] = 10.0) -> None:
    """Print expected and worst-case requests, tokens and cost per model and budget (no API calls, no key), and
    for self-hosted models a wall time from tokens per second measured on a previous run."""
    from rich.table import Table

    from ..config import build_config
    from ..report.names import legend_lines, name_column, short_names
    from ..sweep.estimate import (
        RegistryGuess,
        estimate_run,
        fmt_duration,
        measured_speed,
        registry_note,
        self_hosted,
        streams,
        wall_time,
    )

    cfg = build_config(config)
    guesses: list[RegistryGuess] = []
    rows = estimate_run(cfg, guesses)
    sources = [*(speed_from or []), *([cfg.run_dir] if cfg.run_dir else [])]
    speeds = {m: measured_speed(sources, cfg.identity(m)) for m in cfg.models}  # samples carry the identity
    shown = short_names(cfg.identity(m) for m in cfg.models)
    names = {m: shown[cfg.identity(m)] for m in cfg.models}
    table = Table(title=f"estimate for {config}" + (" (batch prices)" if cfg.batch else ""),
                  caption="\n".join(legend_lines(shown)) or None)
    columns = ["model", "budget", "requests", "input tok", "output tok (expected)", "output tok (max)",
               "cost USD (expected)", "cost USD (max)"]
    timed = any(speeds.values())
    for col in columns + (["wall time"] if timed else []):
        table.add_column(col, justify="left" if col in ("model", "budget") else "right")
    name_column(table, shown)

    def usd(v: float | None, model: str) -> str:
        if v is not None and not (v == 0 and self_hosted(model)):
            return f"{v:,.2f}"
        return "self-hosted" if self_hosted(model) else "no price"

    def duration(model: str, tokens: int) -> list[str]:
        speed = speeds.get(model)
        return [] if not timed else [fmt_duration(wall_time(tokens, speed, streams(cfg, model))) if speed else "-"]

    for r in rows:
        table.add_row(names[r.model], str(r.budget), f"{r.requests:,}", f"{r.input_tokens:,}",
                      f"{r.output_tokens:,}", f"{r.max_output_tokens:,}", usd(r.cost_usd, r.model),
                      usd(r.max_cost_usd, r.model), *duration(r.model, r.output_tokens))
    priced = [r for r in rows if r.cost_usd is not None and not (r.cost_usd == 0 and self_hosted(r.model))]
    total_time = [sum(wall_time(r.output_tokens, speeds[r.model], streams(cfg, r.model)) for r in rows  # type: ignore[arg-type]
                      if speeds.get(r.model))] if timed else []
    table.add_row("total", "", f"{sum(r.requests for r in rows):,}", f"{sum(r.input_tokens for r in rows):,}",
                  f"{sum(r.output_tokens for r in rows):,}", f"{sum(r.max_output_tokens for r in rows):,}",
                  f"{sum(r.cost_usd or 0 for r in priced):,.2f}" if priced else "no price",
                  f"{sum(r.max_cost_usd or 0 for r in priced):,.2f}" if priced else "no price",
                  *[fmt_duration(t) for t in total_time])
    wide_console().print(table)
    hosted_here = [m for m in cfg.models if self_hosted(m)]
    if hosted_here:
        typer.echo(f"cost: no price (self-hosted): {', '.join(hosted_here)} run on your own hardware; its cost is "
                   f"the time below")
    for model, speed in speeds.items():
        if speed is not None:
            typer.echo(f"wall time of {model}: {speed.tokens_per_s:.1f} output tokens/s per request stream, measured "
                       f"on {speed.samples} finished samples of {speed.run_dir} (prompt time included), "
                       f"{streams(cfg, model)} stream(s) at once")
        elif self_hosted(model):
            typer.echo(f"wall time of {model}: not measured yet; give --speed-from RUN_DIR (a run of this model on "
                       f"this machine, e.g. runs/quickstart after `overthink quickstart --limit 5`)")
    for guess in guesses:
        typer.echo(f"estimated input: {registry_note(guess)}")
    if cfg.max_cost is not None:
        typer.echo(f"--max-cost {cfg.max_cost:g} USD: the run stops before a request could pass it")
    if until_decided or cfg.until_decided:
        _sequential(cfg, effect)


def _sequential(cfg: Any, effect: float) -> None:
    """The expected cost of run --until-decided under no effect and under `effect` points, beside the fixed one."""
    from ..errors import UserError
    from ..sweep.estimate import sequential_estimate

    if not 0 < effect < 100:
        raise UserError(f"--effect {effect:g}: give the inverse effect in points, between 0 and 100")
    if cfg.natural or len(cfg.budgets) < 2:
        raise UserError("--until-decided needs a budget sweep of at least two budgets")
    est = sequential_estimate(cfg, effect=effect / 100)

    def usd(v: float | None) -> str:
        return "no price" if v is None else f"{v:,.2f} USD"

    typer.echo(f"until decided (alpha {cfg.alpha:g} per task x model, flat margin {100 * cfg.flat_margin:g} points, "
               f"--limit as the ceiling; {est.runs} simulated runs per task, items 5-95 % correct):")
    typer.echo(f"  fixed design (every item, the ceiling): {usd(est.fixed_usd)} expected, {usd(est.max_usd)} worst "
               f"case")
    typer.echo(f"  no effect: {usd(est.no_effect_usd)} expected ({100 * est.no_effect_share:.0f} % of the fixed "
               f"design's items)")
    typer.echo(f"  inverse effect of {effect:g} points: {usd(est.effect_usd)} expected "
               f"({100 * est.effect_share:.0f} % of the items; decided inverse in {100 * est.effect_power:.0f} % of "
               f"simulated runs)")


app.command("estimate")(estimate)

