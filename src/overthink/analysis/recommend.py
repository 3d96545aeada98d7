"""A recommended budget per task x model: the accuracy / thinking-token / cost frontier and the cheapest budget that
is not worse than the best one by more than a tolerance, decided with an interval.

Rule (docs/report.md, "Recommended budget"): accuracy per budget counts a non-answer as wrong. The best budget has
the highest accuracy. A cheaper budget b qualifies when the one-sided 95 % upper bound of the item-paired difference
best - b (per item: mean over replicates at each budget; t on items - 1 degrees of freedom) is at most the
tolerance (default 2 points, the paper's practical threshold). The recommendation is the cheapest qualifying budget
(cost where every budget has one and they are not all zero, else mean thinking tokens); the best budget always
qualifies, so with too little data to show equivalence the recommendation falls back to the best budget and says
so. Picking the best budget by its point estimate favours a lucky one (winner's curse), which makes a cheaper budget
harder to accept - the rule errs towards spending more, not towards losing accuracy.

No recommendation (reason says why): fewer than MIN_ITEMS items, fewer than two budgets, a budget control the
audit found inactive (budgets did not change the reasoning length), or no budget answered anything correctly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..core import budget_sort_key
from .audit import control_active, curve_rows
from .curves import N_BOOT
from .efficiency import CURVE, T_MAX, curve_efficiency, efficiency_table, scored_frame, trajectory_waste
from .trajectories import trajectory_table
from .within import t_quantile

TOLERANCE = 0.02
# what efficiency.scored_frame (with cost.sample_costs), efficiency_table and recommend() read of the samples
SCORED_COLUMNS = frozenset({"run", "task", "model", "model_id", "provider", "mechanism", "budget", "item_id",
                            "replicate", "status", "score", "reasoning_tokens", "cost_usd", "output_tokens",
                            "input_tokens"})
MIN_ITEMS = 10  # as the curve verdicts (issue 24): fewer items and no interval means much
LEVEL = 0.95


def pareto_frontier(accuracy: list[float], cost: list[float]) -> list[bool]:
    """True where no other point has accuracy >= and cost <= with one of them strict (higher accuracy, lower cost)."""
    out = []
    for i, (a, c) in enumerate(zip(accuracy, cost)):
        dominated = any((a2 >= a and c2 <= c and (a2 > a or c2 < c))
                        for j, (a2, c2) in enumerate(zip(accuracy, cost)) if j != i)
        out.append(not dominated)
    return out


def _priced(cells: pd.DataFrame) -> bool:
    """Whether cost orders the budgets: every budget has one and they are not all zero (local models cost 0)."""
    return bool(cells["mean_cost_usd"].notna().all() and cells["mean_cost_usd"].max() > 0)


def paired_upper_bound(best: pd.Series, other: pd.Series, level: float = LEVEL) -> tuple[float, float, int]:
    """(mean difference best - other, its one-sided `level` upper bound, items) over the items both have.

    `best` and `other` are per-item accuracies (indexed by item id)."""
    both = pd.concat([best, other], axis=1, join="inner").dropna()
    n = len(both)
    if n < 2:
        return math.nan, math.nan, n
    d = (both.iloc[:, 0] - both.iloc[:, 1]).to_numpy(float)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    return mean, mean + t_quantile(level, n - 1) * sd / math.sqrt(n), n


def recommend(curve: pd.DataFrame, cells: pd.DataFrame, *, tolerance: float = TOLERANCE,
              active: bool = True, min_items: int = MIN_ITEMS) -> dict[str, Any]:
    """The recommendation for one curve. `curve` holds its efficiency.scored_frame rows (item_id, budget and
    correct are read), `cells` its efficiency_table rows (ordered by budget)."""
    out: dict[str, Any] = {"recommended_budget": None, "best_budget": None, "reason": "", "tolerance": tolerance,
                           "saving_tokens_share": math.nan, "saving_cost_share": math.nan, "checked": ""}
    n_items = int(curve["item_id"].nunique())
    if len(cells) < 2:
        out["reason"] = "one budget: nothing to choose between"
        return out
    if n_items < min_items:
        out["reason"] = f"too few items for a recommendation: {n_items} (needs at least {min_items})"
        return out
    if not active:
        out["reason"] = ("no recommendation: the budgets did not change the reasoning length (audit: control "
                         "inactive), so they are not different settings")
        return out
    if cells["accuracy"].max() <= 0:
        out["reason"] = "no budget answered any item correctly: nothing to recommend"
        return out
    use_cost = _priced(cells)
    price = cells["mean_cost_usd"] if use_cost else cells["mean_thinking_tokens"].fillna(0)
    per_item = curve.groupby(["budget", "item_id"])["correct"].mean()
    best_i = int(cells["accuracy"].to_numpy().argmax())
    best = cells.iloc[best_i]["budget"]
    out["best_budget"] = best
    drops: dict[Any, str] = {}
    ok = [best_i]
    for i, b in enumerate(cells["budget"]):
        if i == best_i or price.iloc[i] > price.iloc[best_i]:
            continue
        mean, upper, n = paired_upper_bound(per_item.loc[best], per_item.loc[b])
        drops[b] = f"{100 * mean:+.1f} points, upper bound {100 * upper:.1f}" if n >= 2 else "no paired items"
        if math.isfinite(upper) and upper <= tolerance:
            ok.append(i)
    checked = [f"{b}: {text}" for b, text in drops.items()]
    pick = min(ok, key=lambda i: (price.iloc[i], budget_sort_key(cells.iloc[i]["budget"])))
    rec = cells.iloc[pick]
    largest = cells.iloc[-1]
    out.update(recommended_budget=rec["budget"], checked="; ".join(checked),
               basis="mean cost" if use_cost else "mean thinking tokens")
    if largest["mean_thinking_tokens"] and largest["mean_thinking_tokens"] > 0:
        out["saving_tokens_share"] = 1 - rec["mean_thinking_tokens"] / largest["mean_thinking_tokens"]
    if use_cost:
        out["saving_cost_share"] = 1 - rec["mean_cost_usd"] / largest["mean_cost_usd"]
    tol = f"{100 * tolerance:g} points"
    if pick == best_i and checked:
        out["reason"] = (f"the best budget ({best}); no cheaper budget was shown within {tol} of it "
                         f"(one-sided 95 % upper bound of the item-paired drop: {'; '.join(checked)})")
    elif pick == best_i:
        out["reason"] = f"the best budget ({best}) is also the cheapest"
    else:
        out["reason"] = (f"cheapest budget within {tol} of the best ({best}): item-paired drop "
                         f"{drops[rec['budget']]}")
    return out


def recommendation_table(scored: pd.DataFrame, table: pd.DataFrame, audit: pd.DataFrame | None = None, *,
                         tolerance: float = TOLERANCE, min_items: int = MIN_ITEMS) -> pd.DataFrame:
    """One row per curve: the recommendation and its reason. `scored` = efficiency.scored_frame, `table` =
    efficiency.efficiency_table (whose rows gain `on_frontier` in place)."""
    if table.empty:
        return pd.DataFrame()
    table["on_frontier"] = False
    rows = []
    # each curve's scored rows by position (one grouping, not three string comparisons of every sample a curve)
    positions = scored.groupby(CURVE, sort=False).indices if len(scored) else {}
    slim = scored[[c for c in scored if c in ("item_id", "budget", "correct")]]  # what recommend() reads
    none = np.zeros(0, np.int64)
    for key, cells in table.groupby(CURVE, sort=False):
        cost = cells["mean_cost_usd"] if _priced(cells) else cells["mean_thinking_tokens"]
        table.loc[cells.index, "on_frontier"] = pareto_frontier(list(cells["accuracy"]), list(cost.fillna(0)))
        active = control_active(curve_rows(audit, dict(zip(CURVE, key)))) if audit is not None else True
        rec = recommend(slim.iloc[positions.get(key, none)], cells.reset_index(drop=True), tolerance=tolerance,
                        active=active, min_items=min_items)
        rows.append({**dict(zip(CURVE, key)), **rec})
    return pd.DataFrame(rows)


def efficiency_tables(samples: pd.DataFrame, metrics: dict[str, str], *, traj: pd.DataFrame | None = None,
                      audit: pd.DataFrame | None = None, tolerance: float = TOLERANCE, t_max: float = T_MAX,
                      n_boot: int = N_BOOT) -> dict[str, pd.DataFrame]:
    """analyze()'s `efficiency` (per budget, with `on_frontier`), `efficiency_curves` (per curve, at its largest
    budget, with outcome efficiency / wasted token share where trajectories exist) and `recommendation`."""
    # once for both tables, from only the columns they read: scored_frame copies every column it is given
    scored = scored_frame(samples[[c for c in samples if c in SCORED_COLUMNS]], metrics)
    table = efficiency_table(samples, metrics, t_max=t_max, n_boot=n_boot, scored=scored)
    if table.empty:
        return {"efficiency": table, "efficiency_curves": pd.DataFrame(), "recommendation": pd.DataFrame()}
    if traj is None:
        traj = trajectory_table(samples, metrics)
    recs = recommendation_table(scored, table, audit, tolerance=tolerance)
    curves = curve_efficiency(table, trajectory_waste(traj, n_boot=n_boot))
    return {"efficiency": table, "efficiency_curves": curves, "recommendation": recs}
