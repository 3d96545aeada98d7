"""Shared-trace forced sweeps on OpenAI-compatible servers (vLLM, SGLang, llama.cpp): think once, answer each cut.

For the requests of one (item, replicate) at forced budgets B1 < B2 < ...: one thinking pass on the completions
endpoint with max_tokens = max(B) + a lookahead (stop at the closing delimiter), then one answer pass per distinct
cut whose prompt is exactly the prompt an independent B-token run builds: chat-templated prompt + the text of the
first B generated thinking tokens + closing delimiter + answer cue (answer_prompt). An independent forced request
(`forced`, used by OpenAICompatibleModel._forced) makes the same passes for its one budget.

Cuts are token-exact. The thinking pass asks for `logprobs: 1`, so the server returns each generated token
(llama.cpp: id and bytes; vLLM / SGLang: the token strings); the text of a cut is the join of its first B pieces.
A server that returns neither is cut by its /tokenize + /detokenize endpoints (a re-tokenisation of the text,
recorded as cut_by "tokenize"); one without those either runs each budget alone at exactly B (cut_by "exact").
Cut rules (forcing.py, shared with the embedded model's local/sweep.py):

- the trace stopped naturally after T generated tokens and B >= T: the independent run stops there too;
- B <= the tokens returned: capped at B, the first B tokens of the same greedy trace;
- otherwise (B lands inside the stop word's tokens, which servers do not return): that budget runs alone.

Exactness with llama.cpp's prompt cache: the thinking pass is computed afresh and runs `lookahead` tokens past
the cap, so the KV of everything an answer prompt shares with the trace was decoded, in both designs; the answer
passes reuse it in the same slot (`lease`, llama.cpp `id_slot`), longest cut first, so each shorter prompt is a
prefix of what the slot holds. At temperature 0 shared and independent results agree token for token in
tests/test_server_sweep.py and tests/test_server_sweep_runs.py (real llama.cpp server) and in bench_server_sweep.py
(30/30), because on llama.cpp the answer prompt carries the trace's own token ids (answer_prompt): re-tokenised
text lost the cache after the prompt, and 1 of 10 budgets differed. At temperature > 0 the
cuts of one trace are paired draws of one trajectory, not independent samples: they stay within one (item,
replicate), which is how analysis/curves.py and trends.py cluster them. Which server options turn prefix caching
on: docs/report.md, "Shared-trace sweeps".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ..core import Completion, TokenSource
from ..forcing import answer_order, plan_cuts, probe_record, shareable, with_probes
from ..providers.base import GenerateRequest
from ..providers.retry import MalformedResponse

if TYPE_CHECKING:
    from ..providers.openai_compatible import OpenAICompatibleModel


@dataclass
class ServerTrace:
    pieces: list[bytes]  # one per generated thinking token (end-of-generation token dropped)
    natural: bool  # stopped by itself (closing delimiter or end of turn) before the cap
    total_tokens: int  # tokens the server generated, stop word included
    prompt_tokens: int | None
    cut_by: str  # "logprobs" (the server's own tokens) | "tokenize" (re-tokenised text)
    text: str
    ids: list[int] | None = None  # the generated token ids (llama.cpp returns them with the pieces)

    def cut(self, n: int) -> str:
        return b"".join(self.pieces[:n]).decode("utf-8", errors="replace")

    def cut_ids(self, n: int) -> list[int] | None:
        """The first n generated token ids, trailing whitespace-only tokens dropped (as answer_prompt strips the
        text); None when the server returned no ids."""
        if self.ids is None:
            return None
        while n > 0 and not self.pieces[n - 1].strip():
            n -= 1
        return self.ids[:n]


def _pieces(resp: Any) -> tuple[str, str, list[bytes] | None, int | None, int | None, list[int] | None]:
    """(text, finish, token pieces or None, completion tokens, prompt tokens, token ids or None) of a completions
    response."""
    try:
        choice, usage = resp.choices[0], resp.usage
        text, finish = choice.text or "", str(choice.finish_reason)
    except (AttributeError, IndexError, TypeError) as exc:
        raise MalformedResponse(f"completions response without choices: {exc}") from None
    lp = choice.logprobs
    lp = lp.model_dump() if hasattr(lp, "model_dump") else (lp or {})
    pieces: list[bytes] | None = None
    ids: list[int] | None = None
    if lp.get("content"):  # llama.cpp: [{id, token, bytes}], the end-of-generation token with empty bytes
        pieces = [bytes(e.get("bytes") or str(e.get("token", "")).encode()) for e in lp["content"]]
        found = [e.get("id") for e in lp["content"]]
        ids = found if all(isinstance(i, int) for i in found) else None
        if finish == "stop" and pieces and not pieces[-1]:
            pieces, ids = pieces[:-1], ids[:-1] if ids is not None else None
    elif lp.get("tokens"):  # vLLM / SGLang / the OpenAI legacy shape: token strings
        pieces = [str(t).encode() for t in lp["tokens"]]
    total = usage.completion_tokens if usage else None
    return text, finish, pieces, total, usage.prompt_tokens if usage else None, ids


async def _retokenize(model: OpenAICompatibleModel, text: str) -> list[bytes] | None:
    """The text's tokens as byte pieces via llama.cpp's /tokenize (with_pieces) or /detokenize per id."""
    try:
        resp = await model.http.post("/tokenize", json={"content": text, "add_special": False, "with_pieces": True})
        if resp.status_code != 200:
            return None
        toks = resp.json().get("tokens") or []
        if toks and isinstance(toks[0], dict):
            return [str(t.get("piece", "")).encode() for t in toks]
        out = []
        for tid in toks:  # plain ids: detokenize one by one (servers without pieces)
            r = await model.http.post("/detokenize", json={"tokens": [tid]})
            out.append(str(r.json().get("content") or r.json().get("prompt") or "").encode())
        return out
    except (httpx.HTTPError, ValueError, AttributeError):
        return None


@dataclass
class SweepState:
    """What a model learns about its server on first use (one per OpenAICompatibleModel)."""

    lookahead: int | None = None  # thinking tokens past the cap (lookahead())
    slots: asyncio.Queue[int] | None = None  # llama.cpp slots free for a sweep (lease())
    no_tokens: bool = False  # completions come without their tokens: forced budgets run alone at exactly B


class NoTokens(MalformedResponse):
    """The thinking pass came back without its tokens (no logprobs pieces, no /tokenize)."""


async def lookahead(model: OpenAICompatibleModel) -> int:
    """Tokens a thinking pass generates past its cap: one more than the answer pass's tail (closing delimiter +
    answer cue). The KV of every token an answer prompt can share with the trace (the cut, then the tail when
    the trace happens to continue with the same tokens) is then computed by decoding, in the independent run as
    in the shared one, so llama.cpp's prompt cache reuses the same KV in both (docs/report.md)."""
    state = model.sweep_state
    if state.lookahead is None:
        n, _ = await model.count_tokens("\n" + model.think_close + "\n" + str(model.options.get("answer_cue", "")))
        state.lookahead = n + 1
    return state.lookahead


