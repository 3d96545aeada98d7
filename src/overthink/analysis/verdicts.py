"""The one verdict vocabulary: names, plain words and the sentences that terminal, HTML report and API share.

A curve's verdict is the calibrated within-item regression test (analysis/trends.py); the paper's rule between the
extreme budgets is reported beside it with its own names (flat / noisy). Where the data cannot carry a call the
verdict is NOT_ENOUGH and the detail says why ("not enough data: 1 scored sample at budget 0 ...").
Every number goes through the formatters here, which print "-" for a missing value, never "nan".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

INVERSE, POSITIVE, NO_TREND = "inverse", "positive", "no trend"
NO_LENGTH_VARIATION, NOT_ENOUGH = "no length variation", "not enough data"
FLAT, NOISY = "flat", "noisy"  # the paper's rule only

WORDS = {
    INVERSE: "more reasoning makes it worse (inverse scaling)",
    POSITIVE: "more reasoning makes it better",
    NO_TREND: "no significant change with reasoning length",
    NO_LENGTH_VARIATION: "reasoning length did not vary, so no trend can be measured",
    NOT_ENOUGH: "not enough data to tell",
    FLAT: "changes by at most the practical threshold",
    NOISY: "changes, but within overlapping confidence intervals",
}
# Names a curve's verdict (the regression test) can take; the paper's rule adds FLAT and NOISY.
TREND_VERDICTS = (INVERSE, POSITIVE, NO_TREND, NO_LENGTH_VARIATION, NOT_ENOUGH)
METRIC_NAMES = {"accuracy": "accuracy", "rmse": "RMSE (lower is better)",
                "matching_behavior": "% answers matching the behaviour"}


def missing(value: Any) -> bool:
    try:
        return value is None or not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


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
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 100):
        return f"{int(value):,}"
    return f"{value:.{digits}f}"


def fmt_p(p: Any) -> str:
    if missing(p):
        return "-"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def words(verdict: str) -> str:
    return WORDS.get(verdict, verdict)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def not_enough_detail(n_scored: int, budget: Any, n_items: int, needed: int) -> str:
    """"not enough data: N scored samples at budget B" and what is missing."""
    return (f"not enough data: {_plural(int(n_scored), 'scored sample')} at budget {budget} "
            f"(from {_plural(int(n_items), 'item')}; the test needs at least {needed} items)")


def slope_sentence(row: dict[str, Any]) -> str:
    """The regression's numbers in one clause, or "" when it has none."""
    if missing(row.get("slope")) or missing(row.get("slope_low")):
        return ""
    return (f"within-item slope {row['slope']:+.2f} {row['scale']} per doubling "
            f"(95 % CI {row['slope_low']:+.2f} to {row['slope_high']:+.2f}, {fmt_p(row['p'])})")


def paper_clause(row: dict[str, Any]) -> str:
    paper = str(row.get("paper_verdict", NOT_ENOUGH))
    change = fmt_delta(row.get("paper_delta"), row.get("metric", "accuracy"))
    return f"paper's rule: {paper}" + ("" if change == "-" else f", {change} from the shortest to the longest budget")


def detail(row: dict[str, Any]) -> str:
    """Why the verdict is what it is, in one line (a verdict_table row)."""
    verdict, metric = str(row["verdict"]), row.get("metric", "accuracy")
    if verdict == NOT_ENOUGH:
        return not_enough_detail(row.get("min_scored", 0), row.get("min_scored_budget"),
                                 row.get("min_scored_items", 0), int(row.get("items_needed", 5)))
    if verdict == NO_LENGTH_VARIATION:
        return f"{WORDS[verdict]}; {paper_clause(row)}"
    if not missing(row.get("uniform_score")):
        return (f"every scored answer got the same score ({fmt_score(row['uniform_score'], metric)}) at every "
                f"budget; {paper_clause(row)}")
    slope = slope_sentence(row)
    return "; ".join(part for part in (slope, paper_clause(row)) if part)


def curve_verdict(trend: str, paper: str) -> str:
    """The curve's verdict name: the regression's call; NOT_ENOUGH when either test lacks the items to make one."""
    return NOT_ENOUGH if NOT_ENOUGH in (trend, paper) else trend


def _same(text: str) -> str:
    return text


def terminal_line(row: dict[str, Any], *, bold: Callable[[str], str] = _same,
                  plain: Callable[[str], str] = _same) -> str:
    """`verdict TASK / MODEL (MECH): VERDICT (detail)`; `bold` / `plain` let a terminal add (escaped) markup."""
    head = plain(f"verdict {row['task']} / {row['model']} ({row['mechanism']}): ")
    verdict, why = str(row["verdict"]), str(row["verdict_detail"])
    if verdict == NOT_ENOUGH and why.startswith(NOT_ENOUGH):  # "not enough data: 1 scored sample at budget 0 ..."
        return head + bold(verdict) + plain(why[len(NOT_ENOUGH):])
    return f"{head}{bold(verdict)} {plain('(' + why + ')')}"
