"""The gemini: provider through the real google-genai SDK against a local generateContent server (Gemini API and
Vertex AI paths, the latter with real Application Default Credentials refreshed at a local token endpoint)."""

from __future__ import annotations

import asyncio
import json

import pytest
from servers.gemini_api import DYNAMIC_TOKENS, IGNORED_TOKENS, LEVEL_TOKENS, GeminiAPI
from servers.oauth import service_account

from overthink.budget import plan_budget
from overthink.errors import ConfigError, ModelUnavailable
from overthink.providers import GenerateRequest, load_model
from overthink.providers.apibase import ProviderError

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.5, "timeout_s": 5}
KEY = "AIza-test-key-000"
_LOOP = asyncio.new_event_loop()


def run(coro):
    return _LOOP.run_until_complete(coro)


@pytest.fixture()
def api():
    server = GeminiAPI(key=KEY).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)


def model(api, name="gemini-2.5-flash", **options):
    return load_model(f"gemini:{name}@{api.url}", {**FAST, **options})


def req(budget, mechanism="native", margin=10_000, **kw):
    return GenerateRequest(prompt="How many fruits?", plan=plan_budget(budget, mechanism, answer_margin=margin),
                           seed=7, **kw)


def thinking_sent(api):
    return api.log[-1]["body"]["generationConfig"].get("thinkingConfig")


def check(m, budget, mechanism="native"):
    m.check_plan(req(budget, mechanism).plan)


@pytest.mark.parametrize("budget", [1024, 4096, 16384, 24576])
def test_numeric_budget_is_thinking_budget(api, budget):
    m = model(api)
    check(m, budget)
    out = run(m.generate(req(budget)))
    entry = api.log[-1]
    config = entry["body"]["generationConfig"]
    assert entry["path"] == "/v1/models/gemini-2.5-flash:generateContent"
    assert entry["headers"]["x-goog-api-key"] == KEY
    assert config["thinkingConfig"] == {"thinking_budget": budget, "include_thoughts": True}
    assert config["maxOutputTokens"] == budget + 10_000 and config["seed"] == 7
    assert f"about {budget} tokens" in entry["body"]["systemInstruction"]["parts"][0]["text"]
    assert out.reasoning_tokens == budget // 2 and out.reasoning_tokens_source == "usage"
    assert out.output_tokens == budget // 2 + 5  # thoughts are billed as output next to candidates
    assert out.answer_text == "<answer>2</answer>" and not out.truncated and out.stop_reason == "stop"
    assert len(out.reasoning.split()) < out.reasoning_tokens  # a summary, never the count
    assert out.extra["enforced_by"] == "thinking_budget" and out.extra["api"] == "gemini"
    assert out.cost_usd == pytest.approx((out.input_tokens * 0.3 + out.output_tokens * 2.5) / 1e6)


def test_budget_zero_switches_thinking_off_where_allowed(api):
    out = run(model(api).generate(req(0, temperature=0.2)))
    assert thinking_sent(api) == {"thinking_budget": 0}
    assert api.log[-1]["body"]["generationConfig"]["temperature"] == 0.2
    assert out.reasoning_tokens == 0 and out.thinking_stop == "none" and out.extra["enforced_by"] == "thinking_switch"
    with pytest.raises(ConfigError, match="cannot switch thinking off.*128"):
        check(model(api, "gemini-2.5-pro"), 0)


@pytest.mark.parametrize("name,budget,message", [
    ("gemini-2.5-pro", 64, "range 128..32768"), ("gemini-2.5-pro", 40_000, "range 128..32768"),
    ("gemini-2.5-flash", 30_000, "range 1..24576"), ("gemini-2.5-flash-lite", 256, "range 512..24576")])
def test_budget_outside_the_range_is_refused_before_the_run_and_by_the_server(api, name, budget, message):
    with pytest.raises(ConfigError, match=message):
        check(model(api, name), budget)
    assert api.log == []
    # forced through (a widened local table): the server refuses it with a 400 that is not retried
    wide = model(api, name, capabilities={"min_budget": 1, "max_budget": 100_000})
    check(wide, budget)
    with pytest.raises(ProviderError, match="thinking budget .* is invalid") as err:
        run(wide.generate(req(budget)))
    assert err.value.status_code == 400 and len(api.log) == 1


def test_gemini3_levels_never_with_a_budget(api):
    m = model(api, "gemini-3-pro-preview")
    for level in ("low", "high"):
        check(m, level)
        out = run(m.generate(req(level)))
        assert thinking_sent(api) == {"thinking_level": level.upper(), "include_thoughts": True}
        assert out.reasoning_tokens == LEVEL_TOKENS[level.upper()] and out.extra["enforced_by"] == "thinking_level"
    with pytest.raises(ConfigError, match="thinkingLevel 'minimal'.*low, high"):
        check(m, "minimal")
    with pytest.raises(ConfigError, match="thinkingLevel 'none'"):
        check(m, 0)  # Gemini 3 cannot switch thinking off
    flash = model(api, "gemini-3-flash-preview")
    check(flash, 4096)  # numeric budgets map to levels (budget.py: 4096 -> medium)
    run(flash.generate(req(4096)))
    assert thinking_sent(api) == {"thinking_level": "MEDIUM", "include_thoughts": True}
    with pytest.raises(ConfigError, match="numeric thinking budgets"):
        check(model(api), "high")  # 2.5 takes budgets, not levels