async def think(model: OpenAICompatibleModel, request: GenerateRequest, cap: int, prompt: str,
                slot: int | None = None) -> ServerTrace:
    """The thinking pass, computed afresh on llama.cpp (its KV must not depend on what the slot held; only
    model option cache_prompt: true lets it reuse the slot's cache)."""
    body = model._pass_body(request, prompt, cap, stop=[model.think_close], logprobs=1, slot=slot)
    (text, finish, pieces, total, prompt_tokens, ids), _ = await model.exchange(body, _pieces)
    cut_by = "logprobs"
    if pieces is None or b"".join(pieces).decode("utf-8", errors="replace") != text:
        pieces, cut_by, ids = await _retokenize(model, text), "tokenize", None
        if pieces is None:
            raise NoTokens("shared-trace sweep: the server returned no tokens and has no /tokenize")
    return ServerTrace(pieces, finish != "length", int(total if total is not None else len(pieces)),
                       prompt_tokens, cut_by, text, ids if model.profile.cache_prompt else None)


@asynccontextmanager
async def lease(model: OpenAICompatibleModel) -> AsyncIterator[int | None]:
    """One llama.cpp slot for all passes of a sweep or a forced request, so each answer pass finds the KV of its
    own thinking pass; None on servers without slots (vLLM and SGLang share their prefix cache)."""
    if not model.profile.cache_prompt:
        yield None
        return
    state = model.sweep_state
    if state.slots is None:
        n = 1
        try:
            resp = await model.http.get("/props")
            n = max(1, int(resp.json().get("total_slots") or 1)) if resp.status_code == 200 else 1
        except (httpx.HTTPError, ValueError, TypeError, AttributeError):
            pass
        if state.slots is None:  # another sweep may have asked meanwhile
            state.slots = asyncio.Queue()
            for i in range(n):
                state.slots.put_nowait(i)
    slot = await state.slots.get()
    try:
        yield slot
    finally:
        state.slots.put_nowait(slot)


