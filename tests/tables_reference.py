"""The analysis tables as they were before they were made fast at a million samples (issue 27): verbatim copies of
the functions that changed, the reference tests/test_tables_equivalence.py compares today's tables with."""

# ruff: noqa
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from overthink.analysis import verdicts as V
from overthink.analysis.audit import (CELL, CURVE, DONE, RISE, SLACK, SOURCE_KIND, TOLERANCE,
                                      allowed, cap_of, control_active, curve_rows, is_hard, meta, model_name,
                                      reasoning_text_kind)
from overthink.analysis.curves import MIN_ITEMS, N_BOOT, boot_weights, item_bootstrap
from overthink.analysis.efficiency import CURVE as EFF_CURVE
from overthink.analysis.load import read_texts
from overthink.analysis.probes import KEYS, PROBE_COLUMNS, _MARKER_RE, distractor_cues, engages, sample_probes
from overthink.analysis.recommend import LEVEL, MIN_ITEMS as REC_MIN_ITEMS, TOLERANCE as REC_TOLERANCE, _priced, pareto_frontier
from overthink.analysis.sweetspot import METHOD, sureness_words
from overthink.analysis.trajectories import FLIP_COLUMNS, SHARE_KEYS, TRAJ, _markers_per_1k, shuffled_shares
from overthink.core import EFFORT_ORDER, NATURAL, budget_sort_key
from overthink.providers.enforcement import derive_enforced_by
from overthink.store import Store

SWEET_KEYS = ["task", "model", "mechanism"]


# ---- from src/overthink/analysis/trajectories.py ------------------------------------------------------------


