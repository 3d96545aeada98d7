"""Words for a sequential run's design and decisions (`run --until-decided`), shared by the terminal summary, the
JSON summary and the HTML report. The decisions are read from the run store, never recomputed here."""

from __future__ import annotations

from typing import Any

from ..analysis.verdicts import fmt_delta

DESCRIPTIVE = ("this run stopped each curve by a sequential design: the fixed-design verdicts below describe the "
               "items that ran and are not the decision")


def level(alpha: float) -> str:
    return f"{100 * (1 - alpha):g} %"


def design_line(meta: dict[str, Any]) -> str:
    n = len(meta.get("cells", []))
    return (f"sequential design (--until-decided): {meta.get('method')}; alpha {meta.get('alpha'):g} per curve, "
            f"flat margin +-{fmt_delta(meta.get('flat_margin'), 'accuracy').lstrip('+')}; {n} curve"
            f"{'' if n == 1 else 's'} (task x model x mechanism) tested, each at its own alpha")


def cell_line(cell: dict[str, Any], alpha: float) -> str:
    """One decision in words: what, after how many rounds and items, the interval at the stop and why."""
    interval = (f"{fmt_delta(cell.get('low'), 'accuracy')} to {fmt_delta(cell.get('high'), 'accuracy')}"
                if cell.get("low") is not None else "-")
    return (f"sequential {cell['task']} / {cell['model']} ({cell['mechanism']}): {cell['decision']} after "
            f"{cell['rounds']} round{'' if cell['rounds'] == 1 else 's'}, {cell['items']} of {cell['ceiling']} items; "
            f"change from the shortest to the longest budget {fmt_delta(cell.get('estimate'), 'accuracy')} "
            f"({level(alpha)} confidence sequence {interval}): {cell['reason']}")


def table(meta: dict[str, Any]) -> dict[str, Any]:
    """Header and rows for the HTML report."""
    header = ["task", "model", "mech", "decision", "rounds", "items used / ceiling", "change (estimate)",
              f"{level(meta.get('alpha', 0.05))} CS at the stop", "why it stopped"]
    rows = [[c["task"], c["model"], c["mechanism"], c["decision"], str(c["rounds"]), f"{c['items']} / {c['ceiling']}",
             fmt_delta(c.get("estimate"), "accuracy"),
             f"{fmt_delta(c.get('low'), 'accuracy')} to {fmt_delta(c.get('high'), 'accuracy')}", c["reason"]]
            for c in meta.get("cells", [])]
    return {"header": header, "rows": rows}


def sequential_lines(meta: dict[str, Any]) -> list[str]:
    """The terminal summary's lines: the design, one decision per curve, and the note on the verdicts below."""
    alpha = float(meta.get("alpha", 0.05))
    return [design_line(meta), *(cell_line(c, alpha) for c in meta.get("cells", [])), f"note: {DESCRIPTIVE}"]
