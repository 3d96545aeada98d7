"""Trace probes per budget: distractor engagement, second-guessing, answer changes, truncation and parse failures.

Text probes read reasoning text for at most `per_group` samples per (task, model, mechanism, budget), a fixed
pseudo-random subset fetched by row id, so reports stay fast on big runs; the status shares use every sample.

- distractor engagement: the reasoning uses a number or a distinctive word that appears only in the item's
  distractor sentences (metadata `distractor_spans`), never in the rest of the question, and is not the answer.
- second-guessing markers: phrases such as "wait" or "on second thought" (MARKERS, a data table).
- answer changes: how often consecutive candidate answers stated in the reasoning ("the answer is X",
  "<answer>X</answer>") differ.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from ..store import Store

MARKERS = ("wait", "actually", "hmm", "on second thought", "let me reconsider", "reconsider", "double-check",
           "double check", "re-check", "recheck", "hold on", "alternatively", "i made a mistake", "let me re-")
_MARKER_RE = re.compile(r"\b(?:" + "|".join(re.escape(m) for m in MARKERS) + r")", re.IGNORECASE)
_CANDIDATE_RE = re.compile(r"(?:answer\s+(?:is|would be|should be|=|:)\s*|<answer>\s*)\**\s*([^\s<*.,;]+)",
                           re.IGNORECASE)
_NUM_RE = re.compile(r"\d+(?:\.\d+)?")
_WORD_RE = re.compile(r"[a-z][a-z'-]{4,}")
STOPWORDS = frozenset("""about above after again against because before being below between could didn't doesn't
during every further having other their there these those through under until which while would should where
itself whose shall might probably chance percent""".split())
KEYS = ["task", "model", "mechanism", "budget"]


def distractor_cues(prompt: str, spans: list[str], expected: str | None) -> tuple[set[str], set[str]]:
    """Numbers and words that occur in the distractor sentences and nowhere else in the prompt."""
    rest = prompt
    for span in spans:
        rest = rest.replace(span, " ")
    rest_nums, rest_words = set(_NUM_RE.findall(rest)), set(_WORD_RE.findall(rest.lower()))
    text = " ".join(spans)
    nums = set(_NUM_RE.findall(text)) - rest_nums - {str(expected or "").strip()}
    words = set(_WORD_RE.findall(text.lower())) - rest_words - STOPWORDS
    return nums, words


def engages(reasoning: str, cues: tuple[set[str], set[str]]) -> bool:
    nums, words = cues
    if nums and set(_NUM_RE.findall(reasoning)) & nums:
        return True
    return bool(words and set(_WORD_RE.findall(reasoning.lower())) & words)


def answer_changes(reasoning: str) -> int:
    found = [c.strip().lower() for c in _CANDIDATE_RE.findall(reasoning)]
    return sum(a != b for a, b in zip(found, found[1:]))


def read_sample_texts(path: Path, ids: list[int]) -> pd.DataFrame:
    """id and reasoning text of the given sample rows."""
    with Store(path, create=False) as store:
        return pd.DataFrame(store.reasoning_by_id(ids), columns=["id", "reasoning"])


def pick_for_text(samples: pd.DataFrame, per_group: int) -> pd.DataFrame:
    """A fixed pseudo-random subset of answered samples, at most per_group per (run, task, model, mech, budget)."""
    answered = samples[samples["status"] != "error"]
    return answered.sample(frac=1, random_state=0).groupby(["run", *KEYS], sort=False).head(per_group)


def cues_by_item(items: pd.DataFrame) -> dict[tuple[str, str, str], tuple[set[str], set[str]]]:
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
    cue_of = cues_by_item(items)
    rows = []
    picked = pick_for_text(samples, per_group)
    for run, path in runs.items():
        mine = picked[picked["run"] == run]
        texts = mine.merge(read_sample_texts(path, list(mine["id"])), on="id")
        texts = texts[texts["reasoning"].fillna("") != ""]
        if texts.empty:
            continue
        for key, g in texts.groupby(KEYS, sort=False):
            engaged = [engages(r, cue_of[(run, key[0], i)]) for r, i in zip(g["reasoning"], g["item_id"])
                       if (run, key[0], i) in cue_of]
            markers = g["reasoning"].map(lambda r: len(_MARKER_RE.findall(r)))
            rows.append(dict(zip(KEYS, key), n_text=len(g),
                             distractor_engagement=sum(engaged) / len(engaged) if engaged else math.nan,
                             share_second_guessing=float((markers > 0).mean()),
                             markers_per_sample=float(markers.mean()),
                             mean_answer_changes=float(g["reasoning"].map(answer_changes).mean())))
    if rows:
        text = pd.DataFrame(rows)
        table = table.merge(text, on=KEYS, how="left")
    else:
        table = table.assign(n_text=0, distractor_engagement=math.nan, share_second_guessing=math.nan,
                             markers_per_sample=math.nan, mean_answer_changes=math.nan)
    return table