def _meta(raw: object) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        out = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def trajectory_table(samples: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """One row per cut: TRAJ keys, cut (thinking tokens), budget (None for a probe cut), source, correct, answer,
    chars (thinking characters up to the cut, probes only), design (shared / independent)."""
    if samples.empty:
        return pd.DataFrame()
    numeric = samples["budget"].map(lambda b: isinstance(b, int)).astype(bool)
    ok = samples[samples["status"].isin(["ok", "unparsed"]).astype(bool) & numeric]
    if ok.empty:  # (an empty frame's .map keeps the string dtype, which `&` refuses)
        return pd.DataFrame()
    accuracy = ok["task"].map(lambda t: metrics.get(t, "accuracy") == "accuracy").astype(bool)
    ok = ok[accuracy & (ok["mechanism"] == "forced").astype(bool)]
    if ok.empty:
        return pd.DataFrame()
    # Vectorised over samples (a million in a big report); metadata is parsed only where it can hold a probe cut
    # or the shared-trace marker.
    model_id = ok["model_id"] if "model_id" in ok else ok["model"]
    raw = ok["sample_meta"] if "sample_meta" in ok else pd.Series(None, index=ok.index, dtype=object)
    interesting = raw.notna() & raw.astype(str).str.contains("shared_think_tokens|probe_cuts", regex=True)
    metas = {pos: _meta(v) for pos, v in zip(np.flatnonzero(interesting.to_numpy()), raw[interesting])}
    shared_at = np.zeros(len(ok), bool)
    for pos, meta in metas.items():
        shared_at[pos] = "shared_think_tokens" in meta
    design = np.where(shared_at, "shared", "independent").astype(object)
    score = pd.to_numeric(ok["score"], errors="coerce")
    tokens = pd.to_numeric(ok["reasoning_tokens"], errors="coerce").fillna(0)
    base = pd.DataFrame({k: ok[k].to_numpy() for k in TRAJ})
    base = base.assign(cut=tokens.astype(np.int64).to_numpy(), budget=ok["budget"].to_numpy(), source="budget",
                       correct=(score >= 1).to_numpy(), answer=ok["answer"].to_numpy(), chars=math.nan,
                       design=design, model_id=model_id.to_numpy(), _pos=np.arange(len(ok)), _sub=0)
    probes = []
    for pos, meta in metas.items():
        for sub, p in enumerate(meta.get("probe_cuts") or [], start=1):
            if p.get("truncated") or "correct" not in p:  # cut off, or never graded
                continue
            # an unparsed probe answer (correct None) counts as not correct, like an unparsed budget sample
            row = base.iloc[pos]
            probes.append({**{k: row[k] for k in TRAJ}, "cut": int(p["cut"]), "budget": None, "source": "probe",
                           "correct": bool(p["correct"]), "answer": p.get("answer"),
                           "chars": float(p.get("chars", math.nan)), "design": design[pos],
                           "model_id": row["model_id"], "_pos": pos, "_sub": sub})
    out = pd.concat([base, pd.DataFrame(probes)], ignore_index=True) if probes else base
    # the row order of one loop over samples (each sample, then its probe cuts), then a stable sort
    out = out.sort_values([*TRAJ, "cut", "source", "_pos", "_sub"], kind="stable").drop(columns=["_pos", "_sub"])
    # budget 0 never thinks, so it carries no trace marker: the design belongs to the whole trajectory
    shared = out["design"].eq("shared").groupby([out[k] for k in TRAJ], sort=False).transform("any")
    out["design"] = shared.map({True: "shared", False: "independent"})
    # a natural stop answers several budgets from one cut: keep one row per distinct cut
    return out.drop_duplicates([*TRAJ, "cut"], keep="first").reset_index(drop=True)


def _event_frame(traj: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """_events of every trajectory at once (vectorised: a big report has a million cuts): one row per trajectory in
    the order of traj.groupby(TRAJ, sort=False) with TRAJ keys, start and n_cuts (its rows are traj.iloc[order[start:
    start + n_cuts]]), n_correct, any_down, any_up, first_down / last_down (positions within the trajectory, -1
    when none), settled_at, stability_tokens, final_correct, ever_correct, design; and `order`."""
    gid = traj.groupby(TRAJ, sort=False).ngroup().to_numpy()
    keep = np.flatnonzero(gid >= 0)  # rows with a missing key belong to no trajectory (as in groupby)
    order = keep[np.argsort(gid[keep], kind="stable")]
    g = gid[order]
    n = len(order)
    if n == 0:
        return pd.DataFrame(), order
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    group_of = np.repeat(np.arange(len(starts)), sizes)
    rel = np.arange(n) - starts[group_of]
    cuts = traj["cut"].to_numpy()[order]
    correct = traj["correct"].to_numpy(bool)[order]
    answer = traj["answer"].iloc[order]
    answers = np.where(answer.isna().to_numpy(), "", answer.astype(str).str.strip().str.lower().to_numpy())
    prev = np.r_[False, correct[:-1]]
    inner = rel > 0
    down = inner & prev & ~correct
    up = inner & ~prev & correct
    ends = starts + sizes - 1
    last_pos_down = np.maximum.reduceat(np.where(down, rel, -1), starts)
    first_pos_down = np.minimum.reduceat(np.where(down, rel, n + 1), starts)
    final_answer = answers[ends][group_of]
    last_change = np.maximum.reduceat(np.where(answers != final_answer, rel, -1), starts)
    settle = starts + last_change + 1
    first = traj.iloc[order[starts]]
    out = pd.DataFrame({k: first[k].to_numpy() for k in TRAJ})
    return out.assign(start=starts, n_cuts=sizes, n_correct=np.add.reduceat(correct.astype(np.int64), starts),
                      any_down=np.logical_or.reduceat(down, starts), any_up=np.logical_or.reduceat(up, starts),
                      first_down=np.where(first_pos_down > n, -1, first_pos_down), last_down=last_pos_down,
                      settled_at=cuts[settle].astype(np.int64),
                      stability_tokens=(cuts[ends] - cuts[settle]).astype(np.int64),
                      final_correct=correct[ends], ever_correct=np.logical_or.reduceat(correct, starts),
                      design=first["design"].to_numpy()), order


def flip_shares(traj: pd.DataFrame, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Per (task, model, mechanism): share of trajectories with a correct -> wrong flip, a wrong -> correct flip,
    any flip, and one that ends wrong after being right, each with an item-bootstrap 95 % CI, the share expected
    with the cut order shuffled (`<share>_shuffled`) and the excess over it (`<share>_excess`, with CI); mean
    settled-at and stability tokens; the design."""
    if traj.empty:
        return pd.DataFrame()
    ev, _ = _event_frame(traj)
    ev = ev[ev["n_cuts"] >= 2] if len(ev) else ev
    if ev.empty:
        return pd.DataFrame()
    chance = {mk: shuffled_shares(*mk) for mk in set(zip(ev["n_cuts"].tolist(), ev["n_correct"].tolist()))}
    pairs = list(zip(ev["n_cuts"].tolist(), ev["n_correct"].tolist()))
    per = pd.DataFrame({k: ev[k].to_numpy() for k in TRAJ}).assign(
        down=ev["any_down"].to_numpy(), up=ev["any_up"].to_numpy(),
        any=(ev["any_down"] | ev["any_up"]).to_numpy(), lost=(ev["ever_correct"] & ~ev["final_correct"]).to_numpy(),
        **{f"{k}_shuffled": [chance[mk][k] for mk in pairs] for k in ("down", "up", "any", "lost")},
        settled_at=ev["settled_at"].to_numpy(), stability_tokens=ev["stability_tokens"].to_numpy(),
        n_cuts=ev["n_cuts"].to_numpy(), design=ev["design"].to_numpy())
    df = per
    rows = []
    for key, g in df.groupby(SHARE_KEYS, sort=False):
        row = {**dict(zip(SHARE_KEYS, key)), "n_trajectories": len(g), "n_items": int(g["item_id"].nunique()),
               "mean_cuts": float(g["n_cuts"].mean()), "design": "/".join(sorted(g["design"].unique()))}
        for col, name in (("down", "share_correct_to_wrong"), ("up", "share_wrong_to_correct"),
                          ("any", "share_flip"), ("lost", "share_lost")):
            g = g.assign(_excess=g[col].astype(float) - g[f"{col}_shuffled"])
            per_item = g.groupby("item_id")[[col, f"{col}_shuffled", "_excess"]].sum()
            count = g.groupby("item_id").size().reindex(per_item.index).to_numpy(float)
            est, lo, hi = item_bootstrap(per_item[col].to_numpy(float), count, n_boot=n_boot)
            ex, ex_lo, ex_hi = item_bootstrap(per_item["_excess"].to_numpy(float), count, n_boot=n_boot)
            row.update({name: est, f"{name}_lo": lo, f"{name}_hi": hi,
                        f"{name}_shuffled": float(g[f"{col}_shuffled"].mean()),
                        f"{name}_excess": ex, f"{name}_excess_lo": ex_lo, f"{name}_excess_hi": ex_hi})
        row["mean_settled_at"] = float(g["settled_at"].mean())
        row["mean_stability_tokens"] = float(g["stability_tokens"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def flip_table(traj: pd.DataFrame, items: pd.DataFrame, runs: dict[str, Path], *, limit: int = 200) -> pd.DataFrame:
    """One row per trajectory with a correct -> wrong flip: the decisive flip (the last one when the trajectory
    ends wrong, else the first), the thinking span between the two cuts and the probes on it versus the rest."""
    if traj.empty:
        return pd.DataFrame(columns=FLIP_COLUMNS)
    cue_of = cues_by_item(items)
    events, order = _event_frame(traj)
    picked = events[(events["n_cuts"] > 1) & events["any_down"]].head(limit) if len(events) else events
    rows = []
    groups = [traj.iloc[order[e.start:e.start + e.n_cuts]].reset_index(drop=True)
              for e in picked.itertuples(index=False)]
    texts = _texts(runs, groups)
    for e, g, text_at in zip(picked.itertuples(index=False), groups, texts):
        key = tuple(getattr(e, k) for k in TRAJ)
        i = int(e.last_down if not e.final_correct else e.first_down)
        ev = {"final_correct": bool(e.final_correct)}
        run, task, model, mech, item_id, rep = key
        longest = g[g["source"] == "budget"].iloc[-1]
        full = text_at.get(int(longest["cut"]), "")
        start = _chars(g.iloc[i - 1], text_at)
        end = _chars(g.iloc[i], text_at)
        if start is None or end is None or not full:
            start, end = 0, 0
        span, rest = full[start:end], full[:start] + " " + full[end:]
        cues = cue_of.get((run, task, item_id))
        rows.append({**dict(zip(TRAJ, key)), "kind": "correct_to_wrong", "from_cut": int(g["cut"].iloc[i - 1]),
                     "to_cut": int(g["cut"].iloc[i]), "answer_before": g["answer"].iloc[i - 1],
                     "answer_after": g["answer"].iloc[i], "final_correct": ev["final_correct"],
                     "span_start": start, "span_end": end, "span_text": span,
                     "span_tokens": int(g["cut"].iloc[i] - g["cut"].iloc[i - 1]),
                     "span_markers_per_1k": _markers_per_1k(span), "rest_markers_per_1k": _markers_per_1k(rest),
                     "span_engages": engages(span, cues) if cues else None,
                     "rest_engages": engages(rest, cues) if cues else None})
    out = pd.DataFrame(rows, columns=FLIP_COLUMNS[:-1])
    if out.empty:
        return pd.DataFrame(columns=FLIP_COLUMNS)
    # most telling first: lost for good, then the span's distractor engagement, markers and brevity
    rank = ((~out["final_correct"]).astype(int) * 4 + out["span_engages"].fillna(False).astype(int) * 2
            + (out["span_markers_per_1k"].fillna(0) > out["rest_markers_per_1k"].fillna(0)).astype(int))
    out["score_rank"] = rank - np.log1p(out["span_tokens"]) / 100
    return out.sort_values("score_rank", ascending=False, kind="stable").reset_index(drop=True)


def _texts(runs: dict[str, Path], groups: list[pd.DataFrame]) -> list[dict[int, str]]:
    """Reasoning text of the budget samples of each trajectory, by cut (one read per run for all of them)."""
    out: list[dict[int, str]] = [{} for _ in groups]
    budget_rows = [g[g["source"] == "budget"].assign(_g=n) for n, g in enumerate(groups)]
    if not budget_rows:
        return out
    rows = pd.concat(budget_rows, ignore_index=True)
    for run, mine in rows.groupby("run", sort=False):
        path = runs.get(run)
        if path is None:
            continue
        texts = read_texts(path, mine[["model_id", "task", "item_id", "budget", "mechanism", "replicate"]])
        for n, c, t in zip(mine["_g"], mine["cut"], texts["reasoning"]):
            out[n][int(c)] = str(t or "")
    return out


def _chars(row: pd.Series, text_at: dict[int, str]) -> int | None:
    """Characters of the longest trace up to this cut (a budget sample's own text, or a probe's stored length)."""
    if row["source"] == "probe":
        return int(row["chars"]) if row["chars"] == row["chars"] else None
    text = text_at.get(int(row["cut"]))
    return None if text is None else len(text.rstrip())


# ---- from src/overthink/analysis/audit.py ------------------------------------------------------------


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
        from scipy.stats import spearmanr  # lazy: a one-budget summary never gets here (~0.5 s import)

        out["spearman"] = float(spearmanr(ranks, values).statistic)
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
    keys = pd.DataFrame({"p": provider.astype(str).to_numpy(), "m": samples["mechanism"].astype(str).to_numpy(),
                         "b": samples["budget"].astype(str).to_numpy(), "n": model.astype(str).to_numpy()})
    codes = keys.groupby(list(keys), sort=False).ngroup().to_numpy()
    firsts = np.unique(codes, return_index=True)[1]  # one sample per key, the budget in its own type
    derived = np.array([derive_enforced_by(keys["p"][i], keys["m"][i], samples["budget"].iloc[i],
                                           model_name(keys["n"][i])) for i in firsts], dtype=object)
    fallback = pd.Series(derived[codes], index=samples.index)
    inferred = recorded.isna()
    return recorded.where(~inferred, fallback), inferred


def _cell(key: tuple, rows: pd.DataFrame, tolerance: float) -> dict[str, Any]:
    task, model, mechanism, budget = key
    done = rows[rows["status"].isin(DONE) & rows["reasoning_tokens"].notna()]
    tokens = done["reasoning_tokens"].to_numpy(float)
    provider = str(rows["provider"].iloc[0]) if "provider" in rows else str(model).split(":", 1)[0]
    labels = rows["_enforced"].value_counts()
    cap = cap_of(budget)
    hard = is_hard(labels.index[0], cap) if len(labels) else False
    inferred = " (inferred)" if rows["_inferred"].any() else ""  # a store from before enforced_by was recorded
    row: dict[str, Any] = dict(
        task=task, model=model, mechanism=mechanism, budget=budget, provider=provider,
        enforced_by=" + ".join(labels.index) + inferred, hard_cap=hard, n=len(rows), n_measured=len(tokens),
        median_tokens=float(np.median(tokens)) if len(tokens) else math.nan,
        p90_tokens=float(np.quantile(tokens, 0.9)) if len(tokens) else math.nan,
        max_tokens=float(tokens.max()) if len(tokens) else math.nan,
        over_cap_share=float(np.mean(tokens > cap)) if cap is not None and len(tokens) else math.nan,
        token_source=token_source(done["reasoning_tokens_source"]) if "reasoning_tokens_source" in done else "",
        flag="")
    if hard and len(tokens) and tokens.max() > allowed(cap, tolerance):
        row["flag"] = (f"exceeded: {int(tokens.max()):,} observed at {cap:,}" if cap else
                       f"thinking not switched off: {int(tokens.max()):,} reasoning tokens at budget {budget}")
    return row


def audit_table(samples: pd.DataFrame, *, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """One row per cell, with the curve's flags and `control_active` repeated on each of its cells."""
    if samples.empty:
        return pd.DataFrame()
    keep = [c for c in (*CELL, "status", "reasoning_tokens", "reasoning_tokens_source", "provider") if c in samples]
    enforced, inferred = enforcement_column(samples)
    samples = samples[keep].assign(_enforced=enforced, _inferred=inferred)
    cells = [_cell(key, rows, tolerance) for key, rows in samples.groupby(list(CELL), sort=False)]
    table = pd.DataFrame(cells)
    table = table.assign(_o=table["budget"].map(budget_sort_key)).sort_values(
        [*CURVE, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    table["curve_flags"], table["control_active"] = "", True
    curves = dict(iter(samples.groupby(list(CURVE), sort=False)))
    for key, idx in table.groupby(list(CURVE), sort=False).groups.items():
        controlled = [i for i in idx if table.at[i, "budget"] != NATURAL]
        flags, active = _curve_flags(table.loc[controlled], curves[key]) if controlled else ([], True)
        table.loc[idx, "curve_flags"] = "; ".join(flags)
        table.loc[idx, "control_active"] = active
    return table


def _curve_flags(cells: pd.DataFrame, curve: pd.DataFrame) -> tuple[list[str], bool]:
    done = curve[curve["status"].isin(DONE) & curve["reasoning_tokens"].notna()]
    budgets = list(cells["budget"])
    lengths = [done.loc[done["budget"] == b, "reasoning_tokens"].to_numpy(float) for b in budgets]
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
    exact = ((source.map(SOURCE_KIND).isin(["usage", "tokenizer"]) | (source == "no_thinking"))
             & billed.notna() & reasoning.notna())
    nan = pd.Series(np.nan, index=samples.index)
    chars = pd.to_numeric(samples["answer_chars"], errors="coerce") if "answer_chars" in samples else nan
    out["answer_tokens"] = np.where(exact, (billed - reasoning).clip(lower=0), np.ceil(chars / 4))
    out["answer_tokens_source"] = np.where(exact, "billed minus reasoning",
                                           np.where(chars.notna(), "estimate", "none"))
    model = (samples["model_id"] if "model_id" in samples else samples["model"]).astype(str)
    codes, uniques = pd.factorize(pd.MultiIndex.from_arrays([out["provider"], model]))
    text_kind = np.array([reasoning_text_kind(p, model_name(m), 1, 1) for p, m in uniques], dtype=object)[codes]
    # Without stored text sizes (Store.dataframe) the kind stays unknown rather than guessed.
    text = pd.to_numeric(samples["reasoning_chars"], errors="coerce") if "reasoning_chars" in samples else nan
    out["reasoning_text"] = np.select([text > 0, text.notna() & (reasoning.fillna(0) > 0), text.notna()],
                                      [text_kind, "absent", "none"], "unknown")
    out["cost_usd"] = pd.to_numeric(samples["cost_usd"], errors="coerce") if "cost_usd" in samples else np.nan
    return out.reset_index(drop=True)


# ---- from src/overthink/analysis/probes.py ------------------------------------------------------------


def read_sample_probes(path: Path, picked: pd.DataFrame, cue_of: dict[tuple[str, str], Cues]) -> pd.DataFrame:
    """PROBE_COLUMNS of the picked samples (id, task, item_id) of one run: from the store's cache, and measured
    from the text for the samples it lacks. engaged is NaN where the item lists no distractor spans.
    cue_of: (task, item_id) -> cues of that run's items."""
    ids = [int(i) for i in picked["id"]]
    with Store(path, create=False) as store:
        cached = pd.DataFrame(store.probe_rows(ids), columns=PROBE_COLUMNS)
        have = set(cached["id"])
        todo = picked[[i not in have for i in ids]]
        texts = dict(store.reasoning_by_id(list(todo["id"]))) if len(todo) else {}
    rows = []
    for sid, task, item_id in zip(todo["id"], todo["task"], todo["item_id"]):
        if int(sid) not in texts:
            continue  # no such sample (an unknown id): as before, nothing to probe
        text = texts[int(sid)]
        rows.append((int(sid), None if text is None else len(text),
                     *sample_probes(text, cue_of.get((task, item_id)))))
    out = pd.concat([cached, pd.DataFrame(rows, columns=PROBE_COLUMNS)], ignore_index=True) if rows else cached
    return out.astype({"reasoning_chars": "float64", "engaged": "float64"})


def pick_for_text(samples: pd.DataFrame, per_group: int) -> pd.DataFrame:
    """A fixed pseudo-random subset of answered samples, at most per_group per (run, task, model, mech, budget)."""
    # only the columns used: the shuffle copies what it is given (the permutation depends on the row count alone)
    wanted = [c for c in ("id", "run", *KEYS, "item_id", "status") if c in samples]
    answered = samples.loc[samples["status"] != "error", wanted]
    return answered.sample(frac=1, random_state=0).groupby(["run", *KEYS], sort=False).head(per_group)


def cues_by_item(items: pd.DataFrame) -> dict[tuple[str, str, str], Cues]:
    """(run, task, item_id) -> the distractor cues of every item whose metadata lists distractor spans."""
    cue_of = {}
    for it in items.itertuples(index=False):
        spans = it.metadata.get("distractor_spans") if isinstance(it.metadata, dict) else None
        if spans:
            cue_of[(it.run, it.task, it.item_id)] = distractor_cues(it.prompt, list(spans), it.expected)
    return cue_of


def probe_table(samples: pd.DataFrame, items: pd.DataFrame, runs: dict[str, Path], *,
                per_group: int = 2000) -> pd.DataFrame:
    """One row per (task, model, mechanism, budget): status shares and text probes."""
    if samples.empty:
        return pd.DataFrame()
    flags = pd.DataFrame({f"share_{s}": samples["status"] == s for s in ("truncated", "unparsed", "error")})
    grouped = pd.concat([samples[KEYS], flags], axis=1).groupby(KEYS, sort=False)
    table = grouped.mean().join(grouped.size().rename("n")).reset_index()
    parts = []
    cue_of = cues_by_item(items)
    picked = pick_for_text(samples, per_group)
    for run, path in runs.items():
        mine = picked[picked["run"] == run]
        if mine.empty:
            continue
        probes = read_sample_probes(path, mine[["id", "task", "item_id"]],
                                    {(t, i): c for (r, t, i), c in cue_of.items() if r == run})
        measured = mine[[*KEYS, "id"]].merge(probes, on="id")
        measured = measured[measured["reasoning_chars"].fillna(0) > 0]  # no reasoning text: nothing to probe
        if measured.empty:
            continue
        g = measured.assign(second=measured["markers"] > 0).groupby(KEYS, sort=False)
        parts.append(pd.DataFrame({
            "n_text": g.size(),
            # engaged is NaN for items without distractor spans: mean() over the others, NaN when there are none
            "distractor_engagement": g["engaged"].mean(),
            "share_second_guessing": g["second"].mean().astype(float),
            "markers_per_sample": g["markers"].mean().astype(float),
            "mean_answer_changes": g["answer_changes"].mean().astype(float)}).reset_index())
    if parts:
        table = table.merge(pd.concat(parts, ignore_index=True), on=KEYS, how="left")
    else:
        table = table.assign(n_text=0, distractor_engagement=math.nan, share_second_guessing=math.nan,
                             markers_per_sample=math.nan, mean_answer_changes=math.nan)
    return table


# ---- from src/overthink/analysis/sweetspot.py ------------------------------------------------------------


def _matrices(curve: pd.DataFrame, budgets: list) -> tuple[np.ndarray, np.ndarray]:
    ok = curve[curve["status"] == "ok"]
    agg = ok.groupby(["item_id", "budget"])["score"].agg(["sum", "count"]).unstack("budget")
    sums = agg["sum"].reindex(columns=budgets).fillna(0).to_numpy(float)
    counts = agg["count"].reindex(columns=budgets).fillna(0).to_numpy(float)
    return sums, counts


def max_difference(boots: np.ndarray, point: np.ndarray, level: float = 0.95) -> float:
    """The `level` quantile over resamples of the largest centred difference between two budgets.

    Row r: max_k d_rk - min_j d_rj with d = boots - point (budgets missing from a resample are skipped). Every
    difference s_k - s_j is then within c of its truth in `level` of resamples at once, the peak's included."""
    d = boots - point[None, :]
    spread = np.nanmax(d, axis=1) - np.nanmin(d, axis=1)
    return float(np.quantile(spread, level)) if len(spread) else math.inf


def sweet_spot(curve: pd.DataFrame, metric: str = "accuracy", *, n_boot: int = N_BOOT,
               seed: int = 0) -> dict:
    """Peak, change point and recommendation for the samples of one curve (numeric or effort budgets)."""
    budgets = sorted(curve["budget"].unique(), key=budget_sort_key)
    out = dict(peak_budget=None, peak_score=math.nan, p_peak_best=math.nan, change_point=None,
               change_point_score=math.nan, recommended_budget=None, recommended_score=math.nan,
               sureness=math.nan, sureness_words=V.NOT_ENOUGH, n_budgets=len(budgets), n_items=0,
               uniform_score=math.nan, critical_difference=math.nan, method=METHOD)
    if len(budgets) < 2 or not (curve["status"] == "ok").any():
        return out
    sums, counts = _matrices(curve, budgets)
    scored = counts.sum(axis=0) > 0  # a budget with no scored sample (all unparsed, say) cannot be compared: skip it
    budgets, sums, counts = [b for b, k in zip(budgets, scored) if k], sums[:, scored], counts[:, scored]
    n_items = out["n_items"] = len(sums)
    if n_items < MIN_ITEMS or len(budgets) < 2:
        return out
    scores = curve.loc[curve["status"] == "ok", "score"].to_numpy(float)
    if np.ptp(scores) == 0:  # every budget scored the same: the cheapest is as good as any, nothing to be sure of
        same = float(np.sqrt(scores[0])) if metric == "rmse" else float(scores[0])
        out.update(peak_budget=budgets[0], peak_score=same, recommended_budget=budgets[0], recommended_score=same,
                   sureness_words="no difference", uniform_score=same)
        return out
    rmse = metric == "rmse"

    def finish(mean: np.ndarray) -> np.ndarray:  # "higher is better" scale
        return -np.sqrt(mean) if rmse else mean

    with np.errstate(invalid="ignore", divide="ignore"):
        point = finish(sums.sum(0) / counts.sum(0))
        boots = np.concatenate([finish((w @ sums) / (w @ counts))  # n_boot x n_budgets; NaN: no scored sample
                                for w in boot_weights(n_items, n_boot, seed)])
    boots = boots[np.isfinite(boots).sum(axis=1) >= 2]
    peak = int(np.nanargmax(point))
    c = max_difference(boots, point)
    worse = point[peak] - point > c
    threshold = 0.05 if rmse else 0.02
    near_best = boots >= np.nanmax(boots, axis=1, keepdims=True) - threshold
    rec = next(i for i in range(len(budgets)) if not worse[i])
    change = next((i for i in range(peak + 1, len(budgets)) if worse[i]), None)
    sign = -1 if rmse else 1  # report scores in their own units
    has_rec = np.isfinite(boots[:, rec])
    out.update(
        peak_budget=budgets[peak], peak_score=sign * point[peak],
        p_peak_best=float(np.mean(np.nanargmax(boots, axis=1) == peak)),
        change_point=None if change is None else budgets[change],
        change_point_score=math.nan if change is None else sign * point[change],
        recommended_budget=budgets[rec], recommended_score=sign * point[rec],
        sureness=float(near_best[has_rec, rec].mean()) if has_rec.any() else math.nan,
        critical_difference=float(c), method=METHOD,
    )
    out["sureness_words"] = sureness_words(out["sureness"])
    return out


def sweet_spot_table(samples: pd.DataFrame, metrics: dict[str, str], *, n_boot: int = N_BOOT) -> pd.DataFrame:
    controlled = samples[samples["budget"].astype(str) != "natural"]
    rows = []
    for key, curve in controlled.groupby(SWEET_KEYS, sort=False):
        metric = metrics.get(key[0], "accuracy")
        rows.append(dict(zip(SWEET_KEYS, key), metric=metric, **sweet_spot(curve, metric, n_boot=n_boot)))
    return pd.DataFrame(rows)


# ---- from src/overthink/analysis/recommend.py ------------------------------------------------------------


def paired_upper_bound(best: pd.Series, other: pd.Series, level: float = LEVEL) -> tuple[float, float, int]:
    """(mean difference best - other, its one-sided `level` upper bound, items) over the items both have.

    `best` and `other` are per-item accuracies (indexed by item id)."""
    from scipy.stats import t as t_dist

    both = pd.concat([best, other], axis=1, join="inner").dropna()
    n = len(both)
    if n < 2:
        return math.nan, math.nan, n
    d = (both.iloc[:, 0] - both.iloc[:, 1]).to_numpy(float)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    return mean, mean + float(t_dist.ppf(level, n - 1)) * sd / math.sqrt(n), n


def recommend(curve: pd.DataFrame, cells: pd.DataFrame, *, tolerance: float = REC_TOLERANCE,
              active: bool = True, min_items: int = REC_MIN_ITEMS) -> dict[str, Any]:
    """The recommendation for one curve. `curve` holds its efficiency.scored_frame rows, `cells` its
    efficiency_table rows (ordered by budget)."""
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
                         tolerance: float = REC_TOLERANCE, min_items: int = REC_MIN_ITEMS) -> pd.DataFrame:
    """One row per curve: the recommendation and its reason. `scored` = efficiency.scored_frame, `table` =
    efficiency.efficiency_table (whose rows gain `on_frontier` in place)."""
    if table.empty:
        return pd.DataFrame()
    table["on_frontier"] = False
    rows = []
    for key, cells in table.groupby(EFF_CURVE, sort=False):
        cost = cells["mean_cost_usd"] if _priced(cells) else cells["mean_thinking_tokens"]
        table.loc[cells.index, "on_frontier"] = pareto_frontier(list(cells["accuracy"]), list(cost.fillna(0)))
        mask = np.ones(len(scored), bool)
        for col, value in zip(EFF_CURVE, key):
            mask &= (scored[col] == value).to_numpy()
        active = control_active(curve_rows(audit, dict(zip(EFF_CURVE, key)))) if audit is not None else True
        rec = recommend(scored[mask], cells.reset_index(drop=True), tolerance=tolerance, active=active,
                        min_items=min_items)
        rows.append({**dict(zip(EFF_CURVE, key)), **rec})
    return pd.DataFrame(rows)


# ---- from src/overthink/analysis/efficiency.py (trajectory_waste, the loop over trajectories) --------------------
def trajectory_outcomes_loop(traj: pd.DataFrame) -> pd.DataFrame:
    shared = traj[traj["design"] == "shared"]
    keys = ["run", *EFF_CURVE, "item_id", "replicate"]
    per = []
    for key, g in shared.groupby(keys, sort=False):
        cuts, ok = g["cut"].to_numpy(float), g["correct"].to_numpy(bool)
        total = cuts[-1]
        if len(g) < 2 or total <= 0:
            continue
        first = cuts[ok.argmax()] if ok.any() else math.nan
        stay = math.nan
        if ok[-1]:
            last_wrong = np.flatnonzero(~ok)
            stay = cuts[last_wrong[-1] + 1] if len(last_wrong) else cuts[0]
        per.append({**dict(zip(keys, key)), "final": float(ok[-1]), "first": first, "stay": stay, "total": total})
    return pd.DataFrame(per)


def efficiency_tables(samples, metrics, *, traj=None, audit=None, tolerance=REC_TOLERANCE, t_max=1000,
                      n_boot=N_BOOT):
    from overthink.analysis.efficiency import curve_efficiency, efficiency_table, scored_frame, trajectory_waste

    scored = scored_frame(samples, metrics)  # once for both tables
    table = efficiency_table(samples, metrics, t_max=t_max, n_boot=n_boot, scored=scored)
    if table.empty:
        return {"efficiency": table, "efficiency_curves": pd.DataFrame(), "recommendation": pd.DataFrame()}
    if traj is None:
        traj = trajectory_table(samples, metrics)
    recs = recommendation_table(scored, table, audit, tolerance=tolerance)
    curves = curve_efficiency(table, trajectory_waste(traj, n_boot=n_boot))
    return {"efficiency": table, "efficiency_curves": curves, "recommendation": recs}


# ---- from src/overthink/analysis/curves.py and trends.py (verdict_table's per-curve rows) ---------------------

def paper_verdict(curve: pd.DataFrame, metric: str = "accuracy") -> tuple[str, float]:
    curve = curve.dropna(subset=["score"])
    if len(curve) < 2:
        return ("not enough data", math.nan)
    first, last = curve.iloc[0], curve.iloc[-1]
    delta = float(last["score"] - first["score"])
    if "n_items_scored" in curve and min(first["n_items_scored"], last["n_items_scored"]) < MIN_ITEMS:
        return ("not enough data", delta)
    threshold = 0.05 if metric == "rmse" else 0.02
    if abs(delta) <= threshold:
        return ("flat", delta)
    overlap = not (last["ci_low"] > first["ci_high"] or last["ci_high"] < first["ci_low"])
    if overlap or any(math.isnan(v) for v in (first["ci_low"], last["ci_low"])):
        return ("noisy", delta)
    worse = delta > 0 if metric == "rmse" else delta < 0
    return ("inverse" if worse else "positive", delta)


def verdict_rows(scores: pd.DataFrame, metrics: dict[str, str],
                 keys: tuple[str, ...] = ("task", "model", "mechanism")) -> pd.DataFrame:
    """The columns verdict_table took from each curve's score rows (a frame per curve), before the tests."""
    rows = []
    numeric = scores[scores["budget"].astype(str) != NATURAL]
    for key, curve in numeric.groupby(list(keys), sort=False):
        metric = metrics.get(key[0], "accuracy")
        verdict, delta = paper_verdict(curve, metric)
        first, last = curve.iloc[0], curve.iloc[-1]
        row = dict(zip(keys, key), metric=metric, paper_verdict=verdict, paper_delta=delta,
                   first_budget=first["budget"], last_budget=last["budget"], first_score=first["score"],
                   last_score=last["score"], first_tokens=first["mean_reasoning_tokens"],
                   last_tokens=last["mean_reasoning_tokens"], n_items=int(curve["n_items"].max()))
        thin = curve.loc[curve["n_items_scored"].idxmin()] if "n_items_scored" in curve else first
        row.update(min_scored=int(thin.get("n_scored", 0)), min_scored_budget=thin["budget"],
                   min_scored_items=int(thin.get("n_items_scored", 0)), items_needed=10)
        rows.append(row)
    return pd.DataFrame(rows)
