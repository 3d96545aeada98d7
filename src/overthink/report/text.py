"""Plain-language sentences for the report's headlines and formatting helpers for its tables."""

from __future__ import annotations

import math
from typing import Any

TREND_WORDS = {
    "inverse": "more reasoning makes it worse (inverse scaling)",
    "positive": "more reasoning makes it better",
    "no trend": "no significant change with reasoning length",
    "no length variation": "reasoning length did not vary, so no trend can be measured",
    "insufficient": "not enough data to tell",
}
METRIC_NAMES = {"accuracy": "accuracy", "rmse": "RMSE (lower is better)",
                "matching_behavior": "% answers matching the behaviour"}


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_score(value: Any, metric: str) -> str:
    if missing(value):
        return "-"
    return f"{value:.3f}" if metric == "rmse" else f"{100 * value:.1f} %"


def fmt_delta(value: Any, metric: str) -> str:
    if missing(value):
        return "-"
    return f"{value:+.3f} RMSE" if metric == "rmse" else f"{100 * value:+.1f} points"


def fmt_num(value: Any, digits: int = 2) -> str:
    if missing(value):
        return "-"
    if isinstance(value, (int,)) or (isinstance(value, float) and value.is_integer() and abs(value) >= 100):
        return f"{int(value):,}"
    return f"{value:.{digits}f}"


def fmt_p(p: Any) -> str:
    if missing(p):
        return "-"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def headline(row: dict[str, Any]) -> str:
    """One sentence a manager can read: what happens, how big, how sure."""
    metric = row["metric"]
    name = METRIC_NAMES.get(metric, metric)
    parts = [f"{name[:1].upper() + name[1:]} goes from {fmt_score(row['first_score'], metric)} at budget "
             f"{row['first_budget']} (about {fmt_num(row['first_tokens'], 0)} reasoning tokens) to "
             f"{fmt_score(row['last_score'], metric)} at budget {row['last_budget']} "
             f"(about {fmt_num(row['last_tokens'], 0)} tokens)."]
    if not missing(row.get("slope")) and row.get("trend") in ("inverse", "positive", "no trend"):
        parts.append(f"Within items, the slope is {row['slope']:+.2f} {row['scale']} per doubling of reasoning "
                     f"(95 % CI {row['slope_low']:+.2f} to {row['slope_high']:+.2f}, {fmt_p(row['p'])}).")
    if not missing(row.get("detectable_change")):
        parts.append(f"With {row['n_items']} items this test finds a change of about "
                     f"{fmt_delta(row['detectable_change'], metric).lstrip('+')} or more between short and long "
                     f"reasoning 80 % of the time.")
    agree = {"inverse": "inverse", "positive": "positive"}.get(str(row.get("trend")), "flat/noisy")
    paper = row.get("paper_verdict")
    if paper in ("inverse", "positive") and paper != agree or agree in ("inverse", "positive") and paper != agree:
        parts.append(f"The paper's rule (extremes with non-overlapping CIs) says: {paper}.")
    return " ".join(parts)


def sweet_sentence(row: dict[str, Any]) -> str:
    metric = row["metric"]
    if row.get("recommended_budget") is None:
        return "Not enough budgets or items to pick a budget."
    text = (f"Use budget {row['recommended_budget']} ({fmt_score(row['recommended_score'], metric)}); "
            f"the best score was at {row['peak_budget']} ({fmt_score(row['peak_score'], metric)}).")
    if row.get("change_point") is not None:
        text += f" From budget {row['change_point']} on the score is significantly worse than at the peak."
    return text + f" Sureness: {row['sureness_words']} ({fmt_num(100 * row['sureness'], 0)} % of resamples)."
