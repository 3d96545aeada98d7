"""Shared-trace sweeps against the wire-faithful fake servers (tests/servers/profile_api.py) through the real openai
SDK, for the paths no real server here can run: vLLM's and SGLang's token strings (logprobs.tokens), llama.cpp's
/tokenize fallback (with_pieces), a server that returns no tokens at all, and the bodies each pass sends (lookahead,
llama.cpp's cache_prompt and id_slot, answers longest cut first). A real vLLM / SGLang needs a GPU; the real
llama.cpp server is tests/test_server_sweep.py and tests/test_server_sweep_runs.py."""

from __future__ import annotations

import asyncio

import pytest
from servers.profile_api import TEMPLATE

from overthink.budget import plan_budget
from overthink.providers import GenerateRequest, load_model

BUDGETS = [0, 4, 16]
FIELDS = ("reasoning", "answer_text", "reasoning_tokens", "thinking_stop", "truncated", "output_tokens")


def requests(budgets=BUDGETS, probes=0):
    out = [GenerateRequest(prompt="What is 1 + 1? Reply <answer>N</answer>.", seed=3, temperature=0.0,
                           plan=plan_budget(b, "forced", answer_margin=16)) for b in budgets]
    for r in out:
        r.extra["probe_cuts"] = probes
    return out


def both(api, **options):
    m = load_model(f"openai-compatible:m@{api.url}/v1", {"timeout_s": 10, "max_attempts": 1,
                                                         "chat_template": TEMPLATE, **options})

    async def go():
        independent = {r.plan.budget: await m.generate(r) for r in requests()}
        api.log.clear()
        shared = {r.plan.budget: c async for r, c in m.generate_sweep(requests(probes=2))}
        await m.aclose()
        return independent, shared

    return asyncio.run(go())


def passes(api):
    return [e["body"] for e in api.log if e["path"] == "/v1/completions"]


@pytest.mark.parametrize("profile", ["vllm", "sglang", "llamacpp"])
def test_token_strings_cut_the_trace_as_independent_requests_do(serve, profile):
    api = serve(profile)
    independent, shared = both(api)
    for b in BUDGETS:
        assert not isinstance(shared[b], BaseException), shared[b]
        for f in FIELDS:
            assert getattr(shared[b], f) == getattr(independent[b], f), (profile, b, f)
    assert shared[4].reasoning == "step step step step" and shared[4].reasoning_tokens == 4
    assert shared[4].shared_trace and shared[4].extra["cut_by"] == "logprobs"
    assert independent[16].extra["cut_by"] == "logprobs" and independent[16].extra["think_pass_tokens"] > 16
    sent = passes(api)
    think, answers = sent[0], sent[1:]
    # one thinking pass past the largest budget (the lookahead), asking for its tokens
    assert think["logprobs"] == 1 and think["max_tokens"] > 16 and len([p for p in sent if "logprobs" in p]) == 1
    # answers: every cut and probe (cuts 16, 4 and probes at 5, 11 of 16), longest first
    cuts = [api._prompt(p["prompt"]).count("step") for p in answers]
    assert cuts == sorted(cuts, reverse=True) and set(cuts) == {16, 11, 5, 4, 0}
    probes = shared[16].extra["probe_cuts"]
    assert [p["cut"] for p in probes] == [5, 11] and all(p["answer_text"] == "<answer>2</answer>" for p in probes)
    if profile == "llamacpp":  # fresh thinking pass, answers reuse it, pinned to the one slot (/props total_slots)
        assert think["cache_prompt"] is False and all(p["id_slot"] == 0 for p in sent)
        assert [p["cache_prompt"] for p in answers] == [True] * 4 + [False]  # B = 0 never thought: computed afresh
        # an answer after thinking carries the trace's own token ids (a mixed prompt), never re-tokenised text
        for p, n in zip(answers[:4], cuts[:4], strict=True):  # the fake thinks "step step ...": ids of each piece
            ids = [api.vocab["step"]] + [api.vocab[" step"]] * (n - 1)
            assert isinstance(p["prompt"], list) and p["prompt"][1:-1] == ids, n
        assert isinstance(answers[4]["prompt"], str)
    else:
        assert all("cache_prompt" not in p and "id_slot" not in p for p in sent)


def test_llamacpp_without_logprobs_cuts_by_tokenize_pieces(serve):
    api = serve("llamacpp", token_pieces=False)
    independent, shared = both(api)
    assert shared[4].extra["cut_by"] == "tokenize" and shared[4].reasoning == "step step step step"
    assert [getattr(shared[4], f) for f in FIELDS] == [getattr(independent[4], f) for f in FIELDS]


def test_a_server_without_tokens_runs_each_budget_alone_at_exactly_b(serve):
    api = serve("vllm", token_pieces=False)  # vLLM's /tokenize takes no llama.cpp body: nothing to cut with
    m = load_model(f"openai-compatible:m@{api.url}/v1", {"timeout_s": 10, "max_attempts": 1, "chat_template": TEMPLATE})

    async def go():
        first = {r.plan.budget: c async for r, c in m.generate_sweep(requests())}
        api.log.clear()
        second = {r.plan.budget: c async for r, c in m.generate_sweep(requests())}
        await m.aclose()
        return first, second

    first, second = asyncio.run(go())
    for out in (first, second):
        assert all(not isinstance(c, BaseException) for c in out.values()), out
        assert out[16].reasoning_tokens == 16 and not out[16].shared_trace and out[16].extra["cut_by"] == "exact"
    # learnt once: the second sweep asks for exactly B tokens, no lookahead, no logprobs
    think = [p for p in passes(api) if p["prompt"].endswith("<think>\n")]
    assert sorted(p["max_tokens"] for p in think) == [4, 16] and all("logprobs" not in p for p in think)
