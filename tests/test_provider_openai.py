"""The openai: provider (Chat Completions and Responses) through the real SDK against a local server."""

from __future__ import annotations

import asyncio

import pytest
from servers.fake_api import FakeAPI

from overthink.budget import plan_budget
from overthink.errors import ConfigError
from overthink.providers import GenerateRequest, load_model

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.5, "timeout_s": 5}
_LOOP = asyncio.new_event_loop()


@pytest.fixture()
def api(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test-111")
    server = FakeAPI().start()
    yield server
    server.stop()


def run(coro):
    return _LOOP.run_until_complete(coro)


def model(server, name="o3", **options):
    return load_model(f"openai:{name}@{server.url}/v1", {**FAST, **options})


def req(budget, mechanism="native", margin=10_000, **kw):
    return GenerateRequest(prompt="How many fruits?", plan=plan_budget(budget, mechanism, answer_margin=margin),
                           seed=1, **kw)


@pytest.mark.parametrize("budget,effort", [(1024, "low"), (4096, "medium"), (8192, "high"), ("low", "low"),
                                           ("high", "high")])
def test_chat_effort_roles_and_usage(api, budget, effort):
    out = run(model(api).generate(req(budget)))
    body = api.log[-1]["body"]
    assert api.log[-1]["path"] == "/v1/chat/completions"
    assert body["reasoning_effort"] == effort
    assert body["messages"][0]["role"] == "developer" and body["messages"][1]["role"] == "user"
    assert "temperature" not in body and "top_p" not in body
    assert body["max_completion_tokens"] == (budget if isinstance(budget, int) else 16384) + 10_000
    assert out.reasoning_tokens_source == "usage" and out.reasoning_tokens > 0
    assert out.answer_text == "<answer>2</answer>" and out.cost_usd > 0


def test_responses_api(api):
    out = run(model(api, api="responses").generate(req("medium")))
    body = api.log[-1]["body"]
    assert api.log[-1]["path"] == "/v1/responses"
    assert body["reasoning"]["effort"] == "medium" and body["max_output_tokens"] == 16384 + 10_000
    assert body["input"][0]["role"] == "developer"
    assert out.reasoning_tokens == 900 and out.reasoning == "short summary" and not out.truncated


def test_truncation_chat_and_responses(api):
    small = GenerateRequest(prompt="q", plan=plan_budget(1024, "native", answer_margin=10), seed=1)
    object.__setattr__(small.plan, "max_tokens", 100)
    out = run(model(api).generate(small))
    assert out.truncated and out.stop_reason == "max_tokens"
    out = run(model(api, api="responses").generate(small))
    assert out.truncated and out.stop_reason == "max_tokens"


def test_effort_table_and_checks(api):
    m = model(api, effort_table={0: "low", 2000: "high"})
    run(m.generate(req(2048)))
    assert api.log[-1]["body"]["reasoning_effort"] == "high"
    with pytest.raises(ConfigError, match="reasoning_effort 'none'"):
        model(api).check_plan(plan_budget(0, "native", answer_margin=10))
    with pytest.raises(ConfigError, match="no temperature"):
        model(api).check_plan(plan_budget("low", "native", answer_margin=10), 0.6)
    with pytest.raises(ConfigError, match="not a reasoning model"):
        model(api, name="gpt-4o").check_plan(plan_budget(1024, "native", answer_margin=10))


def test_non_reasoning_prompted_sends_temperature_and_system_role(api):
    out = run(model(api, name="gpt-4o").generate(req(2048, "prompted", temperature=0.7)))
    body = api.log[-1]["body"]
    assert body["temperature"] == 0.7 and "reasoning_effort" not in body
    assert body["messages"][0]["role"] == "system" and "Think harder" in body["messages"][0]["content"]
    assert out.reasoning_tokens_source in ("usage", "output_minus_answer_estimate")


def test_non_reasoning_model_reasoning_is_measured_from_visible_text(api):
    """gpt-4o-style models report reasoning_tokens = 0 while a prompted budget makes them reason visibly."""
    api.visible_reasoning = 600
    out = run(model(api, name="gpt-4o").generate(req(2048, "prompted")))
    assert out.reasoning_tokens_source == "output_minus_answer_estimate"
    assert 590 <= out.reasoning_tokens <= 605


def test_retry_after_429_and_timeouts(api):
    api.faults += [{"status": 429, "headers": {"retry-after-ms": "200"}}, {"status": 503},
                   {"sleep": 1.5, "status": 200}, {"malformed": "[]"}]
    out = run(model(api, timeout_s=0.5).generate(req("low")))
    assert out.extra["attempts"] == 5 and len(api.billed) == 1


def test_openai_compatible_server_budget_field_and_switch(api):
    m = load_model(f"openai-compatible:Qwen/Qwen3-8B@{api.url}/v1",
                   {**FAST, "capabilities": {"budget_field": "thinking_token_budget"}})
    out = run(m.generate(req(1024, margin=16384, temperature=0.6, top_p=0.95)))
    body = api.log[-1]["body"]
    assert body["thinking_token_budget"] == 1024 and body["max_tokens"] == 1024 + 16384
    assert body["temperature"] == 0.6 and body["top_p"] == 0.95 and body["seed"] == 1
    assert out.extra["enforced_by"] == "server_field" and out.reasoning_tokens_source == "usage"
    run(m.generate(req(0, margin=16384)))
    body = api.log[-1]["body"]
    assert body["chat_template_kwargs"] == {"enable_thinking": False} and "thinking_token_budget" not in body
    assert not any("authorization" in e["headers"] and "sk-openai" in e["headers"]["authorization"]
                   for e in api.log[-2:])  # no key is sent unless api_key_env names one
