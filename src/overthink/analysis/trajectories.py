"""Answer trajectories: the answer at every cut of one thinking trace, and where along the trace it flips.

A trajectory is one (run, task, model, mechanism, item, replicate) of a forced sweep: its numeric-budget samples
ordered by thinking tokens, plus any `--probe-cuts` answers stored in the longest sample's metadata. From it:

- flips: a correct answer at a shorter cut and a wrong one at the next longer cut (correct -> wrong), or the reverse;
- settled_at: the first cut from which the answer never changes again; stability_tokens = the longest cut's
  thinking tokens minus settled_at (thinking spent after the final answer was fixed);
- where it flips: for a trajectory that ends wrong after being right, the thinking text between the last correct
  cut and the first wrong cut after it, with the trace probes (distractor engagement, second-guessing markers)
  measured on that span versus the rest of the trace.

Baseline: with cuts that are independent draws and no effect of length, flips happen by chance - an item answered
right at 3 of 5 cuts flips somewhere in most orders. Beside each share is the share expected when the cut order of
every trajectory is shuffled (exact, given its cuts and how many were correct: with m cuts of which k correct and
0 < k < m, a correct -> wrong flip is missing only in the order wrong...wrong, correct...correct, so the chance of one
is 1 - 1/C(m, k); the same for wrong -> correct; "lost" = P(the last cut is wrong) = (m - k) / m when k >= 1), and
the excess over it with a 95 % item-bootstrap CI. With no effect of length (exchangeable cuts) the excess is 0 in
expectation; a real "more thinking loses the answer" effect makes the correct -> wrong excess positive.

Statistics: a shared-trace sweep (every budget a cut of one trace) gives paired cuts, an independent sweep gives
independent draws per budget; in both the cuts of a trajectory stay within one item. Shares are per trajectory with
a 95 % bootstrap CI that resamples items (curves.item_bootstrap), so neither the cuts nor the replicates of an item
count as independent observations. Only accuracy-scored tasks (score 0/1) have trajectories.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .audit import meta as parse_meta
from .curves import N_BOOT, item_bootstrap_many
from .load import read_texts
from .probes import _MARKER_RE, cues_by_item, engages

TRAJ = ["run", "task", "model", "mechanism", "item_id", "replicate"]
SHARE_KEYS = ["task", "model", "mechanism"]
FLIP_COLUMNS = [*TRAJ, "kind", "from_cut", "to_cut", "answer_before", "answer_after", "final_correct",
                "span_start", "span_end", "span_text", "span_tokens", "span_markers_per_1k", "rest_markers_per_1k",
                "span_engages", "rest_engages", "score_rank"]
_TOKEN_RE = re.compile(r"\S+")


def _is_int(values: pd.Series) -> np.ndarray:
    """isinstance(value, int) per value (a numeric budget), without a Python call per row."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return np.ones(len(values), bool)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return np.zeros(len(values), bool)
    return np.fromiter(map(isinstance, values.to_numpy(object), itertools.repeat(int)), bool, len(values))


def _scored_by_accuracy(tasks: pd.Series, metrics: dict[str, str]) -> np.ndarray:
    """Whether each sample's task is accuracy-scored, decided once per task (codes, not rows)."""
    codes, uniques = pd.factorize(tasks)
    good = [metrics.get(t, "accuracy") == "accuracy" for t in uniques]
    return np.array([*good, metrics.get(np.nan, "accuracy") == "accuracy"], bool)[codes]  # code -1: missing


def _is_arrow_str(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.StringDtype) and values.dtype == pd.StringDtype(na_value=np.nan)


def _sorted_codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Integer codes in the sort order of the values, a missing value last (code len(uniques)), as a sort puts it."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.where(codes < 0, len(uniques), codes), uniques


