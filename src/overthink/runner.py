"""The async sweep: every (model, task, item, budget, replicate) not yet finished in the store is run once.

Work is grouped into units of one (model, task, item, replicate). When a model can share one thinking trace across
budgets (SweepModel, forced mechanism), a unit is answered from one trace; otherwise each budget is its own request.
Units run on a bounded pool of workers; each finished sample is graded and committed at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .budget import BudgetPlan, plan_budget
from .config import ExperimentConfig
from .core import Budget, Completion, Item, Mechanism, SampleRecord, Status
from .errors import ConfigError, UserError
from .models import GenerateRequest, Model, ModelSpec, SweepModel, load_model
from .progress import SweepProgress
from .store import Store
from .tasks import Task, get_task


def stable_seed(*parts: object) -> int:
    """A seed that depends only on its parts (not on Python's hash randomisation)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class Unit:
    model: str
    task: Task
    item: Item
    replicate: int
    seed: int
    budgets: list[Budget]


@dataclass
class RunStats:
    run_id: str
    planned: int = 0  # samples that were pending at start
    completed: int = 0
    statuses: Counter = field(default_factory=Counter)
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    reserved_usd: float = 0.0  # worst-case cost of requests in flight (for --max-cost)
    stopped_for_cost: bool = False
    wall_s: float = 0.0


def open_run(cfg: ExperimentConfig, store: Store) -> str:
    """Record the config with the run, or check a resumed run keeps the settings that define its samples."""
    run_id = store.get_meta("run_id")
    if run_id is None:
        run_id = uuid.uuid4().hex[:12]
        store.set_meta("run_id", run_id)
        store.set_meta("created_at", time.time())
    else:
        old = store.get_meta("config")
        if old is not None:
            diff = cfg.semantic_diff(ExperimentConfig.model_validate(old))
            if diff:
                raise ConfigError(
                    f"{store.run_dir} was started with different {', '.join(diff)}; samples would not be "
                    f"comparable. Use a new --run-dir, or resume with the original settings.")
    store.set_meta("config", cfg.model_dump(mode="json"))
    return run_id


def plan_for(cfg: ExperimentConfig, budget: Budget, model: Model) -> BudgetPlan:
    margin = cfg.answer_margin or getattr(model, "default_answer_margin", 10_000)
    return plan_budget(budget, cfg.mechanism, answer_margin=margin, cautioned=cfg.cautioned)


def check_models(cfg: ExperimentConfig, models: dict[str, Model]) -> None:
    """Refuse, before any request, budgets a model cannot honour and --max-cost without a price."""
    for spec, model in models.items():
        if cfg.batch:
            model.batch_mode = True  # type: ignore[attr-defined]
        check = getattr(model, "check_plan", None)
        for budget in cfg.sweep_budgets():
            try:
                plan = plan_for(cfg, budget, model)
            except ValueError as exc:
                raise ConfigError(f"{spec}: {exc}") from None
            if check is not None:
                check(plan, cfg.temperature)
        if cfg.max_cost is not None and getattr(model, "price", 0) is None:
            raise ConfigError(f"--max-cost: no price known for {spec}; add it to $OVERTHINK_HOME/prices.yaml "
                              f"or model_options.{spec}.price")


def prepare_models(cfg: ExperimentConfig, loader: Callable[[str, dict], Model] = load_model) -> dict[str, Model]:
    """Create and check every model of a run (missing keys, impossible budgets) before anything touches disk."""
    models = {spec: loader(spec, cfg.model_options.get(spec, {})) for spec in cfg.models}
    check_models(cfg, models)
    return models


class Runner:
    def __init__(self, cfg: ExperimentConfig, store: Store, *, models: dict[str, Model] | None = None,
                 progress: bool = True, model_loader: Callable[[str, dict], Model] = load_model) -> None:
        self.cfg = cfg
        self.store = store
        self._models = models
        self._loader = model_loader
        self.show_progress = progress

    def _load_tasks(self) -> list[tuple[Task, list[Item]]]:
        out = []
        for name in self.cfg.tasks:
            task = get_task(name, **self.cfg.task_args.get(name, {}))
            items = task.items(n=self.cfg.limit, seed=self.cfg.seed)
            self.store.add_items(task.name, items)
            out.append((task, items))
        known = self.store.get_meta("tasks") or {}
        known.update({task.name: task.describe() for task, _ in out})
        self.store.set_meta("tasks", known)
        return out

    def plan(self, tasks: list[tuple[Task, list[Item]]]) -> list[Unit]:
        done = self.store.done_keys()
        mech = self.cfg.mechanism.value
        units = []
        for model in self.cfg.models:
            for task, items in tasks:
                for item in items:
                    for rep in range(self.cfg.sweep_replicates()):
                        pending = [b for b in self.cfg.sweep_budgets()
                                   if (model, task.name, item.id, b, mech, rep) not in done]
                        if pending:
                            seed = stable_seed(self.cfg.seed, task.name, item.id, rep)
                            units.append(Unit(model, task, item, rep, seed, pending))
        return units

    async def run(self) -> RunStats:
        models = self._models if self._models is not None else prepare_models(self.cfg, self._loader)
        check_models(self.cfg, models)
        run_id = open_run(self.cfg, self.store)
        tasks = self._load_tasks()
        units = self.plan(tasks)
        stats = RunStats(run_id, planned=sum(len(u.budgets) for u in units))
        started = time.perf_counter()
        try:
            with SweepProgress(units, enabled=self.show_progress) as progress:
                if self.cfg.batch:
                    from .batch import run_batches

                    await run_batches(self, units, models, run_id, stats, progress)
                else:
                    await self._run_pool(units, models, run_id, stats, progress)
        finally:
            for model in models.values():
                await model.aclose()
        stats.wall_s = time.perf_counter() - started
        return stats

    async def _run_pool(self, units: list[Unit], models: dict[str, Model], run_id: str, stats: RunStats,
                        progress: SweepProgress) -> None:
        """`concurrency` workers take units off one queue until it is empty or the cost limit is reached."""
        queue: asyncio.Queue[Unit] = asyncio.Queue()
        for unit in units:
            queue.put_nowait(unit)

        async def worker() -> None:
            while not queue.empty() and not stats.stopped_for_cost:
                unit = queue.get_nowait()
                await self._run_unit(unit, models[unit.model], run_id, stats, progress)

        await asyncio.gather(*(worker() for _ in range(min(self.cfg.concurrency, max(1, len(units))))))

    def request_for(self, unit: Unit, budget: Budget, model: Model) -> GenerateRequest:
        plan = plan_for(self.cfg, budget, model)
        return GenerateRequest(prompt=unit.task.render(unit.item), plan=plan, seed=unit.seed,
                               system=unit.task.system, temperature=self.cfg.temperature, top_p=self.cfg.top_p,
                               key=budget)

    async def _run_unit(self, unit: Unit, model: Model, run_id: str, stats: RunStats,
                        progress: SweepProgress) -> None:
        requests = [self.request_for(unit, b, model) for b in unit.budgets]
        shared = (len(requests) > 1 and self.cfg.mechanism is Mechanism.FORCED and isinstance(model, SweepModel))
        if shared:
            pending = {id(r): r for r in requests}
            try:
                async for request, result in model.generate_sweep(requests):  # type: ignore[attr-defined]
                    if isinstance(result, UserError):
                        raise result
                    pending.pop(id(request), None)
                    self._finish(unit, request, result, model, run_id, stats, progress)
            except (asyncio.CancelledError, UserError):  # a user mistake stops the run; it is not an API fault
                raise
            except Exception as exc:  # the shared trace failed: every budget not yet answered is an error
                for request in pending.values():
                    self._finish(unit, request, exc, model, run_id, stats, progress)
            return
        for request in requests:
            worst = self._worst_case(model, request)
            if self._over_budget(stats, worst):
                return
            stats.reserved_usd += worst
            try:
                result: Completion | BaseException = await model.generate(request)
            except (asyncio.CancelledError, UserError):  # a user mistake stops the run; it is not an API fault
                raise
            except Exception as exc:  # any provider failure is stored as an error, never scored
                result = exc
            finally:
                stats.reserved_usd -= worst
            self._finish(unit, request, result, model, run_id, stats, progress)

    @staticmethod
    def _worst_case(model: Model, request: GenerateRequest) -> float:
        estimate = getattr(model, "worst_case_cost", None)
        return (estimate(request) or 0.0) if estimate is not None else 0.0

    def _over_budget(self, stats: RunStats, worst: float = 0.0) -> bool:
        """Stop before a request whose worst case (input + every allowed output token), added to what is spent
        and what requests in flight may still cost, would pass --max-cost."""
        if self.cfg.max_cost is not None and (
                stats.cost_usd >= self.cfg.max_cost
                or stats.cost_usd + stats.reserved_usd + worst > self.cfg.max_cost):
            stats.stopped_for_cost = True
        return stats.stopped_for_cost

    def _finish(self, unit: Unit, request: GenerateRequest, result: Completion | BaseException, model: Model,
                run_id: str, stats: RunStats, progress: SweepProgress) -> None:
        record = make_record(unit, request, result, model.spec, run_id, self.cfg.mechanism.value)
        self.store.record(record)
        stats.completed += 1
        stats.statuses[record.status] += 1
        stats.reasoning_tokens += record.reasoning_tokens or 0
        stats.cost_usd += record.cost_usd or 0.0
        progress.advance(record)


def make_record(unit: Unit, request: GenerateRequest, result: Completion | BaseException, spec: ModelSpec,
                run_id: str, mechanism: str) -> SampleRecord:
    """Grade a completion (or record a failure) as a SampleRecord."""
    base: dict[str, Any] = dict(
        run_id=run_id, model=unit.model, provider=spec.provider, task=unit.task.name, item_id=unit.item.id,
        budget=request.plan.budget, mechanism=mechanism, replicate=unit.replicate, seed=unit.seed,
        expected=unit.item.expected,
    )
    if isinstance(result, BaseException):
        return SampleRecord(status=Status.ERROR.value, error=f"{type(result).__name__}: {result}"[:2000], **base)
    c = result
    common = dict(
        reasoning_tokens=c.reasoning_tokens, reasoning_tokens_source=c.reasoning_tokens_source,
        output_tokens=c.output_tokens, input_tokens=c.input_tokens, latency_s=round(c.latency_s, 4),
        cost_usd=c.cost_usd, stop_reason=c.stop_reason, thinking_stop=c.thinking_stop, shared_trace=c.shared_trace,
        reasoning=c.reasoning, answer_text=c.answer_text, metadata=c.extra,
    )
    if c.truncated:
        return SampleRecord(status=Status.TRUNCATED.value, **base, **common)
    graded = unit.task.grade(unit.item, c.answer_text)
    return SampleRecord(status=graded.status.value, answer=graded.answer, score=graded.score, correct=graded.correct,
                        **base, **common)


def run_sync(cfg: ExperimentConfig, store: Store, **kwargs: Any) -> RunStats:
    return asyncio.run(Runner(cfg, store, **kwargs).run())
