"""The worker pool: `concurrency` workers take units off one queue until it is empty or the run is stopped.

A unit of several budgets on a shared-trace model (SweepModel, forced mechanism) is answered from one thinking
trace, sent as one dispatch (dispatch.py reserves the worst case of all its budgets first); otherwise each budget is
its own dispatch. A UserError from a provider stops the run (it is the user's mistake, not an API fault); any other
failure is stored as that sample's error and retried on resume. Workers take no new unit once the run is stopped
(cost limit, a non-retryable failure, a signal: `RunStats.stopped`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from ..core import Mechanism
from ..providers import ModelBase, SweepModel
from .dispatch import Dispatch, one
from .guard import CostGuard
from .plan import Plan, Unit
from .record import Recorder


async def run_pool(plan: Plan, models: Mapping[str, ModelBase], recorder: Recorder, guard: CostGuard) -> None:
    queue: asyncio.Queue[Unit] = asyncio.Queue()
    for unit in plan.units:
        queue.put_nowait(unit)
    dispatch = Dispatch(recorder, guard)
    # one isinstance per model, not per unit: a runtime protocol check is slow
    shared = {spec: plan.specs[spec].mechanism is Mechanism.FORCED and not plan.cfg.independent
              and isinstance(model, SweepModel)
              for spec, model in models.items()}

    async def worker() -> None:
        while not queue.empty() and not dispatch.stopped:
            unit = queue.get_nowait()
            model = models[unit.model]
            if shared[unit.model] and len(unit.budgets) > 1:
                await _shared_trace(plan, unit, model, dispatch)
            else:
                await _one_by_one(plan, unit, model, dispatch)

    await asyncio.gather(*(worker() for _ in range(min(plan.cfg.concurrency, max(1, len(plan.units))))))


async def _shared_trace(plan: Plan, unit: Unit, model: ModelBase, dispatch: Dispatch) -> None:
    requests = plan.requests(unit)
    for r in requests:  # extra cuts of the trace, answered for the trajectory analysis only
        r.extra["probe_cuts"] = plan.cfg.probe_cuts
    await dispatch.send(unit, model, requests, model.generate_sweep(requests))  # type: ignore[attr-defined]


async def _one_by_one(plan: Plan, unit: Unit, model: ModelBase, dispatch: Dispatch) -> None:
    for request in plan.requests(unit):
        if not await dispatch.send(unit, model, [request], one(model, request)):
            return