def answer_prompt(prompt: str, thinking: str, close: str, cue: str, ids: list[int] | None = None) -> str | list:
    """The answer pass's prompt after `thinking` - one definition for the independent and the shared pass.

    With the trace's token ids (llama.cpp) it is a mixed prompt, text + those ids + text: re-tokenising the text
    does not give back the generated tokens (the first thinking token merges with the prompt's last newline),
    and the slot's cache then matches only the prompt, so the rest is recomputed in a prompt batch whose split
    differs between designs - numerically different KV, and 1 of 10 answers differed (bench_server_sweep.py)."""
    tail = "\n" + close + "\n" + cue
    if ids is not None:
        return [prompt, *ids, tail]
    return prompt + thinking.rstrip() + tail


async def answer(model: OpenAICompatibleModel, request: GenerateRequest, prompt: str, thinking: str, tokens: int,
                 *, capped: bool, thought: bool, prompt_tokens: int | None, slot: int | None = None,
                 ids: list[int] | None = None) -> Completion:
    """The answer pass after a cut: prompt + the cut's text + closing delimiter + cue. With thinking it reuses the
    slot's cache of the thinking pass (option cache_prompt: false turns that off); without, it is computed afresh."""
    cue = str(model.options.get("answer_cue", ""))
    cache = bool(model.options.get("cache_prompt", True)) and thought
    body = model._pass_body(request, answer_prompt(prompt, thinking, model.think_close, cue, ids if thought else None),
                            request.plan.answer_tokens, cache=cache, slot=slot)
    (text, finish, _, answer_tokens, in2, _), attempts = await model.exchange(body, _pieces)
    return model.completed(
        text=cue + text, reasoning=thinking, tokens=tokens, source=TokenSource.USAGE, finish=finish,
        thought=thought, capped=capped, output_tokens=tokens + (answer_tokens or 0),
        input_tokens=prompt_tokens if prompt_tokens is not None else in2,
        extra={"api": "completions", "attempts": attempts, "answer_tokens": answer_tokens})


async def forced(model: OpenAICompatibleModel, request: GenerateRequest) -> Completion:
    """One forced budget B on its own (independent requests): a thinking pass of B + lookahead tokens cut at B
    by the same rule as a shared trace, then the answer pass - the requests a shared sweep makes for one budget,
    so both designs give the same tokens. A server without tokens, or a cut inside the stop word: exactly B."""
    async with lease(model) as slot:
        return await forced_in_slot(model, request, slot)


async def forced_in_slot(model: OpenAICompatibleModel, request: GenerateRequest, slot: int | None) -> Completion:
    budget = int(request.plan.think_tokens or 0)
    prompt = await model._template(request) + model.think_open
    if budget == 0:
        out = await answer(model, request, prompt, "", 0, capped=False, thought=False, prompt_tokens=None, slot=slot)
        out.extra["passes"] = 1
        return out
    trace: ServerTrace | None = None
    if not model.sweep_state.no_tokens:
        try:
            trace = await think(model, request, budget + await lookahead(model), prompt, slot)
        except NoTokens:
            model.sweep_state.no_tokens = True  # ask this server for exactly B tokens from now on
    cut = plan_cuts(trace, [budget])[0]
    if trace is None or cut is None:
        return await exact(model, request, prompt, budget, slot)
    stop, n = cut
    out = await answer(model, request, prompt, trace.cut(n), trace.total_tokens if stop == "natural" else n,
                       capped=stop == "capped", thought=True, prompt_tokens=trace.prompt_tokens, slot=slot,
                       ids=trace.cut_ids(n))
    out.extra.update(passes=2, think_pass_tokens=trace.total_tokens, cut_by=trace.cut_by)
    return out


async def _alone_in_slot(model: OpenAICompatibleModel, request: GenerateRequest, slot: int | None
                         ) -> Completion | BaseException:
    """A budget of a sweep that runs alone, in the sweep's slot (a second lease would wait for itself)."""
    start = model.clock()
    out = await _alone(model, forced_in_slot(model, request, slot))
    if isinstance(out, Completion):
        out.latency_s = model.clock() - start
        out.extra.update(enforced_by="client_forcing", server=model.profile.name,
                         think_cap=int(request.plan.think_tokens or 0))
    return out


async def exact(model: OpenAICompatibleModel, request: GenerateRequest, prompt: str, budget: int,
                slot: int | None) -> Completion:
    """A thinking pass of exactly `budget` tokens (no token pieces needed), then the answer pass."""
    body = model._pass_body(request, prompt, budget, stop=[model.think_close], slot=slot)
    (thinking, finish, tokens, prompt_tokens), _ = await model.exchange(body, _pieces_free)
    source = TokenSource.USAGE
    if tokens is None:
        tokens, source = await model.count_tokens(thinking)
    out = await answer(model, request, prompt, thinking, tokens, capped=finish == "length", thought=True,
                       prompt_tokens=prompt_tokens, slot=slot)
    out.reasoning_tokens_source = source
    out.extra.update(passes=2, think_pass_tokens=tokens, cut_by="exact")
    return out


