"""What the trace probes measure on one sample's reasoning text (pure functions of text, no store, no pandas).

The store computes them once when a sample is stored (store/run_store.py, table `sample_probes`) and the analysis
aggregates them per budget (analysis/probes.py), so reports never re-scan reasoning text a sweep already wrote.

- distractor engagement: the reasoning uses a number or a distinctive word that appears only in the item's
  distractor sentences (metadata `distractor_spans`), never in the rest of the question, and is not the answer.
- second-guessing markers: phrases such as "wait" or "on second thought" (MARKERS, a data table).
- answer changes: how often consecutive candidate answers stated in the reasoning ("the answer is X",
  "<answer>X</answer>") differ.

PROBE_VERSION names these definitions: change a regex, a marker or the cue rule and bump it, so cached values of
the old definition are recomputed from the text instead of being mixed with new ones.
"""

from __future__ import annotations

import json
import re
from typing import Any

PROBE_VERSION = 1
MARKERS = ("wait", "actually", "hmm", "on second thought", "let me reconsider", "reconsider", "double-check",
           "double check", "re-check", "recheck", "hold on", "alternatively", "i made a mistake", "let me re-")
# The lookaheads only skip positions where no alternative can start (its first letter, case-insensitively, as the
# match itself compares): the same matches, about 3x faster than trying every alternative at every word boundary.
MARKER_RE = re.compile(r"\b(?=[" + "".join(sorted({m[0] for m in MARKERS})) + r"])(?:"
                       + "|".join(re.escape(m) for m in MARKERS) + r")", re.IGNORECASE)
CANDIDATE_RE = re.compile(r"(?=[a<])(?:answer\s+(?:is|would be|should be|=|:)\s*|<answer>\s*)\**\s*([^\s<*.,;]+)",
                          re.IGNORECASE)
NUM_RE = re.compile(r"\d+(?:\.\d+)?")
WORD_RE = re.compile(r"[a-z][a-z'-]{4,}")
STOPWORDS = frozenset("""about above after again against because before being below between could didn't doesn't
during every further having other their there these those through under until which while would should where
itself whose shall might probably chance percent""".split())

Cues = tuple[set[str], set[str]]


def distractor_cues(prompt: str, spans: list[str], expected: str | None) -> Cues:
    """Numbers and words that occur in the distractor sentences and nowhere else in the prompt."""
    rest = prompt
    for span in spans:
        rest = rest.replace(span, " ")
    rest_nums, rest_words = set(NUM_RE.findall(rest)), set(WORD_RE.findall(rest.lower()))
    text = " ".join(spans)
    nums = set(NUM_RE.findall(text)) - rest_nums - {str(expected or "").strip()}
    words = set(WORD_RE.findall(text.lower())) - rest_words - STOPWORDS
    return nums, words


def item_cues(prompt: str, expected: str | None, metadata: Any) -> Cues | None:
    """An item's distractor cues, or None when its metadata lists no distractor spans (metadata: dict or JSON)."""
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata) if metadata else {}
        except ValueError:
            return None
    spans = metadata.get("distractor_spans") if isinstance(metadata, dict) else None
    return distractor_cues(prompt, list(spans), expected) if spans else None


def engages(reasoning: str, cues: Cues) -> bool:
    nums, words = cues
    if nums and set(NUM_RE.findall(reasoning)) & nums:
        return True
    return bool(words and set(WORD_RE.findall(reasoning.lower())) & words)


def marker_count(reasoning: str) -> int:
    return len(MARKER_RE.findall(reasoning))


def answer_changes(reasoning: str) -> int:
    found = [c.strip().lower() for c in CANDIDATE_RE.findall(reasoning)]
    return sum(a != b for a, b in zip(found, found[1:]))


def sample_probes(reasoning: str | None, cues: Cues | None) -> tuple[int, int, int | None]:
    """(markers, answer changes, engaged: 1 / 0, None when the item has no distractor cues) of one reasoning text."""
    text = reasoning or ""
    return marker_count(text), answer_changes(text), None if cues is None else int(engages(text, cues))
