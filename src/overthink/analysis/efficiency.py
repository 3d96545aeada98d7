"""Efficiency metrics the overthinking literature reports, computed from stored runs (docs/report.md, "Efficiency").

Each metric is one function with the paper's formula; `efficiency_table` applies them per task x model x
mechanism x budget with 95 % item-bootstrap CIs (curves.item_bootstrap: items are resampled with all their samples,
so replicates and cuts of one item never count as independent).

- OAA_t (OptimalThinkingBench, Aggarwal et al. 2025): mean over samples of correct x 1(thinking tokens < t).
- AUC_OAA: (1 / t_max) x the integral of OAA_t over t in [0, t_max]; per sample that integral is
  max(0, t_max - tokens), so AUC_OAA = mean of correct x max(0, 1 - tokens / t_max). t_max = 1,000 thinking tokens,
  the paper's (its released scorer computes max(0, 1000 - tokens) / 1000 x accuracy); ours defaults to the same.
- Overthinking Score (LLMThinkBench, Srivastava et al. 2025): harmonic mean of accuracy A and token efficiency
  E = 1 - (T - T_min) / (T_max - T_min), min-max over the mean tokens T of the configurations compared (E = 1 when
  all are equal). Here the configurations compared are every model x mechanism x budget of one task in the analysis.
- Outcome efficiency (Chen et al. 2024, "Do NOT Think That Much for 2+3=?"): (1 / N) x sum over trajectories of
  correct_i x (tokens to the first correct cut) / (tokens of the whole trace); the wasted token share is
  sum (T_i - S_i) / sum T_i over trajectories that end correct, S_i the first cut from which every later cut is
  correct. Only shared-trace trajectories (every cut from one trace) have these; other runs get None.
- Cost per correct answer (USD; stored costs, else the price table, labelled) and accuracy per 1,000 thinking tokens.

Scoring: a truncated or unparsed answer counts as wrong (the paper's convention: a non-answer costs as much as a
wrong one); error samples are left out and counted. A sample without a thinking-token count never counts as under a
threshold. Only 0/1-scored accuracy tasks have these metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core import NATURAL, budget_sort_key
from .cost import basis_words, sample_costs, unpriced_words
from .curves import N_BOOT, item_bootstrap, item_bootstrap_many
from .trajectories import trajectory_outcomes

T_MAX = 1000  # OptimalThinkingBench's t_max (thinking tokens); ours by default
OAA_THRESHOLDS = (100, 250, 500, 1000)  # t for OAA_t in tables and `summary --json`
CURVE = ["task", "model", "mechanism"]
CELL = [*CURVE, "budget"]
DONE = ("ok", "truncated", "unparsed")


# -- the formulas ------------------------------------------------------------------------------------------------
def oaa(correct: Sequence[float], tokens: Sequence[float], t: float) -> float:
    """OAA_t = (1/n) sum_i correct_i x 1(tokens_i < t) (Aggarwal et al. 2025)."""
    c, x = np.asarray(correct, float), np.asarray(tokens, float)
    if not len(c):
        return math.nan
    with np.errstate(invalid="ignore"):
        return float(np.mean(c * (x < t)))


def auc_oaa(correct: Sequence[float], tokens: Sequence[float], t_max: float = T_MAX) -> float:
    """AUC_OAA = (1/t_max) integral_0^t_max OAA_t dt = (1/n) sum_i correct_i x max(0, 1 - tokens_i / t_max)."""
    c, x = np.asarray(correct, float), np.asarray(tokens, float)
    if not len(c):
        return math.nan
    share = np.clip(1.0 - np.nan_to_num(x, nan=np.inf) / t_max, 0.0, 1.0)
    return float(np.mean(c * share))


def token_efficiency(mean_tokens: float, compared: Sequence[float]) -> float:
    """E = 1 - (T - T_min) / (T_max - T_min) over the mean tokens of the configurations compared (LLMThinkBench);
    1 when they are all equal, clipped to [0, 1]."""
    values = [v for v in compared if not math.isnan(v)]
    if math.isnan(mean_tokens) or not values:
        return math.nan
    lo, hi = min(values), max(values)
    if hi == lo:
        return 1.0
    return float(min(1.0, max(0.0, 1.0 - (mean_tokens - lo) / (hi - lo))))


def overthinking_score(accuracy: float, efficiency: float) -> float:
    """2 A E / (A + E), the harmonic mean of accuracy and token efficiency (Srivastava et al. 2025); 0 when both are."""
    if math.isnan(accuracy) or math.isnan(efficiency):
        return math.nan
    return 0.0 if accuracy + efficiency == 0 else 2 * accuracy * efficiency / (accuracy + efficiency)


def outcome_efficiency(final_correct: Sequence[bool], first_correct_tokens: Sequence[float],
                       total_tokens: Sequence[float]) -> float:
    """xi_O = (1/N) sum_i sigma_i x T^_i / T_i (Chen et al. 2024): sigma_i the final answer correct, T^_i the
    thinking tokens at the first correct cut, T_i those of the whole trace."""
    s, first, total = (np.asarray(v, float) for v in (final_correct, first_correct_tokens, total_tokens))
    if not len(s):
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(s > 0, first / total, 0.0)
    return float(np.mean(ratio))


def wasted_token_share(stayed_correct_tokens: Sequence[float], total_tokens: Sequence[float]) -> float:
    """sum_i (T_i - S_i) / sum_i T_i over trajectories that end correct: the share of thinking spent after the
    answer first became correct and stayed so (S_i the first such cut)."""
    stay, total = np.asarray(stayed_correct_tokens, float), np.asarray(total_tokens, float)
    if not len(total) or total.sum() <= 0:
        return math.nan
    return float((total - stay).sum() / total.sum())


def cost_per_correct(costs: Sequence[float], correct: Sequence[float]) -> float:
    """USD spent on all samples / number of correct answers (inf-free: None-ish NaN when nothing was correct)."""
    c = np.asarray(correct, float)
    return math.nan if c.sum() == 0 else float(np.sum(np.asarray(costs, float)) / c.sum())


def accuracy_per_1k_tokens(correct: Sequence[float], tokens: Sequence[float]) -> float:
    """Accuracy / (mean thinking tokens / 1000) = 1000 x sum correct / sum tokens; NaN without thinking."""
    c, x = np.asarray(correct, float), np.asarray(tokens, float)
    keep = ~np.isnan(x)
    total = x[keep].sum()
    return math.nan if total <= 0 else float(1000 * c[keep].sum() / total)


# -- per-sample frame ---------------------------------------------------------------------------------------------
def scored_frame(samples: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """Controlled-budget samples of accuracy tasks that finished (not errors), with `correct` (not-answered = 0),
    `tokens` (NaN when not counted) and `cost` / `cost_source` per sample."""
    if samples.empty:
        return pd.DataFrame()
    keep = samples["status"].isin(DONE) & (samples["budget"].astype(str) != NATURAL)
    keep &= samples["task"].isin([t for t in samples["task"].unique() if metrics.get(t, "accuracy") == "accuracy"])
    df = samples[keep].copy()
    if df.empty:
        return df
    df["correct"] = ((df["status"] == "ok") & (pd.to_numeric(df["score"], errors="coerce") >= 1)).astype(float)
    df["tokens"] = pd.to_numeric(df["reasoning_tokens"], errors="coerce")
    df["cost"], df["cost_source"] = sample_costs(df)
    return df


# -- tables -------------------------------------------------------------------------------------------------------
def _ci(per_item: pd.DataFrame, num: str, den: str, n_boot: int, scale: float = 1.0) -> tuple[float, float, float]:
    est, lo, hi = item_bootstrap(per_item[num].to_numpy(float), per_item[den].to_numpy(float), n_boot=n_boot)
    return est * scale, lo * scale, hi * scale


def cell_metrics(g: pd.DataFrame, *, t_max: float = T_MAX, thresholds: Sequence[float] = OAA_THRESHOLDS,
                 n_boot: int = N_BOOT) -> dict:
    """The metrics of one cell (one budget of one curve) from its scored_frame rows, with item-bootstrap CIs."""
    x = g["tokens"].to_numpy(float)
    c = g["correct"].to_numpy(float)
    codes, uniq = pd.factorize(g["item_id"].to_numpy(), sort=True)
    # per-item sums of each numerator; the CIs resample items (all of them in one pass over the weights)
    cols = {"c": c, "n": np.ones(len(c)), "auc": c * np.clip(1 - np.nan_to_num(x, nan=np.inf) / t_max, 0, 1),
            "tok": np.nan_to_num(x, nan=0.0), "cost": g["cost"].to_numpy(float)}
    with np.errstate(invalid="ignore"):
        for t in thresholds:
            cols[f"oaa_{t}"] = c * (x < t)
    names = list(cols)
    items = np.column_stack([np.bincount(codes, weights=cols[k], minlength=len(uniq)) for k in names])
    col = {k: items[:, i] for i, k in enumerate(names)}
    ratios = [("accuracy", "c", "n", 1.0)] + [(f"oaa_{t}", f"oaa_{t}", "n", 1.0) for t in thresholds]
    ratios.append(("auc_oaa", "auc", "n", 1.0))
    has_tokens = bool(np.nansum(x) > 0)
    if has_tokens:
        ratios.append(("accuracy_per_1k", "c", "tok", 1000.0))
    priced = not g["cost"].isna().any()
    if priced and c.sum() > 0:
        ratios.append(("cost_per_correct_usd", "cost", "c", 1.0))
    cis = item_bootstrap_many(np.column_stack([col[num] for _, num, _, _ in ratios]),
                              np.column_stack([col[den] for _, _, den, _ in ratios]), n_boot=n_boot)
    ci = {name: tuple(float(v) * scale for v in cis[j]) for j, (name, _, _, scale) in enumerate(ratios)}
    row: dict = {"n": len(g), "n_items": len(uniq), "n_not_answered": int((g["status"] != "ok").sum())}
    row["accuracy"], row["accuracy_lo"], row["accuracy_hi"] = ci["accuracy"]
    row["mean_thinking_tokens"] = float(np.nanmean(x)) if np.isfinite(x).any() else math.nan
    for t in thresholds:
        est, lo, hi = ci[f"oaa_{t}"]
        row.update({f"oaa_{t}": est, f"oaa_{t}_lo": lo, f"oaa_{t}_hi": hi})
    row["auc_oaa"], row["auc_oaa_lo"], row["auc_oaa_hi"] = ci["auc_oaa"]
    if has_tokens:
        row["accuracy_per_1k"], row["accuracy_per_1k_lo"], row["accuracy_per_1k_hi"] = ci["accuracy_per_1k"]
    else:
        row["accuracy_per_1k"] = row["accuracy_per_1k_lo"] = row["accuracy_per_1k_hi"] = math.nan
    sources = set(g["cost_source"])
    if not priced:  # said plainly (analysis/cost.py), never a 0.00
        row.update(cost_per_correct_usd=math.nan, cost_per_correct_lo=math.nan, cost_per_correct_hi=math.nan,
                   mean_cost_usd=math.nan, cost_source=unpriced_words(basis_words(list(sources))))
    else:
        row["mean_cost_usd"] = float(g["cost"].mean())
        row["cost_source"] = " + ".join(sorted(sources))
        if c.sum() > 0:
            row["cost_per_correct_usd"], row["cost_per_correct_lo"], row["cost_per_correct_hi"] = \
                ci["cost_per_correct_usd"]
        else:
            row.update(cost_per_correct_usd=math.nan, cost_per_correct_lo=math.nan, cost_per_correct_hi=math.nan)
    return row


def trajectory_waste(traj: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Per curve (task, model, mechanism) of a shared-trace sweep: outcome efficiency and the wasted token share,
    with item-bootstrap CIs. `traj` is analysis.trajectories.trajectory_table; independent sweeps are left out."""
    if traj is None or traj.empty:
        return pd.DataFrame()
    df = trajectory_outcomes(traj)  # one row per shared-trace trajectory (vectorised: 200,000 at a million)
    if df.empty:
        return pd.DataFrame()
    rows = []
    df["eff"] = np.where(df["final"] > 0, df["first"] / df["total"], 0.0)
    df["waste"] = np.where(df["final"] > 0, df["total"] - df["stay"], 0.0)
    df["total_correct"] = np.where(df["final"] > 0, df["total"], 0.0)
    df["one"] = 1.0
    for key, g in df.groupby(CURVE, sort=False):
        items = g.groupby("item_id")[["eff", "one", "waste", "total_correct"]].sum()
        row = {**dict(zip(CURVE, key)), "n_trajectories": len(g), "n_ending_correct": int(g["final"].sum())}
        row["outcome_efficiency"], row["outcome_efficiency_lo"], row["outcome_efficiency_hi"] = _ci(
            items, "eff", "one", n_boot)
        row["wasted_token_share"], row["wasted_token_share_lo"], row["wasted_token_share_hi"] = (
            _ci(items, "waste", "total_correct", n_boot) if items["total_correct"].sum() > 0
            else (math.nan, math.nan, math.nan))
        rows.append(row)
    return pd.DataFrame(rows)


