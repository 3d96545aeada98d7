"""Plain-language sentences for the report's headlines and formatting helpers for its tables.

The verdict names, their words and the number formatters come from analysis/verdicts.py, so the terminal, the
HTML report and the API say the same thing.
"""

from __future__ import annotations

from typing import Any

from ..analysis.curves import MIN_ITEMS
from ..analysis.verdicts import (
    METRIC_NAMES,
    NOT_ENOUGH,
    NOT_IDENTIFIABLE,
    SHAPES,
    TOO_FEW,
    WORDS,
    adjusted_clause,
    fmt_delta,
    fmt_num,
    fmt_p,
    fmt_score,
    missing,
    side_clauses,
    slope_sentence,
)

TREND_WORDS = WORDS  # the report's name for the shared vocabulary
__all__ = ["TREND_WORDS", "fmt_delta", "fmt_num", "fmt_p", "fmt_score", "headline", "missing", "sweet_sentence"]


def headline(row: dict[str, Any]) -> str:
    """One sentence a manager can read: what happens, how big, how sure (a verdict_table row)."""
    metric = row["metric"]
    name = METRIC_NAMES.get(metric, metric)
    parts = [f"{name[:1].upper() + name[1:]} goes from {fmt_score(row['first_score'], metric)} at budget "
             f"{row['first_budget']} (about {fmt_num(row['first_tokens'], 0)} reasoning tokens) to "
             f"{fmt_score(row['last_score'], metric)} at budget {row['last_budget']} "
             f"(about {fmt_num(row['last_tokens'], 0)} tokens)."]
    verdict = row.get("verdict", row.get("trend"))
    if verdict in (NOT_ENOUGH, TOO_FEW, NOT_IDENTIFIABLE):
        detail = str(row.get("verdict_detail", ""))
        return " ".join(parts + [detail[:1].upper() + detail[1:] + "." if detail else "Not enough data to tell."])
    if not missing(row.get("uniform_score")):
        parts.append(f"Every scored answer got the same score ({fmt_score(row['uniform_score'], metric)}), so "
                     f"nothing changes with the budget and no power can be stated.")
    elif slope_sentence(row):
        clause = slope_sentence(row)
        if verdict in SHAPES:
            parts.append(f"The score is not a straight line: it {verdict} across the budgets "
                         f"(bend test {fmt_p(row.get('shape_p'))}).")
        parts.append(clause[:1].upper() + clause[1:] + ".")
        for extra in (adjusted_clause(row), *side_clauses(row)):
            if extra:
                parts.append(extra[:1].upper() + extra[1:] + ".")
    if not missing(row.get("detectable_change")):
        parts.append(f"With {row['n_items']} items this test finds a change of about "
                     f"{fmt_delta(row['detectable_change'], metric).lstrip('+')} or more between the smallest and the "
                     f"largest budget 80 % of the time.")
    agree = {"inverse": "inverse", "positive": "positive"}.get(str(verdict), "flat/noisy")
    paper = row.get("paper_verdict")
    if paper in ("inverse", "positive") and paper != agree or agree in ("inverse", "positive") and paper != agree:
        parts.append(f"The paper's rule (extremes with non-overlapping CIs) says: {paper}.")
    return " ".join(parts)


def sweet_sentence(row: dict[str, Any]) -> str:
    metric = row["metric"]
    if row.get("sureness_words") == "no difference":
        return (f"Every budget scored the same ({fmt_score(row['recommended_score'], metric)}): no budget is better, "
                f"so the cheapest, {row['recommended_budget']}, is as good as any.")
    if row.get("recommended_budget") is None:
        n_items = row.get("n_items", 0)
        if not missing(n_items) and 0 < int(n_items) < MIN_ITEMS:
            return f"Not enough data: {int(n_items)} items (at least {MIN_ITEMS} are needed to pick a budget)."
        return "Not enough budgets or items to pick a budget."
    text = (f"Use budget {row['recommended_budget']} ({fmt_score(row['recommended_score'], metric)}); "
            f"the best score was at {row['peak_budget']} ({fmt_score(row['peak_score'], metric)}).")
    if row.get("change_point") is not None:
        text += f" From budget {row['change_point']} on the score is significantly worse than at the peak."
    if missing(row.get("sureness")):
        return text
    return text + f" Sureness: {row['sureness_words']} ({fmt_num(100 * row['sureness'], 0)} % of resamples)."
