"""Comparing checkpoints: does run B lose more accuracy per doubling of the budget than run A, per task?

The statistic (docs/report.md, "Comparing runs"): per item, the least-squares slope of correctness (a truncated or
unparsed answer counts as wrong) on x = log2(requested budget) over the thinking budgets (budget 0, thinking off,
is its own setting and left out of the slope, like an indicator for it); effort levels use their rank, one step
per level. Each item is a cluster: its replicates and budgets enter only through its own slope. A run's slope is the
mean over items, in accuracy points per doubling. The difference B - A is paired over the items both runs share
(a one-sample t on the per-item differences, items - 1 degrees of freedom) and unpaired when they share fewer than
MIN_PAIRED (Welch's t over the two sets of item slopes) - the output says which. The interval uses the t reference;
the p-value behind the call is a permutation test on the same statistic (sign flips of the per-item differences
when paired, exact up to 14 items; reassigning item slopes between the runs when unpaired), exact under "no
difference". Across tasks and runs the p-values are Holm-adjusted for the `--fail-on worse` gate; "worse" is a
significantly lower (more inverse) slope.

The test regresses on what was assigned (budgets), so it is a comparison of causal effects of the budget, not of
lengths. False-positive rate and power by simulation: tests/test_compare.py and docs/report.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core import EFFORT_ORDER, NATURAL
from ..errors import UserError
from .audit import audit_table
from .efficiency import curve_efficiency, efficiency_table, trajectory_waste
from .load import load_runs
from .trajectories import trajectory_table

MIN_PAIRED = 10  # fewer shared items than this and the comparison is unpaired
MIN_ITEMS = 5  # per run: fewer item slopes and there is no interval
ALPHA = 0.05
N_PERM = 4999  # random sign flips / permutations beyond exact enumeration
DONE = ("ok", "truncated", "unparsed")


def budget_x(budgets: pd.Series) -> tuple[pd.Series, str]:
    """x per sample: log2(budget) for thinking budgets > 0, the effort rank for effort levels (NaN for budget 0 /
    effort none / natural), and the unit of a slope on it."""
    if budgets.dtype.kind in "iu":  # an integer column: each distinct budget once (math.log2, as below)
        uniq, at = np.unique(budgets.to_numpy(), return_inverse=True)
        logs = np.array([math.log2(b) if b > 0 else math.nan for b in uniq.tolist()], dtype=float)
        x = pd.Series(logs[at.ravel()], index=budgets.index, name=budgets.name)
        return x, "per doubling" if (uniq > 0).any() else "per effort level"
    numeric = budgets.map(lambda b: isinstance(b, (int, np.integer)) and not isinstance(b, bool) and b > 0)
    if numeric.any():
        return budgets.where(numeric).map(lambda b: math.log2(b) if b == b and b is not None else math.nan
                                          ).astype(float), "per doubling"
    rank = budgets.map(lambda b: float(EFFORT_ORDER.index(b)) if b in EFFORT_ORDER and b != "none" else math.nan)
    return rank.astype(float), "per effort level"


def item_slopes(samples: pd.DataFrame) -> tuple[pd.Series, str]:
    """Per item (index item_id): the slope of correctness (0/1, not-answered = 0) on budget_x, in accuracy points
    per unit of x. Items whose thinking budgets do not vary are left out."""
    done = samples[samples["status"].isin(DONE) & (samples["budget"].astype(str) != NATURAL)]
    if done.empty:
        return pd.Series(dtype=float), "per doubling"
    x, unit = budget_x(done["budget"])
    y = ((done["status"] == "ok") & (pd.to_numeric(done["score"], errors="coerce") >= 1)).astype(float)
    keep = x.notna().to_numpy()
    if not keep.any():
        return pd.Series(dtype=float), unit
    # per-item least squares with bincount (fast enough for the calibration simulations)
    codes, items = pd.factorize(done["item_id"].to_numpy()[keep])
    xv, yv = x.to_numpy(float)[keep], y.to_numpy(float)[keep]
    n = np.bincount(codes, minlength=len(items)).astype(float)
    xc = xv - (np.bincount(codes, xv, len(items)) / n)[codes]
    yc = yv - (np.bincount(codes, yv, len(items)) / n)[codes]
    sxy, sxx = np.bincount(codes, xc * yc, len(items)), np.bincount(codes, xc * xc, len(items))
    varies = sxx > 1e-12
    slopes = pd.Series(100 * sxy[varies] / sxx[varies], index=pd.Index(items[varies], name="item_id"))
    return slopes.astype(float), unit


@dataclass
class SlopeDiff:
    diff: float = math.nan
    low: float = math.nan
    high: float = math.nan
    p: float = math.nan
    df: float = math.nan
    n_a: int = 0
    n_b: int = 0
    n_paired: int = 0
    design: str = "not enough items"
    p_t: float = math.nan  # the t reference's p, beside the permutation p the call uses

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def slope_difference(a: pd.Series, b: pd.Series, *, min_paired: int = MIN_PAIRED,
                     min_items: int = MIN_ITEMS) -> SlopeDiff:
    """B - A of mean per-item slopes with a 95 % t interval: paired over shared items, else Welch."""
    from scipy import stats

    shared = a.index.intersection(b.index)
    out = SlopeDiff(n_a=len(a), n_b=len(b), n_paired=len(shared))
    if len(shared) >= min_paired:
        d = (b.loc[shared] - a.loc[shared]).to_numpy(float)
        n, mean, sd = len(d), float(d.mean()), float(d.std(ddof=1))
        out.design, out.diff, out.df = "paired", mean, float(n - 1)
        se = sd / math.sqrt(n)
    elif min(len(a), len(b)) >= min_items:
        va, vb = float(a.var(ddof=1)) / len(a), float(b.var(ddof=1)) / len(b)
        out.design, out.diff = "unpaired", float(b.mean() - a.mean())
        se = math.sqrt(va + vb)
        out.df = (va + vb) ** 2 / ((va ** 2 / (len(a) - 1) if va else 0) + (vb ** 2 / (len(b) - 1) if vb else 0)
                                   or math.inf)
    else:
        return out
    if se == 0:  # every item moved identically: no sampling variation to test against
        out.low = out.high = out.diff
        out.p = 1.0 if out.diff == 0 else 0.0
        return out
    q = float(stats.t.ppf(0.975, out.df))
    out.low, out.high = out.diff - q * se, out.diff + q * se
    out.p_t = float(2 * stats.t.sf(abs(out.diff / se), out.df))
    # The call's p-value is a permutation test, exact under "no difference": the t reference alone called 6 % of
    # null pairs at 10-30 items with one replicate (per-item slopes of 0/1 answers are coarse and skewed).
    out.p = sign_flip_p(d) if out.design == "paired" else permutation_p(a.to_numpy(float), b.to_numpy(float))
    return out


def sign_flip_p(d: np.ndarray, n_perm: int = N_PERM, seed: int = 0) -> float:
    """Two-sided p of mean(d) = 0 by flipping the signs of the per-item differences (exact enumeration up to 14
    items, else n_perm random flips): under no difference each item's B - A is as likely as A - B."""
    n = len(d)
    if n <= 14:
        signs = 1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)
    else:
        signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_perm, n))
    observed = abs(d.mean())
    hits = int((np.abs(signs @ d / n) >= observed - 1e-12).sum())
    return hits / len(signs) if n <= 14 else (1 + hits) / (1 + n_perm)


