"""What the API providers share: options, capability and price lookup, retries, cost, pre-run plan checks, the
`generate` template, and the one decision of how an answer ended (`ending`).

A provider (anthropic.py, openai.py, ...) subclasses `ApiModel` and writes only what differs: `params` (the wire
body), `send` (one SDK call) and `completion` (the response parsed into `completed(...)`, which decides the
ending with `ending`; `reasoning_before_answer` measures reasoning written in visible text).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import re
import ssl
import sys
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..budget import BudgetPlan, effort_for_budget
from ..core import NATURAL, Budget, Completion, Mechanism, ThinkingStop, TokenSource
from ..errors import ConfigError
from ..pricing import Price, price_for
from ..secrets import check_options, redact
from ..tokens import estimate_tokens
from .base import GenerateRequest, ModelBase, ModelSpec, check_known, model_option
from .capabilities import capabilities
from .retry import (
    BackoffWait,
    call_with_retries,
    describe_failure,
    failure_kind,
    is_connect_error,
    limiter_for,
    status_of,
)

T = TypeVar("T")
_ANSWER = re.compile(r"<answer>.*?</answer>", re.DOTALL | re.IGNORECASE)
CAP_REASONS = frozenset({"length", "max_tokens"})  # finish/stop reasons meaning "the output cap was hit"

COMMON_OPTIONS = {
    "api_key_env", "capabilities", "price", "timeout_s", "max_attempts", "max_concurrency", "backoff_initial_s",
    "backoff_max_s", "effort_table", "env_file",
}


def has_answer(text: str) -> bool:
    """Whether a complete answer tag is present: max_tokens with one is a cut tail, without one a truncation."""
    return bool(_ANSWER.search(text or ""))


def sdk_http_client(sdk: Any) -> Any:
    """The SDK's aiohttp transport (`DefaultAioHttpClient`, which the openai and anthropic SDKs document "for improved
    concurrency performance") when aiohttp is installed, else None: the SDK's own httpx client. Against a fast
    server it halves the client's CPU per request (1,000 chat posts at concurrency 32: 2.7 s instead of 4.1 s on 2
    cores, bench/bench_harness_vs_sdk.py). The aiohttp session opens on the first request, inside the running loop.
    Its TLS context is the one the client would build itself, built once per process (`tls_context`)."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return None
    make = getattr(sdk, "DefaultAioHttpClient", None)
    if make is None:
        return None
    context = tls_context(make)
    return make() if context is None else make(verify=context)


def tls_context(client_class: type) -> ssl.SSLContext | None:
    """The verified TLS context an httpx-style client class makes by default (`verify=True`, `trust_env=True`), made
    once per process and HTTP library and shared by every client: each one loads the whole CA store, ~40 ms of CPU
    per model (bench/bench_model_load.py). Only the environment variables it reads (SSL_CERT_FILE, SSL_CERT_DIR) make
    a new one. The client's own maker builds it, so its trust store (certifi, the system's, truststore) is kept.
    None (the client builds its own) for a client that is not built on an httpx-style AsyncClient."""
    base = next((c for c in client_class.__mro__ if c.__name__ == "AsyncClient"), None)
    library = base.__module__.split(".")[0] if base is not None else ""  # httpx, or httpx2 in SDKs that moved to it
    if not hasattr(sys.modules.get(library), "create_ssl_context"):
        return None
    return _tls_context(library, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=8)
