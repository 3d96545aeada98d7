"""The review app over HTTP (in-process ASGI client): token gate, CSRF, filters, escaping, verdicts, highlighting."""

from __future__ import annotations

import re

import pytest
from review_fixtures import EVIL, EVIL_ID, add_evil_item, stub_run
from starlette.testclient import TestClient
from typer.testing import CliRunner

from overthink.core import SampleRecord
from overthink.errors import UserError
from overthink.review import data
from overthink.review.app import ReviewConfig, bind, create_app
from overthink.store import Store


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = stub_run(tmp_path_factory.mktemp("app") / "run", limit=12, budgets="0,256,1024")
    add_evil_item(path)
    with Store(path) as store:  # an error and a truncation, which never enter a verdict
        for item_id, status in (("mm-0-00001", "error"), ("mm-0-00002", "truncated")):
            store.record(SampleRecord(run_id="x", model="stub:inverse", provider="stub", task="misleading-math",
                                      item_id=item_id, budget=1024, mechanism="forced", replicate=1, seed=1,
                                      status=status, error="boom" if status == "error" else None))
    return path


@pytest.fixture
def client(run_dir):
    config = ReviewConfig(run_dir, default_reviewer="ann")
    c = TestClient(create_app(config), base_url="http://127.0.0.1")
    c.config = config
    return c


def _login(client) -> TestClient:
    client.get(f"/?token={client.config.token}")
    return client


def _links(html: str) -> list[str]:
    import html as h

    return [h.unescape(m) for m in re.findall(r'class="item-link" href="[^"]*">([^<]*)</a>', html)]


