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

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .curves import N_BOOT, item_bootstrap
from .load import read_texts
from .probes import _MARKER_RE, cues_by_item, engages

TRAJ = ["run", "task", "model", "mechanism", "item_id", "replicate"]
SHARE_KEYS = ["task", "model", "mechanism"]
FLIP_COLUMNS = [*TRAJ, "kind", "from_cut", "to_cut", "answer_before", "answer_after", "final_correct",
                "span_start", "span_end", "span_text", "span_tokens", "span_markers_per_1k", "rest_markers_per_1k",
                "span_engages", "rest_engages", "score_rank"]
_TOKEN_RE = re.compile(r"\S+")


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
    rows = []
    for s in ok.itertuples(index=False):
        meta = _meta(getattr(s, "sample_meta", None))
        design = "shared" if "shared_think_tokens" in meta else "independent"
        base = {k: getattr(s, k) for k in TRAJ}
        correct = bool(s.score >= 1) if pd.notna(s.score) else False  # unparsed (None or NaN) = not correct
        tokens = s.reasoning_tokens if pd.notna(s.reasoning_tokens) else 0  # NaN / None: nothing reported
        rows.append({**base, "cut": int(tokens or 0), "budget": s.budget, "source": "budget",
                     "correct": correct, "answer": s.answer, "chars": math.nan, "design": design,
                     "model_id": getattr(s, "model_id", s.model)})
        for p in meta.get("probe_cuts") or []:
            if p.get("truncated") or "correct" not in p:  # cut off, or never graded
                continue
            # an unparsed probe answer (correct None) counts as not correct, like an unparsed budget sample
            rows.append({**base, "cut": int(p["cut"]), "budget": None, "source": "probe", "correct": bool(p["correct"]),
                         "answer": p.get("answer"), "chars": float(p.get("chars", math.nan)), "design": design,
                         "model_id": getattr(s, "model_id", s.model)})
    out = pd.DataFrame(rows).sort_values([*TRAJ, "cut", "source"], kind="stable")
    # budget 0 never thinks, so it carries no trace marker: the design belongs to the whole trajectory
    shared = out["design"].eq("shared").groupby([out[k] for k in TRAJ], sort=False).transform("any")
    out["design"] = shared.map({True: "shared", False: "independent"})
    # a natural stop answers several budgets from one cut: keep one row per distinct cut
    return out.drop_duplicates([*TRAJ, "cut"], keep="first").reset_index(drop=True)


def _events(g: pd.DataFrame) -> dict:
    cuts, correct = g["cut"].to_numpy(), g["correct"].to_numpy()
    answers = [str(a).strip().lower() if a is not None and a == a else "" for a in g["answer"]]
    down = [i for i in range(1, len(g)) if correct[i - 1] and not correct[i]]
    up = [i for i in range(1, len(g)) if not correct[i - 1] and correct[i]]
    settle = len(g) - 1
    while settle > 0 and answers[settle - 1] == answers[-1]:
        settle -= 1
    return {"n_cuts": len(g), "down": down, "up": up, "settled_at": int(cuts[settle]),
            "stability_tokens": int(cuts[-1] - cuts[settle]), "final_correct": bool(correct[-1]),
            "ever_correct": bool(correct.any())}


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
    per = []
    for key, g in traj.groupby(TRAJ, sort=False):
        if len(g) < 2:
            continue
        ev = _events(g)
        shuffled = shuffled_shares(len(g), int(g["correct"].sum()))
        per.append({**dict(zip(TRAJ, key)), "down": bool(ev["down"]), "up": bool(ev["up"]),
                    "any": bool(ev["down"] or ev["up"]), "lost": ev["ever_correct"] and not ev["final_correct"],
                    **{f"{k}_shuffled": v for k, v in shuffled.items()},
                    "settled_at": ev["settled_at"], "stability_tokens": ev["stability_tokens"],
                    "n_cuts": ev["n_cuts"], "design": g["design"].iloc[0]})
    if not per:
        return pd.DataFrame()
    df = pd.DataFrame(per)
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


def _markers_per_1k(text: str) -> float:
    return 1000 * len(_MARKER_RE.findall(text)) / len(text) if text else math.nan


def flip_table(traj: pd.DataFrame, items: pd.DataFrame, runs: dict[str, Path], *, limit: int = 200) -> pd.DataFrame:
    """One row per trajectory with a correct -> wrong flip: the decisive flip (the last one when the trajectory
    ends wrong, else the first), the thinking span between the two cuts and the probes on it versus the rest."""
    if traj.empty:
        return pd.DataFrame(columns=FLIP_COLUMNS)
    cue_of = cues_by_item(items)
    picked = []
    for key, g in traj.groupby(TRAJ, sort=False):
        g = g.reset_index(drop=True)
        ev = _events(g) if len(g) > 1 else None
        if not ev or not ev["down"]:
            continue
        i = ev["down"][-1] if not ev["final_correct"] else ev["down"][0]
        picked.append((key, g, i, ev))
    rows = []
    for key, g, i, ev in picked[:limit]:
        run, task, model, mech, item_id, rep = key
        longest = g[g["source"] == "budget"].iloc[-1]
        text_at = _texts(runs.get(run), g, longest)
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


def _texts(path: Path | None, g: pd.DataFrame, longest: pd.Series) -> dict[int, str]:
    """Reasoning text of the budget samples of one trajectory, by cut."""
    if path is None:
        return {}
    rows = g[g["source"] == "budget"]
    keys = pd.DataFrame({"model_id": rows["model_id"], "task": rows["task"], "item_id": rows["item_id"],
                         "budget": rows["budget"], "mechanism": rows["mechanism"], "replicate": rows["replicate"]})
    texts = read_texts(path, keys)
    return {int(c): str(t or "") for c, t in zip(rows["cut"], texts["reasoning"])}


def _chars(row: pd.Series, text_at: dict[int, str]) -> int | None:
    """Characters of the longest trace up to this cut (a budget sample's own text, or a probe's stored length)."""
    if row["source"] == "probe":
        return int(row["chars"]) if row["chars"] == row["chars"] else None
    text = text_at.get(int(row["cut"]))
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

