"""The provider contract: everything the sweep engine may ask of a model, declared here with its defaults.

Every provider class inherits `ModelBase` and overrides only what differs: `generate` (required), `aclose`,
`default_answer_margin`, `check_plan`, `price`, `worst_case_cost`. Two optional abilities are protocols checked
once per model: `SweepModel` (several budgets from one shared thinking trace) and `BatchModel` (a batch API).

Spec syntax: PROVIDER:MODEL[@BASE_URL], e.g. `local:qwen2.5-coder-0.5b`, `anthropic:claude-sonnet-4-20250514`,
`openai-compatible:Qwen/Qwen3-8B@http://127.0.0.1:8000/v1`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..budget import BudgetPlan
from ..core import Budget, Completion
from ..errors import ConfigError, ModelUnavailable
from ..pricing import FREE, Price
from .enforcement import derive_enforced_by
from .registry import answer_margin_for


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    model: str
    base_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        text = text.strip()
        if ":" not in text:
            raise ModelUnavailable(
                f"model spec {text!r} has no provider: write PROVIDER:MODEL[@BASE_URL], e.g. local:qwen2.5-coder-0.5b"
            )
        provider, rest = text.split(":", 1)
        base_url = None
        if "@" in rest:
            rest, base_url = rest.split("@", 1)
            if not base_url:
                raise ModelUnavailable(f"model spec {text!r}: empty base URL after '@'")
        if not provider or not rest:
            raise ModelUnavailable(f"model spec {text!r}: provider and model must both be non-empty")
        return cls(provider.lower(), rest, base_url)

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}" + (f"@{self.base_url}" if self.base_url else "")


def model_option(spec: ModelSpec | str, options: dict[str, Any], name: str, cast: type, default: Any) -> Any:
    """One `model_options` value, converted; a bad value is a ConfigError naming the model and the option."""
    value = options.get(name, default)
    if value is None:
        return None
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise ConfigError(f"model_options for {spec}: {name} must be {cast.__name__}, got {value!r}") from None


def check_known(spec: ModelSpec | str, options: dict[str, Any], known: set[str]) -> None:
    unknown = set(options) - known
    if unknown:
        raise ConfigError(f"model_options for {spec}: unknown option(s) {', '.join(sorted(unknown))}; known: "
                          f"{', '.join(sorted(known))}")


@dataclass(frozen=True)
class ServerControls:
    """What an OpenAI-compatible server offers for a budget (from its server profile): the name of its hard
    thinking-budget request field, if any, whether client-side forcing is possible, and the effort levels it takes.
    mechanism.resolve reads it to pick `auto`; `overthink check` to pick default budgets."""

    budget_field: str | None = None
    forcing: bool = True
    efforts: tuple[str, ...] = ()


@dataclass
class GenerateRequest:
    """One call to a model: the messages, the budget plan and the sampling settings."""

    prompt: str  # the user message (the task's rendered question with its answer format)
    plan: BudgetPlan
    seed: int
    system: str | None = None  # task-level system text; the plan's budget prompt is added by the provider
    temperature: float | None = None  # None = the provider's default for this mechanism
    top_p: float | None = None
    key: Any = None  # opaque: lets the engine match results of a sweep back to its samples
    extra: dict[str, Any] = field(default_factory=dict)

    def system_text(self) -> str | None:
        """Task system text and the budget prompt, joined; None when both are absent."""
        parts = [p for p in (self.system, self.plan.system_prompt) if p]
        return "\n\n".join(parts) if parts else None


class ModelBase(ABC):
    """A provider instance bound to one model: the whole contract between a provider and the sweep engine."""

    spec: ModelSpec
    price: Price | None = FREE  # None = no known price (--max-cost refuses); the embedded and stub models are free
    batch_mode: bool = False  # set by the engine for a --batch run: costs carry the provider's batch discount
    batch_api: bool = False  # declared by a provider that implements BatchModel and whose platform has the API

    @property
    def default_answer_margin(self) -> int:
        """Answer room when the config sets no answer_margin (a provider class may override it)."""
        return answer_margin_for(self.spec.provider)

    @abstractmethod
    async def generate(self, request: GenerateRequest) -> Completion:
        """Run one request. Raise an exception for a failed request (the engine stores it as `error`)."""

    async def aclose(self) -> None:
        """Release clients, threads or loaded weights at the end of a run."""
        return None

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        """Raise a UserError before any work when this model cannot honour `plan` (called once per budget)."""
        return None

    def enforced_by(self, plan: BudgetPlan) -> str:
        """What enforces `plan` on this model (providers/enforcement.py labels), stored with each sample when it runs.
        A provider that knows better records it in its Completion's extra["enforced_by"], which wins."""
        return derive_enforced_by(self.spec.provider, plan.mechanism.value, plan.budget, self.spec.model)

    def worst_case_cost(self, request: GenerateRequest) -> float | None:
        """The most `request` can cost (input plus every allowed output token) in USD; None = nothing billed."""
        return None

    def control_budgets(self) -> list[Budget]:
        """Budget 0 and two budgets this model's control should tell apart: what `overthink check` compares
        when no budgets are given. A provider with another kind of control (levels, a small context) overrides."""
        return [0, 1024, 4096]

    def server_controls(self) -> ServerControls | None:
        """An OpenAI-compatible server's budget controls (its profile); None for every other provider."""
        return None

    def describe(self) -> dict[str, Any]:
        """What the run stores about this model beyond its spec (run meta "models"), e.g. the server profile."""
        return {}


@runtime_checkable
class SweepModel(Protocol):
    """A model that can answer several budgets of one (item, seed) from one shared thinking trace.

    The requests differ only in `plan.budget` (all `forced`). Results are yielded as soon as each is ready,
    as (request, completion-or-exception) pairs, so the engine can store each sample the moment it completes.
    """

    def generate_sweep(
        self, requests: Sequence[GenerateRequest]
    ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]: ...


@runtime_checkable
class BatchModel(Protocol):
    """A model with a provider batch API (`--batch`). Entries are (custom_id, body) pairs; a submitted batch is
    polled with `batch_state` until it is 'ended', then `batch_results` yields (custom_id, completion-or-error)
    for the custom ids in `plans`."""

    def params(self, request: GenerateRequest) -> dict[str, Any]: ...

    async def submit_batch(self, entries: list[tuple[str, dict[str, Any]]]) -> str: ...

    async def batch_state(self, batch_id: str) -> str: ...

    def batch_results(self, batch_id: str,
                      plans: dict[str, BudgetPlan]) -> AsyncIterator[tuple[str, Completion | BaseException]]: ...
