"""Bad input files and options: one line naming the file (and line), exit 2, never a traceback; and the review
app's body limit and nested JSON."""

from __future__ import annotations

import json

import pytest
from helpers import run_cli
from review_fixtures import stub_run
from starlette.testclient import TestClient

from overthink.review.app import MAX_BODY, ReviewConfig, create_app
from overthink.store import Store

DEEP = "[" * 100_000 + "]" * 100_000


def _one_error(res, *parts):
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    text = res.stderr
    for part in parts:
        assert part in text, text
    return text


@pytest.mark.parametrize("name, content, where, what", [
    ("bin.jsonl", bytes(range(256)) * 8, ":2:", "not UTF-8"),  # bytes 0-9 make an ASCII first line
    ("bin.csv", b"prompt,answer\n" + bytes(range(128, 256)) * 8, ":2:", "not UTF-8"),
    ("latin.jsonl", '{"prompt": "ok", "answer": 1}\n{"prompt": "café", "answer": 2}\n'.encode("latin-1"), ":2:",
     "not UTF-8"),
    ("latin.csv", "prompt,answer\nok,1\nnaïve,2\n".encode("latin-1"), ":3:", "not UTF-8"),
    ("deep.jsonl", ('{"prompt": "x", "answer": 1, "m": ' + DEEP + "}\n").encode(), ":1:", "nested too deeply"),
    ("nan.jsonl", b'{"prompt": "x", "answer": NaN}\n', ":1:", "NaN is not a JSON value"),
    ("nan.csv", b"prompt,answer\nq,nan\n", ":2:", "NaN or infinity"),
    ("inf.jsonl", b'{"prompt": "x", "answer": 1e999}\n', ":1:", "NaN or infinity"),
    ("nul.jsonl", b'{"prompt": "x",\x00 "answer": 1}\n', ":1:", "NUL"),
])
def test_tasks_import_bad_files(tmp_path, name, content, where, what):
    path = tmp_path / name
    path.write_bytes(content)
    res = run_cli("tasks", "import", str(path), "--name", "t1", env={"OVERTHINK_HOME": str(tmp_path / "home")})
    _one_error(res, f"{path}{where}", what)
    assert not (tmp_path / "home" / "tasks" / "t1.jsonl").exists()


def test_bom_and_crlf_files_import(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes("\ufeffprompt,answer\r\nWhat is 1+1?,2\r\n".encode())
    res = run_cli("tasks", "import", str(path), "--name", "t2", env={"OVERTHINK_HOME": str(tmp_path / "home")})
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("content, what", [
    (bytes(range(256)) * 4, "not a YAML text file"),
    ("models: [stub:inverse]\ntasks: [word-problems]\ntask_args: {nosuchtask: {x: 1}}\n".encode(),
     "task_args names task 'nosuchtask'"),
    ("models: [stub:inverse]\ntasks: [misleading-math]\ntask_args: {misleading-math: {nosuch: 1}}\n".encode(),
     "unknown option"),
    ("models: ['openai-compatible:m@http://127.0.0.1:9/v1']\ntasks: [word-problems]\nmodel_options:\n"
     "  'openai-compatible:m@http://127.0.0.1:9/v1': {timeout_s: abc}\n".encode(), "timeout_s"),
    ("models: ['openai-compatible:m@http://127.0.0.1:9/v1']\ntasks: [word-problems]\nmodel_options:\n"
     "  'openai-compatible:m@http://127.0.0.1:9/v1': {base_url: notaurl}\n".encode(), "not an http(s) URL"),
    ("models: [stub:inverse]\ntasks: [word-problems]\ntemperature: .nan\n".encode(), "finite number"),
])
def test_yaml_config_errors_name_the_file(tmp_path, content, what):
    path = tmp_path / "exp.yaml"
    path.write_bytes(content)
    res = run_cli("run", "--config", str(path), "--run-dir", str(tmp_path / "r"), "--quiet")
    _one_error(res, str(path), what)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, what", [
    (("--temperature", "nan"), "field 'temperature': Input should be a finite number"),
    (("--task-args", "nosuchtask.x=1"), "task_args names task 'nosuchtask'"),
    (("--task-args", '{"word-problems": ' + "[" * 50_000 + "]" * 50_000 + "}"), "--task-args"),
])
def test_flag_errors(tmp_path, args, what):
    res = run_cli("run", "-m", "stub:inverse", "-t", "word-problems", *args, "--run-dir", str(tmp_path / "r"))
    _one_error(res, what)
    assert "nan" not in res.stderr.replace("nosuchtask", "")


@pytest.fixture
def review(tmp_path):
    run = stub_run(tmp_path / "run", limit=2, budgets="0,64")
    cfg = ReviewConfig(run, default_reviewer="ann")
    client = TestClient(create_app(cfg), base_url="http://127.0.0.1")
    client.get(f"/?token={cfg.token}")
    with Store(run, create=False) as store:
        sid = store.sample_rows(("id",))[0]["id"]
    return client, cfg, sid, run


def test_review_nested_json_is_400_not_500(review):
    client, cfg, sid, run = review
    h = {"X-CSRF-Token": cfg.csrf, "content-type": "application/json"}
    for body, what in (("[" * 30_000 + "]" * 30_000, "nested too deeply"),
                       (json.dumps({"sample_id": sid, "labels": [[[[[[[[["x"]]]]]]]]]}), "nested deeper"),
                       (b"\xff\xfe{}", "expected JSON")):
        r = client.post("/api/labels", content=body, headers=h)
        assert r.status_code == 400 and what in r.json()["error"], r.text
    with Store(run, create=False) as store:
        assert store.labels(history=True) == []


def test_review_body_limit(review):
    client, cfg, sid, _ = review
    h = {"X-CSRF-Token": cfg.csrf, "content-type": "application/json"}
    big = json.dumps({"sample_id": sid, "labels": ["distracted"], "note": "x" * (MAX_BODY + 10)})
    r = client.post("/api/labels", content=big, headers=h)
    assert r.status_code == 413

    def chunks():  # no Content-Length: the app must stop reading at the limit, not buffer 200 MB
        yield b'{"note": "'
        for _ in range(200):
            yield b"x" * 1_000_000

    r = client.post("/api/labels", content=chunks(), headers=h)
    assert r.status_code == 413
    ok = client.post("/api/labels", json={"sample_id": sid, "labels": ["distracted"], "reviewer": "ann"},
                     headers={"X-CSRF-Token": cfg.csrf})
    assert ok.status_code == 200
