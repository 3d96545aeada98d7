"""Turning a completion (or a failure) into a stored sample, and the tally of a run: the one place every executor
records. A sample is graded and written the moment it completes and committed with the others that finish within
FLUSH_S (one SQLite transaction per small batch, at most FLUSH_N samples): a finished sample is durable at most
FLUSH_S seconds after it completes (plus any time the event loop is blocked), and a killed run loses at most
those; the run's end, an interrupt or an error commits what is pending.

A store that cannot write (full disk, damaged file) stops the run at once, wherever the write failed (a sample's
write in a worker, or a batch's commit in the event loop's timer, whose exception asyncio would only log): the
error is kept in `RunStats.store_error`, no new request is sent, the executor is cancelled (`RunStats.cancel`,
set by the signal handlers' scope) and the sweep raises the error when the executor has stopped."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core import Completion, SampleRecord, Status
from ..progress import SweepProgress
from ..providers import GenerateRequest, ModelSpec
from ..providers.retry import RUN_STOPPED
from ..store import Store, StoreError
from .failures import FailureWatch
from .plan import Unit

FLUSH_S = 0.05  # the durability bound: seconds a finished sample may wait for its batch's commit
FLUSH_N = 256  # a batch commits early at this many samples


@dataclass
class RunStats:
    run_id: str
    planned: int = 0  # samples that were pending at start
    completed: int = 0
    statuses: Counter = field(default_factory=Counter)
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    stopped_for_cost: bool = False
    wall_s: float = 0.0
    halted: str | None = None  # the one line a non-retryable failure stopped the run with (failures.py)
    signal: int | None = None  # the signal that stopped dispatching (SIGINT / SIGTERM)
    in_flight: int = 0  # requests sent and not yet recorded
    at_signal: int = 0  # requests in flight when the signal came
    stored_after_signal: int = 0  # of those, stored within the grace period
    abandoned: int = 0  # requests still in flight when the grace period ran out
    timed_out: int = 0  # error samples whose request got no answer within the timeout
    store_error: StoreError | None = None  # the store failed: the run stops and exits 2 with this error
    lost: int = 0  # finished samples that could not be stored (the failed batch's tail)
    cancel: Callable[[], None] | None = None  # stops the executor now (set while the signal handlers are in)

    def store_failure(self) -> StoreError:
        """The failed store's one line, with the answers it cost: they were paid for and resume sends them again."""
        assert self.store_error is not None
        if not self.lost:
            return self.store_error
        return StoreError(f"{self.store_error} ({self.lost} answered request(s) could not be stored; the requests "
                          f"in flight were cancelled)")

    @property
    def stopped(self) -> bool:
        """Whether executors must send no new request (cost limit, a fatal failure, a signal, a failed store)."""
        return (self.stopped_for_cost or self.halted is not None or self.signal is not None
                or self.store_error is not None)


def make_record(unit: Unit, request: GenerateRequest, result: Completion | BaseException, spec: ModelSpec,
                run_id: str, mechanism: str) -> SampleRecord:
    """Grade a completion (or record a failure) as a SampleRecord."""
    base: dict[str, Any] = dict(
        run_id=run_id, model=unit.model, provider=spec.provider, task=unit.task.name, item_id=unit.item.id,
        budget=request.plan.budget, mechanism=request.plan.mechanism.value, replicate=unit.replicate, seed=unit.seed,
        expected=unit.item.expected,
    )
    if isinstance(result, BaseException):
        failure = getattr(result, "failure", None)  # refused | dns | reset | timeout (providers/retry.py)
        return SampleRecord(status=Status.ERROR.value, error=f"{type(result).__name__}: {result}"[:2000],
                            metadata={"failure": failure} if failure else {}, **base)
    c = result
    common: dict[str, Any] = dict(
        reasoning_tokens=c.reasoning_tokens, reasoning_tokens_source=c.reasoning_tokens_source,
        output_tokens=c.output_tokens, input_tokens=c.input_tokens, latency_s=round(c.latency_s, 4),
        cost_usd=c.cost_usd, stop_reason=c.stop_reason, thinking_stop=c.thinking_stop, shared_trace=c.shared_trace,
        reasoning=c.reasoning, answer_text=c.answer_text, metadata=c.extra, enforced_by=c.extra.get("enforced_by"),
    )
    if c.truncated:
        return SampleRecord(status=Status.TRUNCATED.value, **base, **common)
    for probe in c.extra.get("probe_cuts") or []:  # trajectory-only cuts (--probe-cuts), graded like the sample
        g = unit.task.grade(unit.item, probe["answer_text"])
        probe.update(answer=g.answer, correct=g.correct)
    graded = unit.task.grade(unit.item, c.answer_text)
    return SampleRecord(status=graded.status.value, answer=graded.answer, score=graded.score, correct=graded.correct,
                        **base, **common)


