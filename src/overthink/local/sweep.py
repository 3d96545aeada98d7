"""Traces, cuts and shared-prefix budget sweeps for the local model: think once up to the largest budget, answer
from each cut.

For requests of one (item, seed) at forced budgets B1 < B2 < ...: one thinking pass with cap max(B), then for each
budget the answer pass runs from the first B generated token ids. The cut reproduces what an independent B-token
run would have done:

- the trace stopped naturally after T generated tokens (stop word or end of turn included) and B >= T: the
  independent run stops naturally too, with the same trace -> one shared answer for all such budgets;
- B <= the number of trace tokens: the independent run is capped at B with the first B of the same tokens;
- otherwise (B lands inside the stop word's tokens, whose ids the runtime does not return): run independently.

This module knows the passes only through the `Passes` protocol (which `LocalModel` implements), so it does not
import the provider module; the provider imports the trace types, the cut rule and the sweep from here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ..budget import BudgetPlan
from ..core import Completion
from ..forcing import answer_order, plan_cuts, probe_record, shareable, with_probes  # one cut rule for both sweeps
from ..providers.base import GenerateRequest

ANSWER_CLOSE = "</answer>"

Call = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""call(body) -> llama.cpp completion result, pinned to one slot."""


@dataclass
class Trace:
    """One thinking pass: the generated token ids (end-of-turn token dropped) and their text pieces."""

    ids: list[int]
    pieces: list[bytes]
    natural: bool  # the model stopped by itself (</think> or end of turn) before the cap
    total_tokens: int  # tokens the runtime generated, including a stop word or end-of-turn token
    prompt_tokens: int
    seconds: float
    timed_out: bool = False  # stopped by the per-sample time limit (model option time_limit_s)

    def text(self, n: int | None = None) -> str:
        return b"".join(self.pieces[:n]).decode("utf-8", errors="replace")


@dataclass
class Answer:
    """One answer pass after a cut of a thinking trace."""

    text: str
    finished: bool  # stopped at </answer> or end of turn (not the token cap)
    tokens: int
    prompt_tokens: int
    seconds: float


class Passes(Protocol):
    """What a sweep needs from the model: a slot, the thinking pass and the answer pass."""

    def session(self) -> AbstractAsyncContextManager[Call]: ...
    def think_cap(self, plan: BudgetPlan) -> int: ...
    async def think(self, request: GenerateRequest, cap: int, call: Call, *, exact: bool = False) -> Trace: ...
    async def answer(self, request: GenerateRequest, ids: list[int], call: Call) -> Answer: ...
    async def forced_in_slot(self, request: GenerateRequest, call: Call) -> Completion: ...
    async def generate(self, request: GenerateRequest) -> Completion: ...


def forced_completion(trace: Trace | None, cut: int, stop: str, ans: Answer, cap: int) -> Completion:
    """The forced-mechanism result: the first `cut` thinking tokens of the trace and the answer pass after them."""
    visible = "<answer>" + ans.text + (ANSWER_CLOSE if ans.finished else "")
    think_s = trace.seconds if trace else 0.0
    return Completion(
        reasoning=trace.text(cut) if trace else "", answer_text=visible,
        reasoning_tokens=cut, reasoning_tokens_source="tokenizer", output_tokens=cut + ans.tokens,
        input_tokens=trace.prompt_tokens if trace else ans.prompt_tokens,
        stop_reason="stop" if ans.finished else "max_tokens", truncated=not ans.finished,
        latency_s=think_s + ans.seconds, thinking_stop=stop,
        extra={"think_cap": cap, "think_pass_s": round(think_s, 4), "answer_pass_s": round(ans.seconds, 4),
               "answer_tokens": ans.tokens, "answer_prompt_tokens": ans.prompt_tokens},
    )


async def sweep(model: Passes, requests: list[GenerateRequest]
                ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]:
    """One slot, one thinking pass at the largest cap, then the answer passes from the longest cut down.

    Descending order matters: the slot's cache then always holds the decoded trace up to the next cut, so every
    answer pass reuses exactly the KV an independent run at that budget would have (see LocalModel.think).
    """
    if not requests:
        return
    if not shareable(requests):
        async for pair in _independent(model, requests):
            yield pair
        return
    async with model.session() as call:
        start = time.perf_counter()
        caps = [model.think_cap(r.plan) for r in requests]
        try:
            trace = await model.think(requests[0], max(caps), call)
        except Exception as exc:  # noqa: BLE001 - any failure is each sample's error, stored by the runner
            for r in requests:
                yield r, exc
            return
        cuts = plan_cuts(trace, caps)
        groups: dict[tuple[str, int], list[int]] = {}
        for i, cut in enumerate(cuts):
            if cut is not None:
                groups.setdefault(cut, []).append(i)
        # --probe-cuts: extra cuts answered for the trajectory analysis only, in the same descending order as the
        # budget cuts, so each finds the trace in the slot's cache as an independent run would (see think)
        todo = answer_order(groups, int(requests[0].extra.get("probe_cuts") or 0), min(len(trace.ids), max(caps)))
        probes: list[dict] = []
        held: list[tuple[GenerateRequest, Completion]] = []
        for cut in todo:
            stop, n = cut
            try:
                ans = await model.answer(requests[groups[cut][0]] if stop != "probe" else requests[0],
                                         trace.ids[:n], call)
            except Exception as exc:  # noqa: BLE001 - handed to the runner as these samples' error
                if stop != "probe":  # a probe is optional: a failed one is left out
                    for i in groups[cut]:
                        yield requests[i], exc
                continue
            if stop == "probe":
                visible = "<answer>" + ans.text + ("</answer>" if ans.finished else "")
                probes.append(probe_record(n, len(trace.text(n)), visible, not ans.finished))
                continue
            for i in groups[cut]:
                done = forced_completion(trace, n, stop, ans, caps[i])
                done.shared_trace = stop != "none"  # answered from a cut of the shared thinking trace
                done.latency_s = time.perf_counter() - start  # the sweep's wall time until this sample
                done.extra["shared_think_tokens"] = len(trace.ids)
                if caps[i] == max(caps) and len(todo) > len(groups):
                    held.append((requests[i], done))  # carries the probes, all answered by the end
                else:
                    yield requests[i], done
        for pair in with_probes(held, probes):
            yield pair
        for i, cut in enumerate(cuts):  # cuts inside the stop word: think again, alone, in the same slot
            if cut is None:
                try:
                    yield requests[i], await model.forced_in_slot(requests[i], call)
                except Exception as exc:  # noqa: BLE001 - handed to the runner as this sample's error
                    yield requests[i], exc


async def _independent(model: Passes, requests: list[GenerateRequest]
                       ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]:
    for r in requests:
        try:
            yield r, await model.generate(r)
        except Exception as exc:  # noqa: BLE001 - handed to the runner as this sample's error
            yield r, exc
