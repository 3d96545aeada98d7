"""The openrouter: provider through the real openai SDK against a local OpenRouter chat server."""

from __future__ import annotations

import asyncio

import pytest
from servers.fake_api import EFFORT_TOKENS
from servers.openrouter_api import DEFAULT_TOKENS, IGNORED_TOKENS, PRICE, OpenRouterAPI

from overthink.budget import plan_budget
from overthink.errors import ConfigError, ModelUnavailable
from overthink.providers import GenerateRequest, load_model
from overthink.providers.apibase import ProviderError
from overthink.sweep.batch import supports_batch

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.5, "timeout_s": 5}
KEY = "sk-or-v1-test-000"
CLAUDE, GPT = "anthropic/claude-sonnet-4.5", "openai/gpt-5.2"
_LOOP = asyncio.new_event_loop()


def run(coro):
    return _LOOP.run_until_complete(coro)


@pytest.fixture()
def api():
    server = OpenRouterAPI(key=KEY).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)


def model(api, name=CLAUDE, **options):
    return load_model(f"openrouter:{name}@{api.url}/api/v1", {**FAST, **options})


def req(budget, mechanism="native", margin=10_000, **kw):
    return GenerateRequest(prompt="How many fruits?", plan=plan_budget(budget, mechanism, answer_margin=margin),
                           seed=3, **kw)


def check(m, budget, mechanism="native", temperature=None):
    m.check_plan(req(budget, mechanism).plan, temperature)


def sent(api):
    return api.log[-1]["body"]


@pytest.mark.parametrize("budget", [1024, 4096, 16384])
def test_numeric_budget_is_reasoning_max_tokens(api, budget):
    m = model(api)
    check(m, budget)
    out = run(m.generate(req(budget)))
    body = sent(api)
    assert api.log[-1]["headers"]["authorization"] == f"Bearer {KEY}"
    assert body["reasoning"] == {"max_tokens": budget, "exclude": False}
    assert body["max_tokens"] == budget + 10_000 and body["model"] == CLAUDE
    assert f"about {budget} tokens" in body["messages"][0]["content"]
    assert out.reasoning_tokens == budget // 2 and out.reasoning_tokens_source == "usage"
    assert out.reasoning.startswith("step step") and out.answer_text == "<answer>2</answer>"
    assert out.cost_usd == pytest.approx((out.input_tokens * PRICE[0] + out.output_tokens * PRICE[1]) / 1e6)
    assert out.extra["cost_source"] == "usage.cost" and out.extra["routed_to"] == "Anthropic"
    assert out.extra["enforced_by"] == "reasoning_max_tokens" and out.extra["reasoning_details"] == ["reasoning.text"]


def test_effort_levels_and_mapped_numeric_budgets(api):
    m = model(api, GPT)
    for level in ("low", "high", "xhigh"):
        check(m, level)
        out = run(m.generate(req(level)))
        assert sent(api)["reasoning"] == {"effort": level, "exclude": False}
        assert out.reasoning_tokens == EFFORT_TOKENS[level] and out.extra["enforced_by"] == "reasoning_effort"
    check(m, 8192)  # effort-only model: 8192 -> high through budget.py's table
    run(m.generate(req(8192)))
    assert sent(api)["reasoning"] == {"effort": "high", "exclude": False}
    run(model(api, GPT, effort_table={0: "low", 2000: "medium"}).generate(req(4096)))
    assert sent(api)["reasoning"]["effort"] == "medium"
    with pytest.raises(ConfigError, match="effort 'minimal'"):
        check(m, "minimal")
    with pytest.raises(ConfigError, match="only numeric reasoning budgets"):
        check(model(api), "high")  # anthropic/ takes max_tokens


def test_budget_zero_and_prompted_switch_reasoning_off(api):
    m = model(api, GPT)
    out = run(m.generate(req(0)))
    assert sent(api)["reasoning"] == {"effort": "none"} and out.reasoning_tokens == 0
    assert out.extra["enforced_by"] == "thinking_switch"
    out = run(m.generate(req(2048, "prompted")))
    assert sent(api)["reasoning"] == {"effort": "none"} and out.extra["enforced_by"] == "prompt"
    assert out.reasoning_tokens_source == "output_minus_answer_estimate"
    with pytest.raises(ConfigError, match="cannot switch reasoning off"):
        check(model(api, "openai/o3"), 0)


def test_never_effort_and_max_tokens_together(api):
    for name in (CLAUDE, GPT, "google/gemini-2.5-flash", "google/gemini-3-pro", "x-ai/grok-4", "qwen/qwen3-32b"):
        m = model(api, name)
        for budget in ("natural", 0, 1024, 4096, "low", "high"):
            try:
                m.check_plan(req(budget).plan)
            except ConfigError:
                continue
            reasoning = m.params(req(budget))["reasoning"]
            assert not ({"effort", "max_tokens"} <= set(reasoning)), (name, budget)
            assert reasoning.get("exclude") is not True


