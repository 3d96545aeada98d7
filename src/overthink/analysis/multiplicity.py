"""Many curves, one report: Holm's step-down adjustment (family-wise error, the gate) and Benjamini-Hochberg
q-values (false discovery rate, shown beside it). Both take the p-values of the curves tested in one call."""

from __future__ import annotations

import numpy as np


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values: max over j <= i of (m - j + 1) p_(j), capped at 1, in the input order."""
    p = np.asarray(p, float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values: min over j >= i of m p_(j) / j, capped at 1, in the input order."""
    p = np.asarray(p, float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = m * p[order] / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out
