"""Simulated sweeps with a known truth, for calibrating the trend tests and for benchmarks.

Items differ in difficulty (a per-item base probability), every item is asked at every budget with replicates,
and the measured reasoning length varies around the budget. The true drop is additive in probability and linear in
log2(1 + tokens) between the shortest and longest budget, so the true change between the extremes is `drop`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BUDGETS = (0, 256, 1024, 4096)


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
    item, budget, rep = np.meshgrid(np.arange(n_items), b.astype(int), np.arange(replicates), indexing="ij")
    return pd.DataFrame({
        "task": task, "model": model, "mechanism": "forced", "item_id": item.ravel().astype(str),
        "budget": budget.ravel(), "replicate": rep.ravel(), "status": "ok",
        "reasoning_tokens": tokens.ravel(), "score": correct.ravel().astype(float),
    })
