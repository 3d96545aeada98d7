"""The enforcement audit and the token ledger as the terminal summary and the HTML report show them."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.markup import escape
from rich.table import Table

from ..analysis.audit import TOLERANCE, ledger_summary
from .names import legend_lines, name_column, short_names
from .text import fmt_num, fmt_score, missing

NOTE = (f"A hard cap counts as exceeded above B x {1 + TOLERANCE:.2f} + 8 tokens; budget 0 must switch thinking off. "
        "A curve whose lengths do not rise with the budget has an inactive control: its verdict is \"not "
        "identifiable\" and the paper's rule (which compares requested budgets) is withdrawn.")


def _tok(value: Any) -> str:
    return "-" if missing(value) else f"{value:,.0f}"


def _cells(row: dict[str, Any]) -> list[str]:
    return [str(row["budget"]), str(row["enforced_by"]), "yes" if row["hard_cap"] else "no", str(row["n_measured"]),
            f"{_tok(row['median_tokens'])} / {_tok(row['p90_tokens'])} / {_tok(row['max_tokens'])}",
            fmt_score(row["over_cap_share"], "accuracy"), str(row["token_source"]) or "-", str(row["flag"]) or "-"]


HEADER = ["budget", "enforced by", "hard cap", "n", "tokens median / p90 / max", "over cap", "token source", "flag"]


def audit_rich(audit: pd.DataFrame) -> Table:
    """The audit as a rich table (cells of a flagged curve in red, the curve's flags in the last row)."""
    table = Table(title="budget enforcement audit")
    for col in ["task", "model", "mech", *HEADER]:
        table.add_column(col, justify="right" if col in ("n", "over cap", "tokens median / p90 / max") else "left")
    if audit.empty:
        return table
    names = short_names(str(m) for m in audit["model"])  # unique, not cut: 60 cut rows looked identical
    legend = legend_lines(names)
    table.caption = escape("\n".join(legend)) if legend else None
    name_column(table, names)
    for _, curve in audit.groupby(["task", "model", "mechanism"], sort=False):
        rows = curve.to_dict("records")
        for i, row in enumerate(rows):
            style = "" if row["control_active"] and not row["flag"] else "red"
            cells = [row["task"], names[str(row["model"])], row["mechanism"], *_cells(row)]
            table.add_row(*(escape(str(c)) for c in cells),
                          style=style, end_section=i == len(rows) - 1 and not row["curve_flags"])
        if rows[0]["curve_flags"]:
            table.add_row("", "", "", "[bold red]curve[/bold red]", *[""] * 6,
                          escape(str(rows[0]["curve_flags"])), end_section=True)
    return table


def summary_verdict(audit: pd.DataFrame, task: str, model: str, mechanism: str) -> str | None:
    """The terminal's verdict line for a curve whose control was inactive (None when it was active)."""
    from ..analysis.audit import control_active, curve_rows

    cells = curve_rows(audit, {"task": task, "model": model, "mechanism": mechanism})
    if control_active(cells):
        return None
    return (f"verdict {escape(task)} / {escape(model)} ({escape(mechanism)}): [bold]no verdict from requested "
            f"budgets[/bold] (budget control inactive: {escape(str(cells['curve_flags'].iloc[0]))}; `overthink "
            f"report` tests the score against measured lengths)")


def html_tables(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """`audit` and `ledger` tables for the report template (display strings; the template escapes them)."""
    audit, ledger = tables.get("audit", pd.DataFrame()), tables.get("ledger", pd.DataFrame())
    out: dict[str, Any] = {"audit": None, "audit_flags": [], "ledger": None, "audit_note": NOTE}
    if len(audit):
        out["audit"] = {"header": ["task", "model", "mech", *HEADER],
                        "rows": [[r["task"], r["model"], r["mechanism"], *_cells(r)]
                                 for r in audit.to_dict("records")]}
        flagged = audit[audit["curve_flags"] != ""].drop_duplicates(["task", "model", "mechanism"])
        out["audit_flags"] = [dict(r) for r in flagged[["task", "model", "mechanism", "curve_flags",
                                                        "control_active"]].to_dict("records")]
    summary = ledger_summary(ledger)
    if len(summary):
        out["ledger"] = {
            "header": ["run", "model", "samples", "billed output tokens", "reasoning tokens (reported)",
                       "visible answer tokens", "reasoning share", "reasoning text", "cost USD"],
            "rows": [[r["run"], r["model"], str(r["samples"]), _tok(r["billed_output_tokens"]),
                      _tok(r["reasoning_tokens"]), _tok(r["answer_tokens"]),
                      fmt_score(r["reasoning_share"], "accuracy"), r["reasoning_text"], fmt_num(r["cost_usd"], 4)]
                     for r in summary.to_dict("records")]}
    return out
