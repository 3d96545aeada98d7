"""Beginning (or resuming) a run, once: the config from its layers, the task and model checks, the run dir, and
then the plan handed to an executor with the recorder and the cost guard.

Everything that can refuse a run (bad config, unknown task, missing key, impossible budget, no batch API) is
checked in `begin` / `prepare`, before the run dir exists. `Sweep.execute` takes the run dir's writer lock;
`Sweep.run` then opens the run in the store (a resumed run must keep the settings that define its samples; the
session's provenance is recorded), plans what is not finished and executes it under the signal handlers
(signals.py), and stamps how the session ended.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from ..budget import RunSpec, check_budget_size
from ..config import ExperimentConfig, build_config, check_secrets, in_file
from ..core import Item
from ..errors import ConfigError, UserError
from ..progress import SweepProgress
from ..providers import ModelBase, load_model
from ..providers.apibase import ApiModel
from ..providers.registry import info_for
from ..secrets import redact_tree
from ..store import Store
from ..store.lock import RunLock
from ..tasks import Task, get_task, task_names
from . import provenance, sequential
from .batch import run_batches, supports_batch
from .guard import CostGuard
from .items import run_items
from .plan import Plan, build_plan, model_options, resolve_run_specs
from .pool import run_pool
from .record import Recorder, RunStats
from .signals import GracefulStop

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
            meta = store.meta()
        imported, stored = meta.is_imported, meta.config
    except UserError:
        if resume:
            raise
        return {}  # not a run dir yet: a new run
    if imported:
        raise UserError(f"{run_dir} holds imported results (overthink import): there is no model to call; "
                        "import more files into it instead")
    if stored is None and resume:
        raise UserError(f"{run_dir} has no stored config to resume")
    return dict(stored or {})


def layered_config(overrides: dict[str, Any], config_file: Path | None, *, resume: bool = False) -> ExperimentConfig:
    """The stored config of an existing run dir < the YAML file < flags."""
    stored = stored_config(overrides.get("run_dir"), resume=resume)
    if overrides.get("budgets") is not None and overrides.get("natural") is None:
        stored.pop("natural", None)  # explicit budgets on a natural run dir add a controlled sweep
    return renamed_options(build_config(config_file, overrides, base=stored), stored)


def renamed_options(cfg: ExperimentConfig, stored: dict[str, Any]) -> ExperimentConfig:
    """A named model given at a new URL (a server restarted on another port) keeps the options it ran with,
    unless new ones are given for the new spec."""
    old = {name: spec for spec, name in (stored.get("model_names") or {}).items()}
    for spec, name in cfg.model_names.items():
        was = old.get(name)
        if was and was != spec and was not in cfg.models and spec not in cfg.model_options \
                and was in cfg.model_options:
            cfg.model_options[spec] = cfg.model_options.pop(was)
    return cfg


def default_run_dir(models: list[str], tasks: list[str]) -> str:
    """runs/DATE-TIME-MODEL-TASK (`models`: identities, a --model-name or a spec)."""
    slug = "-".join([models[0].split(":", 1)[-1].split("@")[0].replace("/", "_"), tasks[0].replace("/", "_")])
    return str(Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}")


def check_models(cfg: ExperimentConfig, models: Mapping[str, ModelBase], specs: Mapping[str, RunSpec]) -> None:
    """Refuse, before any request, budgets a model cannot honour, --max-cost without a price and --batch
    without a batch API."""
    for spec, model in models.items():
        if cfg.batch:
            if not supports_batch(model):
                raise ConfigError(f"--batch: {spec} has no batch API (anthropic: and openai: do)")
            model.batch_mode = True
        for budget in cfg.sweep_budgets():
            try:
                plan = specs[spec].plan(budget)
                check_budget_size(plan.max_tokens, "output cap (budget + answer margin)")
            except ValueError as exc:
                raise ConfigError(f"{spec}: {exc}") from None
            most = model.caps.get("max_budget") if isinstance(model, ApiModel) else None
            if isinstance(budget, int) and most and budget > most:
                raise ConfigError(f"{spec}: budget {budget} is above this model's maximum thinking budget of "
                                  f"{most} tokens (capabilities table; model_options.{spec}.capabilities "
                                  f"overrides it)")
            model.check_plan(plan, cfg.temperature)
        if cfg.max_cost is not None and model.price is None:
            raise ConfigError(f"--max-cost: no price known for {spec}; add it to $OVERTHINK_HOME/prices.yaml "
                              f"or model_options.{spec}.price")


def open_run(cfg: ExperimentConfig, store: Store, session: dict[str, Any] | None = None) -> str:
    """Record the config with the run, or check a resumed run keeps the settings that define its samples.

    The run id, config and provenance session are written in one transaction: a reader (or a second writer that
    got past the lock, e.g. a library caller) never sees a run id with another run's config."""
    run_id = store.get_meta("run_id")
    values: dict[str, Any] = {}
    if run_id is None:
        run_id = uuid.uuid4().hex[:12]
        values.update(run_id=run_id, created_at=time.time())
    else:
        old = store.get_meta("config")
        if old is not None:
            diff = cfg.semantic_diff(ExperimentConfig.model_validate(old))
            if diff:
                raise ConfigError(
                    f"{store.run_dir} was started with different {', '.join(diff)}; samples would not be "
                    f"comparable. Use a new --run-dir, or resume with the original settings.")
    values["config"] = redact_tree(cfg.model_dump(mode="json"))  # refused earlier; never stored unredacted
    if session is not None:
        values["sessions"] = [*(store.get_meta("sessions") or []), redact_tree(session)]
    store.set_meta_many(values)
    return run_id


