"""The report in a real headless Chromium: loads without console errors, every figure renders, hostile model
output stays text. Skips only when chromium or playwright is missing (see tests/browser.py)."""

from __future__ import annotations

import pytest
from browser import browser  # noqa: F401 - the fixture
from report_fixtures import grades_run, hostile_run, stub_run

from overthink.report.html import build_report

pytestmark = pytest.mark.slow


def _open(browser, path):  # noqa: F811
    page = browser.new_page()
    console, errors, dialogs = [], [], []
    page.on("console", lambda m: console.append((m.type, m.text)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, console, errors, dialogs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The runs, made before the browser starts (each test asks for them first): in this process, which run_cli can
    do only while no playwright event loop runs in this thread (else each run is a subprocess, ~2.5 s of CPU)."""
    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OVERTHINK_HOME", str(root / "home"))
        return {"inverse": stub_run(root / "inv"), "natural": stub_run(root / "nat", natural=3),
                "grades": grades_run(root / "g"), "hostile": hostile_run(root / "evil")}


def test_report_loads_and_every_figure_renders(runs, browser, tmp_path):  # noqa: F811
    out = build_report([runs["inverse"], runs["natural"], runs["grades"]], tmp_path / "report.html", n_boot=200)
    page, console, errors, _ = _open(browser, out)
    # Open every collapsed section so every figure is laid out.
    page.eval_on_selector_all("details", "els => els.forEach(e => e.open = true)")
    sizes = page.eval_on_selector_all(".figure svg", "els => els.map(e => { const r = e.getBoundingClientRect();"
                                      " return [r.width, r.height, e.querySelectorAll('path').length]; })")
    assert len(sizes) >= 5
    assert all(w > 100 and h > 100 and n > 10 for w, h, n in sizes), sizes
    assert [c for c in console if c[0] in ("error", "warning")] == [] and errors == []
    assert page.locator(".card").count() >= 2
    page.close()


def test_hostile_model_output_does_not_execute(runs, browser, tmp_path):  # noqa: F811
    out = build_report([runs["hostile"]], tmp_path / "report.html", n_boot=200)
    page, console, errors, dialogs = _open(browser, out)
    page.eval_on_selector_all("details", "els => els.forEach(e => e.open = true)")
    page.locator("details.example").first.hover()
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == [] and errors == [] and not [c for c in console if c[0] == "error"]
    # No element was injected: the payload is in the page as text, visible to the reader.
    assert page.locator("script").count() == 0
    assert page.locator("[onerror], [onload], [onmouseover]").count() == 0
    texts = page.locator("pre.trace").all_inner_texts()
    assert any('<script>window.__xss = 1; console.error("xss")</script>' in t for t in texts)
    assert any('<img src=x onerror="window.__xss = 2">' in t for t in texts)
    page.close()
