"""The worker pool: `concurrency` workers take units off one queue until it is empty or the cost limit is reached.

A unit of several budgets on a shared-trace model (SweepModel, forced mechanism) is answered from one thinking
trace; otherwise each budget is its own request. A UserError from a provider stops the run (it is the user's
mistake, not an API fault); any other failure is stored as that sample's error and retried on resume. Workers
take no new unit once the run is stopped (cost limit, a non-retryable failure, a signal: `RunStats.stopped`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from ..core import Completion, Mechanism
from ..errors import UserError
from ..mechanism import resolve
from ..models import ModelBase, SweepModel
from .guard import CostGuard
from .plan import Plan, Unit
from .record import Recorder


async def run_pool(plan: Plan, models: Mapping[str, ModelBase], recorder: Recorder, guard: CostGuard) -> None:
    queue: asyncio.Queue[Unit] = asyncio.Queue()
    for unit in plan.units:
        queue.put_nowait(unit)
    # one isinstance per model, not per unit: a runtime protocol check is slow
    shared = {spec: resolve(plan.cfg.mechanism, model) is Mechanism.FORCED and not plan.cfg.independent
              and isinstance(model, SweepModel)
              for spec, model in models.items()}

    async def worker() -> None:
        while not queue.empty() and not guard.stopped:
            unit = queue.get_nowait()
            model = models[unit.model]
            if shared[unit.model] and len(unit.budgets) > 1:
                await _shared_trace(plan, unit, model, recorder)
            else:
                await _one_by_one(plan, unit, model, recorder, guard)

    await asyncio.gather(*(worker() for _ in range(min(plan.cfg.concurrency, max(1, len(plan.units))))))


async def _shared_trace(plan: Plan, unit: Unit, model: ModelBase, recorder: Recorder) -> None:
    requests = plan.requests(unit, model)
    for r in requests:  # extra cuts of the trace, answered for the trajectory analysis only
        r.extra["probe_cuts"] = plan.cfg.probe_cuts
    spec = model.spec
    pending = {id(r): r for r in requests}
    recorder.stats.in_flight += 1
    try:
        async for request, result in model.generate_sweep(requests):  # type: ignore[attr-defined]
            if isinstance(result, UserError):
                raise result
            pending.pop(id(request), None)
            recorder.record(unit, request, result, spec)
    except (asyncio.CancelledError, UserError):
        raise
    except Exception as exc:  # the shared trace failed: every budget not yet answered is an error
        for request in pending.values():
            recorder.record(unit, request, exc, spec)
    finally:
        recorder.stats.in_flight -= 1


async def _one_by_one(plan: Plan, unit: Unit, model: ModelBase, recorder: Recorder, guard: CostGuard) -> None:
    for request in plan.requests(unit, model):
        if guard.stopped:
            return
        reserved = guard.reserve(model, request)
        if reserved is None:
            return
        recorder.stats.in_flight += 1
        try:
            result: Completion | BaseException = await model.generate(request)
        except (asyncio.CancelledError, UserError):
            raise
        except Exception as exc:  # any provider failure is stored as an error, never scored
            result = exc
        finally:
            guard.release(reserved)
            recorder.stats.in_flight -= 1
        recorder.record(unit, request, result, model.spec)
