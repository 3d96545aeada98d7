"""The review app's budget columns at 1400 px in headless Chromium: four fit; many scroll in a box whose scrollbar
is on screen."""

from __future__ import annotations

import pytest
from browser import browser  # noqa: F401  (fixture)
from helpers import run_cli
from review_browser import review_server

pytestmark = pytest.mark.slow

GEOMETRY = """() => {
  const grid = document.querySelector('.grid');
  const cols = [...grid.querySelectorAll('.column')].map(c => c.getBoundingClientRect().right);
  return {cols, scrollW: grid.scrollWidth, clientW: grid.clientWidth, width: window.innerWidth,
          docW: document.documentElement.scrollWidth};
}"""


BUDGETS = ["0,64,256,1024", "0,16,32,64,128,256,512,1024"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run per budget list, made before the browser starts (the test asks for them first): run_cli runs them in
    this process, which it can only while no playwright event loop runs in this thread."""
    root, runs = tmp_path_factory.mktemp("runs"), {}
    for k, budgets in enumerate(BUDGETS):
        runs[budgets] = root / f"run{k}"
        res = run_cli("run", "--model", "stub:inverse", "--task", "misleading-math", "--budgets", budgets, "--limit",
                      "2", "--run-dir", str(runs[budgets]), "--quiet", env={"OVERTHINK_HOME": str(root / "home")})
        assert res.returncode == 0, res.stderr
    return runs


@pytest.mark.parametrize("budgets", BUDGETS)
def test_budget_columns_fit_or_scroll_visibly_at_1400px(budgets, runs, browser, tmp_path):  # noqa: F811
    run = runs[budgets]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        with review_server(run) as (base, config):
            page.goto(f"{base}/?token={config.token}")
            page.goto(f"{base}/item?task=misleading-math&item=mm-0-00000")
            g = page.evaluate(GEOMETRY)
            page.screenshot(path=str(tmp_path / "item.png"), full_page=False)
            assert len(g["cols"]) == len(budgets.split(","))
            assert g["docW"] <= g["width"]  # the page itself never scrolls sideways
            if len(g["cols"]) <= 4:
                assert max(g["cols"]) <= g["width"] and g["scrollW"] <= g["clientW"]
            else:
                assert g["scrollW"] > g["clientW"]  # the grid scrolls ...
                assert "scrolls sideways" in " ".join(page.inner_text(".scroll-hint").split())
                page.locator(".grid").first.scroll_into_view_if_needed()
                page.evaluate("() => document.querySelector('.grid').scrollIntoView({block: 'start'})")
                bottom = page.evaluate("() => document.querySelector('.grid').getBoundingClientRect().bottom")
                assert bottom <= 900  # ... and its scrollbar is inside the window, not below a long column
    finally:
        context.close()
