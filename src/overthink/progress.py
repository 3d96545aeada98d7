"""Progress display for a sweep: one bar per budget plus a total with ETA and reasoning tokens so far."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .core import budget_sort_key

if TYPE_CHECKING:
    from .core import SampleRecord


class SweepProgress:
    """Context manager; `advance(record)` after each stored sample. Disabled = no output at all."""

    def __init__(self, units: list[Any], *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled and bool(units)
        self.per_budget = Counter(b for u in units for b in u.budgets)
        self.tokens = 0
        self.statuses: Counter = Counter()
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=console or Console(stderr=True), disable=not self.enabled,
        )
        self._ids: dict[Any, Any] = {}

    def __enter__(self) -> SweepProgress:
        self._progress.__enter__()
        total = sum(self.per_budget.values())
        self._total = self._progress.add_task("[bold]all budgets", total=total, info="")
        for budget in sorted(self.per_budget, key=budget_sort_key):
            self._ids[budget] = self._progress.add_task(f"budget {budget}", total=self.per_budget[budget], info="")
        return self

    def advance(self, record: SampleRecord) -> None:
        self.tokens += record.reasoning_tokens or 0
        self.statuses[record.status] += 1
        flags = " ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()) if k != "ok")
        self._progress.advance(self._total)
        self._progress.update(self._total, info=f"{self.tokens:,} reasoning tokens {flags}")
        if record.budget in self._ids:
            self._progress.advance(self._ids[record.budget])

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)  # type: ignore[arg-type]
