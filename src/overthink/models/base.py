"""The one small protocol every provider implements, and the model spec syntax.

Spec syntax: PROVIDER:MODEL[@BASE_URL], e.g. `local:qwen2.5-coder-0.5b`, `anthropic:claude-sonnet-4-20250514`,
`openai-compatible:Qwen/Qwen3-8B@http://127.0.0.1:8000/v1`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..budget import BudgetPlan
from ..core import Completion
from ..errors import ModelUnavailable


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
        from ..errors import ConfigError

        raise ConfigError(f"model_options for {spec}: {name} must be {cast.__name__}, got {value!r}") from None


def check_known(spec: ModelSpec | str, options: dict[str, Any], known: set[str]) -> None:
    unknown = set(options) - known
    if unknown:
        from ..errors import ConfigError

        raise ConfigError(f"model_options for {spec}: unknown option(s) {', '.join(sorted(unknown))}; known: "
                          f"{', '.join(sorted(known))}")


@dataclass
class GenerateRequest:
    """One call to a model: the messages, the budget plan and the sampling settings."""

    prompt: str  # the user message (the task's rendered question with its answer format)
    plan: BudgetPlan
    seed: int
    system: str | None = None  # task-level system text; the plan's budget prompt is added by the provider
    temperature: float | None = None  # None = the provider's default for this mechanism
    top_p: float | None = None
    key: Any = None  # opaque: lets the runner match results of a sweep back to its samples
    extra: dict[str, Any] = field(default_factory=dict)

    def system_text(self) -> str | None:
        """Task system text and the budget prompt, joined; None when both are absent."""
        parts = [p for p in (self.system, self.plan.system_prompt) if p]
        return "\n\n".join(parts) if parts else None


@runtime_checkable
class Model(Protocol):
    """A provider instance bound to one model. Implementations live one per module in this package."""

    spec: ModelSpec

    async def generate(self, request: GenerateRequest) -> Completion:
        """Run one request. Raise an exception for a failed request (the runner stores it as `error`)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class SweepModel(Model, Protocol):
    """A model that can answer several budgets of one (item, seed) from one shared thinking trace.

    The requests differ only in `plan.budget` (all `forced`). Results are yielded as soon as each is ready,
    as (request, completion-or-exception) pairs, so the runner can store each sample the moment it completes.
    """

    def generate_sweep(
        self, requests: Sequence[GenerateRequest]
    ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]: ...
