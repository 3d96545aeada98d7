"""Core data types shared by every stage of the pipeline.

Item (what a task asks) -> GenerateRequest (what a model is asked, with a budget plan) -> Completion (what the
model returned and how long it thought) -> SampleRecord (one stored, scored row; the export schema).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

Budget = int | str
"""A requested budget: thinking tokens (0 = no thinking), an effort level ("low"), or "natural" (no budget)."""

NATURAL = "natural"
EFFORT_ORDER = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


class Status(StrEnum):
    OK = "ok"
    ERROR = "error"  # the request failed; never scored, retried on resume
    TRUNCATED = "truncated"  # output cap hit before an answer; never scored as wrong
    UNPARSED = "unparsed"  # the model answered but no answer could be extracted; counted and shown


DONE_STATUSES = (Status.OK, Status.TRUNCATED, Status.UNPARSED)


class Mechanism(StrEnum):
    FORCED = "forced"  # hard cap: think at most B tokens, then close the think block and force an answer
    PROMPTED = "prompted"  # the paper's soft budget: stated in the system prompt, output capped at B + margin
    NATIVE = "native"  # the provider's own budget control (thinking.budget_tokens, reasoning_effort, ...)
    AUTO = "auto"  # the config default: resolved per model by mechanism.resolve before planning; never stored


class TokenSource(StrEnum):
    """How a completion's `reasoning_tokens` was measured (stored as `reasoning_tokens_source`).

    Str values, so the store and the exports hold the same text whether a provider sets the member or its value.
    """

    TOKENIZER = "tokenizer"  # counted with the model's own tokenizer (the embedded local model)
    USAGE = "usage"  # the provider's usage report (thinking_tokens / reasoning_tokens)
    TOKENIZE_ENDPOINT = "tokenize_endpoint"  # the reasoning text counted by the server's /tokenize
    OUTPUT_MINUS_ANSWER = "output_minus_answer_estimate"  # billed output minus an estimate of the visible answer
    ESTIMATE = "estimate"  # the reasoning text's length in characters / 4 (tokens.estimate_tokens)
    NO_THINKING = "no_thinking"  # nothing was thought and nothing reported: 0 tokens (anthropic)
    NONE = "none"  # not measured (no reasoning text and no report), or an error sample
    STUB = "stub"  # the test stub's synthetic count


class ThinkingStop(StrEnum):
    """How the thinking ended (stored as `thinking_stop`; None on error samples)."""

    NATURAL = "natural"  # the model closed its thinking itself
    CAPPED = "capped"  # cut at the budget (forcing) or by the output cap before any answer text
    UNCLOSED = "unclosed"  # the model ended its turn inside an unclosed think block (local, prompted)
    NONE = "none"  # no thinking


@dataclass(frozen=True)
class Item:
    """One question. Either `answer` (open answer) or `choices` + `answer_index` (multiple choice)."""

    id: str
    prompt: str
    answer: str | int | float | None = None
    choices: tuple[str, ...] | None = None
    answer_index: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def expected(self) -> str:
        """The expected answer as text (a letter for multiple choice)."""
        if self.choices is not None and self.answer_index is not None:
            return chr(ord("A") + self.answer_index)
        return "" if self.answer is None else str(self.answer)


@dataclass
class Completion:
    """What a provider returned for one request, with honestly measured reasoning length."""

    reasoning: str = ""
    answer_text: str = ""
    reasoning_tokens: int | None = None
    reasoning_tokens_source: str = TokenSource.NONE  # a TokenSource
    output_tokens: int | None = None
    input_tokens: int | None = None
    stop_reason: str = "stop"  # stop | max_tokens | error ...
    truncated: bool = False
    latency_s: float = 0.0
    cost_usd: float | None = None
    thinking_stop: str = ThinkingStop.NONE  # a ThinkingStop: how the thinking ended
    shared_trace: bool = False  # answered from a cut of a longer shared thinking trace
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SampleRecord:
    """One stored sample. Field names are the export schema; keep them stable."""

    run_id: str
    model: str
    provider: str
    task: str
    item_id: str
    budget: Budget
    mechanism: str
    replicate: int
    seed: int
    status: str
    reasoning_tokens: int | None = None
    reasoning_tokens_source: str = TokenSource.NONE
    output_tokens: int | None = None
    input_tokens: int | None = None
    answer: str | None = None
    expected: str | None = None
    score: float | None = None
    correct: bool | None = None
    latency_s: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    stop_reason: str | None = None
    thinking_stop: str | None = None
    shared_trace: bool = False
    reasoning: str = ""
    answer_text: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    # what enforced the budget, recorded when the sample ran (models.enforcement labels); None on an error and
    # on samples stored before schema 3 (the audit then infers it from today's tables and says so)
    enforced_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def budget_sort_key(budget: Budget) -> tuple[int, float]:
    """Order budgets: numeric ascending, then effort levels in their natural order, then anything else."""
    if isinstance(budget, bool):
        raise TypeError("a budget is not a bool")
    if isinstance(budget, int):
        return (0, float(budget))
    text = str(budget)
    if text.lstrip("-").isdigit():
        return (0, float(text))
    if text in EFFORT_ORDER:
        return (1, float(EFFORT_ORDER.index(text)))
    return (2, 0.0)


def parse_budget(text: str | int) -> Budget:
    """'256' -> 256, 'high' -> 'high'. Raises ValueError with a readable message."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"budget must be >= 0, got {text}")
        return text
    s = str(text).strip().lower()
    if s.isdigit():
        return int(s)
    if s in EFFORT_ORDER or s == NATURAL:
        return s
    raise ValueError(f"budget {text!r} is neither a token count nor an effort level ({', '.join(EFFORT_ORDER)})")
