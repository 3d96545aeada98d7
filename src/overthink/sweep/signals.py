"""SIGINT / SIGTERM during a run: stop sending, let the requests in flight finish and be stored, then stop.

The first signal marks the run stopped (executors send nothing new) and gives the in-flight requests `grace_s`
seconds: each answer that arrives is graded and committed as usual, because the provider has been paid for it.
When the grace period runs out the executor is cancelled (the unanswered requests are retried on resume); a run of
embedded models only has no grace period by default (config.grace), and its generations stop within a token. A second
signal exits at once (exit 128 + signal number); committed samples are safe, SQLite's WAL keeps them.

After the sweep, the end-of-run work (the summary table; figures only when no signal stopped the run) runs under
`exit_at_once`: everything is stored by then, so a signal exits at once with one line.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType

from .record import RunStats

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """Installs the handlers on the running loop for the duration of `work` (a no-op off the main thread)."""

    def __init__(self, work: asyncio.Future, stats: RunStats, grace_s: float) -> None:
        self.work = work
        self.stats = stats
        self.grace_s = grace_s
        self.installed: list[int] = []
        self.expired = False
        self.loop = asyncio.get_running_loop()

    def __enter__(self) -> GracefulStop:
        self.stats.cancel = self._cancel_now  # a failed store stops the executor through this (record.py)
        for sig in SIGNALS:
            try:
                self.loop.add_signal_handler(sig, self._on_signal, sig)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread, or Windows
                continue
            self.installed.append(sig)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stats.cancel = None
        for sig in self.installed:
            self.loop.remove_signal_handler(sig)

    def interrupt(self, sig: int, *, at_once: bool = False) -> None:
        """From another thread (a notebook kernel's interrupt, overthink/api.py): as signal `sig` would, except
        that `at_once` cancels the requests in flight instead of exiting the process."""
        try:
            self.loop.call_soon_threadsafe(self._stop_now if at_once else self._on_signal, sig)
        except RuntimeError:  # the loop has closed: the run has ended
            pass

    def _stop_now(self, sig: int) -> None:
        if self.stats.signal is None:
            self.stats.signal, self.stats.at_signal = sig, self.stats.in_flight
        self._expire()

    def _cancel_now(self) -> None:
        if not self.work.done():
            self.work.cancel()

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        stats = self.stats
        if stats.signal is not None:
            _say(f"{name} again: exiting now; {stats.in_flight} request(s) in flight are not stored")
            os._exit(128 + sig)
        stats.signal = sig
        stats.at_signal = stats.in_flight
        if not stats.in_flight:
            _say(f"{name}: stopping; nothing was in flight")
            self.work.cancel()  # workers may sit in a wait (a rate limit's backoff): nothing to keep
            return
        if self.grace_s <= 0:  # nothing in flight is paid for (local models): stop it now, resume redoes it
            _say(f"{name}: stopping the {stats.in_flight} generation(s) in flight; finished samples are stored")
            self.loop.call_soon(self._expire)
            return
        _say(f"{name}: sending no new requests; waiting up to {self.grace_s:g} s for the {stats.in_flight} in "
             f"flight to be answered and stored (signal again to exit now)")
        self.loop.call_later(self.grace_s, self._expire)

    def _expire(self) -> None:
        if not self.work.done():
            self.expired = True
            self.stats.abandoned = self.stats.in_flight
            self.work.cancel()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def exit_at_once() -> Iterator[None]:
    """SIGINT / SIGTERM exit at once (128 + signal number) with one line: for the work after a run, when every
    finished sample is stored and nothing is left to wait for. A no-op off the main thread."""
    def handler(sig: int, frame: FrameType | None) -> None:
        _say(f"{signal.Signals(sig).name}: exiting now; every finished sample is stored")
        os._exit(128 + sig)

    previous = {}
    for sig in SIGNALS:
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            continue
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
