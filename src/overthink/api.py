"""The public Python API: what the `overthink` command line does, as functions (docs/api.md).

    import overthink
    result = overthink.run("experiment.yaml")            # or a dict, or an ExperimentConfig
    run = overthink.load(result.run_dir)                 # meta, samples, scores and verdicts of one run
    tables = overthink.analyze([result.run_dir])         # every analysis table (analysis/api.py)
    checked = overthink.check(["openai:o4-mini"])        # the positive control (check.py)

`run`, `resume`, `check` and `write_report` are the code the CLI's `run`, `resume`, `check` and `report` call; the
CLI only parses flags and prints. A run from Python takes the same writer lock (a second writer, in this process
or another, is refused with RunDirLocked) and, on the main thread, the same SIGINT / SIGTERM handling: the first
signal stops sending, lets the requests in flight be stored and returns a RunResult whose `signal` is set; the
run dir then continues with `resume`. Readers (`load`, `analyze`) never take the lock.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from .analysis.api import analyze as analyze_runs
from .analysis.api import analyze_data
from .analysis.curves import N_BOOT
from .analysis.load import RunData
from .config import ExperimentConfig, build_config
from .core import Budget
from .errors import EXIT_ERRORS, EXIT_OK, EXIT_SIGNAL, EXIT_STOPPED, ConfigError, UserError
from .importers.table import frame_tables
from .report.summary import Summary, build_summary
from .store import DB_NAME, RunMeta, Store
from .store.lock import RunLock, describe, holder
from .sweep import start
from .sweep.check import CheckResult, check_budgets, run_check
from .sweep.record import RunStats

ConfigLike = str | Path | Mapping[str, Any] | ExperimentConfig
"""A YAML experiment file, a mapping of its fields (as in the file, or the CLI's flags), or a built config."""
Say = Callable[[str], None]


class ControlNotHonoured(Exception):
    """`check: true`: the positive control found a budget control that is not honoured; nothing was run."""

    exit_code = 1

    def __init__(self, result: CheckResult) -> None:
        super().__init__("run not started: a budget control is not honoured (see the table above); run without "
                         "--check to sweep anyway, or use `overthink check` to investigate")
        self.result = result


class Interrupted(KeyboardInterrupt):
    """Ctrl-C before the run's own signal handlers were in (opening the store): finished samples are stored."""

    def __init__(self, run_dir: str) -> None:
        super().__init__(f"interrupted: finished samples are saved; continue with `overthink resume {run_dir}`")
        self.run_dir = run_dir


@dataclass(frozen=True)
class RunResult:
    """How one `run` / `resume` session ended. `exit_code` is the CLI's (docs/operations.md, "Exit codes")."""

    run_dir: Path
    run_id: str
    planned: int  # samples pending when the session began
    completed: int  # stored this session
    statuses: dict[str, int]  # ok / truncated / unparsed / error counts of this session
    cost_usd: float
    wall_s: float
    stopped_for_cost: bool
    halted: str | None  # the one line a non-retryable failure stopped the run with
    signal: int | None  # SIGINT / SIGTERM that stopped it (continue with `resume`)
    check: CheckResult | None = None  # `check: true`: the positive control run before the sweep
    stats: RunStats | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, run_dir: str | Path, stats: RunStats, check: CheckResult | None = None) -> RunResult:
        return cls(Path(run_dir), stats.run_id, stats.planned, stats.completed, dict(stats.statuses),
                   stats.cost_usd, stats.wall_s, stats.stopped_for_cost, stats.halted, stats.signal, check, stats)

    @property
    def errors(self) -> int:
        return self.statuses.get("error", 0)

    @property
    def exit_code(self) -> int:
        """0 done; 3 some samples ended with an error; 4 stopped by a failure; 128 + N stopped by signal N."""
        if self.signal is not None:
            return EXIT_SIGNAL + self.signal
        if self.halted is not None:
            return EXIT_STOPPED
        return EXIT_ERRORS if self.errors else EXIT_OK

    def load(self) -> Run:
        return load(self.run_dir)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _run_dir_given(config: ConfigLike | None, overrides: Mapping[str, Any]) -> str | None:
    given = overrides.get("run_dir")
    if given is None and isinstance(config, Mapping):
        given = config.get("run_dir")
    if given is None and isinstance(config, ExperimentConfig):
        given = config.run_dir
    return None if given is None else str(given)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _off_loop(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn(*args) here, or in a worker thread when this thread already runs an event loop (a Jupyter notebook), where
    the asyncio.run inside fn could not start."""
    if not _loop_running():
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(1, thread_name_prefix="overthink") as pool:
        return pool.submit(fn, *args, **kwargs).result()


def _execute(sweep: start.Sweep, **kwargs: Any) -> RunStats:
    """Sweep.execute here; or, in a thread that already runs an event loop (a notebook), on its own loop in a worker
    thread, where no signal handler can be installed: an interrupt (KeyboardInterrupt while waiting here) then
    stops the run as SIGINT would (no new requests, those in flight stored), a second one cancels what is in
    flight. Either way the sweep returns its stats."""
    if not _loop_running():
        return sweep.execute(**kwargs)
    with ThreadPoolExecutor(1, thread_name_prefix="overthink") as pool:
        future: Future[RunStats] = pool.submit(sweep.execute, **kwargs)
        interrupts = applied = 0
        while True:
            try:
                if interrupts > applied and sweep.stopper is not None:
                    applied += 1
                    sweep.stopper.interrupt(signal.SIGINT, at_once=applied > 1)
                return future.result(timeout=0.05)
            except TimeoutError:
                continue
            except KeyboardInterrupt:
                interrupts += 1


def _begin(config: ConfigLike | None, overrides: dict[str, Any], resume: bool,
           prepare_local: Callable[[str], None] | None) -> start.Sweep:
    if isinstance(config, ExperimentConfig):
        cfg = build_config(None, overrides, base=config.model_dump()) if overrides else config
        sweep = start.prepare(cfg, prepare_local=prepare_local)
        if sweep.cfg.run_dir is None:
            sweep.cfg = sweep.cfg.model_copy(update={"run_dir": start.default_run_dir(cfg.models, cfg.tasks)})
        return sweep
    if isinstance(config, Mapping):
        return start.begin({**config, **overrides}, None, resume=resume, prepare_local=prepare_local)
    return start.begin(overrides, None if config is None else Path(config), resume=resume,
                       prepare_local=prepare_local)


def positive_control(cfg: ExperimentConfig, *, say: Say = _stderr,
                     on_check: Callable[[CheckResult], None] | None = None) -> CheckResult | None:
    """`check: true`: check every model with the run's own requests at its cheapest budgets (budget 0 and the two
    smallest others). Raises ControlNotHonoured, before anything is written, if a control fails."""
    if cfg.natural:
        say("--check: a natural run sets no budget, so there is no budget control to check")
        return None
    result = _off_loop(run_check, cfg.models, check_budgets(cfg.sweep_budgets()), config=cfg)
    if on_check is not None:
        on_check(result)
    if not result.ok:
        raise ControlNotHonoured(result)
    return result


def run(config: ConfigLike | None = None, *, resume: bool = False, progress: bool = False, say: Say = _stderr,
        on_check: Callable[[CheckResult], None] | None = None,
        prepare_local: Callable[[str], None] | None = None, **overrides: Any) -> RunResult:
    """Run (or continue) an experiment and return how the session ended.

    `config`: a YAML file, a mapping of its fields, or an ExperimentConfig; `overrides` are fields on top of it
    (as the CLI's flags are; None leaves a field as it is). An existing run dir continues where it stopped: its
    stored config is the lowest layer and the settings that define its samples must not change. Refuses with a
    UserError (bad config, unknown task, missing key, impossible budget) before the run dir exists, and with
    RunDirLocked while another process writes the run dir. `say` gets the one-line notes the CLI prints to stderr;
    `on_check` the positive control's result when the config asks for one (`check: true`)."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    lock = None
    given = _run_dir_given(config, overrides)
    if given and (Path(given) / DB_NAME).exists():  # an existing run: refuse a second writer before anything
        lock = RunLock(given).acquire()
        if lock.took_over:
            say(f"took over the lock of a writer that is gone ({describe(lock.took_over)})")
    try:
        sweep = _begin(config, overrides, resume, prepare_local)  # every refusal is here, before the run dir
        checked = positive_control(sweep.cfg, say=say, on_check=on_check) if sweep.cfg.check else None
        run_dir = sweep.run_dir
        say(f"run dir: {run_dir}")
        for note in filter(None, (getattr(m, "start_note", "") for m in sweep.models.values())):
            say(note)  # e.g. the local model's threads and why
        try:
            stats = _execute(sweep, progress=progress, meta={"check": checked.to_dict()} if checked else None,
                             lock=lock)
        except KeyboardInterrupt:  # before the sweep's own handlers were installed
            raise Interrupted(run_dir) from None
    finally:
        if lock is not None:
            lock.release()
    return RunResult.of(run_dir, stats, checked)


def resume(run_dir: str | Path, *, progress: bool = False, say: Say = _stderr, **overrides: Any) -> RunResult:
    """Continue a run with its stored config: finished samples are never recomputed, errors are retried.
    `overrides`: what may change on resume (concurrency, grace_s)."""
    return run(None, resume=True, progress=progress, say=say, run_dir=str(run_dir), **overrides)


def check(models: Sequence[str] | ConfigLike, budgets: Sequence[Budget] | None = None, **options: Any
          ) -> CheckResult:
    """The positive control of each model's budget control (`overthink check`; check.py says what is asked).

    `models`: model specs, checked with `options` (mechanism, model_options, repeats, tolerance, prompt,
    answer_margin); or a run's config (file, mapping or ExperimentConfig), checked with exactly the requests that
    run would send at its cheapest budgets (`budgets` overrides them)."""
    if isinstance(models, Path) or (isinstance(models, str) and Path(models).is_file()):
        models = build_config(Path(models), {})
    elif isinstance(models, Mapping):
        models = build_config(None, dict(models))
    if isinstance(models, ExperimentConfig):
        cfg = models
        return _off_loop(run_check, cfg.models, budgets or check_budgets(cfg.sweep_budgets()), config=cfg,
                         **options)
    specs = [models] if isinstance(models, str) else list(models)
    return _off_loop(run_check, specs, list(budgets) if budgets is not None else None, **options)


def _run_paths(runs: str | Path | Run | Sequence[str | Path | Run]) -> list[Path]:
    many = runs if isinstance(runs, Sequence) and not isinstance(runs, str) else [runs]
    return [r.run_dir if isinstance(r, Run) else Path(r) for r in many]  # type: ignore[union-attr]


def analyze(runs: str | Path | Run | Sequence[str | Path | Run] | pd.DataFrame, *, n_boot: int = N_BOOT,
            probes_per_group: int = 2000) -> dict[str, pd.DataFrame]:
    """Every analysis table of one or more runs (compared side by side), or of a DataFrame in the table import
    format: scores, verdicts, sweet_spot, audit, efficiency, ... (analysis/api.py lists them)."""
    if isinstance(runs, pd.DataFrame):  # checked and loaded as `overthink import --format table` would
        return analyze_data(RunData(*frame_tables(runs), runs={}), n_boot=n_boot, probes_per_group=probes_per_group)
    return analyze_runs(_run_paths(runs), n_boot=n_boot, probes_per_group=probes_per_group)


def write_report(runs: str | Path | Run | Sequence[str | Path | Run], out: str | Path | None = None, *,
                 n_boot: int = N_BOOT, probes_per_group: int = 2000, say: Say = _stderr) -> Path:
    """The HTML report of one or more runs (`overthink report`); `out` defaults to RUN_DIR/report.html for one run,
    ./report.html for several. Returns the file written (figures beside it in figures/)."""
    if n_boot < 100:
        raise UserError(f"--n-boot {n_boot}: use at least 100 resamples for a 95 % CI")
    paths = _run_paths(runs)
    seen: set[Path] = set()
    unique = [p for p in paths if not (p.resolve() in seen or seen.add(p.resolve()))]
    if len(unique) < len(paths):  # the same run twice would be compared with itself (and broke the analysis)
        say(f"note: {len(paths) - len(unique)} run dir(s) given twice; each run is reported once")
    for path in unique:  # before anything is written: a read of a missing run leaves no directory behind
        if not (path / DB_NAME).is_file():
            raise UserError(f"{path} is not a run directory (no {DB_NAME} in it)")
    if out is None:
        out = unique[0] / "report.html" if len(unique) == 1 else Path("report.html")
    # imported here: the HTML report brings matplotlib (~0.8 s), which run, resume and summary do not need
    from .report.html import build_report

    return build_report(unique, out, n_boot=n_boot, probes_per_group=probes_per_group)


class Run:
    """One run dir, read (never written, never locked): its typed metadata, its samples and its summary.

    Attributes are read when first used and then kept: `load` again to see samples a writer stored since."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        with Store(self.run_dir, create=False) as store:  # refuses a directory that is not a run
            self.meta: RunMeta = store.meta()

    def __repr__(self) -> str:
        return f"Run({str(self.run_dir)!r}, run_id={self.meta.run_id!r})"

    @property
    def run_id(self) -> str | None:
        return self.meta.run_id

    @property
    def config(self) -> ExperimentConfig | None:
        """The config the run was made with (None for imported results). A config an older version stored with a
        field this one no longer has is a ConfigError naming it; `meta.config` keeps it as stored."""
        if self.meta.config is None:
            return None
        try:
            return ExperimentConfig.model_validate(self.meta.config)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"{self.run_dir}: the stored config's {'.'.join(map(str, first['loc']))!r} does not "
                              f"validate in this version ({first['msg']}); run.meta.config has it as stored") from None

    @property
    def writing(self) -> bool:
        """Whether a process holds the run dir's writer lock right now."""
        return holder(self.run_dir) is not None

    @cached_property
    def samples(self) -> pd.DataFrame:
        """One row per sample (no reasoning / answer text; `texts()` has them)."""
        with Store(self.run_dir, create=False) as store:
            return store.dataframe(with_text=False)

    def texts(self) -> pd.DataFrame:
        """Every sample with its reasoning and answer text (model output: untrusted, escape it to display)."""
        with Store(self.run_dir, create=False) as store:
            return store.dataframe(with_text=True)

    @cached_property
    def items(self) -> pd.DataFrame:
        with Store(self.run_dir, create=False) as store:
            return pd.DataFrame(store.items(), columns=["task", "item_id", "prompt", "expected", "metadata"])

    @cached_property
    def summary(self) -> Summary:
        """What `overthink summary` shows: scores with CIs, each curve's verdict, setup warnings, provenance."""
        return build_summary(self.run_dir)

    @property
    def scores(self) -> pd.DataFrame:
        return self.summary.scores

    @property
    def verdicts(self) -> pd.DataFrame:
        return self.summary.verdicts

    def analyze(self, **kwargs: Any) -> dict[str, pd.DataFrame]:
        return analyze(self, **kwargs)

    def report(self, out: str | Path | None = None, **kwargs: Any) -> Path:
        return write_report(self, out, **kwargs)


def load(run_dir: str | Path) -> Run:
    """Open a run dir to read (a UserError if it is not one)."""
    return Run(run_dir)
