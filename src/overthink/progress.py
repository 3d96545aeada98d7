"""Progress display for a sweep: a total bar whose ETA comes from completed *work*, plus one bar per budget.

Samples differ in cost by orders of magnitude (budget 0 vs 4096 thinking tokens), so counting samples gives an
ETA that is wrong by the ratio of the budgets (1:24 shown for a 21:48 run). The total bar instead counts expected
tokens: each sample weighs its budget plus an answer allowance (a natural sample weighs NATURAL_WEIGHT), and
rich's remaining-time column extrapolates the tokens done per second. The per-budget bars count samples, so they
show which budgets are finished; in a shared-trace sweep the budgets of one item finish together by design.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

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


class SweepProgress:
    """Context manager; `advance(record)` after each stored sample. Disabled = no output at all."""

    def __init__(self, units: list[Any], *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled and bool(units)
        self.per_budget = Counter(b for u in units for b in u.budgets)
        self.tokens = 0
        self.done = 0
        self.statuses: Counter = Counter()
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=console or Console(stderr=True), disable=not self.enabled,
        )
        self._ids: dict[Any, Any] = {}

    @property
    def samples(self) -> int:
        return sum(self.per_budget.values())

    def __enter__(self) -> SweepProgress:
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
        flags = " ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()) if k != "ok")
        self._progress.update(self._total, advance=sample_weight(record.budget), count=f"{self.done}/{self.samples}",
                              info=f"{self.tokens:,} reasoning tokens {flags}")
        if record.budget in self._ids:
            task_id = self._ids[record.budget]
            self._progress.advance(task_id)
            task = self._progress.tasks[task_id]
            self._progress.update(task_id, count=f"{int(task.completed)}/{int(task.total or 0)}")

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)  # type: ignore[arg-type]
