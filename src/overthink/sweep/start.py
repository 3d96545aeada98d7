"""Beginning (or resuming) a run, once: the config from its layers, the task and model checks, the run dir, and
then the plan handed to an executor with the recorder and the cost guard.

Everything that can refuse a run (bad config, unknown task, missing key, impossible budget, no batch API) is
checked in `begin` / `prepare`, before the run dir exists. `Sweep.run` then opens the run in the store (a resumed
run must keep the settings that define its samples), plans what is not finished and executes it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig, build_config
from ..core import Item
from ..errors import ConfigError, UserError
from ..models import ModelBase, load_model
from ..progress import SweepProgress
from ..store import Store
from ..tasks import Task, get_task
from .batch import run_batches, supports_batch
from .guard import CostGuard
from .plan import Plan, build_plan, plan_for
from .pool import run_pool
from .record import Recorder, RunStats

# An executor sends a plan's requests and records each result; it never sees the config layers or the store's
# run bookkeeping. A third one (e.g. a server-side shared-trace executor) takes the same arguments.
Executor = Callable[[Plan, Mapping[str, ModelBase], Recorder, CostGuard], Awaitable[None]]
Loader = Callable[[str, dict], ModelBase]


def executor_for(cfg: ExperimentConfig) -> Executor:
    return run_batches if cfg.batch else run_pool


def stored_config(run_dir: str | Path | None, *, resume: bool = False) -> dict[str, Any]:
    """The config stored with an existing run dir ({} for a new one); `resume` requires one.

    A dir of imported results (`overthink import`) has no model to call: it is refused for run and resume."""
    if not resume and not run_dir:
        return {}
    try:
        with Store(run_dir or ".", create=False) as store:  # refuses a directory that is not a run
            imported = store.get_meta("imported") is not None
            stored = store.get_meta("config")
    except UserError:
        if resume:
            raise
        return {}  # not a run dir yet: a new run
    if imported:
        raise UserError(f"{run_dir} holds imported results (overthink import): there is no model to call; "
                        "import more files into it instead")
    if stored is None and resume:
        raise UserError(f"{run_dir} has no stored config to resume")
    return stored or {}


def layered_config(overrides: dict[str, Any], config_file: Path | None, *, resume: bool = False) -> ExperimentConfig:
    """The stored config of an existing run dir < the YAML file < flags."""
    stored = stored_config(overrides.get("run_dir"), resume=resume)
    if overrides.get("budgets") is not None and overrides.get("natural") is None:
        stored.pop("natural", None)  # explicit budgets on a natural run dir add a controlled sweep
    return build_config(config_file, overrides, base=stored)


def default_run_dir(models: list[str], tasks: list[str]) -> str:
    slug = "-".join([models[0].split(":", 1)[-1].split("@")[0].replace("/", "_"), tasks[0].replace("/", "_")])
    return str(Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}")


def check_models(cfg: ExperimentConfig, models: Mapping[str, ModelBase]) -> None:
    """Refuse, before any request, budgets a model cannot honour, --max-cost without a price and --batch
    without a batch API."""
    for spec, model in models.items():
        if cfg.batch:
            if not supports_batch(model):
                raise ConfigError(f"--batch: {spec} has no batch API (anthropic: and openai: do)")
            model.batch_mode = True
        for budget in cfg.sweep_budgets():
            try:
                plan = plan_for(cfg, budget, model)
            except ValueError as exc:
                raise ConfigError(f"{spec}: {exc}") from None
            model.check_plan(plan, cfg.temperature)
        if cfg.max_cost is not None and model.price is None:
            raise ConfigError(f"--max-cost: no price known for {spec}; add it to $OVERTHINK_HOME/prices.yaml "
                              f"or model_options.{spec}.price")


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


class Sweep:
    """A run whose config, tasks and models have passed every check; `run` executes what is not finished."""

    def __init__(self, cfg: ExperimentConfig, tasks: list[Task], models: dict[str, ModelBase]) -> None:
        self.cfg = cfg
        self.tasks = tasks
        self.models = models

    @property
    def run_dir(self) -> str:
        return self.cfg.run_dir or "."

    def _load_items(self, store: Store) -> list[tuple[Task, list[Item]]]:
        out = []
        for task in self.tasks:
            items = task.items(n=self.cfg.limit, seed=self.cfg.seed)
            store.add_items(task.name, items)
            out.append((task, items))
        known = store.get_meta("tasks") or {}
        known.update({task.name: task.describe() for task in self.tasks})
        store.set_meta("tasks", known)
        return out

    async def run(self, store: Store, *, progress: bool = True) -> RunStats:
        try:
            run_id = open_run(self.cfg, store)
            plan = build_plan(self.cfg, self._load_items(store), store.done_keys())
            started = time.perf_counter()
            with SweepProgress(plan.units, enabled=progress) as bar:
                recorder = Recorder(store, run_id, plan.mechanism, planned=plan.planned, progress=bar)
                guard = CostGuard(self.cfg.max_cost, recorder.stats)
                try:
                    await executor_for(self.cfg)(plan, self.models, recorder, guard)
                finally:
                    recorder.flush()  # the last batch, also on an interrupt or error
        finally:
            for model in self.models.values():
                await model.aclose()
        recorder.stats.wall_s = time.perf_counter() - started
        return recorder.stats

    def execute(self, *, progress: bool = True, meta: dict[str, Any] | None = None) -> RunStats:
        """Open (or create) the run dir's store, record `meta` (e.g. the positive control's result) and run."""
        with Store(self.run_dir) as store:
            for key, value in (meta or {}).items():
                store.set_meta(key, value)
            return asyncio.run(self.run(store, progress=progress))


def prepare(cfg: ExperimentConfig, *, models: dict[str, ModelBase] | None = None, loader: Loader = load_model,
            prepare_local: Callable[[str], None] | None = None) -> Sweep:
    """Build every task and create and check every model of a config, once, before anything touches disk.
    `prepare_local(pack)` makes an embedded model's file ready (the CLI shows a progress bar for it)."""
    tasks = [get_task(name, **cfg.task_args.get(name, {})) for name in cfg.tasks]  # an unknown task stops here
    if models is None:
        models = {spec: loader(spec, cfg.model_options.get(spec, {})) for spec in cfg.models}
    check_models(cfg, models)
    if prepare_local is not None:
        for model in models.values():
            if model.spec.provider == "local":
                prepare_local(model.spec.model)
    return Sweep(cfg, tasks, models)


def begin(overrides: dict[str, Any], config_file: Path | None, *, resume: bool = False,
          prepare_local: Callable[[str], None] | None = None) -> Sweep:
    """What `overthink run` / `resume` / `quickstart` start with: the layered config, checked and prepared."""
    sweep = prepare(layered_config(overrides, config_file, resume=resume), prepare_local=prepare_local)
    if sweep.cfg.run_dir is None:
        sweep.cfg = sweep.cfg.model_copy(update={"run_dir": default_run_dir(sweep.cfg.models, sweep.cfg.tasks)})
    return sweep


async def run(cfg: ExperimentConfig, store: Store, *, models: dict[str, ModelBase] | None = None,
              progress: bool = True, loader: Loader = load_model) -> RunStats:
    """Prepare and run a built config on an open store (the library entry point; tests and benchmarks)."""
    return await prepare(cfg, models=models, loader=loader).run(store, progress=progress)


def run_sync(cfg: ExperimentConfig, store: Store, **kwargs: Any) -> RunStats:
    return asyncio.run(run(cfg, store, **kwargs))
