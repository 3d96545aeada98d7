"""The enforcement audit (was each requested budget honoured?) and the thinking-token ledger.

Audit, one row per cell (task x model x mechanism x budget): the requested budget, the mechanism, what enforced it
(`enforced_by`), observed reasoning tokens (median, p90, max), the share of samples over the cap and where the
token counts came from - plus flags on the curve when its control did not work:
- lengths that do not rise with the budget (median at the largest budget not above the smallest's by more than
  10 % + 8 tokens, or Spearman's rho of budget rank vs tokens <= 0): the budget does not control the length, so
  the curve's control is *inactive* and no verdict may rest on requested budgets alone;
- a hard cap exceeded beyond the tolerance (observed > B x 1.10 + 8 tokens; at budget 0: thinking not switched
  off) - users have reported exactly this (inspect_ai #2287: 2,048 requested, 3,538 spent; SGLang #25536);
- effort levels whose observed lengths overlap (each median inside the other level's 10-90 % range).

Ledger, one row per sample: billed output tokens, reasoning tokens as reported, visible answer tokens, and
whether the reasoning text is full, summarized (Claude 4+, OpenAI and Gemini summaries) or absent.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core import EFFORT_ORDER, NATURAL, budget_sort_key
from ..providers.enforcement import derive_enforced_by
from .curves import group_rows

TOLERANCE = 0.10  # a hard cap may be passed by 10 % ...
SLACK = 8  # ... plus a few tokens (closing delimiters, whitespace a server counts as thinking)
RISE = 0.10  # lengths "rise" when the largest budget's median beats the smallest's by 10 % + SLACK
CURVE = ("task", "model", "mechanism")
CELL = (*CURVE, "budget")
DONE = ("ok", "truncated", "unparsed")

# enforced_by labels (providers/enforcement.py). Each sample stores its own (SampleRecord.enforced_by, schema 3; some
# providers also put it in metadata); for samples stored before that it is inferred from today's tables and the
# audit's enforced_by says "(inferred)".
HARD = {"client_forcing", "server_field", "budget_tokens", "thinking_budget", "reasoning_max_tokens",
        "provider_budget"}
SOFT = {"effort", "prompt"}
# Where the reasoning text a provider returns is a summary of what was billed (per model glob, first match wins).
SUMMARIZED: dict[str, tuple[tuple[str, str], ...]] = {
    "anthropic": (("claude-3-7*", "full"), ("*", "summarized")),
    "anthropic-bedrock": (("*claude-3-7*", "full"), ("*", "summarized")),
    "anthropic-vertex": (("claude-3-7*", "full"), ("*", "summarized")),
    "openai": (("*", "summarized"),),
    "gemini": (("*", "summarized"),),
    "openrouter": (("anthropic/claude-3-7*", "full"), ("anthropic/*", "summarized"), ("openai/*", "summarized"),
                   ("google/*", "summarized"), ("*", "full")),
}
SOURCE_KIND = {"usage": "usage", "tokenizer": "tokenizer", "tokenize_endpoint": "tokenizer",
               "estimate": "estimate", "output_minus_answer_estimate": "estimate"}


def meta(value: Any) -> dict[str, Any]:
    """A sample's metadata, whether it arrives parsed (Store.dataframe) or as JSON text (load_runs)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def model_name(spec: str) -> str:
    """'anthropic:claude-x@http://...' -> 'claude-x' (a run label ' [run]' is dropped too)."""
    rest = str(spec).split(" [", 1)[0].split(":", 1)[-1]
    return rest.split("@", 1)[0]


def enforced_by(provider: str, mechanism: str, budget: Any, metadata: dict[str, Any], model: str = "") -> str:
    """What enforced a sample's budget: the provider's own record, else derived from provider + mechanism."""
    if metadata.get("enforced_by"):
        return str(metadata["enforced_by"])
    return derive_enforced_by(provider, mechanism, budget, model)


def cap_of(budget: Any) -> int | None:
    """The token cap a budget asks for: B for numeric budgets, 0 for effort 'none', else no cap."""
    if isinstance(budget, (int, np.integer)) and not isinstance(budget, bool):
        return int(budget)
    if isinstance(budget, str) and budget.isdigit():
        return int(budget)
    return 0 if budget == "none" else None


