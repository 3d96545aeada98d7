"""The one verdict vocabulary: names, plain words and the sentences that terminal, HTML report and API share.

A curve's verdict is the calibrated test on requested budgets (analysis/trends.py), Holm-adjusted across the curves
of a report; the paper's rule between the extreme budgets is reported beside it in its own column. "flat" comes only
from the equivalence test; a curve with fewer than 10 items is "too few items for a verdict: N"; a curve whose
budgets did not move its lengths is "not identifiable". Natural runs (lengths not assigned) are worded as
associations ("longer answers to the same item were less often correct ..."), never as causes.
Every number goes through the formatters here, which print "-" for a missing value, never "nan".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

INVERSE, POSITIVE = "inverse", "positive"
INVERSE_SMALL, POSITIVE_SMALL = "inverse, but smaller than 2 points", "positive, but smaller than 2 points"
FLAT, NO_CLEAR = "flat", "no clear trend"  # flat: only from the equivalence test (90 % CI within +-2 points)
NO_TREND = NO_CLEAR  # the old name of "no clear trend"
RISES_FALLS, FALLS_RISES = "rises then falls", "falls then rises"
TOO_FEW, NOT_IDENTIFIABLE = "too few items", "not identifiable"
NO_LENGTH_VARIATION, NOT_ENOUGH = "no length variation", "not enough data"
LONGER_WORSE, LONGER_BETTER = "longer answers worse (association)", "longer answers better (association)"
NOISY = "noisy"  # the paper's rule only (it also says inverse / positive / flat, in its own column)
SHAPES = (RISES_FALLS, FALLS_RISES)
SHAPE_NONE, SHAPE_NA = "no bend", "-"
NO_CALL = (TOO_FEW, NOT_IDENTIFIABLE, NOT_ENOUGH, NO_LENGTH_VARIATION)  # curves that leave the tested family
ASSOCIATION = "(an association: lengths were not assigned)"

WORDS = {
    INVERSE: "a larger reasoning budget makes it worse (inverse scaling)",
    INVERSE_SMALL: "a larger reasoning budget makes it worse, but by less than 2 points",
    POSITIVE: "a larger reasoning budget makes it better",
    POSITIVE_SMALL: "a larger reasoning budget makes it better, but by less than 2 points",
    FLAT: "flat: the change across the budgets is within 2 points (equivalence test)",
    NO_CLEAR: "no clear trend: the data neither show a change nor rule out one of 2 points",
    RISES_FALLS: "the score rises, then falls, as the budget grows",
    FALLS_RISES: "the score falls, then rises, as the budget grows",
    TOO_FEW: "too few items for a verdict",
    NOT_IDENTIFIABLE: "not identifiable: the budgets did not change the reasoning length",
    NO_LENGTH_VARIATION: "reasoning length did not vary, so no trend can be measured",
    NOT_ENOUGH: "not enough data to tell",
    LONGER_WORSE: f"longer answers to the same item were less often correct {ASSOCIATION}",
    LONGER_BETTER: f"longer answers to the same item were more often correct {ASSOCIATION}",
    NOISY: "changes, but within overlapping confidence intervals",
}
# RMSE: the score is an error, so its words speak of the error
RMSE_WORDS = {
    RISES_FALLS: "the error rises, then falls, as the budget grows",
    FALLS_RISES: "the error falls, then rises, as the budget grows",
    INVERSE_SMALL: "a larger reasoning budget makes the error grow, but by less than 0.05 RMSE",
    POSITIVE_SMALL: "a larger reasoning budget makes the error shrink, but by less than 0.05 RMSE",
    FLAT: "flat: the change in error across the budgets is within 0.05 RMSE (equivalence test)",
    NO_CLEAR: "no clear trend: the data neither show a change nor rule out one of 0.05 RMSE",
    LONGER_WORSE: f"longer answers to the same item had larger errors {ASSOCIATION}",
    LONGER_BETTER: f"longer answers to the same item had smaller errors {ASSOCIATION}",
}
# Names a curve's verdict can take; the paper's rule (its own column) says inverse / positive / flat / noisy.
TREND_VERDICTS = (INVERSE, INVERSE_SMALL, POSITIVE, POSITIVE_SMALL, FLAT, NO_CLEAR, RISES_FALLS, FALLS_RISES,
                  TOO_FEW, NOT_IDENTIFIABLE, NO_LENGTH_VARIATION, NOT_ENOUGH)
NATURAL_VERDICTS = (LONGER_WORSE, LONGER_BETTER, FLAT, NO_CLEAR, TOO_FEW, NO_LENGTH_VARIATION, NOT_ENOUGH)
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


def words(verdict: str, metric: str = "accuracy") -> str:
    if metric == "rmse" and verdict in RMSE_WORDS:
        return RMSE_WORDS[verdict]
    return WORDS.get(verdict, verdict)


def natural_call(trend: str) -> str:
    """A natural run's call: lengths were not assigned, so a trend is worded as an association."""
    return {INVERSE: LONGER_WORSE, INVERSE_SMALL: LONGER_WORSE, POSITIVE: LONGER_BETTER,
            POSITIVE_SMALL: LONGER_BETTER}.get(trend, trend)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def not_enough_detail(n_scored: int, budget: Any, n_items: int, needed: int) -> str:
    """"not enough data: N scored samples at budget B" and what is missing."""
    return (f"not enough data: {_plural(int(n_scored), 'scored sample')} at budget {budget} "
            f"(from {_plural(int(n_items), 'item')}; the test needs at least {needed} items)")


def too_few_detail(n_items: int, needed: int) -> str:
    return f"too few items for a verdict: {int(n_items)} (at least {needed} are needed)"


