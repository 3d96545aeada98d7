"""Retries and adaptive concurrency for API providers.

- `retrying(...)`: tenacity policy: exponential backoff with full jitter, but a server's Retry-After (seconds or
  HTTP date, or retry-after-ms) is honoured when given. Retried: 408/409/429/5xx/529, timeouts, connection
  errors and malformed response bodies. Not retried: other 4xx (a bad request stays bad).
- `AdaptiveLimiter`: per-provider concurrency that halves on a 429 and grows back by one slot per `limit`
  successes (AIMD), never above the configured ceiling.

The SDK clients are created with their own retries off (openai / anthropic: max_retries=0; google-genai:
HttpRetryOptions(attempts=1), without which it reconnects by itself after 1-10 s), so these are the only
retries (and each one is counted).

A server that accepts connections but never answers: `HANG_TIMEOUTS` attempts in a row on one endpoint that got no
answer within the timeout (no answer of any kind in between) end the retries, and the sweep's stop rule
(sweep/failures.py) stops the run. How a request failed is named by `failure_kind`: the SDKs' aiohttp transport
reports a refused connection, a failed DNS lookup and a reset all as "Request timed out"; the cause chain says which.

A stopped run (a signal, the cost limit, a failed store, a stop rule) sends no retry: `RUN_STOPPED` holds the run's
check (the sweep's recorder sets it for the tasks it starts), read before every retry and during each backoff
wait, so a request that failed after the stop ends with that failure (stored as an error; resume retries it).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import socket
import sys
import time
import weakref
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

T = TypeVar("T")
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
HANG_TIMEOUTS = 3  # timeouts in a row on one endpoint, with no answer in between, that mean the server hangs
RUN_STOPPED: ContextVar[Callable[[], bool] | None] = ContextVar("overthink_run_stopped", default=None)
STOP_POLL_S = 0.1  # how often a backoff wait looks at the run's stop


def run_stopped() -> bool:
    """Whether the run this request belongs to has stopped (no check set: a library call, never stopped)."""
    check = RUN_STOPPED.get()
    return check is not None and check()


async def _sleep(seconds: float) -> None:
    """A backoff wait that ends early when the run stops."""
    end = time.monotonic() + seconds
    while not run_stopped():
        left = end - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, STOP_POLL_S))


def _stop_when_run_stopped(state: RetryCallState) -> bool:
    return run_stopped()


class MalformedResponse(Exception):
    """The server answered 2xx but the body is not what the wire format promises."""


def status_of(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if isinstance(code, int):
        return code
    code = getattr(getattr(exc, "response", None), "status_code", None)  # httpx or the SDKs' httpx2
    return code if isinstance(code, int) else None


def is_retryable(exc: BaseException) -> bool:
    # httpx is looked up, not imported: an httpx error exists only once something imported httpx, and the SDKs
    # here use httpx2, so a chat run need not pay ~0.1-0.3 s for it
    httpx = sys.modules.get("httpx")
    transport = (httpx.TimeoutException, httpx.TransportError) if httpx is not None else ()
    if isinstance(exc, (MalformedResponse, json.JSONDecodeError, asyncio.TimeoutError, *transport)):
        return True
    name = type(exc).__name__
    if name in ("APITimeoutError", "APIConnectionError", "APIResponseValidationError"):
        return True
    code = status_of(exc)
    return code in RETRY_STATUS


def is_connect_error(exc: BaseException) -> bool:
    """No connection could be made (refused, DNS, unroutable): the server is not there, unlike a timeout."""
    seen: BaseException | None = exc
    for _ in range(8):  # the SDKs wrap the transport's error (httpx, or their vendored copy "httpx2")
        if seen is None:
            return False
        if isinstance(seen, (ConnectionRefusedError, socket.gaierror)) or type(seen).__name__ == "ConnectError":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_REFUSED = ("ConnectionRefusedError",)
_DNS = ("gaierror", "ClientConnectorDNSError")
_RESET = ("ConnectionResetError", "BrokenPipeError", "ConnectionAbortedError", "ServerDisconnectedError",
          "RemoteProtocolError")
_TIMEOUT = ("TimeoutError", "APITimeoutError", "ReadTimeout", "ConnectTimeout", "WriteTimeout", "PoolTimeout",
            "TimeoutException", "SocketTimeoutError", "ServerTimeoutError", "ConnectionTimeoutError",
            "DeadlineExceeded")
FAILURE_TEXT = {"refused": "connection refused (nothing listens at that address)", "dns": "DNS lookup failed",
                "reset": "connection reset by the server", "timeout": "timed out: no answer within the timeout"}


def failure_kind(exc: BaseException) -> tuple[str | None, BaseException]:
    """("refused" | "dns" | "reset" | "timeout" | None, the exception in the cause chain that says so)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:  # the SDKs wrap the transport's error several times
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for kind, names in (("refused", _REFUSED), ("dns", _DNS), ("reset", _RESET)):
        for link in chain:
            if any(cls.__name__ in names for cls in type(link).__mro__):
                return kind, link
    for link in chain:
        if isinstance(link, asyncio.TimeoutError) or type(link).__name__ in _TIMEOUT:
            return "timeout", link
    return None, exc