def allowed(cap: int, tolerance: float = TOLERANCE) -> int:
    """The most reasoning tokens a hard cap of `cap` may show before it counts as exceeded."""
    return math.floor(cap * (1 + tolerance)) + SLACK


def is_hard(enforcement: str, cap: int | None) -> bool:
    """Whether a cell's control promises a cap: hard enforcement, or switching thinking off for budget 0."""
    if cap is None:
        return False
    return enforcement in HARD if cap > 0 else enforcement not in ("prompt", "none")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson's r of the average ranks (what scipy.stats.spearmanr computes, without importing
    scipy.stats - about a second - into every run summary)."""
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry / denom) if denom > 0 else math.nan


def length_trend(budgets: Sequence[Any], lengths: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Do observed lengths rise with the budget? `lengths[i]` are the samples at `budgets[i]` (any order).

    With two or more thinking budgets, budget 0 / effort none is left out: switching thinking off is its own
    control, and an off switch that works must not pass for a budget that does."""
    pairs = sorted((budget_sort_key(b), b, np.asarray(v, float)) for b, v in zip(budgets, lengths) if len(v))
    if sum(cap_of(b) != 0 for _, b, _ in pairs) >= 2:
        pairs = [p for p in pairs if cap_of(p[1]) != 0]
    out: dict[str, Any] = {"rises": None, "monotone": None, "spearman": math.nan,
                           "medians": [(b, float(np.median(v))) for _, b, v in pairs]}
    if len(pairs) < 2:
        return out
    meds = [m for _, m in out["medians"]]
    ranks = np.concatenate([np.full(len(v), i) for i, (_, _, v) in enumerate(pairs)])
    values = np.concatenate([v for _, _, v in pairs])
    if np.ptp(values) > 0:
        out["spearman"] = spearman(ranks, values)
    margin = max(SLACK, RISE * meds[0])
    out["rises"] = bool(meds[-1] - meds[0] > margin and not out["spearman"] <= 0)
    out["monotone"] = all(b >= a - max(SLACK, RISE * a) for a, b in zip(meds, meds[1:]))
    return out


def effort_overlaps(budgets: Sequence[Any], lengths: Sequence[Sequence[float]]) -> list[tuple[str, str]]:
    """Adjacent effort levels whose lengths overlap: each median inside the other's 10-90 % range."""
    levels = sorted(((EFFORT_ORDER.index(b), b, np.asarray(v, float)) for b, v in zip(budgets, lengths)
                     if isinstance(b, str) and b in EFFORT_ORDER and len(v)))
    out = []
    for (_, lo, a), (_, hi, b) in zip(levels, levels[1:]):
        a10, a90, b10, b90 = *np.quantile(a, [0.1, 0.9]), *np.quantile(b, [0.1, 0.9])
        if a10 <= np.median(b) <= a90 and b10 <= np.median(a) <= b90:
            out.append((lo, hi))
    return out


def token_source(sources: pd.Series) -> str:
    counts = sources.astype(str).value_counts()
    kinds = counts.groupby(counts.index.map(lambda s: SOURCE_KIND.get(s, "none")), sort=False).sum()
    kinds = kinds[kinds.index != "none"] if (kinds.index != "none").any() else kinds
    return " + ".join(kinds.sort_values(ascending=False, kind="stable").index)