def test_server_refuses_both_fields_and_a_small_budget(api):
    wide = model(api, capabilities={"min_budget": 1})
    with pytest.raises(ProviderError, match="at least 1024") as err:
        run(wide.generate(req(512)))
    assert err.value.status_code == 400 and len(api.log) == 1  # a bad request is not retried
    with pytest.raises(ConfigError, match="outside the model's reasoning budget range 1024"):
        check(model(api), 512)
    import openai

    client = openai.AsyncOpenAI(api_key=KEY, base_url=f"{api.url}/api/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="Only one of"):
        run(client.chat.completions.create(model=CLAUDE, messages=[{"role": "user", "content": "hi"}],
                                           extra_body={"reasoning": {"effort": "high", "max_tokens": 2048}}))


def test_natural_and_summarized_reasoning_details():
    server = OpenRouterAPI(key=KEY, summarized=True).start()
    try:
        m = load_model(f"openrouter:{GPT}@{server.url}/api/v1", FAST)
        out = run(m.generate(req("natural")))
        assert server.log[-1]["body"]["reasoning"] == {"enabled": True, "exclude": False}
        assert out.reasoning_tokens == DEFAULT_TOKENS and out.extra["thinking_summarized"]
        assert out.extra["reasoning_details"] == ["reasoning.encrypted", "reasoning.summary"]
        assert len(out.reasoning.split()) < out.reasoning_tokens  # the count comes from usage, not the summary
    finally:
        server.stop()


def test_reasoning_tokens_estimated_when_usage_lacks_them():
    server = OpenRouterAPI(key=KEY, report_reasoning_tokens=False).start()
    try:
        out = run(load_model(f"openrouter:{CLAUDE}@{server.url}/api/v1", FAST).generate(req(4096)))
        assert out.reasoning_tokens_source == "estimate" and out.reasoning_tokens == len("step " * 1024) // 4
    finally:
        server.stop()


def test_truncated_when_reasoning_fills_max_tokens(api):
    api.think_fraction = 1.0
    out = run(model(api).generate(req(4096, margin=2)))
    assert out.truncated and out.stop_reason == "max_tokens"


def test_retries_auth_and_missing_key(api, monkeypatch):
    api.fail(429, "Rate limit exceeded", retry_after="0")
    api.fail(502, "upstream error")
    out = run(model(api).generate(req(1024)))
    assert out.extra["attempts"] == 3 and len(api.billed) == 1
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-wrong-999999")
    with pytest.raises(ProviderError) as err:
        run(model(api).generate(req(1024)))
    assert err.value.status_code == 401 and "sk-or-v1-wrong-999999" not in str(err.value)
    monkeypatch.delenv("OPENROUTER_API_KEY")
    with pytest.raises(ModelUnavailable, match="OPENROUTER_API_KEY is not set"):
        model(api)


def test_no_batch_api_and_routing_preferences(api):
    m = model(api, provider_routing={"order": ["anthropic"], "allow_fallbacks": False})
    assert not supports_batch(m)
    run(m.generate(req(1024)))
    assert sent(api)["provider"] == {"order": ["anthropic"], "allow_fallbacks": False}
    with pytest.raises(ConfigError, match="unknown option"):
        load_model(f"openrouter:{CLAUDE}@{api.url}/api/v1", {"api": "responses"})


def test_ignoring_and_overshooting_upstreams_are_reported_as_observed():
    server = OpenRouterAPI(key=KEY, ignore_budget=True).start()
    try:
        m = load_model(f"openrouter:{CLAUDE}@{server.url}/api/v1", FAST)
        assert [run(m.generate(req(b))).reasoning_tokens for b in (1024, 8192)] == [IGNORED_TOKENS] * 2
    finally:
        server.stop()
    server = OpenRouterAPI(key=KEY, overshoot=1.7).start()
    try:
        out = run(load_model(f"openrouter:{CLAUDE}@{server.url}/api/v1", FAST).generate(req(2048)))
        assert out.reasoning_tokens == int(2048 * 1.7)
    finally:
        server.stop()


def test_cli_effort_sweep_end_to_end(api, tmp_path):
    import json

    from helpers import run_cli

    run_dir = tmp_path / "run"
    res = run_cli("run", "--model", f"openrouter:{GPT}@{api.url}/api/v1", "--task", "misleading-math",
                  "--budgets", "low,high", "--mechanism", "native", "--limit", "2", "--run-dir", str(run_dir),
                  "--quiet", env={"OPENROUTER_API_KEY": KEY})
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in run_cli("export", str(run_dir), "--format", "jsonl").stdout.splitlines()]
    assert sorted((r["budget"], r["reasoning_tokens"]) for r in rows) == [("high", 2500)] * 2 + [("low", 300)] * 2
    assert {json.dumps(e["body"]["reasoning"], sort_keys=True) for e in api.log} == {
        '{"effort": "high", "exclude": false}', '{"effort": "low", "exclude": false}'}
    assert not [p for p in run_dir.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
