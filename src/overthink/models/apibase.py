"""What the API providers share: options, capability and price lookup, retries, cost, pre-run plan checks."""

from __future__ import annotations

import inspect
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..budget import BudgetPlan
from ..core import NATURAL
from ..errors import ConfigError
from ..pricing import Price, price_for, worst_case_cost
from ..secrets import check_options, redact
from .base import GenerateRequest, ModelBase, ModelSpec, check_known, model_option
from .capabilities import capabilities
from .retry import BackoffWait, call_with_retries, limiter_for, status_of

T = TypeVar("T")
_ANSWER = re.compile(r"<answer>.*?</answer>", re.DOTALL | re.IGNORECASE)

COMMON_OPTIONS = {
    "api_key_env", "capabilities", "price", "timeout_s", "max_attempts", "max_concurrency", "backoff_initial_s",
    "backoff_max_s", "effort_table", "env_file",
}


def has_answer(text: str) -> bool:
    """Whether a complete answer tag is present: max_tokens with one is a cut tail, without one a truncation."""
    return bool(_ANSWER.search(text or ""))


def estimate_tokens(text: str) -> int:
    """A labelled estimate (about 4 characters per token) used only when nothing better is reported."""
    return math.ceil(len(text) / 4) if text else 0


class ProviderError(Exception):
    """A request that failed after its retries; stored as an `error` sample and retried on resume."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status


class ApiModel(ModelBase):
    """Base for HTTP API providers. Subclasses set `provider`, `extra_options` and implement `generate`."""

    provider = ""
    default_answer_margin = 10_000
    extra_options: frozenset[str] = frozenset()
    default_key_env: str | None = None

    def __init__(self, spec: ModelSpec, options: dict[str, Any]) -> None:
        check_options(str(spec), options)
        check_known(spec, options, COMMON_OPTIONS | self.extra_options)
        self.spec = spec
        self.options = options
        self.caps = capabilities(self.provider, spec.model, options.get("capabilities"))
        self.price: Price | None = price_for(self.provider, spec.model, options.get("price"))
        self.timeout_s = model_option(spec, options, "timeout_s", float, 600)
        self.attempts = model_option(spec, options, "max_attempts", int, 6)
        self.limiter = limiter_for(self.provider, spec.base_url, model_option(spec, options, "max_concurrency", int, 16))
        self.wait = BackoffWait(model_option(spec, options, "backoff_initial_s", float, 1.0),
                                model_option(spec, options, "backoff_max_s", float, 60))
        self.key_env = options.get("api_key_env", self.default_key_env)
        self.env_file = options.get("env_file", ".env")
        self.batch_mode = False

    # -- cost -----------------------------------------------------------------------------------------------
    def cost(self, input_tokens: int | None, output_tokens: int | None, *, batch: bool = False) -> float | None:
        return None if self.price is None else round(self.price.cost(input_tokens, output_tokens, batch=batch), 8)

    def worst_case_cost(self, request: GenerateRequest) -> float | None:
        chars = len(request.prompt) + len(request.system_text() or "")
        return worst_case_cost(self.price, chars, request.plan.max_tokens, batch=self.batch_mode)

    # -- checks ---------------------------------------------------------------------------------------------
    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        """Raise a UserError before any work when this model cannot honour `plan`. Subclasses extend."""

    def effort_for(self, plan: BudgetPlan) -> str | None:
        """The effort level for a native plan: the plan's own (budget.py's mapping) or the user's effort_table."""
        if plan.budget == NATURAL:
            return None
        table = self.options.get("effort_table")
        if table and isinstance(plan.budget, int):
            from ..budget import effort_for_budget

            if plan.budget == 0:
                return "none"
            try:
                rows = tuple(sorted((int(k), str(v)) for k, v in dict(table).items()))
            except (TypeError, ValueError):
                raise ConfigError(f"model_options for {self.spec}: effort_table maps token thresholds to "
                                  f"levels, e.g. {{0: low, 4096: medium, 8192: high}}") from None
            return effort_for_budget(plan.budget, rows)
        return plan.effort

    # -- calls ----------------------------------------------------------------------------------------------
    async def call(self, fn: Callable[[], Awaitable[T]], counter: dict[str, Any] | None = None) -> T:
        """`fn` with retries; a request that still fails raises ProviderError (redacted, status kept)."""
        counter = counter if counter is not None else {}
        try:
            return await call_with_retries(fn, limiter=self.limiter, attempts=self.attempts, wait=self.wait,
                                           counter=counter)
        except Exception as exc:
            tries = counter.get("attempts")
            raise ProviderError(redact(f"{type(exc).__name__}: {exc}"[:1500])
                                + (f" (after {tries} attempts)" if tries else ""), status_of(exc)) from None

    @staticmethod
    def clock() -> float:
        return time.perf_counter()


def sdk_kwargs(method: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Body fields this SDK version has no keyword for (e.g. temperature on SDKs that dropped it) go in
    extra_body, so the wire request is exactly `body` whatever the SDK version."""
    accepted = inspect.signature(method).parameters
    kwargs = {k: v for k, v in body.items() if k in accepted}
    rest = {k: v for k, v in body.items() if k not in accepted}
    if rest:
        kwargs["extra_body"] = rest
    return kwargs