def enforcement_column(samples: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(enforced_by per sample, whether it was inferred), vectorised: the label stored with the sample (its column,
    else a provider's metadata record), else derived once per (provider, mechanism, budget, model) from today's
    tables - only for samples stored before the column existed. Reports must scale to millions of samples."""
    recorded = pd.Series(None, index=samples.index, dtype=object)
    if "enforced_by" in samples:
        recorded = samples["enforced_by"].astype(object).where(samples["enforced_by"].notna(), None)
    raw = samples["sample_meta"] if "sample_meta" in samples else samples.get("metadata")
    missing = recorded.isna()
    if raw is not None and missing.any() and raw[missing].notna().any():
        raw = raw[missing]
        if isinstance(raw.dropna().iloc[0], str):
            text = raw.astype("string")
            has = text.str.contains('"enforced_by"', regex=False).fillna(False).to_numpy(bool)
            found = text[has].str.extract(r'"enforced_by":\s*"([^"]+)"', expand=False).astype(object)
        else:
            found = raw.map(lambda v: meta(v).get("enforced_by")).dropna()
        recorded.loc[found.index] = found
    provider = samples["provider"] if "provider" in samples else samples["model"].str.split(":").str[0]
    model = samples["model_id"] if "model_id" in samples else samples["model"]
    # one derivation per distinct (provider, mechanism, budget, model), from integer codes of each column
    parts = [pd.factorize(c.astype(str)) for c in (provider, samples["mechanism"], samples["budget"], model)]
    combined = np.zeros(len(samples), np.int64)
    for codes, uniques in parts:
        combined = combined * max(len(uniques), 1) + codes
    codes, _ = pd.factorize(combined)
    firsts = np.unique(codes, return_index=True)[1]  # one sample per key, the budget in its own type
    (p_codes, p_uniq), (m_codes, m_uniq), (b_codes, b_uniq), (n_codes, n_uniq) = parts
    derived = np.array([derive_enforced_by(p_uniq[p_codes[i]], m_uniq[m_codes[i]], samples["budget"].iloc[i],
                                           model_name(n_uniq[n_codes[i]])) for i in firsts], dtype=object)
    fallback = pd.Series(derived[codes], index=samples.index)
    inferred = recorded.isna()
    return recorded.where(~inferred, fallback), inferred


def _cell(key: tuple, at: np.ndarray, cols: dict[str, Any], tolerance: float) -> tuple[dict[str, Any], np.ndarray]:
    """The audit row of one cell (its samples at positions `at`) and its measured token counts."""
    task, model, mechanism, budget = key
    done_at = at[cols["done"][at]]
    tokens = cols["tokens"][done_at]
    provider = str(cols["provider"].iloc[at[0]]) if cols["provider"] is not None else str(model).split(":", 1)[0]
    labels = pd.Series(cols["enforced"][at], dtype=object).value_counts()
    cap = cap_of(budget)
    hard = is_hard(labels.index[0], cap) if len(labels) else False
    inferred = " (inferred)" if cols["inferred"][at].any() else ""  # a store from before enforced_by was recorded
    source = cols["source"]
    row: dict[str, Any] = dict(
        task=task, model=model, mechanism=mechanism, budget=budget, provider=provider,
        enforced_by=" + ".join(labels.index) + inferred, hard_cap=hard, n=len(at), n_measured=len(tokens),
        median_tokens=float(np.median(tokens)) if len(tokens) else math.nan,
        p90_tokens=float(np.quantile(tokens, 0.9)) if len(tokens) else math.nan,
        max_tokens=float(tokens.max()) if len(tokens) else math.nan,
        over_cap_share=float(np.mean(tokens > cap)) if cap is not None and len(tokens) else math.nan,
        token_source=_cell_source(source, cols["source_codes"], done_at) if source is not None else "",
        flag="")
    if hard and len(tokens) and tokens.max() > allowed(cap, tolerance):
        row["flag"] = (f"exceeded: {int(tokens.max()):,} observed at {cap:,}" if cap else
                       f"thinking not switched off: {int(tokens.max()):,} reasoning tokens at budget {budget}")
    return row, tokens


def _cell_source(source: tuple[pd.Series, np.ndarray], codes: np.ndarray, done_at: np.ndarray) -> str:
    """token_source of a cell's measured samples. A cell whose samples share one source (the usual case) is that
    source's kind, as token_source says it, without a value count per cell; `codes` factorize source.astype(str)
    (value_counts leaves out the missing, code -1)."""
    present = codes[done_at]
    present = present[present >= 0]
    if not len(present):
        return ""
    if (present == present[0]).all():
        return SOURCE_KIND.get(source[1][present[0]], "none")
    return token_source(source[0].iloc[done_at])


def audit_table(samples: pd.DataFrame, *, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """One row per cell, with the curve's flags and `control_active` repeated on each of its cells."""
    if samples.empty:
        return pd.DataFrame()
    enforced, inferred = enforcement_column(samples)
    # Columns as arrays once, cells as row positions: a million samples are never split into per-cell frames.
    tokens = samples["reasoning_tokens"]
    cols: dict[str, Any] = dict(
        done=(samples["status"].isin(DONE) & tokens.notna()).to_numpy(bool), tokens=tokens.to_numpy(float),
        provider=samples["provider"] if "provider" in samples else None, enforced=enforced.to_numpy(object),
        inferred=inferred.to_numpy(bool),
        source=None)
    if "reasoning_tokens_source" in samples:
        source_codes, source_values = pd.factorize(samples["reasoning_tokens_source"].astype(str))
        cols.update(source=(samples["reasoning_tokens_source"], np.asarray(source_values, dtype=object)),
                    source_codes=source_codes)
    # each cell's row positions, as groupby(CELL, sort=False) gives them, without splitting the frame
    cells, lengths = zip(*(_cell(key, at, cols, tolerance) for key, at in group_rows(samples, list(CELL)).items()))
    table = pd.DataFrame(list(cells)).assign(_cell=np.arange(len(cells)))
    table = table.assign(_o=table["budget"].map(budget_sort_key)).sort_values(
        [*CURVE, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    table["curve_flags"], table["control_active"] = "", True
    for idx in table.groupby(list(CURVE), sort=False).groups.values():
        controlled = [i for i in idx if table.at[i, "budget"] != NATURAL]
        rows = table.loc[controlled]
        flags, active = (_curve_flags(rows, [lengths[c] for c in rows["_cell"]]) if controlled else ([], True))
        table.loc[idx, "curve_flags"] = "; ".join(flags)
        table.loc[idx, "control_active"] = active
    return table.drop(columns="_cell")


def _curve_flags(cells: pd.DataFrame, lengths: list[np.ndarray]) -> tuple[list[str], bool]:
    """Flags of one curve from its controlled cells (audit rows) and each cell's measured token counts."""
    budgets = list(cells["budget"])
    flags, active = [], True
    trend = length_trend(budgets, lengths)
    if trend["rises"] is False:
        active = False
        meds = ", ".join(f"{b}: {m:,.0f}" for b, m in trend["medians"])
        flags.append(f"lengths do not rise with the budget (median tokens {meds})")
    elif trend["monotone"] is False:
        flags.append("lengths rise with the budget but not monotonically")
    exceeded = cells[cells["flag"] != ""]
    if len(exceeded):
        worst = exceeded.assign(r=exceeded["max_tokens"] / exceeded["budget"].map(lambda b: max(1, cap_of(b) or 0)))
        worst = worst.sort_values("r", kind="stable").iloc[-1]
        flags.append(f"cap exceeded beyond tolerance at {len(exceeded)} of {len(cells)} budgets (worst: "
                     f"{worst['flag'].split(': ', 1)[-1]})")
    for lo, hi in effort_overlaps(budgets, lengths):
        flags.append(f"effort levels {lo} and {hi} overlap in observed length")
    return flags, active


def curve_rows(audit: pd.DataFrame, key: dict[str, Any]) -> pd.DataFrame:
    """The audit rows of one curve (key: task, model, mechanism)."""
    if audit is None or audit.empty:
        return pd.DataFrame()
    mask = np.ones(len(audit), bool)
    for col, value in key.items():
        mask &= (audit[col] == value).to_numpy()
    return audit[mask]


CONTROL_INACTIVE = "control inactive"  # the paper's rule of a curve whose budgets did not control its lengths


def control_active(cell_rows: pd.DataFrame) -> bool:
    """Whether a curve's budgets controlled its lengths. True when there is nothing to judge (no rows)."""
    return bool(cell_rows.empty or cell_rows["control_active"].all())


def control_columns(cell_rows: pd.DataFrame, paper_verdict: str) -> dict[str, Any]:
    """Columns a verdict row gains from the audit. An inactive control withdraws the paper's rule (it compares
    requested budgets); the regression already uses measured lengths, so the verdict rests on those alone."""
    active = control_active(cell_rows)
    flags = "" if cell_rows.empty else str(cell_rows["curve_flags"].iloc[0])
    out: dict[str, Any] = dict(control_active=active, control_flags=flags,
                               verdict_basis="requested budgets and measured lengths" if active else
                               "measured lengths only: the budget control was inactive")
    if not active:
        out["paper_verdict"] = CONTROL_INACTIVE
    return out


# -- ledger ---------------------------------------------------------------------------------------------------
def reasoning_text_kind(provider: str, model: str, chars: Any, tokens: Any) -> str:
    """full / summarized / absent for the reasoning text a sample stored; none when it did not reason."""
    has_text = not (chars is None or (isinstance(chars, float) and math.isnan(chars))) and chars > 0
    reasoned = tokens is not None and not (isinstance(tokens, float) and math.isnan(tokens)) and tokens > 0
    if not has_text:
        return "absent" if reasoned else "none"
    for pattern, kind in SUMMARIZED.get(provider, ()):
        if fnmatch.fnmatchcase(model, pattern):
            return kind
    return "full"


def ledger_table(samples: pd.DataFrame) -> pd.DataFrame:
    """Per sample: billed output tokens, reasoning tokens as reported, visible answer tokens, reasoning text."""
    if samples.empty:
        return pd.DataFrame()
    cols = [c for c in ("run", "task", "model", "mechanism", "budget", "item_id", "replicate", "status")
            if c in samples]
    out = samples[cols].copy()
    out["provider"] = (samples["provider"] if "provider" in samples
                       else samples["model"].str.split(":").str[0]).astype(str)
    billed = pd.to_numeric(samples["output_tokens"], errors="coerce")
    reasoning = pd.to_numeric(samples["reasoning_tokens"], errors="coerce")
    source = samples["reasoning_tokens_source"].astype(str)
    out["billed_output_tokens"], out["reasoning_tokens"], out["reasoning_tokens_source"] = billed, reasoning, source
    # Billed minus reasoning is exact when both counts are measured; otherwise estimate from the answer text.
    codes, uniques = pd.factorize(source)  # per distinct source, not per sample
    measured = np.array([SOURCE_KIND.get(s) in ("usage", "tokenizer") or s == "no_thinking" for s in uniques],
                        bool)[codes] if len(uniques) else np.zeros(len(source), bool)
    exact = measured & billed.notna().to_numpy() & reasoning.notna().to_numpy()
    nan = pd.Series(np.nan, index=samples.index)
    chars = pd.to_numeric(samples["answer_chars"], errors="coerce") if "answer_chars" in samples else nan
    out["answer_tokens"] = np.where(exact, (billed - reasoning).clip(lower=0), np.ceil(chars / 4))
    out["answer_tokens_source"] = np.where(exact, "billed minus reasoning",
                                           np.where(chars.notna(), "estimate", "none"))
    model = (samples["model_id"] if "model_id" in samples else samples["model"]).astype(str)
    # per distinct (provider, model): codes of each, combined (a MultiIndex of a million rows costs seconds)
    p_codes, providers = pd.factorize(out["provider"])
    m_codes, models = pd.factorize(model)
    codes, pairs = pd.factorize(p_codes * max(len(models), 1) + m_codes)
    text_kind = np.array([reasoning_text_kind(providers[c // len(models)], model_name(models[c % len(models)]), 1, 1)
                          for c in pairs], dtype=object)[codes]
    # Without stored text sizes (Store.dataframe) the kind stays unknown rather than guessed.
    text = pd.to_numeric(samples["reasoning_chars"], errors="coerce") if "reasoning_chars" in samples else nan
    out["reasoning_text"] = np.select([text > 0, text.notna() & (reasoning.fillna(0) > 0), text.notna()],
                                      [text_kind, "absent", "none"], "unknown")
    out["cost_usd"] = pd.to_numeric(samples["cost_usd"], errors="coerce") if "cost_usd" in samples else np.nan
    return out.reset_index(drop=True)


def ledger_summary(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per run and model: token totals, how much of the bill is reasoning, and the reasoning text kinds."""
    if ledger.empty:
        return pd.DataFrame()
    out = []
    for (run, model), g in ledger.groupby(["run", "model"], sort=False):
        kinds = g["reasoning_text"].value_counts()
        billed = g["billed_output_tokens"].sum(min_count=1)
        reasoning = g["reasoning_tokens"].sum(min_count=1)
        out.append(dict(run=run, model=model, samples=len(g), billed_output_tokens=billed,
                        reasoning_tokens=reasoning, answer_tokens=g["answer_tokens"].sum(min_count=1),
                        reasoning_share=reasoning / billed if billed and pd.notna(reasoning) else math.nan,
                        reasoning_text=", ".join(f"{k} {v}" for k, v in kinds.items()),
                        cost_usd=g["cost_usd"].sum(min_count=1)))
    return pd.DataFrame(out)
