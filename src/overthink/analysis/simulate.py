"""Simulated sweeps with a known truth, for calibrating the trend tests, for the power planner and for benchmarks.

`sweep_frame` turns arrays of outcomes into a samples frame with the columns a real run's samples have (status,
requested budget, reasoning_tokens, score, item_id, replicate, task, model, mechanism, provider, run), so a test
that reads any of them - the requested budget, the status of a truncated or unparsed sample - sees what it would
see on a real run. Non-`ok` samples carry no score, as in the store.

`simulate_sweep`: items differ in difficulty (a per-item base probability), every item is asked at every budget with
replicates, and the measured reasoning length varies around the budget. The true drop is additive in probability
and linear in log2(1 + tokens) between the shortest and longest budget, so the true change between the extremes is
`drop`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BUDGETS = (0, 256, 1024, 4096)


def sweep_frame(correct: np.ndarray, tokens: np.ndarray, budgets: list | tuple, *, status: np.ndarray | None = None,
                task: str = "sim", model: str = "sim", mechanism: str = "forced") -> pd.DataFrame:
    """A samples frame from (items x budgets x replicates) arrays: correctness (bool), reasoning tokens, statuses.

    `status` defaults to "ok" everywhere; a non-ok sample gets no score (NaN) and an "error" no token count, as a
    run's store has them."""
    n_items, n_b, reps = correct.shape
    status = np.full(correct.shape, "ok", dtype=object) if status is None else status
    item, b_idx, rep = np.meshgrid(np.arange(n_items), np.arange(n_b), np.arange(reps), indexing="ij")
    st = status.ravel()
    score = np.where(st == "ok", correct.ravel().astype(float), np.nan)
    tok = np.where(st == "error", np.nan, tokens.ravel().astype(float))
    return pd.DataFrame({
        "run": "sim", "task": task, "model": model, "mechanism": mechanism, "provider": "sim",
        "item_id": item.ravel().astype(str), "budget": _budget_array(budgets)[b_idx.ravel()],
        "replicate": rep.ravel(), "status": st, "reasoning_tokens": tok, "score": score,
    })


def _budget_array(budgets: list | tuple) -> np.ndarray:
    """Numeric budgets as ints (as a numeric run loads them); effort levels ("low", ...) as Python objects."""
    if all(isinstance(b, (int, np.integer)) for b in budgets):
        return np.asarray(budgets, dtype=np.int64)
    return np.asarray(budgets, dtype=object)


def simulate_sweep(rng: np.random.Generator, *, n_items: int = 40, replicates: int = 3,
                   budgets: tuple[int, ...] = BUDGETS, base: tuple[float, float] = (0.6, 1.0), drop: float = 0.0,
                   task: str = "sim", model: str = "sim") -> pd.DataFrame:
    """One simulated run as a samples frame (columns as the analysis expects)."""
    b = np.asarray(budgets, float)
    n_b = len(b)
    # Measured tokens: a budget of 0 means no thinking; otherwise 60-100 % of the budget.
    shape = (n_items, n_b, replicates)
    tokens = np.where(b[None, :, None] > 0, b[None, :, None] * rng.uniform(0.6, 1.0, shape), 0.0).round()
    x = np.log2(1 + tokens)
    x_lo, x_hi = np.log2(1 + b.min()), np.log2(1 + b.max() * 0.8)
    frac = np.clip((x - x_lo) / max(x_hi - x_lo, 1e-9), 0, 1)
    p_item = rng.uniform(*base, n_items)[:, None, None]
    p = np.clip(p_item - drop * frac, 0, 1)
    correct = rng.random(shape) < p
    return sweep_frame(correct, tokens, [int(v) for v in budgets], task=task, model=model)
