"""The anthropic: provider through the real SDK against a local Messages API server."""

from __future__ import annotations

import asyncio
import time

import pytest
from servers.fake_api import FakeAPI

from overthink.budget import plan_budget
from overthink.errors import ConfigError, ModelUnavailable
from overthink.providers import GenerateRequest, load_model

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.5, "timeout_s": 5}


@pytest.fixture()
def api():
    server = FakeAPI().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-000")


def model(api, name="claude-sonnet-4-20250514", **options):
    return load_model(f"anthropic:{name}@{api.url}", {**FAST, **options})


def req(budget, mechanism="native", margin=10_000, **kw):
    return GenerateRequest(prompt="How many fruits?", plan=plan_budget(budget, mechanism, answer_margin=margin), seed=1,
                           **kw)


def sent_key(entry) -> str:
    headers = entry["headers"]
    return headers.get("x-api-key", "") + headers.get("authorization", "")


_LOOP = asyncio.new_event_loop()  # one loop for the module: SDK clients keep connections across calls


def run(coro):
    return _LOOP.run_until_complete(coro)


@pytest.mark.parametrize("budget", [1024, 2048, 4096, 8192, 16384])
def test_native_budget_request_and_usage(api, budget):
    m = model(api)
    out = run(m.generate(req(budget)))
    body = api.log[-1]["body"]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == budget + 10_000
    assert "temperature" not in body  # stays at the API default 1 with thinking
    assert f"about {budget} tokens" in body["system"]
    assert "sk-ant-test-key-000" in sent_key(api.log[-1])
    assert out.reasoning_tokens == budget // 2 and out.reasoning_tokens_source == "usage"
    assert out.answer_text == "<answer>2</answer>" and not out.truncated and out.stop_reason == "end_turn"
    # the summary text is far shorter than what was billed and is never the length
    assert len(out.reasoning.split()) < out.reasoning_tokens
    assert out.cost_usd == pytest.approx((out.input_tokens * 3 + out.output_tokens * 15) / 1e6)


def test_budget_zero_sends_no_thinking(api):
    out = run(model(api).generate(req(0, temperature=0.3)))
    body = api.log[-1]["body"]
    assert "thinking" not in body and body["max_tokens"] == 10_000 and body["temperature"] == 0.3
    assert "Don't think" in body["system"]
    assert out.reasoning_tokens == 0 and out.thinking_stop == "none"


def test_reasoning_from_output_minus_answer_when_usage_lacks_it(api):
    api.report_thinking_tokens = False
    out = run(model(api).generate(req(4096)))
    # 2048 thinking + 5 answer tokens billed; the answer "<answer>2</answer>" is estimated at 5 tokens
    assert out.reasoning_tokens_source == "output_minus_answer_estimate"
    assert out.reasoning_tokens == 2048


def test_truncated_when_thinking_fills_max_tokens(api):
    api.think_fraction = 1.0
    out = run(model(api).generate(req(2048, margin=3)))
    assert api.log[-1]["body"]["max_tokens"] == 2051
    assert out.truncated and out.stop_reason == "max_tokens" and "</answer>" not in out.answer_text


def test_below_minimum_budget_refused_before_work(api):
    m = model(api)
    with pytest.raises(ConfigError, match="below the API's minimum thinking budget of 1024"):
        m.check_plan(plan_budget(512, "native", answer_margin=100))
    m.check_plan(plan_budget(0, "native", answer_margin=100))
    with pytest.raises(ConfigError, match="temperature 1"):
        m.check_plan(plan_budget(2048, "native", answer_margin=100), 0.5)
    assert api.log == []


def test_adaptive_model_sweeps_efforts(api):
    m = model(api, name="claude-opus-4-7")
    for effort in ("low", "medium", "high"):
        m.check_plan(plan_budget(effort, "native", answer_margin=100))
        out = run(m.generate(req(effort)))
        body = api.log[-1]["body"]
        assert body["thinking"] == {"type": "adaptive"} and body["output_config"] == {"effort": effort}
        assert out.reasoning_tokens > 0
    # numeric budgets map through budget.py's table
    run(m.generate(req(8192)))
    assert api.log[-1]["body"]["output_config"] == {"effort": "high"}
    with pytest.raises(ConfigError, match="effort"):
        m.check_plan(plan_budget("minimal", "native", answer_margin=100))


def test_capabilities_extend_from_config(api):
    # an unknown model name: the user declares it adaptive in model_options
    m = model(api, name="claude-future-9", capabilities={"thinking": ["adaptive"], "efforts": ["low", "high"]})
    run(m.generate(req("low")))
    assert api.log[-1]["body"]["thinking"] == {"type": "adaptive"}
    with pytest.raises(ConfigError, match="unknown capability field"):
        model(api, capabilities={"thinkin": ["adaptive"]})


def test_prompted_and_cautioned(api):
    plan = plan_budget(4096, "prompted", answer_margin=10_000, cautioned=True)
    run(model(api).generate(GenerateRequest(prompt="q", plan=plan, seed=1)))
    body = api.log[-1]["body"]
    assert "thinking" not in body and body["max_tokens"] == 14096
    assert "Think harder" in body["system"] and "do not need to use all" in body["system"]


def test_retry_after_honoured_then_success(api):
    api.faults += [{"status": 429, "headers": {"retry-after": "0.3"}}, {"status": 529}, {"status": 500}]
    m = model(api)
    start = time.perf_counter()
    out = run(m.generate(req(1024)))
    assert time.perf_counter() - start >= 0.3
    assert out.extra["attempts"] == 4 and len(api.billed) == 1
    assert m.limiter.min_seen < m.limiter.ceiling  # backed off on the 429


def test_timeout_and_malformed_are_retried(api):
    api.faults += [{"sleep": 1.5, "status": 200}, {"malformed": "{not json"}, {"malformed": '{"id": "x"}'}]
    out = run(model(api, timeout_s=0.5).generate(req(1024)))
    assert out.extra["attempts"] == 4 and out.answer_text == "<answer>2</answer>"


def test_persistent_failure_raises_redacted(api):
    api.faults += [{"status": 500}] * 3
    with pytest.raises(Exception) as info:
        run(model(api, max_attempts=3).generate(req(1024)))
    assert "500" in str(info.value) and "after 3 attempts" in str(info.value)
    assert "sk-ant-test-key-000" not in str(info.value)
    api.faults.clear()
    api.faults.append({"status": 400})
    with pytest.raises(Exception, match="400"):
        run(model(api).generate(req(1024)))
    assert sum(1 for e in api.log if e["path"] == "/v1/messages") == 4  # a 400 is not retried


def test_missing_key_is_one_line(api, monkeypatch, tmp_path):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelUnavailable, match="^ANTHROPIC_API_KEY is not set"):
        model(api)
    (tmp_path / ".env").write_text("ANTHROPIC_API_KEY=from-dotenv-123\n")
    run(model(api).generate(req(0)))
    assert "from-dotenv-123" in sent_key(api.log[-1])
    with pytest.raises(ConfigError, match="looks like a secret"):
        model(api, api_key="oops")