class Recorder:
    """Stores each finished sample at once, keeps the run's tally and advances the progress display."""

    def __init__(self, store: Store, run_id: str, mechanism: str, *, planned: int = 0,
                 progress: SweepProgress | None = None) -> None:
        self.store = store
        self.mechanism = mechanism
        self.stats = RunStats(run_id, planned=planned)
        self.progress = progress
        self.watch = FailureWatch()
        # every request the executor sends from here on sees this run's stop (the retry loop checks it): the
        # executor's tasks are started after the recorder, so they inherit this context
        stats = self.stats
        RUN_STOPPED.set(lambda: stats.stopped)
        self._batch: list[SampleRecord] = []  # written in the open transaction, not yet committed
        self._timer: asyncio.TimerHandle | None = None

    def record(self, unit: Unit, request: GenerateRequest, result: Completion | BaseException, spec: ModelSpec,
               *, where: str | None = None) -> SampleRecord:
        """`where` names what failed (e.g. a batch id) in a failure's stored error."""
        if self.stats.store_error is not None:  # the store is failing: count the answer as lost, write nothing
            self.stats.lost += 1
            raise self.stats.store_error
        sample = make_record(unit, request, result, spec, self.stats.run_id, self.mechanism)
        if where and isinstance(result, BaseException):
            sample.error = f"{sample.error} ({where})"
        try:
            self._write(sample)
        except StoreError as exc:
            self._failed(exc)
            raise
        stats = self.stats
        stats.completed += 1
        stats.statuses[sample.status] += 1
        if sample.metadata.get("failure") == "timeout":
            stats.timed_out += 1
        stats.reasoning_tokens += sample.reasoning_tokens or 0
        stats.cost_usd += sample.cost_usd or 0.0
        if stats.signal is not None:
            stats.stored_after_signal += 1
        if stats.halted is None:
            stats.halted = self.watch.observe(unit.model, result)
        if self.progress is not None and self.progress.enabled:  # --quiet: skip rich's bookkeeping (~35 us)
            self.progress.advance(sample)
        return sample

    def _write(self, sample: SampleRecord) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop to time a batch: commit at once
            self.store.record(sample)
            return
        if not self._batch:
            self.store.begin()
            self._timer = loop.call_later(FLUSH_S, self.flush)
        self._batch.append(sample)
        try:
            self.store.record(sample)
        except StoreError:
            self._replay()
        if len(self._batch) >= FLUSH_N:
            self.flush()

    def flush(self) -> None:
        """Commit the samples written since the last commit (the sweep calls it when its executor returns; the
        batch timer calls it too, so a failure is kept and stops the run instead of being raised into the loop)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._batch and self.stats.store_error is None:
            try:
                self.store.commit()
            except StoreError:
                try:
                    self._replay()
                except StoreError as exc:
                    self._failed(exc)
            self._batch = []

    def _replay(self) -> None:
        """A batch that could not be written (a full disk): roll it back and store its samples one at a time, so
        every sample that still fits is kept; the first that does not raises StoreError and stops the run."""
        batch, self._batch = self._batch, []
        try:
            self.store.rollback()
        except StoreError:
            pass  # SQLite rolled the transaction back itself when the write failed
        for i, sample in enumerate(batch):
            try:
                self.store.record(sample)
            except StoreError:
                self.stats.lost += len(batch) - i
                raise

    def _failed(self, exc: StoreError) -> None:
        """The store cannot write: stop dispatching now and let the sweep raise `exc` once the executor ends."""
        self._batch = []
        if self.stats.store_error is None:
            self.stats.store_error = exc
            if self.stats.cancel is not None:
                self.stats.cancel()
