"""`--batch`: send a run through a provider's batch API (Anthropic Message Batches, OpenAI Batch API).

Each batch id is written to the run store the moment the provider returns it, with the sample keys it holds.
A killed process therefore resumes by polling and collecting its open batches; those keys are never submitted
again (never paid twice). Entries that come back failed, expired or missing are stored as `error` samples and
go into a new batch on the next `resume`. Nothing here invents budgets: requests are the plan's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..providers import BatchModel, GenerateRequest, ModelBase
from .dispatch import Dispatch
from .guard import CostGuard
from .plan import Plan, SampleKey, Unit
from .record import Recorder

POLL_S = 30.0  # seconds between status polls (tests lower it)
MAX_ENTRIES = 10_000  # per submitted batch; both APIs accept more, smaller batches finish sooner


def custom_id(key: SampleKey) -> str:
    """A stable id for a sample key that fits both APIs' custom_id rules ([A-Za-z0-9_-]{1,64})."""
    return "ot-" + hashlib.sha256(json.dumps(list(key), default=str).encode()).hexdigest()[:40]


def supports_batch(model: ModelBase) -> bool:
    return model.batch_api and isinstance(model, BatchModel)


async def run_batches(plan: Plan, models: Mapping[str, ModelBase], recorder: Recorder, guard: CostGuard) -> None:
    """Submit every pending (unit, budget) not already in an open batch, then poll and collect all open ones.
    Models without a batch API were refused before the run started (sweep/start.py)."""
    dispatch = Dispatch(recorder, guard)
    for ident, model in models.items():
        await _run_model(plan, plan.for_model(ident), model, dispatch, ident)


async def _run_model(plan: Plan, units: list[Unit], model: Any, dispatch: Dispatch, ident: str) -> None:
    """`model` is a ModelBase that is also a BatchModel. Each entry is one send for the dispatch step: reserved
    when it is submitted (entries of an open batch from an earlier session are held: they are already paid for),
    released when its result is recorded."""
    store = dispatch.recorder.store
    spec = ident  # batches are recorded under the model's identity (its --model-name, else its spec)
    planned: dict[str, tuple[Unit, GenerateRequest]] = {}
    for unit in units:
        for request in plan.requests(unit):
            planned[custom_id(unit.key(request.plan.budget, request.plan.mechanism.value))] = (unit, request)
    in_flight = {cid for b in store.open_batches(spec) for cid in b["entries"]}
    dispatch.hold(model, [planned[cid][1] for cid in in_flight if cid in planned])

    entries: list[tuple[str, dict[str, Any]]] = []
    keys: dict[str, list] = {}
    for cid, (unit, request) in planned.items():
        if cid in in_flight:
            continue
        if not dispatch.admit(model, [request]):
            break
        entries.append((cid, model.params(request)))
        keys[cid] = list(unit.key(request.plan.budget, request.plan.mechanism.value))
    for start in range(0, len(entries), MAX_ENTRIES):
        chunk = entries[start:start + MAX_ENTRIES]
        batch_id = await model.submit_batch(chunk)
        store.add_batch(batch_id, spec, {cid: keys[cid] for cid, _ in chunk})

    for batch in store.open_batches(spec):
        while await model.batch_state(batch["batch_id"]) != "ended":
            await asyncio.sleep(POLL_S)
        plans = {cid: planned[cid][1].plan for cid in batch["entries"] if cid in planned}
        async for cid, result in model.batch_results(batch["batch_id"], plans):
            unit, request = planned[cid]
            dispatch.record(unit, request, result, model, where=f"batch {batch['batch_id']}")
        store.set_batch_status(batch["batch_id"], "collected")
        # entries the provider did not return are not recorded: their reservation ends with the batch
        dispatch.release([planned[cid][1] for cid in batch["entries"] if cid in planned])
