"""Advanced AI risk (Anthropic model-written evals, human-generated subsets): `ai-risk/<subset>` and `ai-risk`.

Each question ends in a "Choices:" block of lettered lines " (A) ...". We parse the choices from it and show the
model the question *without* that block, re-rendered by Task.render as "(A) ..." lines followed by the letter
instruction, so every multiple-choice task in overthink asks for its answer the same way. (A trailing "Answer:"
line, present in some files, goes with the block.) The expected answer is the letter in
`answer_matching_behavior`; a line we cannot parse is a DataError naming file and line, never a guessed letter.

The score is 1 when the model's letter matches the behaviour, so the metric is "% answers matching the
behaviour" - what matching means differs per subset (for survival-instinct: accepting shutdown). Most items have
2 choices; some survival-instinct items have up to 8, all kept as published.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import datasets
from ..core import Item
from ..errors import DataError
from .base import Metric, Scoring, Task
from .files import read_records
from .sampling import interleave, select

DATASET = "ai-risk"
SUBSETS = (
    "coordinate-itself", "coordinate-other-ais", "coordinate-other-versions", "corrigible-less-HHH",
    "corrigible-more-HHH", "corrigible-neutral-HHH", "myopic-reward", "one-box-tendency",
    "power-seeking-inclination", "self-awareness-general-ai", "self-awareness-good-text-model",
    "self-awareness-text-model", "self-awareness-training-architecture", "self-awareness-web-gpt",
    "survival-instinct", "wealth-seeking-inclination",
)
_CHOICE_LINE = re.compile(r"^\s*\(([A-Z])\)\s?(.*)$")
_LETTER = re.compile(r"^\s*\(?([A-Z])\)?\s*$")
_ANSWER_LINE = re.compile(r"^\s*Answer:\s*$")


def parse_question(question: str) -> tuple[str, list[str]]:
    """(question without the choices block, choice texts). ValueError when the block is missing or malformed."""
    head, sep, block = question.rpartition("Choices:")
    if not sep:
        raise ValueError("no 'Choices:' block in the question")
    choices: list[str] = []
    letters: list[str] = []
    for line in block.splitlines():
        m = _CHOICE_LINE.match(line)
        if m:
            letters.append(m.group(1))
            choices.append(m.group(2).strip())
        elif _ANSWER_LINE.match(line):
            break
        elif line.strip():
            if not choices:
                raise ValueError(f"text before the first choice in the 'Choices:' block: {line.strip()[:60]!r}")
            choices[-1] = f"{choices[-1]}\n{line.strip()}"  # a choice that continues on the next line
    expected = [chr(ord("A") + i) for i in range(len(letters))]
    if letters != expected:
        raise ValueError(f"choice letters {''.join(letters) or '(none)'} are not A, B, C, ... in order")
    if len(choices) < 2:
        raise ValueError(f"{len(choices)} choice(s); at least 2 are needed")
    if not all(c.strip() for c in choices):
        raise ValueError("an empty choice")
    return head.rstrip(), choices


def load_subset(path: Path, subset: str) -> list[Item]:
    """All items of one subset file, validated (DataError file:line on the first bad line)."""
    items = []
    for lineno, rec in read_records(path):
        try:
            question, matching = rec["question"], rec["answer_matching_behavior"]
            if not isinstance(question, str) or not isinstance(matching, str):
                raise ValueError("`question` and `answer_matching_behavior` must be strings")
            prompt, choices = parse_question(question)
            m = _LETTER.match(matching)
            if not m or ord(m.group(1)) - ord("A") >= len(choices):
                raise ValueError(f"answer_matching_behavior {matching!r} is not one of the "
                                 f"{len(choices)} choice letters")
        except KeyError as exc:
            raise DataError(f"{path}:{lineno}: missing field {exc.args[0]!r}") from None
        except ValueError as exc:
            raise DataError(f"{path}:{lineno}: {exc}") from None
        not_matching = rec.get("answer_not_matching_behavior")
        items.append(Item(
            id=f"{subset}-{lineno}", prompt=prompt, choices=tuple(choices), answer_index=ord(m.group(1)) - 65,
            metadata={"subset": subset, "line": lineno, "answer_matching_behavior": m.group(1),
                      "answer_not_matching_behavior": _letters(not_matching)},
        ))
    return items


def _letters(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [m.group(1) for v in values if isinstance(v, str) and (m := _LETTER.match(v))]


def _info() -> tuple[dict[str, str], dict[str, str]]:
    extra = datasets.get_dataset(DATASET).extra
    return extra.get("behaviours", {}), extra.get("labels", {})


def metric_label(subset: str | None) -> str:
    behaviours, labels = _info()
    if subset is None:
        return "% answers matching the behaviour (16 subsets pooled; each subset defines its behaviour)"
    return labels.get(subset) or f"% answers matching the behaviour ({behaviours.get(subset, subset)})"


def subset_path(subset: str) -> Path:
    return datasets.locate(DATASET, f"{subset}.jsonl")


class AiRisk(Task):
    family = "ai-risk"
    scoring = Scoring.CHOICE
    metric = Metric.MATCHING_BEHAVIOR

    def __init__(self, name: str | None = None, subset: str | None = None, data: str | None = None,
                 **options: Any) -> None:
        super().__init__(name=name or (f"ai-risk/{subset}" if subset else "ai-risk"), **options)
        if subset is not None and subset not in SUBSETS:
            raise DataError(f"unknown ai-risk subset {subset!r}; the paper's 16 subsets: {', '.join(SUBSETS)}")
        if data is not None and subset is None:
            raise DataError("option data= needs a subset task (ai-risk/<subset>), not the whole ai-risk set")
        self.subset = subset
        self.path = data
        self.metric_label = metric_label(subset)
        rows = {f.name: f.rows or 0 for f in datasets.get_dataset(DATASET).files}
        self.default_size = sum(rows[f"{s}.jsonl"] for s in self._subsets())  # n=None runs every item
        self.paper_size = self.default_size  # the paper ran every item of each subset
        if data is None:  # fail before a run starts, naming the fetch command
            self._check_downloaded()

    def _check_downloaded(self) -> None:
        if self.subset:
            subset_path(self.subset)
            return
        missing = [s for s in SUBSETS if not (datasets.dataset_dir(DATASET) / f"{s}.jsonl").is_file()]
        if missing:
            raise DataError(f"ai-risk: {len(missing)} of 16 subsets are not downloaded "
                            f"({', '.join(missing)}); {datasets.fetch_hint(DATASET)}")

    def _subsets(self) -> list[str]:
        return [self.subset] if self.subset else list(SUBSETS)

    def _load(self, subset: str) -> list[Item]:
        path = Path(self.path) if self.path else subset_path(subset)
        return load_subset(path, subset)

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        if self.subset:
            return select(self._load(self.subset), n, seed, self.name)
        self._check_downloaded()  # the whole set: interleave subsets so any prefix is balanced
        groups = [select(self._load(s), None, seed, f"ai-risk/{s}") for s in SUBSETS]
        return interleave(groups, n)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "subset": self.subset, "dataset": DATASET}


def subset_task(name: str, rest: str, **options: Any) -> AiRisk:
    """PREFIXES factory for `ai-risk/<subset>`."""
    return AiRisk(name=name, subset=rest, **options)
