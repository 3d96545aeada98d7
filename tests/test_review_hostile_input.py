"""The review app never answers hostile input with a 500 (issue 26, point 8): tokens that are not ASCII, sample ids
that are not sample ids, text that is not text. Each gets a 4xx with a message naming the field, and nothing is
written. Driven over HTTP through the real Starlette app (in-process ASGI client, server errors returned as 500s
rather than raised)."""

from __future__ import annotations

import json

import pytest
from review_fixtures import stub_run
from starlette.testclient import TestClient

from overthink.review.app import ReviewConfig, create_app
from overthink.store import Store


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return stub_run(tmp_path_factory.mktemp("hostile") / "run", limit=2, budgets="0,64")


@pytest.fixture
def config(run_dir):
    return ReviewConfig(run_dir, default_reviewer="ann")


def _client(config: ReviewConfig) -> TestClient:
    return TestClient(create_app(config), base_url="http://127.0.0.1", raise_server_exceptions=False)


def _labels(run_dir) -> int:
    with Store(run_dir, create=False, readonly=True) as store:
        return len(store.labels(history=True))


@pytest.mark.parametrize("where", ["query", "cookie", "csrf"])
@pytest.mark.parametrize("value", ["é", "tökén", "\u2603" * 43])
def test_a_non_ascii_token_is_a_403_not_a_500(config, where, value):
    client = _client(config)
    raw = value.encode()  # what a client sends on the wire: UTF-8 bytes
    if where == "query":
        r = client.get("/", params={"token": value})
    elif where == "cookie":
        r = client.get("/", headers={"cookie": f"{config.cookie}=".encode() + raw})
    else:
        client.get(f"/?token={config.token}")
        r = client.post("/api/labels", content=b"{}", headers={"X-CSRF-Token": raw,
                                                                "content-type": "application/json"})
    assert r.status_code == 403, (r.status_code, r.text)
    assert "Forbidden" in r.text


def test_the_real_tokens_still_work(config):
    client = _client(config)
    assert client.get(f"/?token={config.token}").status_code == 200
    r = client.post("/api/labels", json={"sample_id": 1, "labels": ["distracted"], "reviewer": "ann"},
                    headers={"X-CSRF-Token": config.csrf})
    assert r.status_code == 200, r.text


BODY = {"sample_id": 1, "labels": ["distracted"], "tags": ["t"], "note": "n", "reviewer": "ann"}


@pytest.mark.parametrize("change, field", [
    ({"sample_id": 10 ** 30}, "sample_id"),
    ({"sample_id": 1e30}, "sample_id"),
    ({"sample_id": True}, "sample_id"),  # bool is an int in Python: it was taken as sample 1
    ({"sample_id": False}, "sample_id"),
    ({"sample_id": 0}, "sample_id"),
    ({"sample_id": -1}, "sample_id"),
    ({"sample_id": 2 ** 63}, "sample_id"),
    ({"note": "\ud800"}, "note"),
    ({"note": "ok \udfff then"}, "note"),
    ({"note": "a\x00b"}, "note"),
    ({"reviewer": "ann\nbob"}, "reviewer"),
    ({"reviewer": "ann\x00"}, "reviewer"),
    ({"reviewer": "a\rb"}, "reviewer"),
    ({"reviewer": "\ud800"}, "reviewer"),
    ({"tags": ["x\ny"]}, "tags"),
    ({"tags": ["\udc80"]}, "tags"),
    ({"labels": ["\ud800"]}, "labels"),
])
def test_bad_label_fields_are_a_400_naming_the_field(config, run_dir, change, field):
    client = _client(config)
    client.get(f"/?token={config.token}")
    before = _labels(run_dir)
    # json.dumps escapes a lone surrogate as \\ud800, exactly what a hostile client can send
    r = client.post("/api/labels", content=json.dumps({**BODY, **change}).encode(),
                    headers={"X-CSRF-Token": config.csrf, "content-type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json()["error"].startswith(field + ":"), r.json()
    assert _labels(run_dir) == before  # nothing written


def test_a_multi_line_note_is_still_accepted(config, run_dir):
    client = _client(config)
    client.get(f"/?token={config.token}")
    r = client.post("/api/labels", json={**BODY, "note": "first line\nsecond\tline", "reviewer": "Zoë Ünal"},
                    headers={"X-CSRF-Token": config.csrf})
    assert r.status_code == 200, r.text
    assert r.json()["label"]["note"] == "first line\nsecond\tline" and r.json()["label"]["reviewer"] == "Zoë Ünal"
