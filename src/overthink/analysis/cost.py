"""What a run cost, per sample and summed per budget, per task and in total, with the basis of every number.

A sample's cost is the one recorded with it (the provider's own figure, or the price table's at the time it ran, or
an imported log's), else today's price table applied to its token counts. A model on the user's own hardware
(`local:`, an openai-compatible server that is not a hosted API) has no price: it is said so ("no price
(self-hosted)"), never shown as 0.00; a model no table prices is "price unknown". Sums count only priced samples
and say how many were not priced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..pricing import price_for
from ..providers.registry import info_for
from ..servers.profiles import by_host
from .audit import model_name

RECORDED = "stored"  # recorded with the sample when it ran (or in the imported log); the summary's stable word
TABLE = "price table"  # not stored: today's price table x the sample's tokens
SELF_HOSTED = "no price (self-hosted)"
UNKNOWN = "price unknown"
UNPRICED = (SELF_HOSTED, UNKNOWN)
KEYS = ("task", "model", "mechanism")


def self_hosted(provider: str, spec: str) -> bool:
    """Whether `spec` (PROVIDER:MODEL[@URL]) runs on the user's own hardware: an embedded model, or a server
    provider whose URL is not a known hosted API (DeepSeek and xAI are told by their host)."""
    info = info_for(str(provider))
    if info is None:
        return False
    if info.embedded:
        return True
    return bool(info.server) and by_host(str(spec).partition("@")[2]) is None


def sample_costs(samples: pd.DataFrame, specs: Mapping[str, str] | None = None) -> tuple[pd.Series, pd.Series]:
    """(cost in USD or NaN, basis) per sample row. `specs`: model -> the spec it ran as, for a model stored under
    a name of its own (`run --model-name`); else the model column is the spec."""
    specs = specs or {}
    index = samples.index
    stored = (pd.to_numeric(samples["cost_usd"], errors="coerce") if "cost_usd" in samples
              else pd.Series(np.nan, index))
    provider = (samples["provider"] if "provider" in samples
                else samples["model"].astype(str).str.split(":").str[0]).astype(str)
    model = samples["model_id"] if "model_id" in samples else samples["model"]
    out_tok = (pd.to_numeric(samples["output_tokens"], errors="coerce") if "output_tokens" in samples
               else pd.Series(np.nan, index))
    in_tok = pd.to_numeric(samples["input_tokens"], errors="coerce") if "input_tokens" in samples else None
    cost = pd.Series(np.nan, index, dtype=float)
    basis = pd.Series(UNKNOWN, index, dtype=object)
    for (p, m), idx in samples.groupby([provider, model.astype(str)]).groups.items():
        spec = specs.get(m, m)
        here = stored[idx]
        if self_hosted(p, spec):  # a zero from a server's "*: 0.0" price row is not a price; a set one is
            priced = here.notna() & (here > 0)
            cost[idx[priced.to_numpy()]] = here[priced]
            basis[idx] = np.where(priced, RECORDED, SELF_HOSTED)
            continue
        known = here.notna().to_numpy()
        cost[idx[known]] = here[known]
        basis[idx[known]] = RECORDED
        rest = idx[~known]
        if len(rest) == 0:
            continue
        price = price_for(p, model_name(spec))
        if price is None:
            continue
        counted = out_tok[rest].notna().to_numpy()
        rest = rest[counted]
        inputs = in_tok[rest].fillna(0) if in_tok is not None else 0
        cost[rest] = (inputs * price.input + out_tok[rest] * price.output) / 1e6
        basis[rest] = TABLE if in_tok is not None else f"{TABLE} (output tokens only)"
    return cost, basis


def basis_words(bases: Sequence[str]) -> str:
    """One label for a set of sample bases: 'stored', 'price table + stored', 'price unknown', ..."""
    found = sorted(set(bases))
    return " + ".join(found) if found else "-"


def _group(g: pd.DataFrame) -> dict[str, Any]:
    priced = g["cost"].notna()
    correct = g["correct"]
    graded = correct.notna().any()
    n_correct = int((correct == True).sum()) if graded else None  # noqa: E712 - a column of True/False/None
    total = float(g.loc[priced, "cost"].sum()) if priced.any() else None
    per_correct = None
    if total is not None and not (~priced).any() and n_correct:
        per_correct = total / n_correct
    return {"n": int(len(g)), "n_priced": int(priced.sum()), "n_correct": n_correct, "cost_usd": total,
            "cost_per_correct_usd": per_correct, "basis": basis_words(list(g["basis"]))}


def cost_tables(samples: pd.DataFrame, specs: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Cost per budget (task x model x mechanism x budget), per task (x model x mechanism), per model and in total.
    Every sample counts, errors too (a failed request may still have been billed; its recorded cost says so).
    `cost_per_correct_usd` is the cost over the correct answers, given when every sample of the group is priced."""
    if samples.empty:
        return {"budgets": [], "tasks": [], "models": [], "total": None}
    frame = samples[[c for c in (*KEYS, "budget") if c in samples]].copy()
    frame["cost"], frame["basis"] = sample_costs(samples, specs)
    frame["correct"] = samples["correct"] if "correct" in samples else None
    frame["budget"] = frame["budget"].astype(str)

    def rows(by: list[str]) -> list[dict[str, Any]]:
        return [{**dict(zip(by, key if isinstance(key, tuple) else (key,))), **_group(g)}
                for key, g in frame.groupby(by, sort=False)]

    budgets = rows([*KEYS, "budget"])
    return {"budgets": budgets, "tasks": rows(list(KEYS)), "models": rows(["model"]), "total": _group(frame)}


def fmt_cost(row: Mapping[str, Any] | None) -> str:
    """'$1.23', '$0.0042 (3 of 40 samples unpriced)', 'no price (self-hosted)' or 'price unknown'."""
    if not row:
        return "-"
    value = row.get("cost_usd")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return unpriced_words(str(row.get("basis", "")))
    text = usd(value)
    missing = int(row["n"]) - int(row["n_priced"])
    return text + (f" ({missing} of {row['n']} samples: {unpriced_words(str(row['basis']))})" if missing else "")


def unpriced_words(basis: str) -> str:
    kinds = [k for k in UNPRICED if k in basis]
    return " / ".join(kinds) if kinds else UNKNOWN


def usd(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"
