"""Simulated run pairs with a known slope difference, for calibrating `overthink compare` (tests and bench).

Each item has a difficulty a_i ~ N(mu, spread) on the logit scale and its own budget effect beta + u_i
(u_i ~ N(0, slope_sd)); the probability of a correct answer at thinking budget b > 0 is
logistic(a_i + beta x (log2 b - log2 b_min)), at budget 0 logistic(a_i + off) (thinking off is its own setting).
Run B has beta + delta. Paired designs ask the same items in both runs (same a_i and u_i: a checkpoint and its
successor on one item set); unpaired designs draw fresh items with other ids. A truncated answer (probability
`truncation` at the largest budget, less below) counts as wrong, as compare scores it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .compare import ALPHA, holm, item_slopes, slope_difference

BUDGETS = (0, 64, 128, 256, 512, 1024)


@dataclass(frozen=True)
class Design:
    n_items: int = 30
    replicates: int = 1
    budgets: tuple[int, ...] = BUDGETS
    spread: float = 1.5  # sd of item difficulty (logit)
    slope_sd: float = 0.2  # sd of item-specific budget effects (logit per doubling)
    beta: float = -0.1  # run A's budget effect (logit per doubling)
    off: float = -0.5  # thinking off vs the smallest thinking budget (logit)
    paired: bool = True
    truncation: float = 0.05


def _run(rng: np.random.Generator, a: np.ndarray, u: np.ndarray, beta: float, d: Design,
         prefix: str) -> pd.DataFrame:
    b = np.asarray(d.budgets, float)
    on = b > 0
    x = np.where(on, np.log2(np.where(on, b, 1)) - np.log2(b[on].min()), 0.0)
    logit = a[:, None] + np.where(on, (beta + u[:, None]) * x, d.off)
    p = 1 / (1 + np.exp(-logit))
    shape = (len(a), len(b), d.replicates)
    correct = rng.random(shape) < p[:, :, None]
    trunc_p = d.truncation * np.where(on, x / max(x.max(), 1e-9), 0.0)
    truncated = rng.random(shape) < trunc_p[None, :, None]
    item, budget, rep = np.meshgrid(np.arange(len(a)), b.astype(int), np.arange(d.replicates), indexing="ij")
    status = np.where(truncated, "truncated", "ok").ravel()
    score = np.where(truncated, np.nan, correct.astype(float)).ravel()
    return pd.DataFrame({"item_id": [f"{prefix}{i}" for i in item.ravel()], "budget": budget.ravel().tolist(),
                         "replicate": rep.ravel(), "status": status, "score": score})


def simulate_pair(rng: np.random.Generator, design: Design, delta: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Samples of run A (slope beta) and run B (beta + delta) under `design`."""
    def items() -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(0.5, design.spread, design.n_items), rng.normal(0, design.slope_sd, design.n_items)

    a, u = items()
    run_a = _run(rng, a, u, design.beta, design, "i")
    if not design.paired:
        a, u = items()
    run_b = _run(rng, a, u, design.beta + delta, design, "i" if design.paired else "j")
    return run_a, run_b


def calibrate(design: Design, delta: float, n_sim: int, seed: int = 0) -> dict[str, float]:
    """Share of simulated pairs called worse / better (two-sided 5 %), with the Monte Carlo standard error."""
    rng = np.random.default_rng(seed)
    worse = better = 0
    for _ in range(n_sim):
        run_a, run_b = simulate_pair(rng, design, delta)
        d = slope_difference(item_slopes(run_a)[0], item_slopes(run_b)[0])
        if np.isfinite(d.p) and d.p < ALPHA:
            worse += d.diff < 0
            better += d.diff > 0
    rate = (worse + better) / n_sim
    return {"worse": worse / n_sim, "better": better / n_sim, "any": rate,
            "mc_se": float(np.sqrt(max(rate * (1 - rate), 1e-12) / n_sim))}


def gate_false_alarms(design: Design, n_tasks: int, n_sim: int, seed: int = 0) -> float:
    """Share of simulations where `--fail-on worse` fires over n_tasks null tasks (Holm-adjusted)."""
    rng = np.random.default_rng(seed)
    fired = 0
    for _ in range(n_sim):
        diffs = []
        for _task in range(n_tasks):
            run_a, run_b = simulate_pair(rng, design, 0.0)
            diffs.append(slope_difference(item_slopes(run_a)[0], item_slopes(run_b)[0]))
        adjusted = holm([d.p for d in diffs])
        fired += any(np.isfinite(p) and p < ALPHA and d.diff < 0 for p, d in zip(adjusted, diffs))
    return fired / n_sim
