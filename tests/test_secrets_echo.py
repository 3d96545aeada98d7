"""No key fragment anywhere: a local OpenAI wire-format server that echoes the caller's key back (in the answer,
upper-cased, base64-encoded, and in error bodies long enough to be truncated mid-key), driven through the real
openai SDK by `overthink run`; then the store files, every export format and the report are searched for any
run of 8 key characters. Plus the config routes by which a key could reach the store."""

from __future__ import annotations

import base64
import json

import pytest
from helpers import run_cli
from servers.fake_api import FakeAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from overthink import secrets
from overthink.config import build_config
from overthink.errors import ConfigError

KEY = "sk-echo-9fQ2xLmR7tZpW4vKc8NbYh3D"


class EchoAPI(FakeAPI):
    """Answers with the bearer key it was sent, in several forms; every third request fails with it in the body."""

    async def chat(self, request: Request) -> Response:
        body, _ = await self._intake(request)
        key = request.headers.get("authorization", "").removeprefix("Bearer ")
        self.billed.append(request.url.path)
        n = len(self.billed)
        basic = base64.b64encode(f"user:{key}".encode()).decode()
        if n % 3 == 0:  # an error message long enough that a 1,500 / 2,000 character cut lands inside the key
            pad = "x" * (1500 - len("Error code: 500 - {'error': {'message': 'bad ") - 10 + n % 7)
            return JSONResponse({"error": {"message": f"bad {pad}{key} {key.upper()} {basic}", "type": "server"}},
                                status_code=500)
        reply = self.chat_completion(body)
        reply["choices"][0]["message"]["content"] = (
            f"I was called with {key} ({key.upper()}, {key.lower()}, basic {basic}) and part {key[3:20]} "
            f"<answer>2</answer>")
        return JSONResponse(reply)


def _windows(key: str) -> set[str]:
    forms = [key]
    raw = key.encode()
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + raw).decode()
        forms.append(enc[(shift * 4 + 2) // 3:-4])
    return {f[i:i + 8].lower() for f in forms for i in range(len(f) - 7)}


def _leaks(blob: bytes, windows: set[str]) -> list[str]:
    text = blob.decode("utf-8", "replace").lower()
    return sorted(w for w in windows if w in text)


@pytest.fixture
def echo():
    api = EchoAPI().start()
    yield api
    api.stop()


def test_echoed_key_reaches_no_store_export_or_report(echo, tmp_path):
    spec = f"openai:o4-mini@{echo.url}/v1"
    cfg = tmp_path / "run.yaml"
    cfg.write_text(json.dumps({"models": [spec], "tasks": ["word-problems"], "budgets": ["low", "high"],
                               "mechanism": "native", "limit": 6,
                               "model_options": {spec: {"max_attempts": 1, "timeout_s": 10}}}))
    run = tmp_path / "run"
    res = run_cli("run", "--config", str(cfg), "--run-dir", str(run), "--quiet", env={"OPENAI_API_KEY": KEY})
    assert "Traceback" not in res.stderr, res.stderr
    assert echo.billed, "the server was never called"
    assert any(KEY in json.dumps(e["headers"]) for e in echo.log)  # the key really went out and came back
    windows = _windows(KEY)
    found = {}
    for f in (p for p in run.rglob("*") if p.is_file()):
        found[f.name] = _leaks(f.read_bytes(), windows)
    for fmt in ("jsonl", "csv"):
        out = run_cli("export", str(run), "--format", fmt)
        assert out.returncode == 0 and out.stdout
        found[fmt] = _leaks(out.stdout.encode(), windows)
    db = tmp_path / "one.sqlite"
    assert run_cli("export", str(run), "--format", "sqlite", "--out", str(db)).returncode == 0
    found["sqlite export"] = _leaks(db.read_bytes(), windows)
    assert run_cli("report", str(run), "--out", str(tmp_path / "r.html")).returncode == 0
    found["report"] = _leaks((tmp_path / "r.html").read_bytes(), windows)
    found["stderr"] = _leaks(res.stderr.encode(), windows)
    assert not any(found.values()), found
    export = run_cli("export", str(run)).stdout
    assert "[REDACTED]" in export and '"status": "error"' in export and '"status": "ok"' in export


@pytest.mark.parametrize("cut", range(0, 30))
def test_redact_then_cut_at_every_offset(cut):
    """A message cut anywhere inside the key keeps fewer than 8 of its characters, redaction before or after."""
    secrets.remember(KEY)
    message = "y" * 100 + KEY + " tail"
    for text in (secrets.redact(message)[:100 + cut], secrets.redact(message[:100 + cut])):
        assert not _leaks(text.encode(), _windows(KEY)), text
    assert secrets.redact(KEY.upper()) == "[REDACTED]" and secrets.redact(f"a {KEY[2:14]} b") == "a [REDACTED] b"


SPEC = "openai-compatible:m@http://127.0.0.1:9/v1"


@pytest.mark.parametrize("options, message", [
    ({"extra_body": {"api_key": KEY}}, "extra_body.api_key"),
    ({"extra_headers": {"Authorization": f"Bearer {KEY}"}}, "extra_headers.Authorization"),
    ({"base_url": f"http://user:{KEY}@127.0.0.1:9/v1"}, "credentials in a URL"),
    ({"base_url": "notaurl"}, "is not an http(s) URL"),
    ({"api_key_env": KEY}, "NAME of an environment variable"),
])
def test_config_routes_for_a_key_are_refused_without_echoing_it(options, message, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"models": [SPEC], "tasks": ["word-problems"], "model_options": {SPEC: options}}))
    with pytest.raises(ConfigError) as exc:
        build_config(path)
    assert message in str(exc.value) and str(path) in str(exc.value)
    assert not _leaks(str(exc.value).encode(), _windows(KEY))
    res = run_cli("run", "--config", str(path), "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2 and "Traceback" not in res.stderr and message in res.stderr
    assert not _leaks(res.stderr.encode(), _windows(KEY)) and not (tmp_path / "r").exists()


def test_userinfo_in_a_model_spec_is_refused(tmp_path):
    res = run_cli("run", "-m", f"openai-compatible:m@http://u:{KEY}@127.0.0.1:9/v1", "-t", "word-problems",
                  "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2 and "credentials in a URL" in res.stderr
    assert not _leaks(res.stderr.encode(), _windows(KEY)) and not (tmp_path / "r").exists()