def close_session(store: Store, stats: RunStats | None, failed: bool = False) -> None:
    """Stamp the latest session's end time and how it ended."""
    sessions = store.get_meta("sessions") or []
    if not sessions:
        return
    status = "failed" if failed or stats is None else (
        "interrupted" if stats.signal is not None else
        "stopped" if stats.halted is not None or stats.stopped_for_cost else "completed")
    errors = stats.statuses.get("error", 0) if stats is not None else 0
    if errors and status != "failed":
        status += f" ({errors} error samples)"
    sessions[-1].update(ended_at=time.time(), status=status)
    store.set_meta("sessions", sessions)


class Sweep:
    """A run whose config, tasks and models have passed every check; `run` executes what is not finished."""

    def __init__(self, cfg: ExperimentConfig, tasks: list[Task], models: dict[str, ModelBase],
                 specs: dict[str, RunSpec]) -> None:
        self.cfg = cfg
        self.tasks = tasks
        self.models = models
        self.specs = specs  # each model's share of the run, resolved once by `prepare`
        self.stopper: GracefulStop | None = None  # while `run` executes: stops it from another thread

    @property
    def run_dir(self) -> str:
        return self.cfg.run_dir or "."

    def _load_items(self, store: Store) -> list[tuple[Task, list[Item]]]:
        out = []
        for task in self.tasks:
            out.append((task, run_items(task, self.cfg, store)))
        known = store.get_meta("tasks") or {}
        known.update({task.name: task.describe() for task in self.tasks})
        store.set_meta("tasks", known)
        return out

    async def run(self, store: Store, *, progress: bool = True) -> RunStats:
        stats: RunStats | None = None
        try:
            resumed = store.get_meta("run_id") is not None
            run_id = open_run(self.cfg, store, provenance.session(self.models.values(), resumed=resumed))
            # models are keyed by identity (a --model-name, else the spec): what the store's samples are keyed by
            store.set_meta("models", redact_tree({ident: {**self.specs[ident].describe(), **m.describe(),
                                                          "spec": str(m.spec)}
                                                  for ident, m in self.models.items()}))
            loaded = self._load_items(store)
            plan = build_plan(self.cfg, loaded, store.done_keys(), self.specs)
            execute = executor_for(self.cfg)
            if self.cfg.until_decided:  # rounds that stop each cell once decided (sweep/sequential.py)
                execute = sequential.Rounds(self.cfg, loaded, self.specs, store, execute)
            started = time.perf_counter()
            with SweepProgress(plan.units, enabled=progress) as bar:
                recorder = Recorder(store, run_id, plan.mechanism, planned=plan.planned, progress=bar)
                stats = recorder.stats
                guard = CostGuard(self.cfg.max_cost, stats)
                work = asyncio.ensure_future(execute(plan, self.models, recorder, guard))
                with GracefulStop(work, stats, self.cfg.grace(self.models.values())) as self.stopper:
                    try:
                        await work
                    except asyncio.CancelledError:
                        if stats.signal is None and stats.store_error is None:  # not the grace period's end,
                            raise  # nor a failed store's stop: our own cancellation
                    finally:
                        self.stopper = None
                        recorder.flush()  # the last batch, also on an interrupt or error
            if stats.store_error is not None:  # the store failed (record.py): exit 2 with its one line
                raise stats.store_failure()
            stats.wall_s = time.perf_counter() - started
        except BaseException:
            if stats is None or stats.store_error is None:  # a failed store cannot take the end stamp either
                close_session(store, stats, failed=stats is None or stats.signal is None)
            raise
        finally:
            for model in self.models.values():
                await model.aclose()
        close_session(store, stats)
        return stats

    def execute(self, *, progress: bool = True, meta: dict[str, Any] | None = None,
                lock: RunLock | None = None) -> RunStats:
        """Take the run dir's writer lock (unless the caller holds it), open (or create) its store, record
        `meta` (e.g. the positive control's result) and run. A second writer is refused (RunDirLocked, exit 2)."""
        with lock or RunLock(self.run_dir), Store(self.run_dir) as store:
            for key, value in (meta or {}).items():
                store.set_meta(key, value)
            return asyncio.run(self.run(store, progress=progress))


