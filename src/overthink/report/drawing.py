"""Drawing a report's figures beside its analysis.

matplotlib is single-threaded and a big report spends a fifth to a quarter of its CPU building and saving figures
(PNG, PDF and the inline SVG). From WORKER_FROM stored samples on, and with a second CPU, the figures are drawn by
one worker process (`python -m overthink.report.drawing`) while the main process goes on with the analysis: a figure
is handed over as soon as its table is final (`analysis.api.analyze_data(on_table=...)`). Smaller reports draw in
process: the worker's start-up (importing matplotlib and pandas, about 2 s of CPU) would cost more than it saves.
Either way each figure comes from the same builder and `figures.export`, so the files are the same.

Why a plain subprocess and not multiprocessing: spawn and forkserver re-import the caller's main script in the
child (a user's script without a `__main__` guard would run again there), and fork copies a large process with
whatever locks its threads hold. Jobs and SVGs travel as files in a private temporary directory; the pipes carry one
short line per figure, so neither side ever blocks on a full pipe. The worker runs in its own session (a Ctrl-C
reaches only the main process, which stops it) and ends when its stdin closes. A worker that fails or dies costs
only time: a figure it did not deliver is drawn in process, where a real error is raised as usual.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import figures

WORKER_FROM = 100_000  # stored samples from which figures are drawn in a worker process
Builder = Callable[..., Any]  # tables -> a matplotlib Figure (a module-level function: it is pickled by name)


def draw(builder: Builder, args: tuple, out_dir: Path | None, name: str) -> str:
    """Build one figure, save it under out_dir (PNG and PDF) and return its inline SVG (figures.export)."""
    return figures.export(builder(*args), out_dir, name)


def use_worker(samples: int) -> bool:
    return samples >= WORKER_FROM and (os.cpu_count() or 1) >= 2


class Drawer:
    """Figures of one report by name, in the order they were added; `worker` draws them in a second process."""

    def __init__(self, out_dir: Path | None, *, worker: bool = False) -> None:
        self.out_dir = out_dir
        self.jobs: dict[str, tuple[Builder, tuple]] = {}
        self.in_worker: list[str] = []  # the figures the worker delivered (tests look)
        self.proc: subprocess.Popen | None = None
        self.tmp: tempfile.TemporaryDirectory | None = None
        if worker:
            self.tmp = tempfile.TemporaryDirectory(prefix="overthink-figures-")
            package_root = str(Path(__file__).resolve().parents[2])  # the worker imports this very overthink
            env = dict(os.environ, OVERTHINK_FIGURE_JOBS=self.tmp.name, PYTHONPATH=os.pathsep.join(
                p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p))
            try:
                self.proc = subprocess.Popen([sys.executable, "-m", "overthink.report.drawing"], env=env,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True, start_new_session=True)
            except OSError:
                self.proc = None

    def _job_path(self, i: int) -> Path:
        assert self.tmp is not None
        return Path(self.tmp.name) / f"{i}.pkl"

    def add(self, name: str, builder: Builder, *args: Any) -> None:
        i = len(self.jobs)
        self.jobs[name] = (builder, args)
        if self.proc is None:
            return
        try:
            self._job_path(i).write_bytes(pickle.dumps((builder, args, self.out_dir, name)))
            self.proc.stdin.write(f"{i}\n")
            self.proc.stdin.flush()
        except (OSError, pickle.PicklingError, AttributeError, TypeError):
            self._stop()  # no worker from here on: every figure is drawn in process

    def figures(self) -> dict[str, Markup]:
        """Every figure's inline SVG (our own matplotlib output: the one thing the template does not escape)."""
        delivered: set[int] = set()
        if self.proc is not None:
            self.proc.stdin.close()  # no more jobs: the worker ends after the last one
            for line in self.proc.stdout:  # one "ok I" or "error I" per job, in order
                status, _, index = line.strip().partition(" ")
                if status == "ok" and index.isdigit():
                    delivered.add(int(index))
            self.proc.wait()
            self.proc = None
        out = {}
        for i, (name, (builder, args)) in enumerate(self.jobs.items()):
            svg_file = self._job_path(i).with_suffix(".svg") if i in delivered else None
            if svg_file is not None and svg_file.is_file():
                out[name] = Markup(svg_file.read_text(encoding="utf-8"))  # noqa: S704
                self.in_worker.append(name)
            else:
                out[name] = Markup(draw(builder, args, self.out_dir, name))  # noqa: S704
        return out

    def _stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        self._stop()
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None

    def __enter__(self) -> Drawer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(jobs_dir: Path) -> None:
    """The worker: for each job number on stdin, draw the pickled job in jobs_dir and write its SVG beside it."""
    for line in sys.stdin:
        index = line.strip()
        if not index.isdigit():
            continue
        try:
            job = jobs_dir / f"{index}.pkl"
            builder, args, out_dir, name = pickle.loads(job.read_bytes())  # noqa: S301 - our own job file
            job.with_suffix(".svg").write_text(draw(builder, args, out_dir, name), encoding="utf-8")
            print(f"ok {index}", flush=True)
        except Exception:  # drawn again in process, where the error is raised for real
            print(f"error {index}", flush=True)


if __name__ == "__main__":
    serve(Path(os.environ["OVERTHINK_FIGURE_JOBS"]))