def test_no_plan_on_any_table_model_sends_budget_and_level_together(api):
    names = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-3-pro-preview",
             "gemini-3-flash-preview", "gemini-3.1-pro-preview", "gemini-2.0-flash"]
    sent = 0
    for name in names:
        m = model(api, name)
        for budget in ["natural", 0, 128, 1024, 8192, "minimal", "low", "medium", "high"]:
            for mechanism in ("native", "prompted"):
                try:
                    r = req(budget, mechanism)
                    m.check_plan(r.plan)
                except (ConfigError, ValueError):
                    continue
                thinking = m.params(r)["config"].get("thinking_config") or {}
                assert not ("thinking_budget" in thinking and "thinking_level" in thinking), (name, budget)
                sent += 1
    assert sent > 20


def test_the_server_refuses_budget_and_level_together(api):
    from google import genai
    from google.genai import errors, types

    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=api.url))
    config = {"thinking_config": {"thinking_budget": 1024, "thinking_level": "low"}}
    with pytest.raises(errors.ClientError) as err:
        run(client.aio.models.generate_content(model="gemini-3-flash-preview", contents="hi", config=config))
    assert err.value.code == 400 and "only set one" in str(err.value)


def test_natural_is_dynamic_thinking(api):
    out = run(model(api).generate(req("natural")))
    assert thinking_sent(api) == {"thinking_budget": -1, "include_thoughts": True}
    assert out.reasoning_tokens == DYNAMIC_TOKENS and out.extra["enforced_by"] == "none"
    run(model(api, "gemini-3-flash-preview").generate(req("natural")))
    assert thinking_sent(api) == {"include_thoughts": True}


def test_prompted_switches_native_thinking_off_and_measures_visible_text(api):
    m = model(api)
    check(m, 4096, "prompted")
    out = run(m.generate(req(4096, "prompted")))
    assert thinking_sent(api) == {"thinking_budget": 0}
    assert "about 4096 tokens" in api.log[-1]["body"]["systemInstruction"]["parts"][0]["text"]
    assert out.reasoning_tokens_source == "output_minus_answer_estimate" and out.extra["enforced_by"] == "prompt"
    for name in ("gemini-2.5-pro", "gemini-3-flash-preview"):
        with pytest.raises(ConfigError, match="always thinks"):
            check(model(api, name), 4096, "prompted")
    with pytest.raises(ConfigError, match="forced"):
        check(m, 4096, "forced")


def test_thoughts_past_max_output_tokens_is_truncated(api):
    api.think_fraction = 1.0  # 4096 thoughts leave 3 of the 4099 tokens for a 5-token answer
    out = run(model(api).generate(req(4096, margin=3)))
    assert out.truncated and out.stop_reason == "max_tokens" and not out.answer_text.endswith("</answer>")
    assert out.reasoning_tokens == 4096


def test_rate_limit_is_retried_after_retry_after(api):
    api.fail(429, "Resource has been exhausted", retry_after="0")
    api.fail(503, "overloaded")
    out = run(model(api).generate(req(1024)))
    assert out.extra["attempts"] == 3 and out.reasoning_tokens == 512
    assert len(api.billed) == 1


def test_malformed_body_is_retried(api):
    api.faults.append({"malformed": "{not json"})
    out = run(model(api).generate(req(1024)))
    assert out.extra["attempts"] == 2


