"""The review app served by a real uvicorn server in a thread on a free 127.0.0.1 port, for the browser tests
(the browser fixture itself is in tests/browser.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
