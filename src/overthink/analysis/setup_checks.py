"""Warnings about a weak setup, shown once in the terminal summary and once in the report.

- replicates that repeat themselves: at temperature 0 (greedy decoding) every replicate of an item is the same text,
  so replicates double the compute and add nothing. Flagged when a run's config sets temperature 0 with replicates,
  or when every replicate of every item x budget cell gave the same status, answer and reasoning length (reading
  every trace would not scale to big runs; equal answers and equal token counts are the tell-tale).
- fewer than MIN_ITEMS_PER_CURVE items per curve: no verdict (trends.MIN_VERDICT_ITEMS) and wide CIs.
- a budget where most samples were truncated: the score there rests on the few that fit, and the censoring is
  itself the finding.
- a not-answered share (truncated or unparsed) that differs between the budgets of a curve by more than
  NOT_ANSWERED_GAP (5 points): the primary test counts those samples as wrong (intention-to-treat), which is
  unbiased for the effect of the budget on what users get; a complete-case reading would be biased by it, so the
  verdict shows the complete-case result beside the primary one. For RMSE curves, which cannot score them, the
  verdict itself rests on complete cases and this warning is the caveat.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

MIN_ITEMS_PER_CURVE = 10
TRUNCATED_SHARE = 0.5
NOT_ANSWERED_GAP = 0.05
CURVE = ["task", "model", "mechanism"]
COLUMNS = ["kind", "task", "model", "warning"]


def _identical_replicates(samples: pd.DataFrame) -> list[dict[str, Any]]:
    if samples.empty or "replicate" not in samples or samples["replicate"].nunique() < 2:
        return []
    keys = [*CURVE, "budget", "item_id"]
    if "run" in samples:
        keys.insert(0, "run")
    cells = samples.assign(answer=samples["answer"].fillna("\0").astype(str),
                           tokens=samples["reasoning_tokens"].fillna(-1.0), budget=samples["budget"].astype(str))
    out = []
    for (task, model), g in cells.groupby(["task", "model"], sort=False):
        grouped = g.groupby(keys, sort=False)
        sizes = grouped.size()
        multi = sizes[sizes > 1].index
        if not len(multi):
            continue
        varied = grouped[["status", "answer", "tokens"]].nunique().max(axis=1).loc[multi]
        if (varied == 1).all():
            out.append(dict(kind="identical_replicates", task=task, model=model, warning=(
                f"{task} / {model}: every replicate of all {len(multi)} item x budget cells gave the same answer "
                f"and reasoning length (temperature 0 / greedy decoding repeats itself); replicates doubled the "
                f"compute for nothing - sample with a temperature above 0 or use replicates: 1")))
    return out


def _config_replicates(configs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for cfg in configs:
        reps = int(cfg.get("replicates") or 1)
        if reps > 1 and cfg.get("temperature") == 0 and not cfg.get("natural"):
            out.append(dict(kind="identical_replicates", task="", model="", warning=(
                f"replicates: {reps} at temperature 0: greedy decoding gives every replicate the same text, so "
                f"replicates multiply the compute for nothing - set a temperature above 0 or use replicates: 1")))
    return out


def _few_items(scores: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for (task, model, _mech), curve in scores.groupby(CURVE, sort=False):
        n = int(curve["n_items"].max())
        if n < MIN_ITEMS_PER_CURVE:
            out.append(dict(kind="few_items", task=task, model=model, warning=(
                f"{task} / {model}: only {n} item{'' if n == 1 else 's'} per curve (fewer than "
                f"{MIN_ITEMS_PER_CURVE}): no verdict is given and CIs are wide - "
                f"`overthink power RUN_DIR --detect 10` plans the size")))
    return out


def _truncated(scores: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in scores.itertuples(index=False):
        if r.n and r.truncated / r.n > TRUNCATED_SHARE:
            out.append(dict(kind="truncated", task=r.task, model=r.model, warning=(
                f"{r.task} / {r.model}, budget {r.budget}: {r.truncated} of {r.n} samples truncated (the output cap "
                f"was hit before an answer); the score there rests on the rest - raise answer_margin")))
    return out


def _not_answered_gap(scores: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    controlled = scores[scores["budget"].astype(str) != "natural"]
    for (task, model, mech), curve in controlled.groupby(CURVE, sort=False):
        answered = curve["n"] - curve["errors"]
        if len(curve) < 2 or (answered <= 0).any():
            continue
        share = (curve["truncated"] + curve["unparsed"]) / answered
        lo, hi = share.idxmin(), share.idxmax()
        if share[hi] - share[lo] > NOT_ANSWERED_GAP:
            metric = str(curve["metric"].iloc[0]) if "metric" in curve else "accuracy"
            how = ("the RMSE verdict leaves them out (complete cases), so read it with care" if metric == "rmse"
                   else "the verdict counts them as wrong; the complete-case result is shown beside it")
            out.append(dict(kind="not_answered_gap", task=task, model=model, warning=(
                f"{task} / {model} ({mech}): truncated or unparsed share differs between budgets by "
                f"{100 * (share[hi] - share[lo]):.0f} points ({100 * share[hi]:.0f} % at budget "
                f"{curve.at[hi, 'budget']}, {100 * share[lo]:.0f} % at budget {curve.at[lo, 'budget']}); {how}")))
    return out


def setup_warnings(samples: pd.DataFrame, scores: pd.DataFrame,
                   configs: Iterable[dict[str, Any]] = ()) -> pd.DataFrame:
    """One row per warning (kind, task, model, warning), each once; empty when the setup looks sound."""
    rows = _config_replicates(configs)
    if not rows:  # the config already explains it; the data check would say the same again
        rows += _identical_replicates(samples)
    if len(scores):
        rows += _few_items(scores) + _truncated(scores) + _not_answered_gap(scores)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.drop_duplicates("warning").reset_index(drop=True)