def prepare(cfg: ExperimentConfig, *, models: dict[str, ModelBase] | None = None, loader: Loader = load_model,
            prepare_local: Callable[[str], None] | None = None) -> Sweep:
    """Build every task and create and check every model of a config, once, before anything touches disk.
    `prepare_local(pack)` makes an embedded model's file ready (the CLI shows a progress bar for it)."""
    check_secrets(cfg)  # also for a config built in Python: a key in it is refused before any model is loaded
    tasks = [get_task(name, **cfg.task_args.get(name, {})) for name in cfg.tasks]  # an unknown task stops here
    # options for a task not in this run are kept (a preset's options for other tasks), unless no such task exists
    stray = [n for n in cfg.task_args if n not in cfg.tasks and "/" not in n and n not in task_names()]
    if stray:
        raise ConfigError(f"task_args: no task named {stray[0]!r} (check the name before the dot in "
                          f"--task-args); known tasks: {', '.join(task_names())}")
    if models is None:
        models = {ident: loader(spec, model_options(cfg, spec)) for ident, spec in cfg.model_ids().items()}
    specs = resolve_run_specs(cfg, models)  # the run resolved once: plan, executors and meta read this
    check_models(cfg, models, specs)
    sequential.check_config(cfg, tasks)
    if prepare_local is not None:
        for model in models.values():
            if (info := info_for(model.spec.provider)) is not None and info.embedded:
                prepare_local(model.spec.model)
    return Sweep(cfg, tasks, models, specs)


def begin(overrides: dict[str, Any], config_file: Path | None, *, resume: bool = False,
          prepare_local: Callable[[str], None] | None = None) -> Sweep:
    """What `overthink run` / `resume` / `quickstart` start with: the layered config, checked and prepared."""
    try:
        sweep = prepare(layered_config(overrides, config_file, resume=resume), prepare_local=prepare_local)
    except UserError as exc:
        raise in_file(exc, config_file, overrides) from None
    if sweep.cfg.run_dir is None:
        sweep.cfg = sweep.cfg.model_copy(update={"run_dir": default_run_dir(list(sweep.cfg.model_ids()),
                                                                            sweep.cfg.tasks)})
    return sweep


async def run(cfg: ExperimentConfig, store: Store, *, models: dict[str, ModelBase] | None = None,
              progress: bool = True, loader: Loader = load_model) -> RunStats:
    """Prepare and run a built config on an open store (the library entry point; tests and benchmarks)."""
    return await prepare(cfg, models=models, loader=loader).run(store, progress=progress)


def run_sync(cfg: ExperimentConfig, store: Store, **kwargs: Any) -> RunStats:
    return asyncio.run(run(cfg, store, **kwargs))
