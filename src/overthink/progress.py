"""Progress display for a sweep: a total bar whose ETA comes from completed *work*, plus one bar per budget.

Samples differ in cost by orders of magnitude (budget 0 vs 4096 thinking tokens), so counting samples gives an
ETA that is wrong by the ratio of the budgets (1:24 shown for a 21:48 run). The total bar instead counts expected
tokens: each sample weighs its budget plus an answer allowance (a natural sample weighs NATURAL_WEIGHT), and
rich's remaining-time column extrapolates the tokens done per second. The per-budget bars count samples, so they
show which budgets are finished; in a shared-trace sweep the budgets of one item finish together by design.

When stderr is not a terminal (CI, nohup, `| tee`, a notebook cell running the CLI) a live bar draws nothing until
the end, so the sweep prints a plain line instead: every `every` samples (a tenth of the run by default) or every
`seconds` (60 by default), whichever comes first - also when no sample finished in that time, so a slow model is
told from a hung one. OVERTHINK_PROGRESS_EVERY / OVERTHINK_PROGRESS_SECONDS change the two.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .core import budget_sort_key

if TYPE_CHECKING:
    from .core import SampleRecord

ANSWER_WEIGHT = 64  # tokens of a short answer after the thinking
NATURAL_WEIGHT = 1024  # a natural (unbudgeted) sample: what thinking typically costs before it stops by itself
EFFORT_WEIGHT = {"low": 1024, "medium": 4096, "high": 16384}  # the paper's effort -> budget table, roughly


def sample_weight(budget: Any) -> int:
    """Expected tokens of one sample at `budget` (the unit of the total bar)."""
    if isinstance(budget, int):
        return budget + ANSWER_WEIGHT
    return EFFORT_WEIGHT.get(str(budget), NATURAL_WEIGHT) + ANSWER_WEIGHT


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


class PlainLines:
    """Progress as plain lines for a stream that is not a terminal (see the module docstring)."""

    def __init__(self, samples: int, work: int, *, stream: TextIO | None = None, every: int | None = None,
                 seconds: float | None = None) -> None:
        self.samples, self.work = samples, work
        self.stream = stream
        self.every = every or int(_env_number("OVERTHINK_PROGRESS_EVERY", max(1, round(samples / 10))))
        self.seconds = seconds or _env_number("OVERTHINK_PROGRESS_SECONDS", 60.0)
        self.done = self.work_done = self.tokens = 0
        self.statuses: Counter = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = self._last_time = time.monotonic()
        self._last_done = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._started = self._last_time = time.monotonic()
        self._thread = threading.Thread(target=self._heartbeat, name="overthink-progress", daemon=True)
        self._thread.start()

    def advance(self, weight: int, tokens: int, status: str) -> None:
        with self._lock:
            self.done += 1
            self.work_done += weight
            self.tokens += tokens
            self.statuses[status] += 1
            if self.done - self._last_done >= self.every or time.monotonic() - self._last_time >= self.seconds:
                self._emit()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            if self.done != self._last_done:
                self._emit()

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(self.seconds, 5.0)):
            with self._lock:
                if time.monotonic() - self._last_time >= self.seconds:
                    self._emit()

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        share = self.work_done / self.work if self.work else 1.0
        words = [f"progress: {self.done}/{self.samples} samples ({100 * share:.0f} % of the expected tokens)",
                 f"{self.tokens:,} reasoning tokens", f"elapsed {_duration(elapsed)}"]
        if 0 < self.work_done < self.work:
            words.append(f"about {_duration(elapsed * (self.work - self.work_done) / self.work_done)} left")
        flags = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()) if k != "ok")
        if flags:
            words.append(flags)
        if self.done == self._last_done:
            words.append(f"no sample finished in the last {_duration(time.monotonic() - self._last_time)}")
        return "; ".join(words)

    def _emit(self) -> None:
        stream = self.stream or sys.stderr
        print(self.line(), file=stream, flush=True)
        self._last_done, self._last_time = self.done, time.monotonic()


class SweepProgress:
    """Context manager; `advance(record)` after each stored sample. Disabled = no output at all. On a console
    that is not a terminal, plain lines (PlainLines) instead of the live bars."""

    def __init__(self, units: list[Any], *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled and bool(units)
        self.per_budget = Counter(b for u in units for b in u.budgets)
        self.tokens = 0
        self.done = 0
        self.statuses: Counter = Counter()
        console = console or Console(stderr=True)
        work = sum(sample_weight(b) * n for b, n in self.per_budget.items())
        self.plain = PlainLines(self.samples, work, stream=console.file) if self.enabled and not \
            console.is_terminal else None
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=console, disable=not self.enabled or self.plain is not None,
        )
        self._ids: dict[Any, Any] = {}

    @property
    def samples(self) -> int:
        return sum(self.per_budget.values())

    def __enter__(self) -> SweepProgress:
        if self.plain is not None:
            self.plain.start()
        self._progress.__enter__()
        work = sum(sample_weight(b) * n for b, n in self.per_budget.items())
        self._total = self._progress.add_task("[bold]all budgets", total=work, info="",
                                              count=f"0/{self.samples}")
        for budget in sorted(self.per_budget, key=budget_sort_key):
            n = self.per_budget[budget]
            self._ids[budget] = self._progress.add_task(f"budget {budget}", total=n, info="", count=f"0/{n}")
        return self

    def advance(self, record: SampleRecord) -> None:
        self.tokens += record.reasoning_tokens or 0
        self.done += 1
        self.statuses[record.status] += 1
        if self.plain is not None:
            self.plain.advance(sample_weight(record.budget), record.reasoning_tokens or 0, str(record.status))
            return
        flags = " ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()) if k != "ok")
        self._progress.update(self._total, advance=sample_weight(record.budget), count=f"{self.done}/{self.samples}",
                              info=f"{self.tokens:,} reasoning tokens {flags}")
        if record.budget in self._ids:
            task_id = self._ids[record.budget]
            self._progress.advance(task_id)
            task = self._progress.tasks[task_id]
            self._progress.update(task_id, count=f"{int(task.completed)}/{int(task.total or 0)}")

    def __exit__(self, *exc: object) -> None:
        if self.plain is not None:
            self.plain.stop()
        self._progress.__exit__(*exc)  # type: ignore[arg-type]


MIN_SAMPLES = 100_000  # a report or analysis of fewer samples takes seconds: no progress display


class StepProgress:
    """Progress over the named steps of one long computation (a report or `analyze()` over a big run): a rich bar on
    a terminal, else one plain line per finished step (`title: step 3/21 scores done, elapsed 12s`), on stderr.
    Shown only when `samples` reaches OVERTHINK_PROGRESS_MIN_SAMPLES (default MIN_SAMPLES): small runs stay quiet.
    Context manager; `advance(name)` after each step."""

    def __init__(self, title: str, steps: int, *, samples: int, console: Console | None = None) -> None:
        self.title, self.steps, self.done = title, steps, 0
        self.enabled = samples >= _env_number("OVERTHINK_PROGRESS_MIN_SAMPLES", MIN_SAMPLES)
        self.console = console or Console(stderr=True)
        self.plain = self.enabled and not self.console.is_terminal
        self._started = time.monotonic()
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[step]}"),
                                  TimeElapsedColumn(), console=self.console, transient=True,
                                  disable=not self.enabled or self.plain)
        self._task: Any = None

    def __enter__(self) -> StepProgress:
        self._started = time.monotonic()
        self._progress.__enter__()
        self._task = self._progress.add_task(self.title, total=self.steps, step="")
        return self

    def advance(self, name: str) -> None:
        self.done += 1
        if self.plain:
            print(f"{self.title}: step {self.done}/{self.steps} {name} done, elapsed "
                  f"{_duration(time.monotonic() - self._started)}", file=self.console.file, flush=True)
        elif self.enabled:
            self._progress.update(self._task, advance=1, step=name)

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)  # type: ignore[arg-type]


def quiet() -> StepProgress:
    """A StepProgress that shows nothing (for callers that report progress themselves, or none)."""
    return StepProgress("", 1, samples=-1)
