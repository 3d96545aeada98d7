"""openai-compatible: against a real llama.cpp HTTP server (tests/llama_server.py: xllamacpp with the embedded
SmolLM2 GGUF, one for the session), including client-side budget forcing in two passes."""

from __future__ import annotations

import asyncio

import pytest

from overthink.budget import plan_budget
from overthink.providers import GenerateRequest, load_model
from overthink.providers.openai_compatible import split_think

_LOOP = asyncio.new_event_loop()


def run(coro):
    return _LOOP.run_until_complete(coro)


def model(url, **options):
    return load_model(f"openai-compatible:smollm2@{url}", {"timeout_s": 120, **options})


def req(budget, mechanism, margin=24):
    return GenerateRequest(prompt="What is 2 + 3? Reply with <answer>N</answer>.",
                           plan=plan_budget(budget, mechanism, answer_margin=margin), seed=7, temperature=0.0)


pytestmark = pytest.mark.slow


def test_client_forcing_caps_thinking_at_the_budget(llama_server_url):
    m = model(llama_server_url)
    out = run(m.generate(req(16, "forced")))
    assert out.reasoning_tokens_source == "usage" and 0 < out.reasoning_tokens <= 16
    assert {k: out.extra[k] for k in ("api", "passes", "enforced_by", "server", "cut_by")} == {
        "api": "completions", "passes": 2, "enforced_by": "client_forcing", "server": "llamacpp", "cut_by": "logprobs"}
    # the thinking pass ran past the cap (lookahead) unless the model stopped first; the cut is at the cap
    assert out.extra["think_pass_tokens"] > 16 or out.thinking_stop == "natural"
    assert out.thinking_stop in ("capped", "natural")
    if out.thinking_stop == "capped":
        assert out.reasoning_tokens == 16
    assert out.output_tokens >= out.reasoning_tokens and out.answer_text
    # native without a server budget field (the generic profile) is enforced the same way
    generic = model(llama_server_url, server="generic")
    native = run(generic.generate(req(16, "native")))
    assert native.extra["enforced_by"] == "client_forcing" and native.reasoning_tokens <= 16
    run(generic.aclose())
    zero = run(m.generate(req(0, "forced")))
    assert zero.reasoning_tokens == 0 and zero.thinking_stop == "none" and zero.extra["passes"] == 1
    run(m.aclose())


def test_chat_prompted_with_thinking_switch_and_tokenize(llama_server_url):
    m = model(llama_server_url)
    out = run(m.generate(req(0, "prompted", margin=16)))
    assert out.extra["enforced_by"] == "thinking_switch"  # chat_template_kwargs enable_thinking false was accepted
    assert out.output_tokens and out.output_tokens <= 16 and out.stop_reason in ("stop", "max_tokens")
    n, source = run(m.count_tokens("hello world, this is a test"))
    assert source == "tokenize_endpoint" and 4 <= n <= 12
    run(m.aclose())


def test_real_llamacpp_server_is_detected_and_takes_its_budget_field(llama_server_url):
    """The real server identifies itself; `auto` then means native with its per-request thinking_budget_tokens,
    which it accepts (a chat request with the field succeeds)."""
    from overthink.mechanism import resolve

    m = model(llama_server_url)
    assert m.profile.name == "llamacpp" and ("llamacpp" in m.server_how or "/props" in m.server_how)
    assert resolve("auto", m).value == "native"
    request = req(16, "native", margin=8)
    assert m.params(request)["thinking_budget_tokens"] == 16
    out = run(m.generate(request))
    assert out.extra["enforced_by"] == "server_field" and out.extra["server"] == "llamacpp"
    assert out.output_tokens and out.output_tokens <= 8 + 16
    run(m.aclose())


def test_truncated_is_its_own_status(llama_server_url):
    m = model(llama_server_url)
    out = run(m.generate(req(8, "forced", margin=1)))
    assert out.stop_reason == "max_tokens" and out.truncated
    run(m.aclose())


def test_split_think_inline():
    assert split_think("<think>\nabc\n</think>\n<answer>2</answer>") == ("abc", "<answer>2</answer>")
    assert split_think("abc</think>x") == ("abc", "x")
    assert split_think("no tags") == ("", "no tags")
