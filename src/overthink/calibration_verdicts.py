"""The calibration's verdicts from numpy arrays: what calibration.outcome reads of `table_verdicts(frame)` (the
report's verdict table), without the DataFrames around the statistics.

A simulated dataset spent three quarters of its time building small DataFrames (the score table, the verdict
table's rows, the adjusted table, the words and details) around tests that take a quarter. `lean_verdicts` runs
the same analysis functions on arrays read from the frame once:
- per curve, `trend_test` on the curve's rows as verdict_table reads them (curve_rows.Rows: the same rows in the
  same order, the same item and trace codes), without the cross-checks (Spearman, measured length), which feed no
  verdict;
- the paper's rule (`paper_rule`) on each budget's Wilson CI from the items' score sums (`item_wilson`, as
  score_table computes them);
- Holm / Benjamini-Hochberg across the curves and the adjusted verdict (`holm_calls`, as adjusted_calls).
It skips what cannot change a verdict of these simulated sweeps: the import's row checks (the frame is built in the
loaded form) and, but for the inactive design (`control=True`), the enforcement audit's judgement of the budget
control (lengths follow the budget by construction). It reads the simulated frames only: 0/1 scores (their
per-item sums are exact in any order, as pandas' compensated group sums are), no missing ids, the default metric.
tests/test_calibration.py checks that it equals table_verdicts, exactly, on datasets of every design but natural
runs (which have verdicts of their own).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .analysis import verdicts as V
from .analysis.audit import CONTROL_INACTIVE, DONE, length_trend
from .analysis.curve_rows import Rows
from .analysis.curves import item_wilson, paper_rule
from .analysis.trends import holm_calls, trend_test
from .core import NATURAL, budget_sort_key

KEYS = ("task", "model", "mechanism")
METRIC = "accuracy"  # the simulated task's (frame_tables gives a task without a metric "accuracy")
# the columns of table_verdicts(frame) that lean_verdicts gives
COLUMNS = (*KEYS, "verdict", "trend", "p", "p_adj_holm", "q_bh", "change", "shape", "complete_case_trend",
           "paper_verdict")


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes in order of first appearance and the distinct values (pd.factorize)."""
    codes, uniques = pd.factorize(values)
    return codes, np.asarray(uniques, dtype=object)


def _sorted_codes(codes: np.ndarray, values: list, key=None) -> tuple[np.ndarray, list]:
    """The codes renumbered in the sorted order of their values (by `key`), and the values so sorted."""
    order = sorted(range(len(values)), key=lambda i: values[i] if key is None else key(values[i]))
    rank = np.empty(len(values), np.int64)
    rank[order] = np.arange(len(values))
    return rank[codes], [values[i] for i in order]


def _rows(frame: pd.DataFrame, score: np.ndarray, status: np.ndarray, budget: np.ndarray,
          items: np.ndarray) -> Rows:
    """Rows(samples) of the loaded frame, from its columns: status and budget as text, items and (item,
    replicate) traces as codes of first appearance (the simulated ids and replicates are text and ints with no
    missing value, so curve_rows' reading of them gives these codes)."""
    reps, rep_values = _codes(frame["replicate"].to_numpy())
    codes, values = _codes(budget)
    texts = np.array([str(v) for v in values], dtype=object)
    return Rows(n=len(frame), status=status, score=score, y=score, items=items, item_codes=items,
                traces=pd.factorize(items * len(rep_values) + reps)[0], budget=texts[codes],
                tokens=frame["reasoning_tokens"].to_numpy(float, na_value=np.nan))


