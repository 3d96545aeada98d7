"""Task-suite generation speed, measured side by side with its targets in one run.

- zebra: median seconds per puzzle with a minimal clue set, 8x8 (target < 1 s on one core) and 5x5;
- the paper-sized suite (2,500 + 2,500 + 812 + 1,500 + 200 items) generated and written as JSONL end to end
  (target < 120 s).
Run: PYTHONPATH=src python bench/bench_tasks.py [--puzzles 15]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from overthink.tasks.io import write_items

from overthink.tasks import get_task
from overthink.tasks.zebra.generate import generate

SUITE = [("misleading-math", 2500), ("misleading-python", 2500), ("famous-paradoxes", 812),
         ("grades-regression", 1500), ("zebra", 200)]


def zebra_times(n: int, m: int, count: int) -> list[float]:
    times = []
    for seed in range(count):
        start = time.perf_counter()
        generate(n, m, random.Random(f"bench:{n}x{m}:{seed}"))
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--puzzles", type=int, default=15)
    args = parser.parse_args()
    for grid, target in ((8, 1.0), (5, 1.0)):
        t = zebra_times(grid, grid, args.puzzles)
        med = statistics.median(t)
        print(f"zebra {grid}x{grid}: median {med:.3f} s/puzzle, p90 {sorted(t)[int(0.9 * len(t))]:.3f} s, "
              f"max {max(t):.3f} s over {len(t)}; target {target:.1f} s -> {med / target:.2f} of target")
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, n in SUITE:
            start = time.perf_counter()
            count = write_items(get_task(name).items(n, seed=0), Path(tmp) / f"{name}.jsonl")
            took = time.perf_counter() - start
            total += took
            print(f"suite {name}: {count} items in {took:.2f} s")
    items = sum(n for _, n in SUITE)
    print(f"suite total: {items} items in {total:.1f} s; target 120 s -> {total / 120:.2f} of target")


if __name__ == "__main__":
    main()