def test_token_gate(client):
    cfg = client.config
    for path in ("/", "/item?task=misleading-math&item=mm-0-00000", "/agreement", "/static/review.css"):
        assert client.get(path).status_code == 403
    assert client.get("/?token=" + cfg.token[:-1] + "x").status_code == 403
    r = client.get(f"/item?task=misleading-math&item=mm-0-00000&token={cfg.token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "http://127.0.0.1/item?task=misleading-math&item=mm-0-00000"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(cfg.cookie + "=") and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    r = client.get("/")
    assert r.status_code == 200 and "default-src 'none'" in r.headers["content-security-policy"]
    assert client.get("/static/review.js").status_code == 200
    client.cookies.clear()
    client.cookies.set(cfg.cookie, "forged")
    assert client.get("/").status_code == 403
    # A POST never logs in by query token.
    assert client.post(f"/api/labels?token={cfg.token}", json={}).status_code == 403


def test_other_hosts_are_refused(client):
    _login(client)
    assert client.get("/", headers={"host": "evil.example:8000"}).status_code == 400


def test_label_api_needs_csrf_and_json(client, run_dir):
    _login(client)
    body = {"sample_id": 1, "labels": ["distracted"], "tags": ["t"], "note": "n", "reviewer": "ann"}
    assert client.post("/api/labels", json=body).status_code == 403
    assert client.post("/api/labels", json=body, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert client.post("/api/labels", content="sample_id=1", headers={
        "X-CSRF-Token": client.config.csrf, "content-type": "application/x-www-form-urlencoded"}).status_code == 403
    h = {"X-CSRF-Token": client.config.csrf}
    with Store(run_dir) as store:
        before = len(store.labels(history=True))
    r = client.post("/api/labels", json=body, headers=h)
    assert r.status_code == 200 and r.json()["label"]["labels"] == ["distracted"]
    for bad, message in [({**body, "labels": ["made-up"]}, "labels: unknown"),
                         ({**body, "sample_id": "1"}, "sample_id"),
                         ({**body, "sample_id": 10 ** 6}, "no sample with id"), ({**body, "reviewer": ""}, "reviewer")]:
        r = client.post("/api/labels", json=bad, headers=h)
        assert r.status_code == 400 and message in r.json()["error"]
    r = client.post("/api/labels", content="{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 400
    with Store(run_dir) as store:
        assert len(store.labels(history=True)) == before + 1  # only the good one was written


@pytest.mark.parametrize("query, pick", [
    ("verdict=inverse", lambda r: r.verdict == "inverse"),
    ("verdict=right", lambda r: r.verdict == "right"),
    ("status=error", lambda r: "error" in r.statuses),
    ("status=truncated&budget=1024", lambda r: any(s["status"] == "truncated" for s in r.cells.get(1024, []))),
    ("status=truncated&budget=0", lambda r: False),
    ("budget=256", lambda r: 256 in r.cells),
    ("task=misleading-math&model=stub:inverse", lambda r: True),
])
def test_filters_match_the_store(client, run_dir, query, pick):
    with Store(run_dir) as store:
        expected = [r.item_id for r in data.item_rows(store) if pick(r)]
    html = _login(client).get("/?" + query).text
    assert _links(html) == expected


def test_label_filter_and_escaped_list(client, run_dir):
    _login(client)
    with Store(run_dir) as store:
        [sid] = [r["id"] for r in store.sample_rows(("id", "budget"), item_id="mm-0-00004") if r["budget"] == 0]
        store.add_label(sid, ["lost-constraints"], reviewer="zed", tags=["<i>x</i>"])
    assert _links(client.get("/?label=lost-constraints").text) == ["mm-0-00004"]
    assert _links(client.get("/?label=tag:<i>x</i>").text) == ["mm-0-00004"]
    unlabelled = _links(client.get("/?label=none").text)
    assert "mm-0-00004" not in unlabelled and EVIL_ID in unlabelled
    html = client.get("/").text
    assert EVIL not in html and "<i>x</i>" not in html and "&lt;script&gt;" in html


def test_item_page_escapes_and_highlights(client):
    _login(client)
    r = client.get("/item", params={"task": "misleading-math", "item": EVIL_ID})
    assert r.status_code == 200
    html = r.text
    assert "<script>window" not in html and "<img src=x" not in html
    assert html.count("<script") == 1  # review.js only
    assert '<mark class="distractor">&lt;script&gt;' in html
    assert '<mark class="num">61</mark>' in html
    assert " more characters … " in html and 'class="expand"' in html  # long reasoning is collapsed
    assert client.get("/item", params={"task": "misleading-math", "item": "nope"}).status_code == 404


def test_agreement_page(tmp_path):
    with Store(tmp_path) as store:
        for i in range(4):
            store.record(SampleRecord(run_id="x", model="m", provider="p", task="t", item_id=f"i{i}", budget=0,
                                      mechanism="forced", replicate=0, seed=0, status="ok", correct=True))
    config = ReviewConfig(tmp_path)
    client = TestClient(create_app(config), base_url="http://127.0.0.1")
    client.get(f"/agreement?token={config.token}")
    assert re.search(r"0 reviewer\(s\) so far.\s+Agreement needs two.", client.get("/agreement").text)
    with Store(tmp_path) as store:
        ids = [r["id"] for r in store.sample_rows(("id",))]
        store.add_label(ids[0], [], reviewer="p3")
    assert "1 reviewer(s) so far: p3." in client.get("/agreement").text
    with Store(tmp_path) as store:
        for i, sid in enumerate(ids):
            store.add_label(sid, ["distracted"] if i < 2 else [], reviewer="p1")
            store.add_label(sid, ["distracted"] if i < 3 else [], reviewer="p2")
    html = client.get("/agreement?a=p1&b=p2").text
    assert 'id="agreement"' in html and "over the 4 samples" in html
    assert "Choose two to compare." in client.get("/agreement").text  # three reviewers, none chosen
    assert re.search(r"Distracted by irrelevant information</td><td>2</td><td>3</td>\s*<td>0.75</td>\s*"
                     r'<td class="kappa">0.50</td>', html)


def test_verdicts():
    assert data.verdict({0: 1.0, 256: 0.0, 1024: 0.0}) == "inverse"
    assert data.verdict({0: 0.0, 1024: 1.0}) == "positive"
    assert data.verdict({0: 1.0, 256: 0.0, 1024: 1.0}) == "right"
    assert data.verdict({"low": 0.0, "high": 0.0}) == "wrong"
    assert data.verdict({1024: 0.0, 0: 1.0}) == "inverse"  # order by budget, not insertion
    assert data.verdict({0: 0.5, 1024: 0.0}) == "mixed"
    assert data.verdict({0: 1.0}) == "incomplete"


def test_highlight_escapes_first_then_marks():
    text = 'He said <b>61</b> & 161 and 6.1 then 61.5; "The apple cost $61."'
    out = str(data.highlight(text, ["The apple cost $61."], ["61"]))
    assert "<b>" not in out and "&lt;b&gt;" in out and "&amp;" in out
    assert out.count('<mark class="num">61</mark>') == 1  # not inside 161, 6.1 or 61.5, nor inside the span
    assert '<mark class="distractor">The apple cost $61.</mark>' in out
    assert str(data.highlight("<x>", [], None)) == "&lt;x&gt;"
    assert data.distractor_numbers(["cost $4.99 and 2 of 12"], {"2"}) == ["4.99", "12"]


def test_bind_refuses_a_busy_port_with_a_clear_message():
    sock = bind(0)
    try:
        with pytest.raises(UserError, match=r"--port \d+: cannot listen on 127.0.0.1"):
            bind(sock.getsockname()[1])
    finally:
        sock.close()


def test_review_cli_rejects_a_directory_that_is_not_a_run(tmp_path):
    import typer

    from overthink.cli.common import ErrorGroup
    from overthink.cli.review import review

    main = typer.Typer(cls=ErrorGroup)  # wired as on the main app: UserError -> one line, exit 2
    main.command("review")(review)
    main.command("other")(lambda: None)
    result = CliRunner().invoke(main, ["review", str(tmp_path)])
    assert result.exit_code == 2 and "is not a run directory" in result.output


def test_paging_keeps_the_filters(client, run_dir, monkeypatch):
    import overthink.review.app as app_module

    monkeypatch.setattr(app_module, "PAGE_SIZE", 5)
    with Store(run_dir) as store:
        expected = [r.item_id for r in data.item_rows(store) if 256 in r.cells]
    assert len(expected) == 12  # the evil item has no 256 sample
    _login(client)
    pages = []
    for page in (1, 2, 3, 4):
        html = client.get(f"/?budget=256&page={page}").text
        pages.append(_links(html))
    assert pages[0] + pages[1] + pages[2] == expected and [len(p) for p in pages] == [5, 5, 2, 2]
    assert pages[3] == pages[2]  # past the end: the last page
    assert 'href="/?budget=256&amp;page=2"' in client.get("/?budget=256").text