def test_wrong_key_is_not_retried_and_never_echoed(api, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-wrong-key-123456")
    with pytest.raises(ProviderError) as err:
        run(model(api).generate(req(1024)))
    assert err.value.status_code == 400 and "API key not valid" in str(err.value)
    assert "AIza-wrong-key-123456" not in str(err.value) and len(api.log) == 0  # refused before the log


def test_key_from_google_api_key_and_missing_key(api, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)
    run(model(api).generate(req(1024)))
    assert api.log[-1]["headers"]["x-goog-api-key"] == KEY
    monkeypatch.delenv("GOOGLE_API_KEY")
    with pytest.raises(ModelUnavailable, match="GEMINI_API_KEY .or GOOGLE_API_KEY. is not set"):
        model(api)


def test_budget_ignoring_server_is_reported_as_observed(monkeypatch):
    """The provider reports what the server spent, so `check` and the audit can see the budget was ignored."""
    server = GeminiAPI(key=KEY, ignore_budget=True).start()
    try:
        m = load_model(f"gemini:gemini-2.5-flash@{server.url}", FAST)
        spent = [run(m.generate(req(b))).reasoning_tokens for b in (0, 1024, 8192)]
        assert spent == [IGNORED_TOKENS] * 3
    finally:
        server.stop()
    server = GeminiAPI(key=KEY, overshoot=1.7).start()
    try:
        m = load_model(f"gemini:gemini-2.5-flash@{server.url}", FAST)
        out = run(m.generate(req(2048)))
        assert out.reasoning_tokens == int(2048 * 1.7) > 2048 and out.reasoning_tokens_source == "usage"
    finally:
        server.stop()


def test_vertex_with_application_default_credentials(api, tmp_path, monkeypatch):
    info, api.public_key = service_account(f"{api.url}/token", project="my-proj")
    adc = tmp_path / "sa.json"
    adc.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    monkeypatch.delenv("GEMINI_API_KEY")
    m = model(api, "gemini-2.5-pro", vertex=True, location="europe-west4")  # project from the key file
    out = run(m.generate(req(2048)))
    token, call = api.log[-2], api.log[-1]
    assert token["path"] == "/token" and token["body"]["grant_type"].endswith("jwt-bearer")
    assert call["path"] == ("/v1beta1/projects/my-proj/locations/europe-west4/publishers/google/models/"
                            "gemini-2.5-pro:generateContent")
    assert call["headers"]["authorization"] == f"Bearer {api.token}" and "x-goog-api-key" not in call["headers"]
    assert call["body"]["generationConfig"]["thinkingConfig"]["thinking_budget"] == 2048
    assert out.reasoning_tokens == 1024 and out.extra["api"] == "vertex"
    api.token = "ya29.rotated"  # the cached token is now stale: 401, not retried
    with pytest.raises(ProviderError) as err:
        run(m.generate(req(2048)))
    assert err.value.status_code == 401


def test_vertex_without_credentials_is_a_clear_error(api, tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ModelUnavailable, match="Vertex AI is not configured"):
        model(api, vertex=True, project="p", location="us-central1")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")  # the SDK's own switch selects Vertex too
    with pytest.raises(ModelUnavailable, match="Vertex AI is not configured"):
        model(api, location="us-central1")
    with pytest.raises(ConfigError, match="vertex must be true or false"):
        model(api, vertex="yes")


def test_cli_sweep_end_to_end_and_out_of_range_refused_first(api, tmp_path):
    from helpers import run_cli

    run_dir = tmp_path / "run"
    spec = f"gemini:gemini-2.5-flash@{api.url}"
    res = run_cli("run", "--model", spec, "--task", "misleading-math", "--budgets", "0,1024,4096", "--mechanism",
                  "native", "--limit", "2", "--run-dir", str(run_dir), "--quiet", env={"GEMINI_API_KEY": KEY})
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in run_cli("export", str(run_dir), "--format", "jsonl").stdout.splitlines()]
    assert sorted((r["budget"], r["reasoning_tokens"]) for r in rows) == [(0, 0)] * 2 + [(1024, 512)] * 2 + [
        (4096, 2048)] * 2
    assert all(r["status"] == "ok" and r["reasoning_tokens_source"] in ("usage", "no_thinking") for r in rows)
    assert not [p for p in run_dir.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    calls = len(api.log)
    res = run_cli("run", "--model", f"gemini:gemini-2.5-pro@{api.url}", "--task", "misleading-math", "--budgets",
                  "64,1024", "--mechanism", "native", "--limit", "2", "--run-dir", str(tmp_path / "pro"), "--quiet",
                  env={"GEMINI_API_KEY": KEY})
    assert res.returncode == 2 and "outside the model's thinkingBudget range 128..32768" in res.stderr
    assert "Traceback" not in res.stderr and len(api.log) == calls


def test_a_hung_request_times_out_and_is_retried(api):
    api.faults.append({"sleep": 3})
    out = run(model(api, timeout_s=1).generate(req(1024)))
    assert out.extra["attempts"] == 2 and out.reasoning_tokens == 512


def test_blocked_prompt_is_stored_not_retried(api):
    api.faults.append({"status": 200, "body": {"promptFeedback": {"blockReason": "SAFETY"},
                                               "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}}})
    out = run(model(api).generate(req(1024)))
    assert out.stop_reason == "blocked:safety" and out.answer_text == "" and out.extra["attempts"] == 1
    assert out.input_tokens == 9 and out.output_tokens == 0


def test_connection_refused_is_retried_then_reported():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    m = load_model(f"gemini:gemini-2.5-flash@http://127.0.0.1:{port}", {**FAST, "max_attempts": 3})
    with pytest.raises(ProviderError, match="after 3 attempts") as err:
        run(m.generate(req(1024)))
    assert "Cannot connect" in str(err.value) or "onnect" in str(err.value)