def _tls_context(library: str, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    # cert_file and cert_dir only key the cache: create_ssl_context reads them from the environment itself
    return importlib.import_module(library).create_ssl_context()


@dataclass(frozen=True)
class Ending:
    stop_reason: str  # the provider's reason, with every "output cap hit" spelled max_tokens
    truncated: bool  # the cap was hit before a complete answer: never scored as wrong
    thinking_stop: ThinkingStop


def ending(finish: str, text: str, *, thought: bool, capped: bool | None = None) -> Ending:
    """How a response ended, decided in one place for every API provider.

    `finish` is the provider's stop/finish reason ("length" and "max_tokens" mean the output cap was hit),
    `text` the visible answer text, `thought` whether the model thought at all. `capped` is whether the thinking
    itself was cut at its budget when the provider knows it (two-pass forcing); otherwise thinking counts as
    capped only when the cap was hit before any answer text.
    """
    hit = finish in CAP_REASONS
    truncated = hit and not has_answer(text)
    cut = capped if capped is not None else truncated and not text
    stop = ThinkingStop.NONE if not thought else ThinkingStop.CAPPED if cut else ThinkingStop.NATURAL
    return Ending("max_tokens" if hit else finish, truncated, stop)


def sampling(request: GenerateRequest) -> dict[str, Any]:
    """The request's temperature / top_p, only those set (None = the provider's default is left alone)."""
    return {k: v for k, v in (("temperature", request.temperature), ("top_p", request.top_p)) if v is not None}


def reasoning_before_answer(output_tokens: int, text: str, *, all_answer: bool = False) -> int:
    """Reasoning tokens of a model that reasons in visible text: the billed output minus an estimate of the
    final answer (from its last <answer> tag; `all_answer`: the whole text is answer, thinking was separate)."""
    answer = text if all_answer else text[text.rfind("<answer>"):] if "<answer>" in text else ""
    return max(0, output_tokens - estimate_tokens(answer))


class ProviderError(Exception):
    """A request that failed after its retries; stored as an `error` sample and retried on resume."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status
        self.unreachable: str | None = None  # the URL, when no connection could be made at all
        self.failure: str | None = None  # refused | dns | reset | timeout (retry.failure_kind), else None
        self.hung: float | None = None  # the timeout, when the endpoint left HANG_TIMEOUTS attempts in a row unanswered


class ApiModel(ModelBase):
    """Base for HTTP API providers; `generate` is a template and a subclass implements only what differs:

        body = self.params(request)       # the exact wire body (also what a batch entry carries)
        response = await self.send(body)  # one SDK call, no retries of its own (SDK clients: max_retries=0)
        return self.completion(response, request.plan, latency_s)  # parse; a malformed body raises
                                                                   # MalformedResponse and is retried

    The template owns timing, retries and concurrency (`call`), the attempt count (extra["attempts"]) and error
    wrapping (ProviderError, redacted). `completion` builds its result with `completed`, which decides
    truncation and the thinking stop with `ending`. A subclass sets `provider` (the capability and price table
    key), `extra_options`, `default_key_env` and `client` (closed by `aclose`), and extends `check_plan`.
    """

    provider = ""
    client: Any  # the SDK client `send` uses; closed by aclose
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
        ceiling = model_option(spec, options, "max_concurrency", int, 16)
        self.limiter = limiter_for(self.provider, spec.base_url, ceiling)
        self.wait = BackoffWait(model_option(spec, options, "backoff_initial_s", float, 1.0),
                                model_option(spec, options, "backoff_max_s", float, 60))
        self.key_env = options.get("api_key_env", self.default_key_env)
        self.env_file = options.get("env_file", ".env")
        self.batch_mode = False

    # -- cost -----------------------------------------------------------------------------------------------
    def cost(self, input_tokens: int | None, output_tokens: int | None, *, batch: bool = False) -> float | None:
        return None if self.price is None else round(self.price.cost(input_tokens, output_tokens, batch=batch), 8)

    def completed(self, *, text: str, reasoning: str, tokens: int | None, source: TokenSource, finish: str,
                  thought: bool, output_tokens: int | None, input_tokens: int | None, latency_s: float = 0.0,
                  batch: bool = False, capped: bool | None = None, extra: dict[str, Any]) -> Completion:
        """The Completion of a parsed response: its ending decided by `ending`, its cost from the price table."""
        end = ending(finish, text, thought=thought, capped=capped)
        return Completion(
            reasoning=reasoning, answer_text=text, reasoning_tokens=tokens, reasoning_tokens_source=source,
            output_tokens=output_tokens, input_tokens=input_tokens, stop_reason=end.stop_reason,
            truncated=end.truncated, latency_s=latency_s, cost_usd=self.cost(input_tokens, output_tokens, batch=batch),
            thinking_stop=end.thinking_stop, extra={**extra, **({"batch": True} if batch else {})})

    def worst_case_cost(self, request: GenerateRequest) -> float | None:
        if self.price is None:
            return None
        sent = estimate_tokens(request.prompt + (request.system_text() or ""), generous=True)
        return self.price.cost(sent, request.plan.max_tokens, batch=self.batch_mode)

    # -- checks ---------------------------------------------------------------------------------------------
    def control_budgets(self) -> list[Budget]:
        low = int(self.caps.get("min_budget", None) or 1024)  # the smallest budget the API accepts
        return [0, low, 4 * low]

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        """Raise a UserError before any work when this model cannot honour `plan`. Subclasses extend."""

    def refuse_forced(self, plan: BudgetPlan, why: str) -> None:
        """A hosted API returns text, not a think block the client can cut: a forced budget is refused."""
        if plan.mechanism is Mechanism.FORCED and plan.budget != NATURAL:
            raise ConfigError(f"{self.spec}: mechanism 'forced' {why}")

    def effort_for(self, plan: BudgetPlan) -> str | None:
        """The effort level for a native plan: the plan's own (budget.py's mapping) or the user's effort_table."""
        if plan.budget == NATURAL:
            return None
        table = self.options.get("effort_table")
        if table and isinstance(plan.budget, int):
            if plan.budget == 0:
                return "none"
            try:
                rows = tuple(sorted((int(k), str(v)) for k, v in dict(table).items()))
            except (TypeError, ValueError):
                raise ConfigError(f"model_options for {self.spec}: effort_table maps token thresholds to "
                                  f"levels, e.g. {{0: low, 4096: medium, 8192: high}}") from None
            return effort_for_budget(plan.budget, rows)
        return plan.effort

    # -- the template -------------------------------------------------------------------------------------
    @abstractmethod
    def params(self, request: GenerateRequest) -> dict[str, Any]:
        """The exact request body for `request`."""
        raise NotImplementedError

    @abstractmethod
    async def send(self, body: dict[str, Any]) -> Any:
        """One SDK call with `body`; returns the SDK's response object."""
        raise NotImplementedError

    @abstractmethod
    def completion(self, response: Any, plan: BudgetPlan, latency_s: float, *, batch: bool = False) -> Completion:
        """`response` parsed; raise MalformedResponse when it lacks what the wire format promises."""
        raise NotImplementedError

    async def generate(self, request: GenerateRequest) -> Completion:
        body = self.params(request)
        start = self.clock()
        counter: dict[str, Any] = {}
        out, attempts = await self.exchange(
            body, lambda r: self.completion(r, request.plan, self.clock() - start), counter)
        out.extra["attempts"] = attempts  # HTTP attempts; latency_s spans them all, backoff included
        out.extra["attempt_latency_s"] = round(counter.get("attempt_s", out.latency_s), 4)
        return out

    async def exchange(self, body: dict[str, Any], parse: Callable[[Any], T],
                       counter: dict[str, Any] | None = None) -> tuple[T, int]:
        """`send(body)` then `parse` inside one retried attempt (a malformed body is retried too); returns the
        parsed value and how many attempts it took (`counter["attempt_s"]`: the successful attempt's time)."""
        counter = counter if counter is not None else {}

        async def attempt() -> T:
            sent = self.clock()
            out = parse(await self.send(body))
            counter["attempt_s"] = self.clock() - sent
            return out

        return await self.call(attempt, counter), counter.get("attempts", 1)

    # -- calls ----------------------------------------------------------------------------------------------
    async def call(self, fn: Callable[[], Awaitable[T]], counter: dict[str, Any] | None = None) -> T:
        """`fn` with retries; a request that still fails raises ProviderError (redacted, status kept)."""
        counter = counter if counter is not None else {}
        try:
            return await call_with_retries(fn, limiter=self.limiter, attempts=self.attempts, wait=self.wait,
                                           counter=counter)
        except Exception as exc:
            tries = counter.get("attempts")
            error = ProviderError(redact(describe_failure(exc))[:1500]
                                  + (f" (after {tries} attempts)" if tries else ""), status_of(exc))
            error.failure = failure_kind(exc)[0]
            if error.failure == "timeout" and self.limiter.hung:
                error.hung = self.timeout_s
            if is_connect_error(exc):
                error.unreachable = redact(str(self.spec.base_url or getattr(self.client, "base_url", "") or
                                               self.provider))
            raise error from None

    async def aclose(self) -> None:
        await self.client.close()

    @staticmethod
    def clock() -> float:
        return time.perf_counter()


def sdk_kwargs(method: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Body fields this SDK version has no keyword for (e.g. temperature on SDKs that dropped it) go in
    extra_body, so the wire request is exactly `body` whatever the SDK version."""
    accepted = _keywords(getattr(method, "__func__", method))
    kwargs = {k: v for k, v in body.items() if k in accepted}
    rest = {k: v for k, v in body.items() if k not in accepted}
    if rest:
        kwargs["extra_body"] = rest
    return kwargs


@functools.lru_cache(maxsize=64)
def _keywords(function: Any) -> frozenset[str]:
    """The keyword names of an SDK method, read once: inspect.signature costs ~0.4 ms, more than a request."""
    return frozenset(inspect.signature(function).parameters)
