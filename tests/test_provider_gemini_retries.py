"""Only overthink retries a Gemini request: the google-genai client is created with HttpRetryOptions(attempts=1),
so a failing request reaches the wire exactly `max_attempts` times (the SDK's own tenacity policy and its
implicit reconnect-after-1-10-s on aiohttp connection errors are both off), and `attempts` and latency are true.

Against the local Gemini wire server (tests/servers/gemini_api.py) for HTTP errors, and a raw TCP listener that
reads each request and hangs up without answering (the SDK then sees a dropped connection, which it used to
retry by itself after sleeping 1-10 s)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from servers.gemini_api import GeminiAPI

from overthink.budget import plan_budget
from overthink.providers import GenerateRequest, load_model
from overthink.providers.apibase import ProviderError

KEY = "AIza-test-key-000"
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5}


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)


def request() -> GenerateRequest:
    return GenerateRequest(prompt="How many fruits?", plan=plan_budget(1024, "native", answer_margin=100), seed=7)


def generate(url: str, attempts: int):
    model = load_model(f"gemini:gemini-2.5-flash@{url}", {**FAST, "max_attempts": attempts})

    async def go():
        try:
            return await model.generate(request())
        finally:
            await model.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_failing_status_reaches_the_server_exactly_max_attempts_times(attempts):
    api = GeminiAPI(key=KEY).start()
    try:
        api.fail(503, "overloaded", times=10)
        with pytest.raises(ProviderError, match=f"after {attempts} attempt"):
            generate(api.url, attempts)
        assert len(api.log) == attempts
    finally:
        api.stop()


def test_retries_then_success_count_every_try():
    api = GeminiAPI(key=KEY).start()
    try:
        api.fail(500, "internal", times=2)
        out = generate(api.url, 4)
        assert out.extra["attempts"] == 3 and len(api.log) == 3 and len(api.billed) == 1
    finally:
        api.stop()


class HangUp:
    """A TCP listener that reads one HTTP request per connection and closes it without an answer."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                if data:
                    self.requests += 1

    def stop(self) -> None:
        self.sock.close()


def test_a_dropped_connection_is_tried_exactly_max_attempts_times():
    server = HangUp()
    try:
        start = time.perf_counter()
        with pytest.raises(ProviderError, match="after 3 attempts"):
            generate(server.url, 3)
        elapsed = time.perf_counter() - start
    finally:
        server.stop()
    assert server.requests == 3
    assert elapsed < 1.0  # the SDK's own reconnect waits 1-10 s per failure before trying again


def test_a_closed_port_fails_fast():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()  # nothing listens there now
    start = time.perf_counter()
    with pytest.raises(ProviderError, match="after 3 attempts"):
        generate(url, 3)
    assert time.perf_counter() - start < 1.0  # 22 s before: the SDK retried each refused connection itself
