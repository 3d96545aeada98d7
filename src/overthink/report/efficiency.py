"""Terminal text for the efficiency metrics, the recommended budget and `overthink compare`.

Numbers go through analysis.verdicts formatters: a missing value prints "-", never "nan". Names from a store are
printed with markup off (rich would otherwise read "[run]" in a model label as a tag).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..analysis.cost import UNPRICED
from ..analysis.verdicts import fmt_num, fmt_score, missing
from .console import wide_console
from .names import legend_lines, name_column, short_names


def _usd(value: Any) -> str:
    if missing(value):
        return "-"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _per_correct(row: dict[str, Any]) -> str:
    """$ / correct, or why there is none in words ("no price (self-hosted)", "price unknown"), never 0.00 for a
    model that has no price."""
    if missing(row.get("cost_per_correct_usd")) and str(row.get("cost_source")) in UNPRICED:
        return str(row["cost_source"])
    return _usd(row.get("cost_per_correct_usd"))


def _pct(value: Any) -> str:
    return fmt_score(value, "accuracy")


def _ci(row: dict[str, Any], key: str, fmt=_pct) -> str:
    lo, hi = row.get(f"{key}_lo"), row.get(f"{key}_hi")
    if missing(row.get(key)):
        return "-"
    if missing(lo) or missing(hi):
        return fmt(row[key])
    return f"{fmt(row[key])} [{fmt(lo)}, {fmt(hi)}]"


def recommendation_line(rec: dict[str, Any]) -> str:
    """`budget TASK / MODEL (MECH): use B (reason; saves X % of the thinking tokens of the largest budget)`."""
    head = f"budget {rec['task']} / {rec['model']} ({rec['mechanism']}): "
    if rec.get("recommended_budget") is None or missing(rec.get("recommended_budget")):
        return head + (rec.get("reason") or "no recommendation")
    saving = ""
    if not missing(rec.get("saving_tokens_share")):
        saving = f"; {100 * rec['saving_tokens_share']:.0f} % fewer thinking tokens than the largest budget"
    if not missing(rec.get("saving_cost_share")):
        saving += f", {100 * rec['saving_cost_share']:.0f} % lower cost"
    return f"{head}use {rec['recommended_budget']} ({rec['reason']}{saving})"


def efficiency_rich(table: pd.DataFrame, *, title: str = "efficiency per budget (non-answers count as wrong)",
                    with_run: bool = False) -> Table:
    out = Table(title=title, show_lines=False)
    cols = (["run"] if with_run else []) + ["task", "model", "budget", "accuracy [95% CI]", "mean think tok",
                                            "AUC_OAA", "OT score", "acc / 1k tok", "$ / correct", "frontier"]
    for col in cols:
        out.add_column(col, justify="left" if col in ("run", "task", "model") else "right")
    names = short_names(str(m) for m in table["model"])  # unique, not cut (report/names.py)
    for r in table.to_dict("records"):
        cells = [str(r.get("run", ""))] if with_run else []
        cells += [escape(str(r["task"])), escape(names[str(r["model"])]), str(r["budget"]), _ci(r, "accuracy"),
                  fmt_num(r["mean_thinking_tokens"], 0), fmt_num(r["auc_oaa"], 3),
                  fmt_num(r["overthinking_score"], 3), fmt_num(r["accuracy_per_1k"], 3), _per_correct(r),
                  "yes" if r.get("on_frontier") else ""]
        out.add_row(*cells)
    sources = sorted({str(s) for s in table.get("cost_source", pd.Series(dtype=object)).dropna()} - set(UNPRICED))
    caption = ([f"cost from: {', '.join(sources)}"] if sources else []) + legend_lines(names)
    out.caption = escape("\n".join(caption)) or None
    name_column(out, names)
    return out


def print_efficiency(tables: dict[str, pd.DataFrame], console: Console | None = None) -> None:
    """The per-budget efficiency table, the wasted-token share per curve and one recommendation line per curve."""
    console = console or wide_console()
    table = tables.get("efficiency", pd.DataFrame())
    if table.empty:
        return
    console.print(efficiency_rich(table))
    for c in tables.get("efficiency_curves", pd.DataFrame()).to_dict("records"):
        waste = (f"wasted thinking after the answer settled correct: {_ci(c, 'wasted_token_share')}"
                 if not missing(c.get("wasted_token_share")) else f"wasted token share {c['wasted_note']}")
        console.print(f"efficiency {c['task']} / {c['model']} ({c['mechanism']}) at budget {c['at_budget']}: "
                      f"AUC_OAA {fmt_num(c['auc_oaa'], 3)} (t_max {fmt_num(c['t_max'], 0)}), Overthinking Score "
                      f"{fmt_num(c['overthinking_score'], 3)}; {waste}", highlight=False, markup=False)
    for rec in tables.get("recommendation", pd.DataFrame()).to_dict("records"):
        console.print(recommendation_line(rec), highlight=False, markup=False)


def print_comparison(comp: Any, console: Console | None = None) -> None:
    """`overthink compare`: accuracy and efficiency per budget side by side, then one verdict line per task."""
    console = console or wide_console()
    if len(comp.accuracy):
        console.print(efficiency_rich(comp.accuracy, title="accuracy and efficiency per budget, side by side",
                                      with_run=True))
    for c in comp.efficiency.to_dict("records") if len(comp.efficiency) else []:
        waste = _ci(c, "wasted_token_share") if not missing(c.get("wasted_token_share")) else "not measurable"
        inactive = "" if c.get("control_active", True) else "; budget control inactive (audit)"
        console.print(f"efficiency {c['task']} / {c['model']} at {c['at_budget']}: accuracy {_pct(c['accuracy'])}, "
                      f"AUC_OAA {fmt_num(c['auc_oaa'], 3)}, Overthinking Score {fmt_num(c['overthinking_score'], 3)}"
                      f", $ / correct {_per_correct(c)}, wasted token share {waste}{inactive}",
                      highlight=False, markup=False)
    for row in comp.rows:
        console.print(row["verdict"], highlight=False, markup=False)
    if not comp.rows:
        console.print("no task to compare (compare needs accuracy-scored tasks with two or more thinking budgets)",
                      highlight=False, markup=False)


def efficiency_context(t: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The HTML report's efficiency section: header + display rows, recommendation lines, t_max and tolerance."""
    table = t.get("efficiency", pd.DataFrame())
    if table.empty:
        return {"efficiency": None}
    recs = t.get("recommendation", pd.DataFrame())
    header = ["task", "model", "mech", "budget", "accuracy [95% CI]", "mean thinking tokens", "AUC_OAA [95% CI]",
              "Overthinking Score", "accuracy / 1k tokens", "$ / correct", "cost from", "frontier"]
    rows = [[str(r["task"]), str(r["model"]), str(r["mechanism"]), str(r["budget"]), _ci(r, "accuracy"),
             fmt_num(r["mean_thinking_tokens"], 0), _ci(r, "auc_oaa", lambda v: fmt_num(v, 3)),
             fmt_num(r["overthinking_score"], 3), fmt_num(r["accuracy_per_1k"], 3), _per_correct(r),
             str(r["cost_source"]), "yes" if r.get("on_frontier") else ""] for r in table.to_dict("records")]
    tolerance = recs["tolerance"].iloc[0] if len(recs) else 0.02
    lines = [recommendation_line(r) for r in recs.to_dict("records")]
    for c in t.get("efficiency_curves", pd.DataFrame()).to_dict("records"):
        if not missing(c.get("wasted_token_share")):
            lines.append(f"wasted thinking {c['task']} / {c['model']} at budget {c['at_budget']}: "
                         f"{_ci(c, 'wasted_token_share')} of the thinking tokens came after the answer was correct "
                         f"for good; outcome efficiency {fmt_num(c['outcome_efficiency'], 3)}")
    return {"efficiency": {"table": {"header": header, "rows": rows}, "lines": lines,
                           "t_max": fmt_num(float(table["t_max"].iloc[0]), 0), "tolerance": f"{100 * tolerance:g}"}}
