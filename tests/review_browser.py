"""Shared fixtures for the review app's browser tests: Debian's chromium driven by playwright, and the app served
by a real uvicorn server in a thread on a free 127.0.0.1 port."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser tests need it")
    return path


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    # playwright is in the test extra: a missing package is an error, not a skip.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def review_server(run_dir: Path, *, reviewer: str = "") -> Iterator[tuple[str, object]]:
    """Serve the review app for `run_dir`; yields (base URL without token, ReviewConfig)."""
    from overthink.review.app import ReviewConfig, bind, make_server

    config = ReviewConfig(Path(run_dir), default_reviewer=reviewer)
    server = make_server(config)
    sock = bind(0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", config
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