def _pieces_free(resp: Any) -> tuple[str, str, int | None, int | None]:
    text, finish, _, total, prompt_tokens, _ = _pieces(resp)
    return text, finish, total, prompt_tokens


async def sweep(model: OpenAICompatibleModel, requests: list[GenerateRequest]
                ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]:
    """One slot, one thinking pass at the largest cap (+ lookahead), then one answer pass per distinct cut and
    probe, longest first: the slot's cache then still holds the decoded trace up to each next cut, so every
    answer pass reuses the KV its independent run would (the shorter prompt shares only a prefix of it)."""
    if not requests:
        return
    if not shareable(requests) or model.sweep_state.no_tokens:  # no tokens: a trace cannot be cut exactly
        for r in requests:
            yield r, await _alone(model, model.generate(r))
        return
    async with lease(model) as slot:
        async for pair in _sweep(model, requests, slot):
            yield pair


async def _sweep(model: OpenAICompatibleModel, requests: list[GenerateRequest], slot: int | None
                 ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]:
    start = model.clock()
    caps = [int(r.plan.think_tokens or 0) for r in requests]
    try:
        prompt = await model._template(requests[0]) + model.think_open
        trace = await think(model, requests[0], max(caps) + await lookahead(model), prompt, slot) \
            if max(caps) > 0 else None
    except NoTokens:  # learnt now: this server's traces cannot be cut, so each budget runs alone
        model.sweep_state.no_tokens = True
        for r in requests:
            yield r, await _alone_in_slot(model, r, slot)
        return
    except Exception as exc:  # noqa: BLE001 - the shared trace failed: each budget's error, stored by the runner
        for r in requests:
            yield r, exc
        return
    think_s = model.clock() - start
    cuts = plan_cuts(trace, caps)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, cut in enumerate(cuts):
        if cut is not None:
            groups.setdefault(cut, []).append(i)
    probes: list[dict[str, Any]] = []
    # probes inside the curve's range, as on the embedded model
    longest = min(len(trace.pieces), max(caps)) if trace is not None else 0
    held: list[tuple[GenerateRequest, Completion]] = []
    for cut in answer_order(groups, int(requests[0].extra.get("probe_cuts") or 0), longest):
        stop, n = cut
        thinking = trace.cut(n) if trace is not None and stop != "none" else ""
        tokens = trace.total_tokens if trace is not None and stop == "natural" else n  # as usage counts it
        first = requests[groups[cut][0]] if stop != "probe" else requests[0]
        try:
            out = await answer(model, first, prompt, thinking, tokens, capped=stop in ("capped", "probe"),
                               thought=stop != "none", slot=slot,
                               prompt_tokens=trace.prompt_tokens if trace and stop != "none" else None,
                               ids=trace.cut_ids(n) if trace is not None else None)  # used only after thinking
        except Exception as exc:  # noqa: BLE001 - handed to the runner as these samples' error
            if stop != "probe":  # a probe is optional: a failed one is left out
                for i in groups[cut]:
                    yield requests[i], exc
            continue
        if stop == "probe":
            probes.append(probe_record(n, len(thinking), out.answer_text, out.truncated))
            continue
        for i in groups[cut]:
            done = Completion(**{**out.__dict__, "extra": dict(out.extra)})
            done.shared_trace = stop != "none"
            done.latency_s = model.clock() - start  # the sweep's wall time until this sample
            done.extra.update(enforced_by="client_forcing", think_cap=caps[i], passes=2 if stop != "none" else 1)
            if trace is not None and stop != "none":
                done.extra.update(shared_think_tokens=trace.total_tokens, cut_by=trace.cut_by,
                                  think_pass_s=round(think_s, 4))
            if caps[i] == max(caps):
                held.append((requests[i], done))  # carries the probes, all answered by the end
            else:
                yield requests[i], done
    for pair in with_probes(held, probes):
        yield pair
    for i, cut in enumerate(cuts):  # cuts inside the stop word: that budget alone (exactly B tokens)
        if cut is None:
            yield requests[i], await _alone_in_slot(model, requests[i], slot)


async def _alone(model: OpenAICompatibleModel, pending: Awaitable[Completion]) -> Completion | BaseException:
    try:
        return await pending
    except Exception as exc:  # noqa: BLE001 - handed to the runner as this sample's error
        return exc
