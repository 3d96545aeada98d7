"""A curve's samples as numpy arrays, for the trend tests (analysis/trends.py).

`Rows(samples)` reads the columns the tests use from a samples frame once - status and budget as text, score, tokens,
items and (item, replicate) traces as integer codes of their text - and `take(mask)` selects rows, so each analysis
of a curve (intention-to-treat, complete cases, measured length) is a mask rather than a filtered DataFrame: the
calibration and the power planner run the tests on many thousands of curves. `sweep_rows` builds the same arrays
straight from a simulated sweep's (items x budgets x replicates) arrays, as they would be read from
`simulate.sweep_frame` (tests/test_calls_inverse.py checks it field by field).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from .simulate import sweep_frame


def _as_text(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """column.astype(str) as (codes, texts, value codes): texts[codes] is the column as text, each distinct value
    converted once, and codes number the distinct texts densely in order of first appearance (1 and "1" are one
    text); value codes number the distinct values as pd.factorize does (a missing value: -1)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.na_value is not pd.NA:  # text already (astype(str) is a no-op)
        missing = np.flatnonzero(pd.isna(uniques))
        values = codes if not len(missing) else np.where(codes == missing[0], -1, codes)
        return codes, np.asarray(uniques, dtype=object), values
    if dtype.kind in "iu":  # one text per integer
        return codes, np.array([str(v) for v in uniques.tolist()], dtype=object), codes
    merged, texts = pd.factorize(pd.Series(uniques).astype(str).to_numpy(), use_na_sentinel=False)
    return merged[codes], np.asarray(texts, dtype=object), pd.factorize(column)[0]


class Rows:
    """A curve's samples as numpy arrays, read from the frame once: the tests below select rows with masks
    instead of filtering DataFrames (a calibration or a power plan runs thousands of curves).

    Items and (item, replicate) traces are integer codes of their text (the fits only ever group by them: the same
    groups, numbered in the same order of first appearance as the text would be)."""

    def __init__(self, samples: pd.DataFrame | None = None, **arrays: Any) -> None:
        if samples is None:
            self.__dict__.update(arrays)
            return
        self.n = len(samples)
        if "status" in samples:
            codes, texts, _ = _as_text(samples["status"])
            self.status = texts[codes]
        else:
            self.status = np.full(self.n, "", dtype=object)
        self.score = samples["score"].to_numpy(float, na_value=np.nan) if "score" in samples \
            else np.full(self.n, np.nan)
        self.y = self.score
        # items: the clusters are the ids as text; counting items (nunique), a missing id is no item (-1)
        self.items, _, self.item_codes = _as_text(samples["item_id"])
        self.traces = self.items
        if "replicate" in samples:
            reps, texts, _ = _as_text(samples["replicate"])
            self.traces = pd.factorize(self.items * len(texts) + reps)[0]
        self.budget = None
        if "budget" in samples:
            codes, texts, _ = _as_text(samples["budget"])
            self.budget = texts[codes]
        self.tokens = samples["reasoning_tokens"].to_numpy(float, na_value=np.nan) \
            if "reasoning_tokens" in samples else None

    def take(self, keep: np.ndarray, y: np.ndarray | None = None) -> Rows:
        """The rows where `keep`, with outcome `y` (given for the kept rows) or the current one."""
        fields = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items() if k != "n"}
        if y is not None:
            fields["y"] = y
        return Rows(n=int(np.count_nonzero(keep)) if keep.dtype == bool else len(keep), **fields)

    def n_items(self) -> int:
        """Distinct item ids (as DataFrame.nunique: a missing id is not counted)."""
        codes = self.item_codes[self.item_codes >= 0]
        return int(len(np.unique(codes)))

    def informative(self) -> int:
        """Items whose outcome varies (more than one distinct y)."""
        codes = self.item_codes
        valid = codes >= 0
        if not valid.any():
            return 0
        size = int(codes.max()) + 1
        low, high = np.full(size, np.inf), np.full(size, -np.inf)
        np.minimum.at(low, codes[valid], self.y[valid])
        np.maximum.at(high, codes[valid], self.y[valid])
        return int((high > low).sum())

    def mean_y(self) -> float:
        return float(self.y.sum() / len(self.y))  # Series.mean's float: a numpy (pairwise) sum over the count


def sweep_rows(correct: np.ndarray, tokens: np.ndarray, budgets: list | tuple, status: np.ndarray) -> Rows:
    """What the tests read from simulate.sweep_frame(correct, tokens, budgets, status=status), built from the
    (items x budgets x replicates) arrays without the DataFrame: the power planner simulates thousands of sweeps.
    The same rows in the same order (sweep_frame's), the same texts and the same codes;
    tests/test_calls_inverse.py checks it field by field against reading the frame."""
    n_items, n_b, reps = correct.shape
    st = np.asarray(status, dtype=object).ravel()
    texts = _budget_texts(tuple((type(b).__name__, b) for b in budgets))
    item = np.repeat(np.arange(n_items), n_b * reps)  # item-major, as sweep_frame ravels: codes of first appearance
    rep = np.tile(np.arange(reps), n_items * n_b)
    score = np.where(st == "ok", correct.ravel().astype(float), np.nan)
    return Rows(n=len(st), status=st, score=score, y=score, items=item, item_codes=item,
                 traces=pd.factorize(item * reps + rep)[0],
                 budget=texts[np.tile(np.repeat(np.arange(n_b), reps), n_items)],
                 tokens=np.where(st == "error", np.nan, tokens.ravel().astype(float)))


@functools.lru_cache(maxsize=64)
def _budget_texts(budgets: tuple[tuple[str, Any], ...]) -> np.ndarray:
    """Each budget as text, as sweep_frame's budget column gives it (a one-row sweep builds that column the same
    way); `budgets`: (type name, value) pairs, so 64 and 64.0 are told apart. Read-only."""
    values = [b for _, b in budgets]
    one = sweep_frame(np.zeros((1, len(values), 1), bool), np.zeros((1, len(values), 1)), values)
    codes, texts, _ = _as_text(one["budget"])
    texts = texts[codes]
    texts.flags.writeable = False
    return texts
