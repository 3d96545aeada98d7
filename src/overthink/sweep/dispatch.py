"""The one dispatch step of every executor (pool.py one by one and shared trace, batch.py): the stop check, the
CostGuard's reservation of a send's worst case before it goes out, the release of each request's share once its
result is recorded, and the recording itself.

A send is one call to a provider that answers one or more requests: a single request, a shared-trace unit (all
its budgets' requests: their worst cases are reserved together, before the trace starts) or a batch entry. A
request's share is released the moment its sample is stored (its real cost is then in the spent total), so a long
shared trace does not hold its finished budgets' reservations while the rest are answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from ..core import Completion
from ..errors import UserError
from ..providers import GenerateRequest, ModelBase
from .guard import CostGuard
from .plan import Unit
from .record import Recorder

Results = AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]


class Dispatch:
    def __init__(self, recorder: Recorder, guard: CostGuard) -> None:
        self.recorder = recorder
        self.guard = guard
        self._held: dict[int, float] = {}  # id(request) -> its reserved worst case, released when recorded

    @property
    def stopped(self) -> bool:
        """No new send: the cost limit, a non-retryable failure or a signal stopped the run."""
        return self.guard.stopped

    def _worst(self, model: ModelBase, request: GenerateRequest) -> float:
        return (model.worst_case_cost(request) or 0.0) if self.guard.limit is not None else 0.0

    def admit(self, model: ModelBase, requests: Sequence[GenerateRequest]) -> bool:
        """Reserve the worst case of `requests` as one send (all or none). False: the run is stopped (now, for
        cost, or before) and nothing may be sent."""
        if self.stopped:
            return False
        worst = [self._worst(model, r) for r in requests]
        if not self.guard.reserve(sum(worst)):
            return False
        self._held.update((id(r), w) for r, w in zip(requests, worst, strict=True))
        return True

    def hold(self, model: ModelBase, requests: Sequence[GenerateRequest]) -> None:
        """Reserve requests that were sent before this session (a resumed run's open batch): never refused."""
        for r in requests:
            w = self._worst(model, r)
            self.guard.hold(w)
            self._held[id(r)] = w

    def release(self, requests: Sequence[GenerateRequest]) -> None:
        """Give back the reservation of requests that will not be recorded (cancelled, missing from a batch)."""
        for r in requests:
            self.guard.release(self._held.pop(id(r), 0.0))

    def record(self, unit: Unit, request: GenerateRequest, result: Completion | BaseException, model: ModelBase,
               *, where: str | None = None) -> None:
        """Store a result, with what enforced its budget as the model says now (never re-derived later)."""
        self.guard.release(self._held.pop(id(request), 0.0))
        if isinstance(result, Completion) and not result.extra.get("enforced_by"):
            result.extra["enforced_by"] = model.enforced_by(request.plan)
        self.recorder.record(unit, request, result, model.spec, where=where)

    async def send(self, unit: Unit, model: ModelBase, requests: Sequence[GenerateRequest],
                   results: Results) -> bool:
        """Admit `requests` as one send, then record each result `results` yields (the provider call starts
        when it is first iterated). A UserError stops the run; any other failure is stored as the error of every
        request not yet answered. False: nothing was sent, the run is stopped."""
        if not self.admit(model, requests):
            await _close(results)
            return False
        stats = self.recorder.stats
        pending = {id(r): r for r in requests}
        stats.in_flight += 1
        try:
            async for request, result in results:
                if isinstance(result, UserError):
                    raise result
                pending.pop(id(request), None)
                self.record(unit, request, result, model)
        except (asyncio.CancelledError, UserError):
            raise
        except Exception as exc:  # the send failed: every request not yet answered is an error, never scored
            for request in list(pending.values()):
                self.record(unit, request, exc, model)
            pending.clear()
        finally:
            stats.in_flight -= 1
            self.release(list(pending.values()))  # cancelled: nothing recorded, nothing may stay reserved
        return True


async def one(model: ModelBase, request: GenerateRequest) -> Results:
    """A single request as a send's results."""
    yield request, await model.generate(request)


async def _close(results: Results) -> None:
    aclose = getattr(results, "aclose", None)
    if aclose is not None:
        await aclose()
