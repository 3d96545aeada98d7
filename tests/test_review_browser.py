"""The review app in Debian's chromium: open, filter, label with the keyboard, reload; token; hostile model text."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from browser import browser  # noqa: F401  (fixture)
from review_browser import review_server
from review_fixtures import EVIL_ID, add_evil_item, stub_run

from overthink.review import data
from overthink.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = stub_run(tmp_path_factory.mktemp("review") / "run")
    add_evil_item(path)
    return path


@pytest.fixture
def page(browser):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_request_without_token_is_refused(run_dir, page):
    with review_server(run_dir) as (base, config):
        for url in (base + "/", base + "/?token=wrong", base + "/item?task=misleading-math&item=mm-0-00000",
                    base + "/static/review.js"):
            response = page.goto(url)
            assert response.status == 403, url
            assert "access token" in page.content()
        # With the token the same page opens, the token leaves the address bar, and the cookie carries on.
        response = page.goto(f"{base}/?token={config.token}")
        assert response.status == 200 and "token" not in page.url
        assert page.goto(base + "/static/review.js").status == 200


def test_open_filter_label_with_keyboard_reload(run_dir, page):
    with Store(run_dir) as store:
        inverse = [r for r in data.item_rows(store) if r.verdict == "inverse"]
    assert inverse, "the stub sweep should produce some right-short-wrong-long items"
    with review_server(run_dir) as (base, config):
        page.goto(f"{base}/?token={config.token}")
        page.fill("#reviewer", "Ann Ö")
        with page.expect_navigation():
            page.press("#reviewer", "Enter")
        assert page.input_value("#reviewer") == "Ann Ö"
        page.select_option("#filter-verdict", "inverse")
        with page.expect_navigation():
            page.click("#apply")
        assert "verdict=inverse" in page.url
        links = page.locator("#items a.item-link")
        assert links.count() == len(inverse)
        assert sorted(links.all_inner_texts()) == sorted(r.item_id for r in inverse)
        assert set(page.locator("#items td .verdict").all_inner_texts()) == {"inverse"}

        with page.expect_navigation():
            links.first.click()
        item_id = page.inner_text("#item-id")
        first = page.locator("article.sample").first
        sample_id = int(first.get_attribute("data-sample-id"))
        page.keyboard.press("j")  # select the first sample
        page.keyboard.press("1")  # distracted by irrelevant information
        page.wait_for_selector(f"#sample-{sample_id} .save-state.saved")
        page.keyboard.press("t")
        page.keyboard.type("adds prices")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#sample-{sample_id} .save-state.saved")  # the save set "saving" synchronously
        page.keyboard.press("j")
        page.keyboard.press("0")  # second sample: no failure
        second = page.locator("article.sample").nth(1)
        second_id = int(second.get_attribute("data-sample-id"))
        page.wait_for_selector(f"#sample-{second_id} .save-state.saved")

        # Saved in the store at once, with the reviewer's name and a time.
        with Store(run_dir) as store:
            current = {r["sample_id"]: r for r in store.labels()}
        assert current[sample_id]["labels"] == ["distracted"] and current[sample_id]["reviewer"] == "Ann Ö"
        assert current[sample_id]["tags"] == ["adds prices"] and current[sample_id]["item_id"] == item_id
        assert current[second_id]["labels"] == ["no-failure"] and current[second_id]["created_at"] > 0

        page.reload()
        first = page.locator(f"#sample-{sample_id}")
        assert first.locator('button.code[data-code="distracted"]').get_attribute("aria-pressed") == "true"
        assert first.locator('button.code[data-code="concerning"]').get_attribute("aria-pressed") == "false"
        assert first.locator("input.tags").input_value() == "adds prices"
        assert "by Ann Ö" in first.locator(".save-state").inner_text()
        # ] goes to the next item of the filtered list (verdict=inverse is kept in the links).
        with page.expect_navigation():
            page.keyboard.press("]")
        assert page.inner_text("#item-id") == sorted(r.item_id for r in inverse)[1] and "verdict=inverse" in page.url

        # The label filter finds the item; toggling the label off again is saved too.
        page.goto(f"{base}/?label=distracted")
        assert page.locator("#items a.item-link").all_inner_texts() == [item_id]
        page.goto(f"{base}/item?" + urlencode({"task": "misleading-math", "item": item_id}))
        page.keyboard.press("j")
        page.keyboard.press("1")
        page.wait_for_selector(f"#sample-{sample_id} .save-state.saved")
        page.goto(f"{base}/?label=distracted")
        assert page.locator("#items a.item-link").count() == 0


def test_model_text_with_script_never_runs(run_dir, page):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with review_server(run_dir, reviewer="bob") as (base, config):
        page.goto(f"{base}/?token={config.token}")
        assert EVIL_ID in page.locator("#items a.item-link").all_inner_texts()
        with page.expect_navigation():
            page.locator("#items a.item-link", has_text=EVIL_ID).click()
        page.keyboard.press("j")
        page.keyboard.press("j")  # the 1024 sample, with long reasoning
        long = page.locator("article.sample.current")
        assert long.locator(".text.full").is_hidden() and long.locator(".text.short").is_visible()
        page.keyboard.press("e")  # expand it: the full text is shown
        assert long.locator(".text.full").is_visible() and long.locator(".text.short").is_hidden()
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("document.querySelectorAll('script').length") == 1  # only review.js
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        assert "<script>window.__pwned = 1</script>" in page.inner_text("#prompt")
        assert page.inner_text("#item-id") == EVIL_ID
        # The distractor span (hostile text included) is highlighted as text, and its number in the reasoning.
        assert "<script>" in page.inner_text("#prompt mark.distractor")
        assert page.locator("article.sample mark.num", has_text="61").count() > 0
        assert not dialogs
