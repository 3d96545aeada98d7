"""Verdict cards of the HTML report: one plain sentence with its p-value first, then the same detail fields on
every card (templates/verdict_card.html.j2).

A card is built from a verdict row (analysis.verdicts' table, or the natural-run table) read generically: the
fields below are shown when the table has their column, "-" on a card whose row has no value, so every card of a
table lists the same fields. Columns a later analysis adds (an adjusted p, a shape test, an equivalence test) slot
in through EXTRA_FIELDS by name pattern, without a change here.
"""

from __future__ import annotations

import re
from typing import Any

from ..analysis.verdicts import (
    METRIC_NAMES,
    NOT_ENOUGH,
    NOT_IDENTIFIABLE,
    TOO_FEW,
    fmt_delta,
    fmt_num,
    fmt_p,
    fmt_score,
    missing,
    paper_clause,
    slope_sentence,
)

# label -> column name pattern, for fields a verdict table may carry (first matching column wins)
EXTRA_FIELDS = (
    ("adjusted p", re.compile(r"^(p_(adj|adjusted|holm)\w*|(adj|adjusted|holm)\w*_p)$")),
    ("q-value (Benjamini-Hochberg)", re.compile(r"^(q|q_value|p_bh|bh_q)$")),
    ("shape", re.compile(r"^shape(_words|_verdict)?$")),
    ("shape test p", re.compile(r"^shape_p$")),
    ("equivalence (within the margin)", re.compile(r"^(equivalen\w*|equiv\w*)$")),
)
P_LIKE = re.compile(r"(^p_|_p$|^p$|^q$|holm|adjusted)")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _column(row: dict[str, Any], pattern: re.Pattern[str]) -> str | None:
    return next((k for k in row if pattern.match(k)), None)


def _value(name: str, value: Any) -> str:
    if missing(value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return fmt_p(value).removeprefix("p ").removeprefix("= ") if P_LIKE.search(name) else fmt_num(value)
    return str(value)


def lead_p(row: dict[str, Any]) -> tuple[str, str]:
    """The p-value the lead sentence cites: the adjusted one when the table has it, else the test's own."""
    adjusted = _column(row, EXTRA_FIELDS[0][1])
    if adjusted is not None and not missing(row.get(adjusted)):
        return "adjusted p", _value(adjusted, row[adjusted])
    if not missing(row.get("p")):
        return "p", _value("p", row["p"])
    return "", ""


def lead_sentence(row: dict[str, Any]) -> str:
    """What happened from the shortest to the longest budget, in words, with its p-value."""
    metric = str(row.get("metric", "accuracy"))
    verdict = str(row.get("verdict", row.get("trend", "")))
    if verdict in (NOT_ENOUGH, TOO_FEW, NOT_IDENTIFIABLE):  # the reason is the sentence; there is no p to cite
        detail = str(row.get("verdict_detail") or row.get("verdict_words") or "not enough data to tell")
        return _cap(detail.split(";")[0]) + "."
    words = _cap(str(row.get("verdict_words") or row.get("words") or verdict))
    name = METRIC_NAMES.get(metric, metric)
    text = words
    if "first_score" in row and "last_score" in row:
        text += (f": {name} {fmt_score(row['first_score'], metric)} at budget {row['first_budget']}, "
                 f"{fmt_score(row['last_score'], metric)} at budget {row['last_budget']}")
    label, p = lead_p(row)
    if p:
        text += f" ({label} {p})" if p.startswith(("<", ">")) else f" ({label} = {p})"
    return text + "."


def _power(row: dict[str, Any]) -> str:
    if not missing(row.get("uniform_score")):
        return "not stated: every scored answer got the same score"
    if missing(row.get("detectable_change")):
        return "-"
    change = fmt_delta(row["detectable_change"], row.get("metric", "accuracy")).lstrip("+")
    items = row.get("n_items", row.get("n_clusters"))
    return f"with {items} items this test finds a change of about {change} or more 80 % of the time"


def _trend(row: dict[str, Any]) -> str:
    if not missing(row.get("uniform_score")):
        return f"every scored answer got the same score ({fmt_score(row['uniform_score'], row['metric'])})"
    return slope_sentence(row) or "-"


def fields(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The card's details, (label, text), in the same order on every card of a table."""
    metric = str(row.get("metric", "accuracy"))
    out = [("trend test (items as clusters)", _trend(row))]
    for label, pattern in EXTRA_FIELDS:
        column = _column(row, pattern)
        if column is not None:
            out.append((label, _value(column, row.get(column))))
    out.append(("power", _power(row)))
    if "paper_verdict" in row:
        out.append(("paper's rule (extreme budgets)", paper_clause(row).removeprefix("paper's rule: ")))
    if "first_score" in row:
        out.append(("change, shortest to longest budget", fmt_delta(row.get("last_score", 0) -
                                                                    row.get("first_score", 0), metric)
                    if not (missing(row.get("first_score")) or missing(row.get("last_score"))) else "-"))
    items = row.get("n_clusters", row.get("n_items"))
    out.append(("items / scored samples", f"{_value('n', items)} / {_value('n', row.get('n_obs'))}"))
    if "verdict_basis" in row:
        out.append(("tested on", _value("basis", row.get("verdict_basis"))))
    return out


def card(row: dict[str, Any], *, tag: str | None = None, lead: str | None = None) -> dict[str, Any]:
    """Everything templates/verdict_card.html.j2 shows for one verdict row."""
    verdict = str(row.get("verdict", row.get("trend", "")))
    return {"model": row.get("model"), "task": row.get("task"), "tag": tag or row.get("mechanism"),
            "verdict": verdict, "words": row.get("verdict_words") or row.get("words") or verdict,
            "lead": lead or lead_sentence(row), "fields": fields(row),
            "control_flags": row.get("control_flags") or "", "control_active": row.get("control_active")}
