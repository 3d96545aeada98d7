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

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ..core import Completion, Mechanism
from .base import GenerateRequest
from .server_sweep import probe_positions, probe_record

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
    """One slot, one thinking pass at the largest cap, then the answer passes from the longest cut down.

    Descending order matters: the slot's cache then always holds the decoded trace up to the next cut, so every
    answer pass reuses exactly the KV an independent run at that budget would have (see LocalModel.think).
    """
    if not requests:
        return
    if not _shareable(requests):
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
        probes = await _probes(model, requests[0], trace, min(len(trace.ids), max(caps)), {c[1] for c in groups}, call)
        for cut in sorted(groups, key=lambda c: -c[1]):
            stop, n = cut
            members = groups[cut]
            try:
                ans = await model.answer(requests[members[0]], trace.ids[:n], call)
            except Exception as exc:  # noqa: BLE001 - handed to the runner as these samples' error
                for i in members:
                    yield requests[i], exc
                continue
            for i in members:
                done = model._forced(trace, n, stop, ans, caps[i])
                done.shared_trace = stop != "none"  # answered from a cut of the shared thinking trace
                done.latency_s = time.perf_counter() - start  # the sweep's wall time until this sample
                done.extra["shared_think_tokens"] = len(trace.ids)
                if probes and caps[i] == max(caps):
                    done.extra["probe_cuts"] = probes
                yield requests[i], done
        for i, cut in enumerate(cuts):  # cuts inside the stop word: think again, alone, in the same slot
            if cut is None:
                try:
                    yield requests[i], await model.forced_in_slot(requests[i], call)
                except Exception as exc:  # noqa: BLE001 - handed to the runner as this sample's error
                    yield requests[i], exc


async def _probes(model: LocalModel, request: GenerateRequest, trace: Trace, length: int, taken: set[int],
                  call) -> list[dict]:
    """--probe-cuts: answers at extra evenly spaced cuts, for the trajectory analysis only. Run before the budget
    cuts and longest first, so the slot's cache still holds the trace for each (see LocalModel.think)."""
    out = []
    for n in reversed(probe_positions(int(request.extra.get("probe_cuts") or 0), length, taken)):
        try:
            ans = await model.answer(request, trace.ids[:n], call)
        except Exception:  # noqa: BLE001, S112 - a probe is optional: a failed one is left out
            continue
        visible = "<answer>" + ans.text + ("</answer>" if ans.finished else "")
        out.append(probe_record(n, len(trace.text(n)), visible, not ans.finished))
    return sorted(out, key=lambda p: p["cut"])


async def _independent(model: LocalModel, requests: list[GenerateRequest]):
    for r in requests:
        try:
            yield r, await model.generate(r)
        except Exception as exc:  # noqa: BLE001 - handed to the runner as this sample's error
            yield r, exc
