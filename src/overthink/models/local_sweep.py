"""Shared-prefix budget sweeps for the local model: think once up to the largest budget, answer from each cut.

For requests of one (item, seed) at forced budgets B1 < B2 < ...: one thinking pass with cap max(B), then for each
budget the answer pass runs from the first B generated token ids. The cut reproduces what an independent B-token
run would have done:

- the trace stopped naturally after T generated tokens (stop word or end of turn included) and B >= T: the
  independent run stops naturally too, with the same trace -> one shared answer for all such budgets;
- B <= the number of trace tokens: the independent run is capped at B with the first B of the same tokens;
- otherwise (B lands inside the stop word's tokens, whose ids the runtime does not return): run independently.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ..core import Completion, Mechanism
from .base import GenerateRequest

if TYPE_CHECKING:
    from .local import LocalModel, Trace


def _shareable(requests: list[GenerateRequest]) -> bool:
    first = requests[0]
    same = (first.prompt, first.system, first.seed, first.temperature, first.top_p, first.plan.answer_tokens)
    return all(r.plan.mechanism is Mechanism.FORCED for r in requests) and all(
        (r.prompt, r.system, r.seed, r.temperature, r.top_p, r.plan.answer_tokens) == same for r in requests)


def plan_cuts(trace: Trace | None, caps: list[int]) -> list[tuple[str, int] | None]:
    """For each cap: ("none", 0) / ("natural", n) / ("capped", n) = the cut of the trace, None = run alone."""
    cuts: list[tuple[str, int] | None] = []
    for cap in caps:
        if cap == 0:
            cuts.append(("none", 0))
        elif trace is None:
            cuts.append(None)
        elif trace.natural and cap >= trace.total_tokens:
            cuts.append(("natural", len(trace.ids)))
        elif cap <= len(trace.ids):
            cuts.append(("capped", cap))
        else:
            cuts.append(None)
    return cuts


async def sweep(model: LocalModel, requests: list[GenerateRequest]
                ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]:
    if not requests:
        return
    if not _shareable(requests):
        async for pair in _independent(model, requests):
            yield pair
        return
    start = time.perf_counter()
    caps = [model.think_cap(r.plan) for r in requests]
    trace = None
    if max(caps) > 0:
        try:
            trace = await model.think(requests[0], max(caps))
        except Exception as exc:  # noqa: BLE001 - any failure is each sample's error, stored by the runner
            for r in requests:
                yield r, exc
            return
    cuts = plan_cuts(trace, caps)
    groups: dict[tuple[str, int], list[int]] = {}
    alone: list[int] = []
    for i, cut in enumerate(cuts):
        if cut is None:
            alone.append(i)
        else:
            groups.setdefault(cut, []).append(i)

    async def answer_group(cut: tuple[str, int], members: list[int]):
        _stop, n = cut
        try:
            ids = trace.ids[:n] if (trace and n) else []
            ans = await model.answer(requests[members[0]], ids)
            return members, ans, None, cut
        except Exception as exc:  # noqa: BLE001 - handed to the runner as this sample's error
            return members, None, exc, cut

    async def run_alone(i: int):
        try:
            return [i], await model.generate(requests[i]), None, None
        except Exception as exc:  # noqa: BLE001 - handed to the runner as this sample's error
            return [i], None, exc, None

    tasks = [asyncio.ensure_future(answer_group(c, m)) for c, m in groups.items()]
    tasks += [asyncio.ensure_future(run_alone(i)) for i in alone]
    try:
        for fut in asyncio.as_completed(tasks):
            members, result, exc, cut = await fut
            for i in members:
                if exc is not None:
                    yield requests[i], exc
                elif cut is None:  # an independent run
                    yield requests[i], result
                else:
                    stop, n = cut
                    done = model._forced(trace if stop != "none" else None, n, stop, result, caps[i])
                    done.shared_trace = stop != "none"
                    done.latency_s = time.perf_counter() - start  # the sweep's wall time until this sample
                    if trace is not None and stop != "none":
                        done.extra["shared_think_tokens"] = len(trace.ids)
                    yield requests[i], done
    finally:
        for t in tasks:
            t.cancel()


async def _independent(model: LocalModel, requests: list[GenerateRequest]):
    async def one(r: GenerateRequest):
        try:
            return r, await model.generate(r)
        except Exception as exc:  # noqa: BLE001 - handed to the runner as this sample's error
            return r, exc

    tasks = [asyncio.ensure_future(one(r)) for r in requests]
    try:
        for fut in asyncio.as_completed(tasks):
            yield await fut
    finally:
        for t in tasks:
            t.cancel()
