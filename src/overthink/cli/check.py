"""`overthink check MODEL [MODEL ...] [--budgets ...]`: the positive control (thin; see overthink/sweep/check.py)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import UserError
from ..report.console import wide_console
from ..report.names import legend_lines, name_column, short_names
from .common import parse_value

STYLE = {"honoured": "green", "not honoured": "bold red", "inconclusive": "yellow", "n/a": "dim", "info": ""}


def _options(values: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values or []:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--option {value!r}: write KEY=VALUE, e.g. --option timeout_s=30")
        out[key.strip()] = parse_value(raw)
    return out


def print_check(result: Any, console: Console) -> None:
    """One table: a row per model and control, with what was observed and the verdict."""
    table = Table(title="overthink check: is the budget control honoured?")
    for col in ("model", "mech", "budgets", "control", "observed (reasoning tokens)", "verdict"):
        table.add_column(col)
    names = short_names(m.spec for m in result.models)  # unique, not cut (report/names.py)
    legend = legend_lines(names)
    table.caption = escape("\n".join(legend)) if legend else None
    name_column(table, names)
    for m in result.models:
        for i, c in enumerate(m.controls):
            style = STYLE.get(c.status, "")
            verdict = escape(c.verdict)  # provider error text is untrusted: no rich markup from it
            table.add_row(escape(names[m.spec]) if i == 0 else "", m.mechanism if i == 0 else "",
                          ", ".join(map(str, m.budgets)) if i == 0 else "", c.name, escape(c.observed),
                          f"[{style}]{verdict}[/{style}]" if style else verdict, end_section=i == len(m.controls) - 1)
    console.print(table)
    for m in result.models:
        for note in m.notes:
            console.print(f"{escape(m.spec)}: {escape(note)}", highlight=False)
    n = sum(len(m.samples) for m in result.models)
    cost = result.cost_usd
    console.print(f"{n} requests; cost spent: " + (f"{cost:.4f} USD" if cost is not None else "no price known"),
                  highlight=False)
    failed = ", ".join(f"{spec} {c.name}" for spec, c in result.failures)
    console.print("[bold red]not honoured: " + escape(failed) + "[/bold red]" if failed else
                  "[green]every checked control was honoured[/green]")


def check(
    models: Annotated[list[str], typer.Argument(help="PROVIDER:MODEL[@BASE_URL], one or more")],
    budgets: Annotated[str | None, typer.Option(help="comma-separated, e.g. 0,1024,4096 or none,low,high "
                                                "(default: 0 and two budgets the model accepts)")] = None,
    mechanism: Annotated[str | None, typer.Option(help="auto | forced | prompted | native (default auto: what a "
                                                  "run's default means for the model)")] = None,
    server: Annotated[str | None, typer.Option(help="server profile for openai-compatible models (vllm, sglang, "
                                               "llamacpp, ollama, deepseek, xai, generic; default: detected)")] = None,
    repeats: Annotated[int, typer.Option(help="requests per budget")] = 1,
    tolerance: Annotated[float, typer.Option(help="a hard cap may be passed by this fraction (+ 8 tokens)")] = 0.10,
    prompt: Annotated[str | None, typer.Option(help="the question asked (default: a short timetable sum)")] = None,
    answer_margin: Annotated[int | None, typer.Option(help="output tokens left for the answer")] = None,
    option: Annotated[list[str] | None, typer.Option(help="model option KEY=VALUE for every model; repeatable")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON instead of the table")] = False,
) -> None:
    """A few cheap requests per model: does each budget succeed, does budget 0 switch thinking off, do lengths
    rise with the budget, is a hard cap respected, are tokens reported or estimated. Exit code 1 when a control
    is not honoured, 2 on bad input, 0 otherwise."""
    from .. import api
    from ..core import parse_budget
    from ..sweep.check import CHECK_PROMPT

    try:
        parsed = [parse_budget(b) for b in budgets.split(",") if b.strip()] if budgets else None
    except ValueError as exc:
        raise UserError(f"--budgets: {exc}") from None
    opts = _options(option)
    from ..providers.registry import info_of_spec  # the model tables load only when check runs
    per_model = {m: {**({"server": server} if server and (i := info_of_spec(m)) is not None and i.server else {}),
                     **opts} for m in models}
    result = api.check(models, parsed, mechanism=mechanism, model_options=per_model, repeats=repeats,
                       tolerance=tolerance, prompt=prompt or CHECK_PROMPT, answer_margin=answer_margin)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print_check(result, wide_console())
    raise typer.Exit(result.exit_code)


def print_check_stderr(result: Any) -> None:
    """`run --check`: the positive control's table on stderr (overthink.api.positive_control runs it)."""
    print_check(result, Console(stderr=True, width=160))
