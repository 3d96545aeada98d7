"""Benchmark: analysis + HTML report for a synthetic store of 1,000,000 samples.

Target: under 30 s wall and under 4 GB peak RSS for `build_report` (load, analyse, figures, HTML).
Two rows (--row): `short` writes the store once with executemany (a few words of reasoning text, the original row);
`reasoning` (issue 27) writes it through the store API with about 1.2 KB of reasoning text a sample
(bench/scale_store.py, the store of bench/bench_scale.py) and also reports the sizes of the enforcement audit,
trajectory and token ledger tables the report now builds. The report is timed in the same process.
Usage: python bench/bench_report.py [--samples 1000000] [--row short|reasoning] [--dir /tmp/overthink-bench]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from overthink.core import Item
from overthink.report.html import build_context, render
from overthink.store import Store
from overthink.store.schema import COLUMNS as _COLUMNS

BUDGETS = (0, 256, 1024, 4096, 16384)
TASKS = ("misleading-math", "misleading-python", "zebra", "word-problems")
MODELS = ("sim:a", "sim:b")
REPLICATES = 5


def write_store(run_dir: Path, n_samples: int) -> None:
    per_item = len(BUDGETS) * REPLICATES * len(MODELS)
    n_items = max(10, n_samples // (per_item * len(TASKS)))
    rng = np.random.default_rng(0)
    with Store(run_dir) as store:
        store.set_meta("tasks", {t: {"metric": "accuracy"} for t in TASKS})
        rows = []
        for task in TASKS:
            items = [Item(id=f"{task}-{i}", prompt=f"You have one a and one b. There is a {i % 90 + 10}% chance.",
                          answer=2, metadata={"num_distractors": i % 6,
                                              "distractor_spans": [f"There is a {i % 90 + 10}% chance."]})
                     for i in range(n_items)]
            store.add_items(task, items)
            for m, model in enumerate(MODELS):
                base = rng.uniform(0.5, 1.0, n_items)
                for b in BUDGETS:
                    tokens = (b * rng.uniform(0.6, 1.0, (n_items, REPLICATES))).astype(int)
                    p = base[:, None] - (0.1 if m == 0 else 0.0) * np.log2(1 + tokens) / 14
                    ok = rng.random((n_items, REPLICATES)) < p
                    for i in range(n_items):
                        for r in range(REPLICATES):
                            c = bool(ok[i, r])
                            rows.append(("bench", model, "sim", task, f"{task}-{i}", b, "forced", r, 0, "ok",
                                         int(tokens[i, r]), "usage", int(tokens[i, r]) + 5, 50, "2" if c else "3",
                                         "2", float(c), int(c), 0.1, None, None, "stop", "natural", 0,
                                         f"wait, the {i % 90 + 10}% chance" if b else "", "<answer>2</answer>",
                                         "{}", 0.0, "provider budget"))
        cols = ", ".join(_COLUMNS)
        with store.conn:
            store.conn.execute("BEGIN")
            store.conn.executemany(f"INSERT INTO samples ({cols}) VALUES ({', '.join('?' * len(_COLUMNS))})", rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp/overthink-bench")
    ap.add_argument("--row", choices=("short", "reasoning"), default="reasoning")
    args = ap.parse_args()
    run_dir = Path(args.dir) / (f"store-{args.samples}" if args.row == "short" else f"reasoning-{args.samples}")
    if not (run_dir / "overthink.sqlite").exists():
        t = time.perf_counter()
        if args.row == "short":
            write_store(run_dir, args.samples)
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from scale_store import write_store as write_reasoning_store
            write_reasoning_store(run_dir, args.samples)
        print(f"wrote synthetic store in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    with Store(run_dir, create=False) as store:
        n = store.count()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, cpu = time.perf_counter(), time.process_time()
    out = Path(args.dir) / "report.html"
    context = build_context([run_dir], out.parent)
    out.write_text(render(context), encoding="utf-8")
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tables = context["tables_raw"]
    print(json.dumps({"row": args.row, "samples": n, "report_wall_s": round(wall, 2), "report_cpu_s": round(cpu, 2),
                      "peak_rss_mb": round(peak, 1),
                      **{f"{name}_rows": len(tables[name]) for name in ("audit", "trajectories", "ledger", "probes")},
                      "rss_before_report_mb": round(rss_before, 1), "html_bytes": out.stat().st_size,
                      "target_wall_s": 30, "target_rss_mb": 4096, "wall_ratio_to_target": round(wall / 30, 3),
                      "ok": wall < 30 and peak < 4096}))


if __name__ == "__main__":
    main()
