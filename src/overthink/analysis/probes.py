"""Trace probes per budget: distractor engagement, second-guessing, answer changes, truncation and parse failures.

What each probe measures on one reasoning text is trace_probes.py. The store measures every sample once when it is
stored (table sample_probes); this module aggregates those values for at most `per_group` samples per (task,
model, mechanism, budget), a fixed pseudo-random subset, and measures from the text only the samples the cache
lacks (a store written before schema 4, samples copied by a merge), so both give the same numbers. The status
shares use every sample.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..store import Store
from ..trace_probes import (  # noqa: F401 - re-exported: trajectories and callers use these names from here
    MARKER_RE as _MARKER_RE,
)
from ..trace_probes import (
    MARKERS,
    STOPWORDS,
    Cues,
    answer_changes,
    distractor_cues,
    engages,
    marker_count,
    sample_probes,
)

KEYS = ["task", "model", "mechanism", "budget"]
PROBE_COLUMNS = ["id", "reasoning_chars", "markers", "answer_changes", "engaged"]
__all__ = ["KEYS", "MARKERS", "STOPWORDS", "answer_changes", "cues_by_item", "distractor_cues", "engages",
           "marker_count", "pick_for_text", "probe_table", "read_sample_probes", "read_sample_texts", "sample_probes"]


def read_sample_texts(path: Path, ids: list[int]) -> pd.DataFrame:
    """id and reasoning text of the given sample rows."""
    with Store(path, create=False) as store:
        return pd.DataFrame(store.reasoning_by_id(ids), columns=["id", "reasoning"])


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
    wanted = [c for c in ("id", "run", *KEYS, "item_id", "status") if c in samples]
    # The permutation of DataFrame.sample(frac=1, random_state=0) depends on the row count alone: draw it over
    # positions, keep the first per_group of each group in that order (groupby.head, with its group codes), and
    # take only the picked rows (not a shuffled copy of a million).
    answered = np.flatnonzero((samples["status"] != "error").to_numpy(bool))
    perm = pd.Series(np.arange(len(answered))).sample(frac=1, random_state=0).to_numpy()
    group = samples.groupby(["run", *KEYS], sort=False).ngroup().to_numpy()[answered[perm]]
    rank = pd.Series(group).groupby(group).cumcount().to_numpy()
    return samples[wanted].iloc[answered[perm[(rank < per_group) & (group >= 0)]]]


def cues_by_item(items: pd.DataFrame) -> dict[tuple[str, str, str], Cues]:
    """(run, task, item_id) -> the distractor cues of every item whose metadata lists distractor spans."""
    cue_of: dict[tuple[str, str, str], Cues] = {}
    if items.empty:
        return cue_of
    memo: dict[tuple, Cues] = {}  # items of several runs (or tasks) often share a prompt: its cues are computed once
    columns = [items[c].tolist() for c in ("run", "task", "item_id", "prompt", "expected", "metadata")]
    for run, task, item_id, prompt, expected, metadata in zip(*columns):
        spans = metadata.get("distractor_spans") if isinstance(metadata, dict) else None
        if spans:
            try:
                key = (prompt, tuple(spans), expected)
                cues = memo.get(key)
            except TypeError:  # an unhashable span or answer: no memo
                key, cues = None, None
            if cues is None:
                cues = distractor_cues(prompt, list(spans), expected)
                if key is not None:
                    memo[key] = cues
            cue_of[(run, task, item_id)] = cues
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
