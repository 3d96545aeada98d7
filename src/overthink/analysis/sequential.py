"""Anytime-valid decisions for sweeps that stop when the verdict is settled (`overthink run --until-decided`).

Each item drawn (in a seeded random order) gives one bounded number: its own least-squares change in correctness
from the shortest to the longest *requested* budget (budgets in their order, equally spaced - the paper's budgets
double - so for two or three budgets it is the longest-minus-shortest difference), with truncated and unparsed
samples counted wrong and replicates averaged. Items drawn at random are independent, so these numbers are i.i.d.
draws of a bounded variable whose mean is the cell's effect of budget.

The confidence sequence for that mean is the betting CS with the hedged capital process and the predictable
plug-in bets of Waudby-Smith & Ramdas (2023), "Estimating means of bounded random variables by betting", JRSS-B
86(1), Theorem 3 / eq. (27): with x in [0, 1], for every candidate mean m the capital
K_t(m) = 1/2 prod(1 + l+_i (x_i - m)) + 1/2 prod(1 - l-_i (x_i - m)) is a non-negative martingale when m is the
mean, so by Ville's inequality P(ever K_t(true m) >= 1/alpha) <= alpha, however often and whenever one looks.
The CS at t is {m : K_t(m) < 1/alpha}, evaluated on a grid (widened by one grid step, so the grid can only make
it conservative) and intersected over looks. A cell stops at the first look whose CS excludes 0 (inverse /
positive) or lies inside +-delta (flat); at the ceiling it is undecided, with its interval.

`decide` takes a (runs x items) array, so the sweep (one run) and the calibration simulation (thousands) use the
same code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

STATISTIC = "fitted-change-on-budget-order/v1"  # stored with a run: a resumed run refuses another statistic
METHOD = "betting CS, hedged capital, predictable plug-in (Waudby-Smith & Ramdas 2023, JRSS-B)"
FIRST_ROUND = 8  # items in the first round
GROWTH = 1.5  # each round is this much larger than the one before
GRID = 500  # candidate means of the CS (a step is 2 * bound / GRID of the change: about half a point)
BET_CAP = 0.5  # c of the truncated bets (WSR 2023 use 1/2 or 3/4)

INVERSE, POSITIVE, FLAT, UNDECIDED, OPEN = "inverse", "positive", "flat", "undecided", "open"
REASONS = {
    INVERSE: "the interval excludes 0 (below): more budget lowers correctness",
    POSITIVE: "the interval excludes 0 (above): more budget raises correctness",
    FLAT: "the interval lies inside +-delta",
    UNDECIDED: "the ceiling of items was reached before the interval settled",
    OPEN: "still running",
}


def round_ends(ceiling: int, first: int = FIRST_ROUND, growth: float = GROWTH) -> list[int]:
    """Cumulative item counts at which a cell is looked at: rounds of first, first*growth, ... items, up to the
    ceiling (the last round is cut at the ceiling)."""
    ends, size, total = [], float(first), 0
    while total < ceiling:
        total = min(ceiling, total + math.ceil(size))
        ends.append(total)
        size *= growth
    return ends


def budget_weights(n_budgets: int) -> np.ndarray:
    """Weights w with sum_j w_j y_j = the least-squares change of y from the first to the last budget, the budgets
    equally spaced (their order); for two or three budgets this is y_last - y_first."""
    if n_budgets < 2:
        raise ValueError("a sequential decision needs at least two budgets")
    x = np.arange(n_budgets, dtype=float)
    d = x - x.mean()
    return d / (d @ d) * (n_budgets - 1)


def bound(n_budgets: int) -> float:
    """The largest |statistic| an item can have (correctness in {0, 1}): the sum of the positive weights."""
    w = budget_weights(n_budgets)
    return float(w[w > 0].sum())


def item_statistic(correct: np.ndarray) -> np.ndarray:
    """Per item: the fitted change over budgets, averaged over replicates. `correct`: (..., items, budgets,
    replicates) of 0/1 with not-answered samples already 0."""
    w = budget_weights(correct.shape[-2])
    return np.einsum("...br,b->...", correct, w) / correct.shape[-1]


@dataclass
class Decisions:
    """Per run: the decision, the look (round index) and items at the stop, and the interval then (in the
    statistic's units: a change in share correct from the shortest to the longest budget)."""

    decision: np.ndarray  # str per run
    rounds: np.ndarray  # rounds run
    items: np.ndarray  # items used
    low: np.ndarray
    high: np.ndarray
    estimate: np.ndarray  # the mean of the statistic over the items used
    history: list[list[dict[str, Any]]] | None = None  # per run: every look (only when asked for)


def _bets(x: np.ndarray, alpha: float) -> np.ndarray:
    """The predictable plug-in bet sizes lambda_t (before truncation), from x_1..x_{t-1}: (runs, items)."""
    runs, n = x.shape
    t = np.arange(1, n + 1, dtype=float)
    mu = (0.5 + np.cumsum(x, axis=1)) / (t + 1)
    var = (0.25 + np.cumsum((x - mu) ** 2, axis=1)) / (t + 1)
    prev = np.concatenate([np.full((runs, 1), 0.25), var[:, :-1]], axis=1)
    return np.sqrt(2 * math.log(2 / alpha) / (prev * t * np.log1p(t)))


def decide(stats: np.ndarray, *, n_budgets: int, alpha: float = 0.05, delta: float = 0.02,
           ends: Sequence[int] | None = None, ceiling: int | None = None, grid: int = GRID,
           keep_history: bool = False) -> Decisions:
    """Run the sequential decision over `stats` (runs x items, in draw order; the item statistic, bounded by
    `bound(n_budgets)`), looking after each cumulative count in `ends` (default: the rounds up to all items).
    A run still open at `ceiling` items (default: the last end) is undecided; before it, it stays open.

    A run's items beyond its stop are never used (in the sweep they were never paid for)."""
    stats = np.atleast_2d(np.asarray(stats, float))
    runs, n = stats.shape
    ends = list(ends) if ends is not None else round_ends(n)
    if not ends or ends[-1] > n or any(b <= a for a, b in zip(ends, ends[1:])):
        raise ValueError("ends must increase and stay within the items given")
    b = bound(n_budgets)
    x = np.clip((stats / b + 1) / 2, 0.0, 1.0)  # onto [0, 1]
    m = ((np.arange(grid) + 0.5) / grid).astype(np.float32)  # candidate means; float32 halves the work
    step = 1.0 / grid
    lam = _bets(x, alpha).astype(np.float32)
    x = x.astype(np.float32)
    log_up = np.zeros((runs, grid), np.float32)  # rows: the runs still open (compacted as runs stop)
    log_down = np.zeros((runs, grid), np.float32)
    low, high = np.zeros(runs), np.ones(runs)
    decision = np.full(runs, OPEN, dtype=object)
    rounds = np.zeros(runs, int)
    items = np.zeros(runs, int)
    active = np.arange(runs)
    history: list[list[dict[str, Any]]] | None = [[] for _ in range(runs)] if keep_history else None
    cap_up, cap_down = BET_CAP / m, BET_CAP / (1 - m)
    threshold = math.log(1 / alpha)

    def hull() -> tuple[np.ndarray, np.ndarray]:
        """The CS now: the hull of the candidates not rejected (K < 1/alpha), widened by a grid step; an empty
        set (possible, rare) leaves the running interval as it is."""
        inside = np.logaddexp(log_up, log_down) - math.log(2) < threshold  # log(K+/2 + K-/2)
        any_in = inside.any(axis=1)
        lo_z = np.where(any_in, m[inside.argmax(axis=1)] - step, 0.0)
        hi_z = np.where(any_in, m[grid - 1 - inside[:, ::-1].argmax(axis=1)] + step, 1.0)
        return lo_z, hi_z

    t = 0
    for r, end in enumerate(ends):
        while t < end:
            dev = x[active, t][:, None] - m[None, :]
            la = lam[active, t][:, None]
            log_up += np.log1p(np.minimum(la, cap_up) * dev)
            log_down += np.log1p(-np.minimum(la, cap_down) * dev)
            t += 1
        # the running intersection over the looks (intersecting at every item as well gained ~1 point of power
        # in simulation for 10x the time)
        lo_z, hi_z = hull()
        low[active], high[active] = np.maximum(low[active], lo_z), np.minimum(high[active], hi_z)
        lo_d, hi_d = (2 * low[active] - 1) * b, (2 * high[active] - 1) * b
        now = np.full(len(active), OPEN, dtype=object)
        now[hi_d < 0] = INVERSE
        now[lo_d > 0] = POSITIVE
        now[(lo_d > -delta) & (hi_d < delta) & (now == OPEN)] = FLAT
        if end >= (ceiling or ends[-1]):
            now[now == OPEN] = UNDECIDED
        rounds[active] = r + 1
        items[active] = end
        if history is not None:
            for k, run in enumerate(active):
                history[run].append({"round": r + 1, "items": end, "low": round(float(lo_d[k]), 4),
                                     "high": round(float(hi_d[k]), 4),
                                     "decision": str(now[k])})
        decision[active] = now
        still = now == OPEN
        active, log_up, log_down = active[still], log_up[still], log_down[still]
        if not len(active):
            break
    used = items
    estimate = np.array([stats[i, :used[i]].mean() if used[i] else math.nan for i in range(runs)])
    return Decisions(decision, rounds, items, (2 * low - 1) * b, (2 * high - 1) * b, estimate, history)


# -- simulation with a known truth (calibration, `overthink estimate --until-decided`) ---------------------------

SPREAD = {"low": (0.4, 0.6), "high": (0.05, 0.95)}  # item difficulty: base share correct drawn uniformly here


def simulate_stats(rng: np.random.Generator, runs: int, n_items: int, n_budgets: int, replicates: int,
                   spread: tuple[float, float], effect: float = 0.0) -> np.ndarray:
    """(runs x items) item statistics of simulated sweeps: each item's base probability is uniform in `spread`,
    it falls by `effect` linearly over the budgets' order (clipped to [0, 1]), every sample independent."""
    base = rng.uniform(*spread, (runs, n_items, 1, 1))
    shift = effect * np.linspace(0, 1, n_budgets)[None, None, :, None]
    p = np.clip(base - shift, 0, 1)
    correct = (rng.random((runs, n_items, n_budgets, replicates)) < p).astype(float)
    return item_statistic(correct)


def simulate_design(*, runs: int, n_items: int, n_budgets: int, replicates: int, spread: str | tuple[float, float],
                    effect: float = 0.0, alpha: float = 0.05, delta: float = 0.02, seed: int = 0,
                    chunk: int = 250) -> dict[str, float]:
    """Share of simulated runs per decision, the mean items used and its share of the ceiling (a fixed design
    uses every item). `effect` > 0 plants an inverse truth (a drop over the budgets)."""
    rng = np.random.default_rng([seed, n_items, n_budgets, replicates, int(effect * 1e4)])
    lim = SPREAD[spread] if isinstance(spread, str) else spread
    counts: dict[str, int] = {}
    used = []
    for start in range(0, runs, chunk):
        k = min(chunk, runs - start)
        d = decide(simulate_stats(rng, k, n_items, n_budgets, replicates, lim, effect), n_budgets=n_budgets,
                   alpha=alpha, delta=delta)
        for v in d.decision:
            counts[v] = counts.get(v, 0) + 1
        used.append(d.items)
    items = np.concatenate(used)
    out = {f"share_{v}": counts.get(v, 0) / runs for v in (INVERSE, POSITIVE, FLAT, UNDECIDED)}
    out.update(runs=runs, mean_items=float(items.mean()), share_of_ceiling=float(items.mean() / n_items))
    return out


def mc_error(share: float, runs: int) -> float:
    """The Monte Carlo standard error of a simulated share."""
    return math.sqrt(max(share * (1 - share), 1e-12) / runs)


# -- reading a run's stored decisions (the sweep stores them; readers never recompute) ----------------------------

TABLE_COLUMNS = ("run", "task", "model", "mechanism", "design", "method", "alpha", "flat_margin", "decision",
                 "reason", "rounds", "items", "ceiling", "low", "high", "estimate")


def design_rows(meta: dict[str, Any] | None, run: str = "") -> list[dict[str, Any]]:
    """One row per cell of a sequential run's stored meta ("sequential"); [] for a fixed-design run."""
    if not meta:
        return []
    return [{"run": run, "task": c["task"], "model": c["model"], "mechanism": c["mechanism"], "design": "sequential",
             "method": meta.get("method"), "alpha": meta.get("alpha"), "flat_margin": meta.get("flat_margin"),
             **{k: c.get(k) for k in ("decision", "reason", "rounds", "items", "ceiling", "low", "high",
                                      "estimate")}}
            for c in meta.get("cells", [])]