def slope_sentence(row: dict[str, Any]) -> str:
    """The primary test's numbers in one clause, or "" when it has none."""
    metric = row.get("metric", "accuracy")
    if missing(row.get("change")) or missing(row.get("change_low")):
        return ""
    basis = ("change in squared error" if metric == "rmse" else "change") + (
        " from the smallest to the largest budget" if row.get("basis", "requested budget") == "requested budget"
        else " over the measured lengths")
    unit = (lambda v: f"{v:+.3f}") if metric == "rmse" else (lambda v: f"{100 * v:+.1f} points")
    slope = "" if missing(row.get("slope")) or metric == "rmse" else \
        f", {100 * row['slope']:+.1f} points {row.get('scale', 'per doubling')}"
    return (f"{basis} {unit(row['change'])} (95 % CI {unit(row['change_low'])} to {unit(row['change_high'])}"
            f"{slope}, {fmt_p(row['p'])}{_p_method(row)})")


def _p_method(row: dict[str, Any]) -> str:
    method = str(row.get("p_method", ""))
    return f", {method}" if method.startswith("within-trace permutation") else ""


def adjusted_clause(row: dict[str, Any]) -> str:
    """"Holm-adjusted over N curves: p = ..." when more than one curve was tested."""
    n = row.get("n_curves_tested", 0)
    if missing(n) or int(n) < 2 or missing(row.get("p_adj_holm")):
        return ""
    return (f"Holm-adjusted over {int(n)} curves: {fmt_p(row['p_adj_holm']).replace('p', 'p_adj', 1)}, "
            f"BH q = {row['q_bh']:.3f}")


def paper_clause(row: dict[str, Any]) -> str:
    paper = str(row.get("paper_verdict", NOT_ENOUGH))
    change = fmt_delta(row.get("paper_delta"), row.get("metric", "accuracy"))
    return f"paper's rule: {paper}" + ("" if change == "-" else f", {change} from the shortest to the longest budget")


def side_clauses(row: dict[str, Any]) -> list[str]:
    """Complete cases and not-answered counts: the sensitivity analysis shown beside the primary test."""
    out = []
    missed, metric = row.get("n_not_answered", 0), row.get("metric", "accuracy")
    if not missing(missed) and int(missed) > 0:
        if metric == "rmse":
            out.append(f"{int(missed)} not answered (truncated / unparsed) cannot be scored and are left out "
                       f"({fmt_score(row.get('not_answered_share'), 'accuracy')})")
        else:
            cc = str(row.get("complete_case_trend", "-"))
            change = fmt_delta(row.get("complete_case_change"), metric)
            out.append(f"{int(missed)} not answered counted wrong; complete cases only: {cc}"
                       + ("" if change == "-" else f" ({change}, {fmt_p(row.get('complete_case_p'))})"))
    return out


def detail(row: dict[str, Any]) -> str:
    """Why the verdict is what it is, in one line (a verdict_table row)."""
    verdict, metric = str(row["verdict"]), row.get("metric", "accuracy")
    if verdict == TOO_FEW:
        return f"{too_few_detail(row.get('n_clusters', 0), int(row.get('items_needed', 10)))}; {paper_clause(row)}"
    if verdict == NOT_IDENTIFIABLE:
        flags = str(row.get("control_flags", "")) or "the audit found the budget control inactive"
        return f"{WORDS[verdict]} ({flags}); no verdict from requested budgets"
    if verdict == NOT_ENOUGH:
        if row.get("reason"):
            return f"not enough data: {row['reason']}; {paper_clause(row)}"
        return not_enough_detail(row.get("min_scored", 0), row.get("min_scored_budget"),
                                 row.get("min_scored_items", 0), int(row.get("items_needed", 10)))
    if verdict == NO_LENGTH_VARIATION:
        return f"{WORDS[verdict]}; {paper_clause(row)}"
    if not missing(row.get("uniform_score")):
        return (f"every answer got the same score ({fmt_score(row['uniform_score'], metric)}) at every "
                f"budget, so no interval can be computed; {paper_clause(row)}")
    parts = [slope_sentence(row), adjusted_clause(row)]
    if verdict in SHAPES:
        parts.insert(0, f"bend test (an interior budget above both ends): {fmt_p(row.get('shape_p'))}")
    parts += side_clauses(row) + [paper_clause(row)]
    return "; ".join(part for part in parts if part)


def fail_on_hits(verdicts: Any, fail_on: str) -> Any:
    """The rows of a verdict table that `summary --fail-on` gates on: the verdict - the call after Holm's
    adjustment across the curves - is exactly `fail_on` ("inverse, but smaller than 2 points" does not fail)."""
    if verdicts is None or len(verdicts) == 0:
        return verdicts
    return verdicts[verdicts["verdict"] == fail_on]


def curve_verdict(trend: str, paper: str) -> str:
    """The curve's verdict name: the primary test's call (the paper's rule is reported beside it)."""
    return trend


def _same(text: str) -> str:
    return text


def terminal_line(row: dict[str, Any], *, bold: Callable[[str], str] = _same,
                  plain: Callable[[str], str] = _same) -> str:
    """`verdict TASK / MODEL (MECH): VERDICT (detail)`; `bold` / `plain` let a terminal add (escaped) markup."""
    head = plain(f"verdict {row['task']} / {row['model']} ({row['mechanism']}): ")
    verdict, why = str(row["verdict"]), str(row["verdict_detail"])
    if why.startswith(verdict):  # "not enough data: 1 scored sample at budget 0 ...", "too few items for a ..."
        return head + bold(verdict) + plain(why[len(verdict):])
    return f"{head}{bold(verdict)} {plain('(' + why + ')')}"