def lean_verdicts(frame: pd.DataFrame, *, control: bool = False) -> dict[str, list]:
    """COLUMNS of table_verdicts(frame) for a simulated frame of calibration.py's designs, one list per column,
    curves in the table's order (sorted by task, model, mechanism).

    `control`: judge each curve's budget control as the enforcement audit does (do the measured lengths rise with
    the budget? audit.length_trend on each budget's measured lengths); a curve whose lengths do not is "not
    identifiable", leaves the family of tested curves and has no paper's rule (audit.control_columns). The
    designs whose lengths follow the budget by construction need not ask."""
    budget = frame["budget"].to_numpy(object)
    if (budget == NATURAL).any():  # natural runs have verdicts of their own (no design mixes them in)
        frame, budget = frame[budget != NATURAL], budget[budget != NATURAL]
    status = frame["status"].to_numpy(object)
    ok = status == "ok"
    score = np.where(ok, frame["correct"].to_numpy(float), np.nan)
    items, ids = _codes(frame["item_id"].to_numpy(object))
    rows = _rows(frame, score, status, budget, items)

    # curves (task, model, mechanism) and budgets, numbered in the score table's order
    curve = np.zeros(len(frame), np.int64)
    columns = []
    for key in KEYS:
        codes, values = _codes(frame[key].to_numpy(object))
        columns.append(values[codes])
        curve = curve * len(values) + codes
    _, first, curve = np.unique(curve, return_index=True, return_inverse=True)
    curve, keys = _sorted_codes(curve, [tuple(col[i] for col in columns) for i in first])
    b_codes, budgets = _sorted_codes(*_codes(budget), budget_sort_key)
    n_b, n_groups = len(budgets), len(keys) * len(budgets)
    group = curve * n_b + b_codes

    # each (curve, budget)'s Wilson CI from its items' sums over the ok rows, items in the order of their ids
    id_rank = np.empty(len(ids), np.int64)
    id_rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    scored = np.flatnonzero(ok)
    pairs, at = np.unique(group[scored] * len(ids) + id_rank[items[scored]], return_inverse=True)
    values = score[scored]
    sums = np.bincount(at, weights=np.where(np.isnan(values), 0.0, values), minlength=len(pairs))
    counts = np.bincount(at, weights=(~np.isnan(values)).astype(float), minlength=len(pairs))
    p, lo, hi, item_start = item_wilson(sums, counts, pairs // len(ids), n_groups)
    n_items_scored = np.diff(item_start)
    present = np.bincount(group, minlength=n_groups) > 0

    if control:
        measured = np.isin(status, DONE) & ~np.isnan(rows.tokens)
        by_group = np.flatnonzero(measured)[np.argsort(group[measured], kind="stable")]
        cuts = np.searchsorted(group[by_group], np.arange(n_groups + 1))
    out: dict[str, list] = {c: [] for c in (*KEYS, "paper_verdict")}
    tests, active = [], []
    by_curve = np.argsort(curve, kind="stable")
    starts = np.searchsorted(curve[by_curve], np.arange(len(keys) + 1))
    for c, key in enumerate(keys):
        on = np.flatnonzero(present[c * n_b:(c + 1) * n_b])  # the curve's budgets
        g = c * n_b + on  # its score rows, by budget
        paper, _delta = paper_rule(p[g], lo[g], hi[g], n_items_scored[g].tolist(), METRIC)
        if control:
            lengths = [rows.tokens[by_group[cuts[i]:cuts[i + 1]]] for i in g]
            active.append(length_trend([budgets[b] for b in on], lengths)["rises"] is not False)
            paper = paper if active[-1] else CONTROL_INACTIVE
        for name, value in zip(KEYS, key):
            out[name].append(value)
        out["paper_verdict"].append(paper)
        tests.append(trend_test(rows.take(by_curve[starts[c]:starts[c + 1]]), METRIC, spearman=False,
                                basis="budget", seed=0))
    table = {c: [t[c] for t in tests] for c in ("trend", "change", "change_low90", "change_high90", "margin",
                                                   "shape", "complete_case_trend")}
    table.update(p=np.array([t["p"] for t in tests], float), shape_p=np.array([t["shape_p"] for t in tests], float),
                 verdict=[t if on else V.NOT_IDENTIFIABLE for t, on in zip(table["trend"], active)] if control
                 else table["trend"],
                 metric=[METRIC] * len(keys))
    verdicts, adj, q, _shape_adj, _count = holm_calls(table)
    out.update(verdict=verdicts, trend=table["trend"], p=table["p"].tolist(), p_adj_holm=adj.tolist(),
               q_bh=q.tolist(), change=table["change"], shape=table["shape"],
               complete_case_trend=table["complete_case_trend"])
    return {c: out[c] for c in COLUMNS}