def describe_failure(exc: BaseException) -> str:
    """A failed request as it happened: "connection refused: ..." rather than the SDK's "Request timed out"."""
    kind, cause = failure_kind(exc)
    said = f"{type(exc).__name__}: {exc}"
    if kind is None:
        return said
    if cause is exc or kind == "timeout":
        return f"{FAILURE_TEXT[kind]} ({said})"
    return f"{FAILURE_TEXT[kind]} ({type(cause).__name__}: {cause}; reported as {said})"


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait, from Retry-After / retry-after-ms, else None."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class BackoffWait:
    """Retry-After when the server gives one (capped at `max_wait`), else exponential backoff with full jitter."""

    def __init__(self, initial: float = 1.0, max_wait: float = 60.0, rng: random.Random | None = None) -> None:
        self.initial, self.max_wait, self.rng = initial, max_wait, rng or random.Random()

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after(exc)
        if hinted is not None:
            return min(hinted, self.max_wait)
        ceiling = min(self.max_wait, self.initial * 2 ** (state.attempt_number - 1))
        return self.rng.uniform(0, ceiling)


class AdaptiveLimiter:
    """Concurrency limit that backs off on rate limits (halve) and grows again on success (+1 per `limit` oks)."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = float(self.ceiling)
        self.in_flight = 0
        self.waiting = 0
        self._conds: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one Condition per event loop
        self.min_seen = self.ceiling
        self.timeouts_in_a_row = 0  # attempts that got no answer within the timeout, since the last answer

    @property
    def hung(self) -> bool:
        """HANG_TIMEOUTS attempts in a row got no answer: the endpoint accepts connections but does not answer."""
        return self.timeouts_in_a_row >= HANG_TIMEOUTS

    def on_failure(self, exc: BaseException) -> None:
        kind, _ = failure_kind(exc)
        if kind == "timeout":
            self.timeouts_in_a_row += 1
        elif kind is None:  # the server answered (an error status, a malformed body): it does not hang
            self.timeouts_in_a_row = 0

    @property
    def _cond(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        cond = self._conds.get(loop)
        if cond is None:
            cond = self._conds[loop] = asyncio.Condition()
        return cond

    async def __aenter__(self) -> AdaptiveLimiter:
        if self.in_flight < int(self.limit):  # a free slot: one event loop thread, so no lock is needed to take it
            self.in_flight += 1
            return self
        cond = self._cond
        async with cond:
            self.waiting += 1
            try:
                await cond.wait_for(lambda: self.in_flight < int(self.limit))
            finally:
                self.waiting -= 1
            self.in_flight += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        if self.waiting:  # the condition's lock and wake-up only when someone waits (none below the limit)
            cond = self._cond
            async with cond:
                cond.notify_all()

    def on_rate_limit(self) -> None:
        self.limit = max(1.0, self.limit / 2)
        self.min_seen = min(self.min_seen, int(self.limit))

    def on_success(self) -> None:
        self.limit = min(float(self.ceiling), self.limit + 1 / max(1.0, self.limit))
        self.timeouts_in_a_row = 0


_LIMITERS: dict[tuple[str, str], AdaptiveLimiter] = {}


def limiter_for(provider: str, base_url: str | None, ceiling: int) -> AdaptiveLimiter:
    """One limiter per provider endpoint, shared by every model on it (rate limits are per account/server)."""
    key = (provider, base_url or "")
    lim = _LIMITERS.get(key)
    if lim is None or lim.ceiling != max(1, ceiling):
        lim = _LIMITERS[key] = AdaptiveLimiter(ceiling)
    return lim


async def call_with_retries(fn: Callable[[], Awaitable[T]], *, limiter: AdaptiveLimiter, attempts: int = 6,
                            wait: BackoffWait | None = None, counter: dict[str, Any] | None = None) -> T:
    """Run `fn` under the limiter with retries. `counter['attempts']` records how many tries were made.

    The first try runs without tenacity (its per-call setup costs more than a fast local request); only a
    retryable failure enters the retry policy, which takes that failure as its first attempt's outcome."""
    if counter is not None:
        counter["attempts"] = 1
    try:
        return await _attempt(fn, limiter)
    except Exception as exc:
        if attempts <= 1 or not is_retryable(exc) or limiter.hung:
            raise
        first: BaseException | None = exc
    last: BaseException = first

    def hung(state: RetryCallState) -> bool:
        return limiter.hung

    policy = AsyncRetrying(stop=stop_after_attempt(attempts) | _stop_when_run_stopped | hung,
                           wait=wait or BackoffWait(),
                           retry=retry_if_exception(is_retryable), reraise=True, sleep=_sleep)
    async for attempt in policy:
        with attempt:
            if first is not None:  # attempt 1 already ran: replay its failure so the wait and stop see it
                failed, first = first, None
                raise failed
            if run_stopped():  # the run stopped during the backoff wait: send nothing more
                raise last
            if counter is not None:
                counter["attempts"] = attempt.retry_state.attempt_number
            try:
                return await _attempt(fn, limiter)
            except BaseException as exc:
                last = exc
                raise
    raise AssertionError("unreachable")  # tenacity reraises the last error


async def _attempt(fn: Callable[[], Awaitable[T]], limiter: AdaptiveLimiter) -> T:
    async with limiter:
        try:
            result = await fn()
        except BaseException as exc:
            if status_of(exc) == 429:
                limiter.on_rate_limit()
            limiter.on_failure(exc)
            raise
    limiter.on_success()
    return result
