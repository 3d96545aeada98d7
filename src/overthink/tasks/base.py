"""The task interface: generate or load items, render a prompt, extract the answer, score it.

Extraction is strict on purpose: the answer is the content of the *last* <answer>...</answer> tag (or of a final
unclosed <answer> when the output was cut after the tag opened). There is no "first capital letter" fallback: an
answer we cannot read is `unparsed`, counted and shown, never silently wrong.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..core import Item, Status


class Scoring(StrEnum):
    EXACT = "exact"
    NUMERIC = "numeric"  # a single number, compared with a tolerance
    CHOICE = "choice"  # a multiple-choice letter
    SQUARED_ERROR = "squared_error"  # regression: score = (prediction - target)^2


class Metric(StrEnum):
    ACCURACY = "accuracy"
    RMSE = "rmse"
    MATCHING_BEHAVIOR = "matching_behavior"  # % answers matching a behaviour (AI-risk evals), not "accuracy"


@dataclass(frozen=True)
class Graded:
    status: Status  # ok or unparsed
    answer: str | None  # the extracted answer, normalised
    score: float | None
    correct: bool | None


_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_OPEN_RE = re.compile(r"<answer>(?!.*<answer>)(.*)$", re.DOTALL | re.IGNORECASE)
_NUMBER_RE = re.compile(r"(?<![\w.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?![\w])|(?<![\w.])[-+]?\.\d+")
_WORD_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
# A letter on its own ("B", "(B)", "B.", "B:") or with an explicit marker before text ("(B) No", "B) No", "B: No").
# "a lot of them" or "B or C" are not letters: no first-letter guessing.
_BARE_LETTER_RE = re.compile(r"\(?\s*([A-Za-z])\s*\)?[.:]?")
_MARKED_LETTER_RE = re.compile(r"(?:\(([A-Za-z])\)|([A-Za-z])[).:])\s*(.+)", re.DOTALL)

ANSWER_FORMAT = "Give your final answer inside <answer></answer> tags."
CHOICE_FORMAT = "Answer with the letter of your choice inside <answer></answer> tags, e.g. <answer>A</answer>."


def extract_answer(text: str) -> str | None:
    """Content of the last <answer> tag, stripped; None when there is none."""
    found = _ANSWER_RE.findall(text)
    if found:
        return found[-1].strip()
    unclosed = _OPEN_RE.search(text)
    if unclosed and unclosed.group(1).strip():
        return unclosed.group(1).strip()
    return None


def parse_number(text: str) -> float | None:
    """The single number in `text` ("2", "2 types", "$1,200", "two"); None when absent or ambiguous."""
    cleaned = text.replace("$", "").replace("%", "").strip()
    values = {float(m.replace(",", "")) for m in _NUMBER_RE.findall(cleaned)}
    if len(values) == 1:
        return values.pop()
    if not values:
        words = {_WORD_NUMBERS[w] for w in re.findall(r"[a-z]+", cleaned.lower()) if w in _WORD_NUMBERS}
        if len(words) == 1:
            return float(words.pop())
    return None


def parse_letter(text: str, n_choices: int, choices: tuple[str, ...] | None = None) -> str | None:
    """A choice letter from "A", "(B)", "C) text", or the letter of the choice whose text the answer is exactly.

    A marked letter whose text names a *different* choice is contradictory and gives None (unparsed)."""
    text = text.strip()
    by_text = None
    if choices:
        norm = _normalise(text)
        hits = [i for i, c in enumerate(choices) if _normalise(c) == norm]
        by_text = chr(ord("A") + hits[0]) if len(hits) == 1 else None
    bare = _BARE_LETTER_RE.fullmatch(text)
    marked = None if bare else _MARKED_LETTER_RE.fullmatch(text)
    if bare or marked:
        letter = (bare.group(1) if bare else marked.group(1) or marked.group(2)).upper()
        if ord(letter) - ord("A") >= n_choices:
            return by_text
        if marked and choices:
            rest = _normalise(marked.group(3))
            named = [i for i, c in enumerate(choices) if _normalise(c) == rest]
            if named and chr(ord("A") + named[0]) != letter:
                return None
        return letter
    return by_text


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip(".").strip()).casefold()


def format_choices(choices: tuple[str, ...] | list[str]) -> str:
    return "\n".join(f"({chr(ord('A') + i)}) {c.strip()}" for i, c in enumerate(choices))


class Task(ABC):
    """Base class for a task family. Subclasses set the class attributes and implement `items`."""

    family: ClassVar[str] = ""
    scoring: ClassVar[Scoring] = Scoring.EXACT
    metric: ClassVar[Metric] = Metric.ACCURACY
    metric_label: ClassVar[str] = "accuracy"
    default_size: ClassVar[int] = 100
    tolerance: ClassVar[float] = 1e-6  # numeric scoring
    valid_range: ClassVar[tuple[float, float] | None] = None  # squared_error: answers outside are unparsed
    system: ClassVar[str | None] = None
    # The `--task-args` options a plugin task takes (names); any other option is refused as a typo. None: the
    # option names are read from the constructor's keyword parameters (none for `(name, **options)`).
    known_options: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, name: str | None = None, **options: Any) -> None:
        self.name = name or self.family
        self.options = options

    @abstractmethod
    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        """The task's items: the first n of a deterministic sequence for `seed` (n=None: default size)."""

    def render(self, item: Item) -> str:
        """The user message: the question with its choices and the answer format."""
        if item.choices is not None:
            return f"{item.prompt.rstrip()}\n\n{format_choices(item.choices)}\n\n{CHOICE_FORMAT}"
        return f"{item.prompt.rstrip()}\n\n{ANSWER_FORMAT}"

    def grade(self, item: Item, output: str) -> Graded:
        """Extract and score the answer in a model's visible output."""
        raw = extract_answer(output)
        if raw is None:
            return Graded(Status.UNPARSED, None, None, None)
        return self.score(item, raw)

    def score(self, item: Item, raw: str) -> Graded:
        mode = self.scoring
        if mode is Scoring.CHOICE:
            n = len(item.choices or ())
            letter = parse_letter(raw, n, item.choices)
            if letter is None:
                return Graded(Status.UNPARSED, raw, None, None)
            ok = letter == item.expected
            return Graded(Status.OK, letter, float(ok), ok)
        if mode is Scoring.EXACT:
            ok = _normalise(raw) == _normalise(item.expected)
            return Graded(Status.OK, raw, float(ok), ok)
        value = parse_number(raw)
        if value is None or not math.isfinite(value):
            return Graded(Status.UNPARSED, raw, None, None)
        target = float(item.answer)  # type: ignore[arg-type]
        shown = f"{value:g}"
        if mode is Scoring.NUMERIC:
            ok = abs(value - target) <= self.tolerance * max(1.0, abs(target))
            return Graded(Status.OK, shown, float(ok), ok)
        if self.valid_range and not (self.valid_range[0] <= value <= self.valid_range[1]):
            return Graded(Status.UNPARSED, shown, None, None)
        return Graded(Status.OK, shown, (value - target) ** 2, None)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "metric": self.metric.value,
                "metric_label": self.metric_label, "default_size": self.default_size}