def _group_ids(parts: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int per distinct tuple of codes, ordered as the tuples sort (mixed radix; a grouping when too large)."""
    if math.prod(sizes) < 2 ** 62:
        gid = np.zeros(len(parts[0]), np.int64)
        for codes, size in zip(parts, sizes):
            gid = gid * size + codes
        return gid
    frame = pd.DataFrame({n: c for n, c in enumerate(parts)})
    return frame.groupby(list(frame), sort=True).ngroup().to_numpy()


def trajectory_table(samples: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """One row per cut: TRAJ keys, cut (thinking tokens), budget (None for a probe cut), source, correct, answer,
    chars (thinking characters up to the cut, probes only), design (shared / independent)."""
    if samples.empty:
        return pd.DataFrame()
    # Vectorised over samples (a million in a big report): row positions, then only the columns used are taken;
    # string key columns travel as integer codes (in sorted order) and become strings again once, at the end.
    keep = _is_int(samples["budget"]) & samples["status"].isin(["ok", "unparsed"]).to_numpy(bool)
    if not keep.any():
        return pd.DataFrame()
    keep &= _scored_by_accuracy(samples["task"], metrics) & (samples["mechanism"] == "forced").to_numpy(bool)
    if not keep.any():
        return pd.DataFrame()
    idx = np.flatnonzero(keep)
    model_col = "model_id" if "model_id" in samples else "model"
    decode: dict[str, pd.Index] = {}  # output column -> the strings its codes stand for
    columns = {}
    for name, source in [*((k, k) for k in TRAJ), ("model_id", model_col)]:
        if _is_arrow_str(samples[source]):
            codes, decode[name] = _sorted_codes(samples[source])
            columns[name] = codes[idx]
        else:
            columns[name] = samples[source].to_numpy()[idx]
    ok = samples[[c for c in ("budget", "score", "reasoning_tokens", "answer") if c in samples]].take(idx)
    # metadata is parsed only where it can hold a probe cut or the shared-trace marker
    metas: dict[int, dict] = {}
    if "sample_meta" in samples:
        raw = samples["sample_meta"]
        hit = (raw.notna() & raw.astype(str).str.contains("shared_think_tokens|probe_cuts", regex=True)).to_numpy(
            bool)[idx]
        at = np.flatnonzero(hit)
        metas = {pos: parse_meta(v) for pos, v in zip(at, raw.iloc[idx[at]])}
    shared_at = np.zeros(len(idx), bool)
    for pos, meta in metas.items():
        shared_at[pos] = "shared_think_tokens" in meta
    design = np.where(shared_at, "shared", "independent").astype(object)
    score = pd.to_numeric(ok["score"], errors="coerce")
    tokens = pd.to_numeric(ok["reasoning_tokens"], errors="coerce").fillna(0)
    base = pd.DataFrame({k: columns[k] for k in TRAJ})
    base = base.assign(cut=tokens.astype(np.int64).to_numpy(), budget=ok["budget"].to_numpy(), source="budget",
                       correct=(score >= 1).to_numpy(), answer=_column(ok["answer"]), chars=math.nan,
                       design=design, model_id=columns["model_id"], _pos=np.arange(len(idx)), _sub=0)
    probes = []
    for pos, meta in metas.items():
        for sub, p in enumerate(meta.get("probe_cuts") or [], start=1):
            if p.get("truncated") or "correct" not in p:  # cut off, or never graded
                continue
            # an unparsed probe answer (correct None) counts as not correct, like an unparsed budget sample
            probes.append({**{k: columns[k][pos] for k in TRAJ}, "cut": int(p["cut"]), "budget": None,
                           "source": "probe", "correct": bool(p["correct"]), "answer": p.get("answer"),
                           "chars": float(p.get("chars", math.nan)), "design": design[pos],
                           "model_id": columns["model_id"][pos], "_pos": pos, "_sub": sub})
    out = pd.concat([base, pd.DataFrame(probes)], ignore_index=True) if probes else base
    # the row order of one loop over samples (each sample, then its probe cuts), then a stable sort by TRAJ and
    # cut: one group id in sorted key order (missing keys last) and a lexsort of integers
    parts, sizes, missing = [], [], np.zeros(len(out), bool)
    for k in TRAJ:
        codes, size = ((out[k].to_numpy(np.int64), len(decode[k]) + 1) if k in decode else
                       (lambda c, u: (c, len(u) + 1))(*_sorted_codes(out[k])))
        parts.append(codes)
        sizes.append(size)
        missing |= codes == size - 1
    gid = _group_ids(parts, sizes)
    cut = out["cut"].to_numpy(np.int64)
    order = np.lexsort((out["_sub"].to_numpy(), out["_pos"].to_numpy(), (out["source"] == "probe").to_numpy(),
                        cut, gid))
    g, c = gid[order], cut[order]
    # a natural stop answers several budgets from one cut: keep one row per distinct cut (sorted: adjacent)
    first = np.r_[True, (g[1:] != g[:-1]) | (c[1:] != c[:-1])]
    if missing.any():  # (a key missing: groupby's own rule for such rows, on every row, then the duplicates)
        out = _decoded(out.take(order).drop(columns=["_pos", "_sub"]).reset_index(drop=True), decode)
        shared = out["design"].eq("shared").groupby([out[k] for k in TRAJ], sort=False).transform("any")
        out["design"] = shared.map({True: "shared", False: "independent"})
        return out[first].reset_index(drop=True)
    # budget 0 never thinks, so it carries no trace marker: the design belongs to the whole trajectory (and a
    # duplicate cut's marker counts too)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    any_shared = np.logical_or.reduceat(out["design"].to_numpy()[order] == "shared", starts)
    shared = np.repeat(any_shared, np.diff(np.r_[starts, len(g)]))[first]
    out = _decoded(out.take(order[first]).drop(columns=["_pos", "_sub"]).reset_index(drop=True), decode)
    out["design"] = pd.Series(shared, index=out.index).map({True: "shared", False: "independent"})
    return out


def _decoded(out: pd.DataFrame, decode: dict[str, pd.Index]) -> pd.DataFrame:
    """String columns back from their codes (a take from the few distinct strings: cheap, unlike a random take
    of a million arrow strings)."""
    for name, uniques in decode.items():
        codes = out[name].to_numpy(np.int64)
        out[name] = pd.Series(uniques.array.take(np.where(codes >= len(uniques), -1, codes), allow_fill=True),
                              index=out.index)
    return out


def _column(values: pd.Series) -> pd.Series | np.ndarray:
    """A column for a new frame: an arrow-backed string column as it is (converting it to Python objects and
    back gives the same dtype and values, at a cost of seconds a million rows), anything else as a numpy array."""
    if _is_arrow_str(values):
        return values.reset_index(drop=True)
    return values.to_numpy()


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
    first = traj[[*TRAJ, "design"]].iloc[order[starts]]
    out = pd.DataFrame({k: _column(first[k]) for k in TRAJ})
    return out.assign(start=starts, n_cuts=sizes, n_correct=np.add.reduceat(correct.astype(np.int64), starts),
                      any_down=np.logical_or.reduceat(down, starts), any_up=np.logical_or.reduceat(up, starts),
                      first_down=np.where(first_pos_down > n, -1, first_pos_down), last_down=last_pos_down,
                      settled_at=cuts[settle].astype(np.int64),
                      stability_tokens=(cuts[ends] - cuts[settle]).astype(np.int64),
                      final_correct=correct[ends], ever_correct=np.logical_or.reduceat(correct, starts),
                      design=first["design"].to_numpy()), order


def trajectory_outcomes(traj: pd.DataFrame) -> pd.DataFrame:
    """Per shared-trace trajectory with two or more cuts and a positive longest cut (in order of first appearance):
    TRAJ keys, final (1.0 when the longest cut is correct), first (the first correct cut, NaN when none), stay (the
    cut from which the answer stays correct to the end, NaN when it ends wrong) and total (the longest cut), all in
    thinking tokens. What efficiency.trajectory_waste computes per trajectory, vectorised (a shared-trace sweep of
    a million samples has some 200,000 trajectories: a pandas group each costs minutes)."""
    columns = [*TRAJ, "final", "first", "stay", "total"]
    if traj is None or traj.empty:
        return pd.DataFrame(columns=columns)
    shared = traj[(traj["design"] == "shared").to_numpy(bool)]
    gid = shared.groupby(TRAJ, sort=False).ngroup().to_numpy()
    keep = np.flatnonzero(gid >= 0)  # a missing key belongs to no trajectory (as in groupby)
    order = keep[np.argsort(gid[keep], kind="stable")]
    if not len(order):
        return pd.DataFrame(columns=columns)
    g = gid[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    ends = starts + sizes - 1
    rel = np.arange(len(order)) - np.repeat(starts, sizes)
    cuts = shared["cut"].to_numpy(float)[order]
    ok = shared["correct"].to_numpy(bool)[order]
    total = cuts[ends]
    first_ok = np.minimum.reduceat(np.where(ok, rel, len(order)), starts)
    last_wrong = np.maximum.reduceat(np.where(ok, -1, rel), starts)
    ends_ok = ok[ends]
    first = np.where(first_ok < len(order), cuts[np.minimum(starts + first_ok, ends)], math.nan)
    stay = np.where(ends_ok, np.where(last_wrong >= 0, cuts[np.minimum(starts + last_wrong + 1, ends)],
                                      cuts[starts]), math.nan)
    picked = np.flatnonzero((sizes >= 2) & (total > 0))
    if not len(picked):
        return pd.DataFrame(columns=columns)
    head = shared[TRAJ].iloc[order[starts[picked]]]
    out = pd.DataFrame({k: _column(head[k]) for k in TRAJ})
    return out.assign(final=ends_ok[picked].astype(float), first=first[picked], stay=stay[picked],
                      total=total[picked])


def shuffled_shares(n_cuts: int, n_correct: int) -> dict[str, float]:
    """Chance of each flip kind when the order of a trajectory's cuts is a uniformly random permutation."""
    m, k = n_cuts, n_correct
    mixed = 0 < k < m
    flip = 1 - 1 / math.comb(m, k) if mixed else 0.0
    return {"down": flip, "up": flip, "any": float(mixed), "lost": (m - k) / m if k >= 1 else 0.0}


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
    shares = (("down", "share_correct_to_wrong"), ("up", "share_wrong_to_correct"), ("any", "share_flip"),
              ("lost", "share_lost"))
    flips = {"down": ev["any_down"].to_numpy(bool), "up": ev["any_up"].to_numpy(bool),
             "any": (ev["any_down"] | ev["any_up"]).to_numpy(bool),
             "lost": (ev["ever_correct"] & ~ev["final_correct"]).to_numpy(bool)}
    shuffled = {k: np.array([chance[mk][k] for mk in pairs], float) for k in flips}
    # per trajectory: each share (0/1) and its excess over the shuffled chance, as columns of one matrix
    values = np.column_stack([c for k in flips for c in (flips[k].astype(float), flips[k] - shuffled[k])])
    settled, stability = ev["settled_at"].to_numpy(), ev["stability_tokens"].to_numpy()
    n_cuts, design = ev["n_cuts"].to_numpy(), ev["design"].to_numpy()
    # integer codes, not string comparisons: groups in order of appearance (as groupby(sort=False)), items in
    # sorted order (as groupby("item_id"), which decides which item each bootstrap weight column resamples)
    group = ev.groupby(SHARE_KEYS, sort=False).ngroup().to_numpy()
    item, _ = pd.factorize(ev["item_id"], sort=True)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(group.max() + 2))
    keys = ev[SHARE_KEYS].to_numpy(object)
    rows = []
    for gi in range(len(bounds) - 1):
        at = order[bounds[gi]:bounds[gi + 1]]
        items, inverse = np.unique(item[at], return_inverse=True)
        row = {**dict(zip(SHARE_KEYS, keys[at[0]])), "n_trajectories": len(at), "n_items": len(items),
               "mean_cuts": float(n_cuts[at].mean()), "design": "/".join(sorted(set(design[at])))}
        per_item = np.column_stack([np.bincount(inverse, weights=values[at, j], minlength=len(items))
                                    for j in range(values.shape[1])])
        count = np.bincount(inverse, minlength=len(items)).astype(float)
        # the four shares and their excesses in one pass of bootstrap weights (the same items and resamples)
        boots = [tuple(map(float, ci)) for ci in item_bootstrap_many(
            per_item, np.repeat(count[:, None], per_item.shape[1], axis=1), n_boot=n_boot)]
        for j, (col, name) in enumerate(shares):
            (est, lo, hi), (ex, ex_lo, ex_hi) = boots[2 * j], boots[2 * j + 1]
            row.update({name: est, f"{name}_lo": lo, f"{name}_hi": hi,
                        f"{name}_shuffled": float(shuffled[col][at].mean()),
                        f"{name}_excess": ex, f"{name}_excess_lo": ex_lo, f"{name}_excess_hi": ex_hi})
        row["mean_settled_at"] = float(settled[at].mean())
        row["mean_stability_tokens"] = float(stability[at].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _markers_per_1k(text: str) -> float:
    return 1000 * len(_MARKER_RE.findall(text)) / len(text) if text else math.nan


def flip_table(traj: pd.DataFrame, items: pd.DataFrame, runs: dict[str, Path], *, limit: int = 200) -> pd.DataFrame:
    """One row per trajectory with a correct -> wrong flip: the decisive flip (the last one when the trajectory
    ends wrong, else the first), the thinking span between the two cuts and the probes on it versus the rest."""
    if traj.empty:
        return pd.DataFrame(columns=FLIP_COLUMNS)
    cue_of = cues_by_item(items)
    events, order = _event_frame(traj)
    picked = events[(events["n_cuts"] > 1) & events["any_down"]].head(limit) if len(events) else events
    rows = []
    # the cuts of all picked trajectories in one take, then arrays (not a frame per trajectory)
    spans = [(int(e.start), int(e.n_cuts)) for e in picked.itertuples(index=False)]
    cuts_of = traj.iloc[np.concatenate([order[a:a + n] for a, n in spans])] if spans else traj.iloc[:0]
    offsets = np.r_[0, np.cumsum([n for _, n in spans])].astype(np.int64)
    group_of = np.repeat(np.arange(len(spans)), [n for _, n in spans])
    texts = _texts(runs, cuts_of, group_of, len(spans))
    source, cut = cuts_of["source"].to_numpy(object), cuts_of["cut"].to_numpy()
    answer, chars = cuts_of["answer"].to_numpy(), cuts_of["chars"].to_numpy(float)
    for n, (e, text_at) in enumerate(zip(picked.itertuples(index=False), texts)):
        key = tuple(getattr(e, k) for k in TRAJ)
        i = int(e.last_down if not e.final_correct else e.first_down)
        run, task, model, mech, item_id, rep = key
        at = offsets[n]  # row i of the trajectory is at + i
        longest = at + np.flatnonzero(source[at:offsets[n + 1]] == "budget")[-1]
        full = text_at.get(int(cut[longest]), "")
        start = _chars(source[at + i - 1], cut[at + i - 1], chars[at + i - 1], text_at)
        end = _chars(source[at + i], cut[at + i], chars[at + i], text_at)
        if start is None or end is None or not full:
            start, end = 0, 0
        span, rest = full[start:end], full[:start] + " " + full[end:]
        cues = cue_of.get((run, task, item_id))
        rows.append({**dict(zip(TRAJ, key)), "kind": "correct_to_wrong", "from_cut": int(cut[at + i - 1]),
                     "to_cut": int(cut[at + i]), "answer_before": answer[at + i - 1],
                     "answer_after": answer[at + i], "final_correct": bool(e.final_correct),
                     "span_start": start, "span_end": end, "span_text": span,
                     "span_tokens": int(cut[at + i] - cut[at + i - 1]),
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


def _texts(runs: dict[str, Path], cuts: pd.DataFrame, group_of: np.ndarray, n_groups: int) -> list[dict[int, str]]:
    """Reasoning text of the budget samples of each trajectory (`cuts`: the cuts of trajectory group_of[row]), by
    cut (one read per run for all of them)."""
    out: list[dict[int, str]] = [{} for _ in range(n_groups)]
    budget = (cuts["source"] == "budget").to_numpy(bool)
    if not budget.any():
        return out
    rows = cuts[budget].assign(_g=group_of[budget])
    for run, mine in rows.groupby("run", sort=False):
        path = runs.get(run)
        if path is None:
            continue
        texts = read_texts(path, mine[["model_id", "task", "item_id", "budget", "mechanism", "replicate"]])
        for n, c, t in zip(mine["_g"], mine["cut"], texts["reasoning"]):
            out[n][int(c)] = str(t or "")
    return out


def _chars(source: str, cut: int, chars: float, text_at: dict[int, str]) -> int | None:
    """Characters of the longest trace up to this cut (a budget sample's own text, or a probe's stored length)."""
    if source == "probe":
        return int(chars) if chars == chars else None
    text = text_at.get(int(cut))
    return None if text is None else len(text.rstrip())


def cut_curve(traj: pd.DataFrame) -> pd.DataFrame:
    """For the figure: per (task, model) and budget cut, the share correct and the flips into that cut."""
    if traj.empty:
        return pd.DataFrame()
    t = traj[traj["source"] == "budget"].copy()
    t["prev"] = t.groupby(TRAJ, sort=False)["correct"].shift(1)
    t["into_wrong"] = (t["prev"] == True) & ~t["correct"]  # noqa: E712 - NaN-safe comparison
    t["into_right"] = (t["prev"] == False) & t["correct"]  # noqa: E712
    g = t.groupby(["task", "model", "budget"], sort=False)
    return pd.DataFrame({"share_correct": g["correct"].mean(), "n": g.size(),
                         "flips_to_wrong": g["into_wrong"].sum(), "flips_to_right": g["into_right"].sum()}
                        ).reset_index().sort_values(["task", "model", "budget"], kind="stable")

