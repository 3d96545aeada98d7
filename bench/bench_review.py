"""Benchmark: one `overthink review` page at up to 1,000,000 samples, this tree's code against an older checkout.

Target (issue 27): under 300 ms per page at 1,000,000 samples. The store is built once through the real store API
(`Store.add_items`, `Store.record_many`; reasoning text of 0-2,000 characters growing with the budget) and kept
under --dir for reuse. Each side runs in its own process (PYTHONPATH = that tree's src) and times, through the real
ASGI app (starlette's TestClient): the first page (cold: builds the review index), then pages 2-4, a filtered page
(verdict=inverse), the next page of that filter, a status+budget filter and one item page.

Usage: python bench/bench_review.py [--samples 1000000] [--against /path/to/old/worktree] [--dir DIR]
Without --against only this tree is timed. An old tree: `git worktree add /tmp/ot-main main`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

BUDGETS = (0, 256, 1024, 4096, 16384)
TASKS = ("misleading-math", "misleading-python", "zebra", "word-problems")
MODELS = ("sim:a", "sim:b")
REPLICATES = 2
WORDS = ("wait", "so", "the", "apple", "cost", "therefore", "check", "again", "61", "hmm", "answer", "is", "2")


def build_store(run_dir: Path, n_samples: int) -> Path:
    """A run store of about `n_samples` samples written through the store API (reused when already built)."""
    from overthink.core import Item, SampleRecord
    from overthink.store import Store

    done = run_dir / "built.json"
    if done.is_file() and json.loads(done.read_text()).get("samples") == n_samples:
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    for f in run_dir.iterdir():
        f.unlink()
    per_item = len(BUDGETS) * REPLICATES * len(MODELS) * len(TASKS)
    n_items = max(2, n_samples // per_item)
    rnd = random.Random(0)
    text = " ".join(rnd.choice(WORDS) for _ in range(2000))
    t0 = time.perf_counter()
    with Store(run_dir) as store:
        for task in TASKS:
            store.add_items(task, [Item(id=f"{task}-{i:06d}", prompt=f"You have one apple and one orange. "
                                        f"There is a {i % 90 + 10}% chance the apple cost $61. How many fruits?",
                                        answer=2, metadata={"num_distractors": i % 6, "distractor_spans": [
                                            f"There is a {i % 90 + 10}% chance the apple cost $61."]})
                                   for i in range(n_items)])

        def samples(task: str, start: int, stop: int):
            for i in range(start, stop):
                for model in MODELS:
                    skill = rnd.random()
                    for b in BUDGETS:
                        for r in range(REPLICATES):
                            u = rnd.random()
                            status = "error" if u < 0.02 else "truncated" if u < 0.03 else \
                                "unparsed" if u < 0.05 else "ok"
                            ok = status == "ok"
                            correct = (rnd.random() < skill - (b / 40000 if model == "sim:a" else 0)) if ok else None
                            n_chars = min(2000, b // 4)
                            off = rnd.randrange(0, 2000)
                            yield SampleRecord(
                                run_id="bench", model=model, provider="sim", task=task, item_id=f"{task}-{i:06d}",
                                budget=b, mechanism="forced", replicate=r, seed=r, status=status,
                                reasoning_tokens=b // 2 if ok else None, reasoning_tokens_source="usage",
                                output_tokens=b // 2 + 20, input_tokens=60,
                                answer=("2" if correct else "3") if ok else None, expected="2",
                                score=float(correct) if ok else None, correct=correct, latency_s=0.5,
                                error="boom" if status == "error" else None, stop_reason="stop",
                                thinking_stop="natural", reasoning=(text[off:] + text)[:n_chars],
                                answer_text="<answer>2</answer>" if ok else "", created_at=1.7e9)
        for task in TASKS:
            for start in range(0, n_items, 500):
                store.record_many(samples(task, start, min(n_items, start + 500)))
        total = store.count()
    done.write_text(json.dumps({"samples": n_samples, "stored": total}))
    print(f"built {total:,} samples in {time.perf_counter() - t0:.0f} s at {run_dir}", file=sys.stderr)
    return run_dir


# Run inside each side's process (its own PYTHONPATH): prints one JSON line of timings in seconds.
_TIMER = r"""
import json, sys, time
from starlette.testclient import TestClient
from overthink.review.app import ReviewConfig, create_app

run_dir, pages = sys.argv[1], int(sys.argv[2])
config = ReviewConfig(run_dir)
t0 = time.perf_counter()
client = TestClient(create_app(config), base_url="http://127.0.0.1")
client.get(f"/?token={config.token}", follow_redirects=False)
out = {"start": time.perf_counter() - t0}

def timed(name, url):
    t, c = time.perf_counter(), time.process_time()
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    out[name] = time.perf_counter() - t
    out[name + " (cpu)"] = time.process_time() - c

urls = [("first page (cold)", "/"), ("page 2", "/?page=2"), ("page 3", "/?page=3"), ("page 4", "/?page=4"),
        ("verdict=inverse", "/?verdict=inverse"), ("verdict=inverse page 2", "/?verdict=inverse&page=2"),
        ("status=error&budget=16384", "/?status=error&budget=16384"),
        ("item page", "/item?task=zebra&item=zebra-000007&verdict=inverse")]
for name, url in urls[:pages]:
    timed(name, url)
out["peak_rss_mb"] = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM:")) / 1024
print(json.dumps(out))
"""


def time_side(src: Path, run_dir: Path, pages: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, "-c", _TIMER, str(run_dir), str(pages)], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"timing {src} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/overthink-bench"))
    parser.add_argument("--against", type=Path, help="an older checkout (its src/ is imported)")
    parser.add_argument("--pages", type=int, default=8, help="how many of the 8 timed requests each side makes")
    args = parser.parse_args()
    run_dir = build_store(args.dir / f"review-{args.samples}", args.samples)
    here = Path(__file__).resolve().parents[1] / "src"
    new = time_side(here, run_dir, args.pages)
    old = time_side(args.against / "src", run_dir, args.pages) if args.against else {}
    print(f"review at {args.samples:,} samples ({run_dir})")
    print("wall: seconds on a shared machine; cpu: this process's CPU seconds (what the code costs)")
    print(f"{'request':<34}{'old':>10}{'new':>10}{'old/new':>10}")
    for name, t in new.items():
        o = old.get(name)
        unit = "MB" if name.endswith("_mb") else "s"
        ratio = f"{o / t:9.1f}x" if o and t else f"{'-':>10}"
        print(f"{name:<34}{(f'{o:.3f}' if o is not None else '-'):>10}{t:>10.3f}{ratio}  {unit}")


if __name__ == "__main__":
    main()
