"""Harness overhead per sample: the full runner (plan, grade, SQLite commit, progress) around a zero-cost stub,
against calling the same stub directly. Target: under 1 ms of overhead per sample, store write included."""

from __future__ import annotations

import asyncio
import tempfile
import time

from overthink.budget import plan_budget
from overthink.config import build_config
from overthink.providers import GenerateRequest, load_model
from overthink.store import Store
from overthink.sweep.start import run
from overthink.tasks import get_task

N_ITEMS, BUDGETS, REPS = 500, [0, 64, 256, 1024], 2


async def direct(model, task) -> tuple[int, float]:
    items = task.items(N_ITEMS, seed=0)
    start = time.perf_counter()
    n = 0
    for item in items:
        for rep in range(REPS):
            for b in BUDGETS:
                plan = plan_budget(b, "forced", answer_margin=64)
                await model.generate(GenerateRequest(task.render(item), plan, seed=rep))
                n += 1
    return n, time.perf_counter() - start


def harness(progress: bool) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build_config(None, dict(models=["stub:oracle"], tasks=["misleading-math"], budgets=BUDGETS,
                                      limit=N_ITEMS, replicates=REPS, concurrency=4, run_dir=tmp))
        with Store(tmp) as store:
            start = time.perf_counter()
            stats = asyncio.run(run(cfg, store, progress=progress))
            return stats.completed, time.perf_counter() - start


def main() -> None:
    task = get_task("misleading-math")
    n_direct, t_direct = asyncio.run(direct(load_model("stub:oracle"), task))
    n_quiet, t_quiet = harness(progress=False)
    n_bar, t_bar = harness(progress=True)
    per_direct = t_direct / n_direct * 1e3
    print(f"samples per run: {n_quiet}")
    print(f"stub called directly:          {per_direct:.3f} ms/sample")
    sides = (("runner + store (no progress)", n_quiet, t_quiet), ("runner + store + progress", n_bar, t_bar))
    for label, n, t in sides:
        per = t / n * 1e3
        print(f"{label:30s} {per:.3f} ms/sample  overhead {per - per_direct:.3f} ms/sample "
              f"({'OK' if per - per_direct < 1.0 else 'ABOVE'} target < 1 ms)")


if __name__ == "__main__":
    main()
