"""How a requested budget becomes a request. The one place that knows the mechanisms.

- forced:   a hard cap enforced by the client (budget forcing, s1): think at most B tokens, then close the think
            block and force the answer. An early stop by the model is a natural stop and is recorded as such.
- prompted: the paper's soft budget: the system prompt states the budget and a Think / Think harder / Ultrathink
            keyword; generation is capped at B + an answer margin.
- native:   the provider's own control (Anthropic thinking.budget_tokens, OpenAI reasoning_effort, a server's
            hard thinking budget). Providers translate the plan; they do not invent budgets of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .core import EFFORT_ORDER, NATURAL, Budget, Mechanism

# The paper's mapping of numeric budgets onto OpenAI effort levels (its o-series budgets 1024/4096/8192).
# A numeric budget maps to the level of the largest threshold it reaches.
EFFORT_FOR_BUDGET: tuple[tuple[int, str], ...] = ((0, "low"), (4096, "medium"), (8192, "high"))

# The largest thinking budget (and answer margin) a run accepts, in tokens: 2^20, above every model's documented
# output limit (the largest are 128k output, 1M context). A larger number is a typo that would be paid for and sent
# as max_tokens (and past 2^63 SQLite cannot store it), so it is refused before any request.
MAX_BUDGET = 1_048_576


def check_budget_size(tokens: int, what: str = "budget") -> int:
    """`tokens` if it is within MAX_BUDGET, else a ValueError naming the limit."""
    if tokens > MAX_BUDGET:
        raise ValueError(f"{what} {tokens} is above the maximum of {MAX_BUDGET:,} tokens (no model outputs that "
                         f"many); see 'Budgets' in the README")
    return tokens


def effort_for_budget(tokens: int, table: tuple[tuple[int, str], ...] = EFFORT_FOR_BUDGET) -> str:
    level = table[0][1]
    for threshold, name in table:
        if tokens >= threshold:
            level = name
    return level


def keyword(tokens: int) -> str:
    """The paper's intensity keyword for a budget."""
    if tokens < 2048:
        return "Think"
    if tokens < 8192:
        return "Think harder"
    return "Ultrathink"


def budget_system_prompt(budget: Budget, *, cautioned: bool = False) -> str | None:
    """The paper's budget prompt (our wording). None for a natural run: no budget is mentioned at all."""
    if budget == NATURAL:
        return None
    if budget == 0:
        return "Don't think. Answer directly with your final answer and nothing else."
    if isinstance(budget, str):  # effort levels carry no token count to state
        return "Think step by step before you answer."
    base = (
        f"{keyword(budget)}. Think step by step before you answer. "
        f"You have a thinking token budget of about {budget} tokens."
    )
    if cautioned:
        return base + " You do not need to use all of your budget: stop thinking once you are confident."
    return base + " Use a significant portion of this budget to reason carefully before giving your answer."


@dataclass(frozen=True)
class BudgetPlan:
    """A budget, made concrete. Providers read this; they never re-derive budgets from the raw request."""

    budget: Budget  # as requested, recorded with the sample
    mechanism: Mechanism
    thinking: bool  # whether the model thinks at all
    think_tokens: int | None  # hard cap on thinking tokens (forced, native numeric); None = uncapped
    effort: str | None  # effort level for providers that take one
    system_prompt: str | None  # budget instructions (prompted mechanism), else None
    max_tokens: int  # total output cap: thinking + answer
    answer_tokens: int  # what is reserved for the visible answer


NATURAL_MAX_TOKENS = 16_384  # the paper's natural thinking length; providers/registry.py per provider


def plan_budget(
    budget: Budget,
    mechanism: Mechanism | str,
    *,
    answer_margin: int,
    natural_max_tokens: int = NATURAL_MAX_TOKENS,
    cautioned: bool = False,
) -> BudgetPlan:
    """Turn (budget, mechanism) into a BudgetPlan.

    `answer_margin` is the room left for the answer after thinking (the paper: 10,000 for APIs, 16,384 for open
    models; the embedded model needs far less). A natural budget thinks freely up to `natural_max_tokens`.
    """
    mech = Mechanism(mechanism)
    if mech is Mechanism.AUTO:  # a plan needs a concrete mechanism: mechanism.resolve picks it per model
        raise ValueError("mechanism 'auto' must be resolved for a model before planning (mechanism.resolve)")
    if budget == NATURAL:
        return BudgetPlan(budget, mech, True, None, None, None, natural_max_tokens + answer_margin, answer_margin)
    if isinstance(budget, str):
        if budget not in EFFORT_ORDER:
            raise ValueError(f"unknown budget {budget!r}")
        if mech is not Mechanism.NATIVE:
            raise ValueError(f"effort level {budget!r} needs mechanism 'native', not {mech.value!r}")
        thinking = budget != "none"
        return BudgetPlan(budget, mech, thinking, None, budget, budget_system_prompt(budget, cautioned=cautioned),
                          natural_max_tokens + answer_margin, answer_margin)
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    thinking = budget > 0
    if mech is Mechanism.FORCED:
        return BudgetPlan(budget, mech, thinking, budget, None, None, budget + answer_margin, answer_margin)
    if mech is Mechanism.PROMPTED:
        return BudgetPlan(budget, mech, thinking, None, None, budget_system_prompt(budget, cautioned=cautioned),
                          budget + answer_margin, answer_margin)
    # native numeric: the provider enforces budget_tokens = B (effort for providers that only take levels);
    # the paper also states the budget in the system prompt, so native carries the same prompt.
    return BudgetPlan(budget, mech, thinking, budget if thinking else 0,
                      effort_for_budget(budget) if thinking else "none",
                      budget_system_prompt(budget, cautioned=cautioned), budget + answer_margin, answer_margin)


@dataclass(frozen=True)
class RunSpec:
    """One model's share of a run, resolved once before the first request (sweep/plan.py `resolve_run_spec`):
    the concrete mechanism (never `auto`), answer margin, natural cap, budget wording and sampling. The plan, the
    executors, `overthink check`, `estimate` and the run's stored meta read this; nothing re-derives them."""

    model: str  # the model's identity in the run (--model-name, else its spec)
    mechanism: Mechanism
    answer_margin: int
    natural_cap: int  # thinking tokens of a natural (unbudgeted) sample
    cautioned: bool = False
    temperature: float | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        if self.mechanism is Mechanism.AUTO:
            raise ValueError("a RunSpec holds a resolved mechanism, not 'auto'")

    def plan(self, budget: Budget) -> BudgetPlan:
        """The request plan of `budget` for this model."""
        natural = {"natural_max_tokens": self.natural_cap} if budget == NATURAL else {}
        return plan_budget(budget, self.mechanism, answer_margin=self.answer_margin, cautioned=self.cautioned,
                           **natural)

    def describe(self) -> dict[str, Any]:
        return {"mechanism": self.mechanism.value, "answer_margin": self.answer_margin,
                "natural_cap": self.natural_cap, "cautioned": self.cautioned, "temperature": self.temperature,
                "top_p": self.top_p}