def efficiency_table(samples: pd.DataFrame, metrics: dict[str, str], *, t_max: float = T_MAX,
                     thresholds: Sequence[float] = OAA_THRESHOLDS, n_boot: int = N_BOOT,
                     scored: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per task x model x mechanism x budget: accuracy (not-answered = wrong), mean thinking tokens,
    OAA_t, AUC_OAA, token efficiency and Overthinking Score (normalised over every configuration of the task),
    accuracy per 1,000 thinking tokens and cost per correct answer, each with its CI where it is a mean over items.
    `scored`: scored_frame(samples, metrics) when the caller has it already (a copy of every sample)."""
    df = scored_frame(samples, metrics) if scored is None else scored
    if df.empty:
        return pd.DataFrame()
    rows = [{**dict(zip(CELL, key)), **cell_metrics(g, t_max=t_max, thresholds=thresholds, n_boot=n_boot)}
            for key, g in df.groupby(CELL, sort=False)]
    out = pd.DataFrame(rows)
    out["t_max"] = t_max
    effs = []
    for _, g in out.groupby("task", sort=False):
        compared = list(g["mean_thinking_tokens"])
        effs.append(g["mean_thinking_tokens"].map(lambda t, c=compared: token_efficiency(t, c)))
    out["token_efficiency"] = pd.concat(effs)
    out["overthinking_score"] = [overthinking_score(a, e) for a, e in zip(out["accuracy"], out["token_efficiency"])]
    out["_o"] = out["budget"].map(budget_sort_key)
    return out.sort_values([*CURVE, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def curve_efficiency(table: pd.DataFrame, waste: pd.DataFrame) -> pd.DataFrame:
    """One row per curve: the metrics at its largest budget (the 'think as much as allowed' configuration the papers
    score), named in `at_budget`, plus outcome efficiency / wasted token share where trajectories exist (else NaN and
    `wasted_note` says why)."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    for key, g in table.groupby(CURVE, sort=False):
        last = g.iloc[-1].to_dict()
        row = {**last, "at_budget": last["budget"]}
        hit = waste[(waste[CURVE] == pd.Series(dict(zip(CURVE, key)))).all(axis=1)] if len(waste) else waste
        if len(hit):
            row.update(hit.iloc[0].drop(CURVE).to_dict())
            row["wasted_note"] = ("" if math.isfinite(row["wasted_token_share"]) else
                                  "not measurable: no trajectory ended with a correct answer")
        else:
            row.update(outcome_efficiency=math.nan, wasted_token_share=math.nan)
            mech = key[2]
            row["wasted_note"] = ("not measurable: needs trajectories (a shared-trace forced sweep, e.g. with "
                                  f"--probe-cuts); this curve is {mech}" + (", independent cuts" if mech == "forced"
                                                                             else ""))
        rows.append(row)
    return pd.DataFrame(rows).drop(columns=["budget"])