def _welch_t(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Welch's t of group 1 minus group 0 for each row of labels (rows = permutations)."""
    n1 = labels.sum(axis=1)
    n0 = labels.shape[1] - n1
    s1, s0 = labels @ x, (1 - labels) @ x
    q1, q0 = labels @ (x * x), (1 - labels) @ (x * x)
    m1, m0 = s1 / n1, s0 / n0
    v1, v0 = (q1 - n1 * m1 ** 2) / (n1 - 1), (q0 - n0 * m0 ** 2) / (n0 - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (m1 - m0) / np.sqrt(np.maximum(v1, 0) / n1 + np.maximum(v0, 0) / n0)


def permutation_p(a: np.ndarray, b: np.ndarray, n_perm: int = N_PERM, seed: int = 0) -> float:
    """Two-sided p of Welch's t (B - A) against random reassignments of item slopes to the two runs."""
    x = np.concatenate([a, b])
    observed = np.concatenate([np.zeros(len(a)), np.ones(len(b))])[None, :]
    rng = np.random.default_rng(seed)
    labels = rng.permuted(np.repeat(observed, n_perm, axis=0), axis=1)
    t_obs = float(_welch_t(x, observed)[0])
    t_perm = _welch_t(x, labels)
    hits = int((np.abs(np.nan_to_num(t_perm)) >= abs(t_obs) - 1e-12).sum())
    return (1 + hits) / (1 + n_perm)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN)."""
    p = np.asarray(pvalues, float)
    idx = [i for i in np.argsort(p) if math.isfinite(p[i])]
    m, out, running = len(idx), [math.nan] * len(p), 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


@dataclass
class Comparison:
    runs: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per task x (A, B)
    accuracy: pd.DataFrame = field(default_factory=pd.DataFrame)  # per run, task, budget
    efficiency: pd.DataFrame = field(default_factory=pd.DataFrame)  # per run, task (curve_efficiency)

    @property
    def worse(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["call"] == "worse"]


def _kinds(samples: pd.DataFrame) -> set[str]:
    controlled = samples[samples["budget"].astype(str) != NATURAL]
    return set(controlled["mechanism"].astype(str))


def verdict_line(row: dict[str, Any]) -> str:
    """One line: 'B overthinks more than A on zebra: slope difference -3.1 points per doubling [-5.2, -1.0] ...'."""
    a, b, task = row["run_a"], row["run_b"], row["task"]
    if not math.isfinite(row.get("diff", math.nan)):
        return f"{b} vs {a} on {task}: no comparison ({row['design']}: {row['n_a']} / {row['n_b']} item slopes)"
    numbers = (f"slope difference {row['diff']:+.1f} points {row['unit']} [{row['low']:+.1f}, {row['high']:+.1f}], "
               f"{row['design']} over {row['n_paired'] if row['design'] == 'paired' else row['n_a'] + row['n_b']} "
               f"items, Holm p = {row['p_holm']:.3g}")
    if row["call"] == "worse":
        head = f"{b} overthinks more than {a} on {task}"
    elif row["call"] == "better":
        head = f"{b} overthinks less than {a} on {task}"
    else:
        head = f"no significant difference between {b} and {a} on {task}"
    return f"{head}: {numbers}"


def compare_runs(run_dirs: Sequence[str | Path], *, task: str | None = None, allow_mixed: bool = False,
                 n_boot: int = 1000) -> Comparison:
    """Compare every run after the first with the first (A), per task both hold."""
    if len(run_dirs) < 2:
        raise UserError("compare needs at least two run directories: RUN_A RUN_B [RUN_C ...]")
    data = load_runs(run_dirs)
    s = data.samples
    if s.empty:
        raise UserError("the runs hold no samples")
    labels = list(data.runs)
    kinds = {r: _kinds(s[s["run"] == r]) for r in labels}
    if not allow_mixed and len({frozenset(k) for k in kinds.values()}) > 1:
        seen = "; ".join(f"{r}: {', '.join(sorted(k)) or 'none'}" for r, k in kinds.items())
        raise UserError(f"the runs' budget controls differ in kind ({seen}), so their budget axes mean different "
                        f"things; pass --allow-mixed to compare anyway")
    tasks = sorted(set.intersection(*(set(s.loc[s["run"] == r, "task"]) for r in labels)))
    if task is not None:
        if task not in tasks:
            raise UserError(f"--task {task}: not in every run (shared tasks: {', '.join(tasks) or 'none'})")
        tasks = [task]
    if not tasks:
        raise UserError("the runs share no task")
    metrics = data.metrics()
    out = Comparison(runs=labels)
    for t in tasks:
        for r in labels:
            curves = s[(s["run"] == r) & (s["task"] == t) & (s["budget"].astype(str) != NATURAL)]
            n_curves = curves.groupby(["model_id", "mechanism"]).ngroups
            if n_curves > 1:
                raise UserError(f"{r} holds {n_curves} models or mechanisms for {t}; compare takes runs of one model "
                                f"each (split the run, or compare with `overthink report`)")
        if metrics.get(t, "accuracy") != "accuracy":
            continue
        slopes = {}
        for r in labels:
            slopes[r] = item_slopes(s[(s["run"] == r) & (s["task"] == t)])
        base = labels[0]
        for other in labels[1:]:
            (sa, unit), (sb, _) = slopes[base], slopes[other]
            d = slope_difference(sa, sb)
            out.rows.append({"task": t, "run_a": base, "run_b": other, "unit": unit,
                             "slope_a": float(sa.mean()) if len(sa) else math.nan,
                             "slope_b": float(sb.mean()) if len(sb) else math.nan, **d.to_dict()})
    adjusted = holm([r["p"] for r in out.rows])
    for r, p in zip(out.rows, adjusted):
        r["p_holm"] = p
        significant = math.isfinite(p) and p < ALPHA
        r["call"] = ("worse" if r["diff"] < 0 else "better") if significant else "no difference"
        r["verdict"] = verdict_line(r)
    out.accuracy, out.efficiency = _side_by_side(data.samples[data.samples["task"].isin(tasks)], metrics, n_boot)
    return out


def _side_by_side(samples: pd.DataFrame, metrics: dict[str, str], n_boot: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy per budget and the curve-level efficiency metrics, one row per run (the model label carries it)."""
    table = efficiency_table(samples, metrics, n_boot=n_boot)
    if table.empty:
        return table, table
    run_of = samples.drop_duplicates(["task", "model", "mechanism"]).set_index(["task", "model", "mechanism"])["run"]
    table["run"] = [run_of.get((t, m, k)) for t, m, k in zip(table["task"], table["model"], table["mechanism"])]
    waste = trajectory_waste(trajectory_table(samples, metrics), n_boot=n_boot)
    curves = curve_efficiency(table, waste)
    audit = audit_table(samples)
    if len(curves) and len(audit):
        active = audit.groupby(["task", "model", "mechanism"])["control_active"].all()
        curves["control_active"] = [bool(active.get((t, m, k), True)) for t, m, k
                                    in zip(curves["task"], curves["model"], curves["mechanism"])]
    return table, curves
