"""Headless Chromium for the report and review tests: Debian's `chromium` driven by the `playwright` package.

`playwright install` cannot download browsers here, so the system browser is used. Tests that need it skip, with
the reason, only when the browser or the playwright package is missing (CI installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("OVERTHINK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


# Module scope: sync playwright runs an event loop in this thread while it lives, which would break asyncio.run()
# in the test modules that follow.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install -y chromium); browser tests skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()
