"""Shared-trace forced sweeps on a real llama.cpp HTTP server (xllamacpp, SmolLM2): one thinking pass per
(item, seed), one answer pass per cut, the same results as independent requests token for token at temperature 0."""

from __future__ import annotations

import asyncio

import pytest

from overthink.budget import plan_budget
from overthink.providers import GenerateRequest, SweepModel, load_model
from overthink.servers.sweep import ServerTrace, plan_cuts

FIELDS = ("reasoning", "answer_text", "reasoning_tokens", "reasoning_tokens_source", "thinking_stop", "truncated",
          "stop_reason", "output_tokens", "input_tokens")
# One prompt: its trace is capped at 4 and 16 and stops naturally (at 17 tokens) below 48 and 96, so the sweep has
# capped cuts, a shared natural answer and the budget-0 pass. ("What is 17 * 23?", dropped, took the same paths.)
PROMPTS = ["Explain step by step why the sky is blue, then give <answer>a one-word colour</answer>."]


def requests(prompt, budgets, seed=3):
    return [GenerateRequest(prompt=prompt, plan=plan_budget(b, "forced", answer_margin=16), seed=seed,
                            temperature=0.0) for b in budgets]


async def both(url, prompt, budgets):
    m = load_model(f"openai-compatible:smollm2@{url}", {"timeout_s": 120})
    assert isinstance(m, SweepModel)
    reqs = requests(prompt, budgets)
    independent = {r.plan.budget: await m.generate(r) for r in reqs}
    shared = {r.plan.budget: c async for r, c in m.generate_sweep(reqs)}
    await m.aclose()
    return independent, shared


@pytest.mark.slow
@pytest.mark.parametrize("prompt", PROMPTS)
def test_shared_sweep_equals_independent_requests_token_for_token(llama_server_url, prompt):
    budgets = [0, 4, 16, 48, 96]
    independent, shared = asyncio.new_event_loop().run_until_complete(both(llama_server_url, prompt, budgets))
    for b in budgets:
        ind, sh = independent[b], shared[b]
        assert not isinstance(sh, BaseException), sh
        for f in FIELDS:
            assert getattr(sh, f) == getattr(ind, f), (b, f, getattr(sh, f), getattr(ind, f))
        assert sh.extra["enforced_by"] == "client_forcing"
    # every thinking text is a prefix of the longest one: the cuts of one trace
    longest = shared[max(budgets)].reasoning
    assert all(longest.startswith(shared[b].reasoning.rstrip()) for b in budgets)
    capped = [b for b in budgets if shared[b].thinking_stop == "capped"]
    assert capped, "no budget was capped: the test does not exercise a cut"
    for b in capped:
        assert shared[b].reasoning_tokens == b and shared[b].shared_trace
        assert shared[b].extra["cut_by"] == "logprobs"  # llama.cpp returned its own tokens
    assert not shared[0].shared_trace and shared[0].thinking_stop == "none"


def test_cut_rules():
    natural = ServerTrace([b"a"] * 10, natural=True, total_tokens=12, prompt_tokens=5, cut_by="logprobs", text="")
    assert plan_cuts(natural, [0, 4, 10, 11, 12, 50]) == [("none", 0), ("capped", 4), ("capped", 10), None,
                                                         ("natural", 10), ("natural", 10)]
    capped = ServerTrace([b"a"] * 50, natural=False, total_tokens=50, prompt_tokens=5, cut_by="logprobs", text="")
    assert plan_cuts(capped, [16, 50]) == [("capped", 16), ("capped", 50)]
    assert plan_cuts(None, [0, 8]) == [("none", 0), None]
