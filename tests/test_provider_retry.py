"""Retry-After parsing, backoff bounds and the adaptive concurrency limiter."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time

import httpx
from tenacity import RetryCallState

from overthink.providers.retry import AdaptiveLimiter, BackoffWait, is_retryable, retry_after
from overthink.secrets import redact


class StatusError(Exception):
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        super().__init__(f"status {status}")
        self.status_code = status
        self.response = httpx.Response(status, headers=headers)


def test_retry_after_forms():
    assert retry_after(StatusError(429, {"retry-after": "2.5"})) == 2.5
    assert retry_after(StatusError(429, {"retry-after-ms": "150"})) == 0.15
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after(StatusError(503, {"retry-after": date})) <= 31
    assert retry_after(StatusError(500, {})) is None


def test_retryable_statuses():
    assert all(is_retryable(StatusError(s, {})) for s in (408, 429, 500, 502, 503, 529))
    assert not any(is_retryable(StatusError(s, {})) for s in (400, 401, 403, 404, 422))
    assert is_retryable(httpx.ReadTimeout("slow"))


def test_backoff_honours_hint_and_caps_jitter():
    wait = BackoffWait(initial=1.0, max_wait=8.0, rng=random.Random(0))

    def state(attempt: int, exc: BaseException) -> RetryCallState:
        s = RetryCallState(None, None, (), {})
        s.attempt_number = attempt
        s.set_exception((type(exc), exc, None))
        return s

    assert wait(state(1, StatusError(429, {"retry-after": "3"}))) == 3.0
    assert wait(state(1, StatusError(429, {"retry-after": "300"}))) == 8.0  # capped
    draws = [wait(state(n, StatusError(500, {}))) for n in range(1, 8)]
    assert all(0 <= d <= min(8.0, 2 ** (n - 1)) for n, d in zip(range(1, 8), draws))


def test_limiter_halves_on_rate_limit_and_grows_back():
    lim = AdaptiveLimiter(8)
    lim.on_rate_limit()
    lim.on_rate_limit()
    assert int(lim.limit) == 2
    for _ in range(40):
        lim.on_success()
    assert int(lim.limit) == 8 and lim.limit <= lim.ceiling

    async def peak() -> int:
        lim2, live, top = AdaptiveLimiter(3), [0], [0]

        async def job() -> None:
            async with lim2:
                live[0] += 1
                top[0] = max(top[0], live[0])
                await asyncio.sleep(0.01)
                live[0] -= 1

        await asyncio.gather(*(job() for _ in range(12)))
        return top[0]

    assert asyncio.run(peak()) == 3


def test_redact_headers():
    assert "abcdefghijkl" not in redact("Authorization: Bearer abcdefghijkl")
    assert "zzzzzzzzzz12" not in redact('{"x-api-key": "zzzzzzzzzz12"}')
