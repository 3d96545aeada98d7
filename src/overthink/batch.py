"""`--batch`: send a run through a provider's batch API (Anthropic Message Batches, OpenAI Batch API).

Each batch id is written to the run store the moment the provider returns it, with the sample keys it holds.
A killed process therefore resumes by polling and collecting its open batches; those keys are never submitted
again (never paid twice). Entries that come back failed, expired or missing are stored as `error` samples and
go into a new batch on the next `resume`. Nothing here invents budgets: requests are the runner's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .models import GenerateRequest, Model

if TYPE_CHECKING:
    from .runner import Runner, RunStats, Unit

POLL_S = 30.0  # seconds between status polls (tests lower it)
MAX_ENTRIES = 10_000  # per submitted batch; both APIs accept more, smaller batches finish sooner


def custom_id(key: tuple) -> str:
    """A stable id for a sample key that fits both APIs' custom_id rules ([A-Za-z0-9_-]{1,64})."""
    return "ot-" + hashlib.sha256(json.dumps(list(key), default=str).encode()).hexdigest()[:40]


def supports_batch(model: Model) -> bool:
    return all(hasattr(model, m) for m in ("submit_batch", "batch_state", "batch_results", "params"))


async def run_batches(runner: Runner, units: list[Unit], models: dict[str, Model], run_id: str,
                      stats: RunStats, progress: Any = None) -> None:
    """Submit every pending (unit, budget) not already in an open batch, then poll and collect all open ones."""
    for spec, model in models.items():
        if not supports_batch(model):
            raise ConfigError(f"--batch: {spec} has no batch API (anthropic: and openai: do)")
    for spec, model in models.items():
        await _run_model(runner, [u for u in units if u.model == spec], model, run_id, stats, progress)


async def _run_model(runner: Runner, units: list[Unit], model: Any, run_id: str, stats: RunStats,
                     progress: Any) -> None:
    from .runner import make_record

    store, mech = runner.store, runner.cfg.mechanism.value
    spec = str(model.spec)
    planned: dict[str, tuple[Unit, GenerateRequest]] = {}
    for unit in units:
        for budget in unit.budgets:
            key = (unit.model, unit.task.name, unit.item.id, budget, mech, unit.replicate)
            planned[custom_id(key)] = (unit, runner.request_for(unit, budget, model))
    in_flight = {cid for b in store.open_batches(spec) for cid in b["entries"]}

    fresh = [(cid, ur) for cid, ur in planned.items() if cid not in in_flight]
    entries: list[tuple[str, dict[str, Any]]] = []
    keys: dict[str, list] = {}
    for cid, (unit, request) in fresh:
        if runner.cfg.max_cost is not None:
            worst = model.worst_case_cost(request) or 0.0
            if stats.cost_usd + stats.reserved_usd + worst > runner.cfg.max_cost:
                stats.stopped_for_cost = True
                break
            stats.reserved_usd += worst
        entries.append((cid, model.params(request)))
        keys[cid] = [unit.model, unit.task.name, unit.item.id, request.plan.budget, mech, unit.replicate]
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
            record = make_record(unit, request, result, model.spec, run_id, mech)
            if isinstance(result, BaseException):
                record.error = f"{record.error} (batch {batch['batch_id']})"
            store.record(record)
            stats.completed += 1
            stats.statuses[record.status] += 1
            stats.reasoning_tokens += record.reasoning_tokens or 0
            stats.cost_usd += record.cost_usd or 0.0
            if progress is not None:
                progress.advance(record)
        store.set_batch_status(batch["batch_id"], "collected")
    stats.reserved_usd = 0.0
