"""What a run cost, as the terminal summary shows it: per budget, per task and in total (analysis/cost.py), the
cost per correct answer beside it, and a model without a price said so in words."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..analysis.cost import SELF_HOSTED, UNPRICED, fmt_cost, usd
from .names import legend_lines, name_column, short_names


def _per_correct(row: dict[str, Any]) -> str:
    if row.get("cost_per_correct_usd") is not None:
        return usd(row["cost_per_correct_usd"])
    if row.get("cost_usd") is None:
        return fmt_cost(row)  # the words: no price (self-hosted) / price unknown
    return "-"  # not every sample priced, no correct answer, or a task without right and wrong (RMSE)


def cost_table(cost: dict[str, Any]) -> Table:
    """Per task x model: a row per budget, then the task's row ("all"); the run's total last."""
    table = Table(title="cost (as recorded with each sample, else today's price table; errors included)")
    for col in ("task", "model", "mech", "budget", "samples", "cost USD", "USD / correct answer", "cost from"):
        table.add_column(col, justify="left" if col in ("task", "model", "mech", "cost from") else "right")
    names = short_names(str(r["model"]) for r in cost["tasks"])
    for task in cost["tasks"]:
        key = (task["task"], task["model"], task["mechanism"])
        rows = [r for r in cost["budgets"] if (r["task"], r["model"], r["mechanism"]) == key]
        for i, r in enumerate([*rows, {**task, "budget": "all"}]):
            table.add_row(*(escape(str(c)) for c in (
                r["task"] if i == 0 else "", names[str(r["model"])] if i == 0 else "", r["mechanism"] if i == 0 else "",
                r["budget"], r["n"], fmt_cost(r), _per_correct(r), r["basis"])),
                style="bold" if r["budget"] == "all" else "", end_section=r["budget"] == "all")
    total = cost["total"]
    table.add_row("total", "", "", "", str(total["n"]), escape(fmt_cost(total)), escape(_per_correct(total)),
                  escape(total["basis"]), style="bold")
    legend = legend_lines(names)
    table.caption = escape("\n".join(legend)) if legend else None
    name_column(table, names)
    return table


def print_cost(cost: dict[str, Any] | None, console: Console) -> None:
    """The cost table, or one line when no model of the run has a price (a table of "no price" says nothing)."""
    if not cost or not cost.get("total"):
        return
    unpriced = [m for m in cost["models"] if m["cost_usd"] is None]
    if len(unpriced) == len(cost["models"]):
        kinds = {str(m["model"]): fmt_cost(m) for m in unpriced}
        hosted = [m for m, k in kinds.items() if k == SELF_HOSTED]
        unknown = [m for m, k in kinds.items() if k != SELF_HOSTED]
        if hosted:
            console.print(f"cost: {SELF_HOSTED}: {', '.join(hosted)} ran on your own hardware", highlight=False,
                          markup=False)
        if unknown:
            console.print(f"cost: {UNPRICED[1]} for {', '.join(unknown)} (no cost was recorded and no price table "
                          f"row matches; add one to $OVERTHINK_HOME/prices.yaml)", highlight=False, markup=False)
        return
    console.print(cost_table(cost))
