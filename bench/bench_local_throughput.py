"""Aggregate decode throughput of the embedded model: 1 llama.cpp slot vs several slots, side by side (issue 16).

The default stays 1 slot (`DEFAULT_N_PARALLEL`): batched decoding changes greedy outputs on this runtime, and the
quickstart, the shared-trace sweep and seeded runs promise single-stream tokens. More slots are opt-in
(model_options n_parallel + --concurrency); this measures what they give and how many outputs change.

Part 1 loads the model twice in this process (two llama.cpp servers through the provider's own `_Engine`): one
with 1 slot, one with --slots (4, the best of the n_parallel sweep on 2 cores). Each round sends the same thinking
passes (word-problems items, greedy, capped at --tokens, stopping at </think>) to both, alternating which goes
first: the 1-slot server takes them one at a time, the other keeps every slot busy (continuous batching).
Aggregate = generated tokens / wall time; per stream = llama.cpp's own decode speed per request. The texts of
both sides are compared token for token.

Part 2 times the quickstart's work (`overthink quickstart`: misleading-math + word-problems, budgets 0,64,128,256,
forced, seed 0, 20 items) as `overthink run` subprocesses: the quickstart as shipped (its concurrency, default
slots) vs concurrency = n_parallel = --slots; the stored samples of both runs are compared.

--sweep first measures n_parallel 1/2/4/8 one process each (aggregate, per stream, peak RSS).

Part 3, the roofline: decoding one token reads every weight once (Qwen2.5 ties its embedding, so the output matmul
reads the whole embedding each token too), so single-stream decode tok/s x the model file's bytes is the memory
read rate the decoder achieves. It is printed beside the rate numpy reads a 512 MiB array with --threads threads,
measured in the same run. Near 100 %, no kernel or setting can make exact single-stream decoding faster on this
machine; only reading the weights once for several tokens (batching, which is not exact here) or fewer bytes (a
smaller quantization, which changes the demo's outputs) can.

    python bench/bench_local_throughput.py [--rounds 3] [--tokens 96] [--slots 4] [--items 20] [--quick] [--sweep]

The last line reads `aggregate speedup: N.NNx` (--slots slots over 1 slot, median of the per-round ratios).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from overthink.budget import plan_budget  # noqa: E402
from overthink.cli import QUICKSTART  # noqa: E402
from overthink.local.model import DEFAULT_N_PARALLEL, LocalModel, _Engine  # noqa: E402
from overthink.local.packs import ensure_model  # noqa: E402
from overthink.providers import load_model  # noqa: E402
from overthink.providers.base import GenerateRequest  # noqa: E402
from overthink.store import Store  # noqa: E402
from overthink.tasks import get_task  # noqa: E402

SPEC = QUICKSTART["models"][0]


def _bodies(model: LocalModel, n: int, tokens: int) -> list[dict[str, Any]]:
    task = get_task("word-problems")
    plan = plan_budget(tokens, "forced", answer_margin=16)
    out = []
    for item in task.items(n, seed=0):
        prompt = model.prompt(GenerateRequest(prompt=task.render(item), plan=plan, seed=0))
        out.append({"prompt": prompt, "max_tokens": tokens, "stop": ["</think>"], "seed": 0, "temperature": 0.0,
                    "cache_prompt": False, "n_probs": 1, "post_sampling_probs": True})
    return out


async def _drive(engine: _Engine, bodies: list[dict[str, Any]], streams: int) -> tuple[float, list[dict]]:
    """`streams` workers, each holding one slot per request, take the requests in order; wall seconds + results."""
    results: list[dict] = [{}] * len(bodies)
    todo = iter(range(len(bodies)))

    async def worker() -> None:
        for i in todo:
            async with engine.slot() as call:
                results[i] = await call(bodies[i])

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(streams)))
    return time.perf_counter() - start, results


def _ids(result: dict) -> list[int]:
    return [e["id"] for e in result["choices"][0]["logprobs"]["content"]]


def _tokens(results: list[dict]) -> int:
    return sum(r["usage"]["completion_tokens"] for r in results)


def _per_stream(results: list[dict]) -> float:
    return statistics.median(r["timings"]["predicted_per_second"] for r in results)


async def throughput(path: Path, threads: int, slots: int, tokens: int, rounds: int, requests: int
                     ) -> tuple[list[float], bool, list[float]]:
    """Per-round aggregate ratios, whether all texts matched, and the 1-slot server's per-round decode tok/s."""
    one = _Engine(path, {"n_ctx": 2048, "n_threads": threads, "n_parallel": 1})
    many = _Engine(path, {"n_ctx": 2048, "n_threads": threads, "n_parallel": slots})
    one.start()
    many.start()
    model = load_model(SPEC)
    assert isinstance(model, LocalModel)
    bodies = _bodies(model, requests, tokens)
    for engine in (one, many):  # warm-up
        engine.complete({**bodies[0], "max_tokens": 4})
    ratios: list[float] = []
    single: list[float] = []
    identical = True
    print(f"\n{requests} thinking passes per side per round, cap {tokens} tokens, greedy, n_threads {threads}")
    print(f"{'round':>5} {'1 slot tok/s':>13} {f'{slots} slots tok/s':>15} {'ratio':>7} "
          f"{'per-stream 1 / ' + str(slots):>20}")
    for r in range(rounds):
        order = [(one, 1), (many, slots)] if r % 2 == 0 else [(many, slots), (one, 1)]
        got = {}
        for engine, streams in order:
            got[streams] = await _drive(engine, bodies, streams)
        (t1, res1), (tn, resn) = got[1], got[slots]
        a1, an = _tokens(res1) / t1, _tokens(resn) / tn
        identical = identical and [_ids(x) for x in res1] == [_ids(x) for x in resn]
        ratios.append(an / a1)
        single.append(_per_stream(res1))
        print(f"{r + 1:>5} {a1:>13.1f} {an:>15.1f} {an / a1:>6.2f}x "
              f"{single[-1]:>10.1f} / {_per_stream(resn):.1f}", flush=True)
    return ratios, identical, single


def read_bandwidth(threads: int, mib: int = 512, rounds: int = 5) -> float:
    """Best bytes/s at which `threads` threads sum disjoint slices of one array (numpy releases the GIL)."""
    data = np.ones(mib * 2**20 // 8, dtype=np.float64)
    parts = np.array_split(data, threads)
    best = 0.0
    for _ in range(rounds):
        workers = [threading.Thread(target=np.add.reduce, args=(part,)) for part in parts]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        best = max(best, data.nbytes / (time.perf_counter() - start))
    return best


def roofline(weights: int, threads: int, single: float) -> float:
    """Print the decoder's read rate beside the machine's; returns the machine's bytes/s."""
    decode = single * weights
    memory = read_bandwidth(threads)
    print(f"\nroofline: single-stream decode {single:.1f} tok/s x {weights / 2**20:.0f} MiB of "
          f"weights read per token = {decode / 1e9:.1f} GB/s")
    print(f"  this machine reads memory at {memory / 1e9:.1f} GB/s ({threads} threads, best of 5): decode runs at "
          f"{100 * decode / memory:.0f} % of that limit")
    return memory


def _sweep_one(path: Path, threads: int, slots: int, tokens: int) -> None:
    """Child process of --sweep: one server with `slots` slots, 2 x slots requests, printed as one JSON line."""
    engine = _Engine(path, {"n_ctx": 2048, "n_threads": threads, "n_parallel": slots})
    engine.start()
    model = load_model(SPEC)
    assert isinstance(model, LocalModel)
    bodies = _bodies(model, 2 * max(slots, 2), tokens)
    engine.complete({**bodies[0], "max_tokens": 4})
    seconds, results = asyncio.run(_drive(engine, bodies, slots))
    print(json.dumps({"slots": slots, "aggregate": _tokens(results) / seconds, "per_stream": _per_stream(results),
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def sweep(path: Path, threads: int, tokens: int, rounds: int) -> None:
    rows: dict[int, list[dict]] = {n: [] for n in (1, 2, 4, 8)}
    for r in range(rounds):
        for n in (1, 2, 4, 8) if r % 2 == 0 else (8, 4, 2, 1):
            out = subprocess.run([sys.executable, __file__, "--sweep-one", str(n), str(threads), str(tokens)],
                                 capture_output=True, text=True, check=True, env=_env())
            rows[n].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"\nn_parallel sweep ({rounds} interleaved round(s), 2 x n requests each, cap {tokens}, 2048 ctx/slot)")
    print(f"{'n_parallel':>10} {'aggregate tok/s':>16} {'per-stream tok/s':>17} {'peak RSS MB':>12}")
    for n, got in rows.items():
        med = {k: statistics.median(g[k] for g in got) for k in ("aggregate", "per_stream", "rss_mb")}
        print(f"{n:>10} {med['aggregate']:>16.1f} {med['per_stream']:>17.1f} {med['rss_mb']:>12.0f}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return env


def _quickstart_run(items: int, concurrency: int, options: dict[str, Any], run_dir: Path) -> float:
    config = run_dir.with_suffix(".yaml")
    config.write_text(json.dumps({"model_options": {SPEC: options}} if options else {}))
    args = ["-m", "overthink", "run", "--model", SPEC, "--task", ",".join(QUICKSTART["tasks"]),
            "--budgets", ",".join(map(str, QUICKSTART["budgets"])), "--mechanism", QUICKSTART["mechanism"],
            "--limit", str(items), "--seed", str(QUICKSTART["seed"]), "--concurrency", str(concurrency),
            "--quiet", "--run-dir", str(run_dir), "--config", str(config)]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=_env())
    if done.returncode != 0:
        sys.exit(f"quickstart run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def _samples(run_dir: Path) -> dict[tuple, tuple]:
    with Store(run_dir) as store:
        return {(s["task"], s["item_id"], s["budget"], s["replicate"]):
                (s["status"], s["reasoning"], s["answer_text"], s["answer"], s["correct"], s["thinking_stop"])
                for s in store.iter_samples()}


def _passes(run_dir: Path) -> tuple[int, float, float]:
    """Tokens the run decoded (one shared thinking pass per item, its longest stored trace, + every answer) and
    the seconds spent in thinking passes and in answer passes."""
    think_tokens: dict[tuple, int] = {}
    think_s: dict[tuple, float] = {}  # the samples of one item share its thinking pass: count it once
    answers, answer_s = 0, 0.0
    with Store(run_dir) as store:
        for s in store.iter_samples():
            key, meta = (s["task"], s["item_id"]), s["metadata"] or {}
            think_tokens[key] = max(think_tokens.get(key, 0), s["reasoning_tokens"] or 0)
            think_s[key] = meta.get("think_pass_s", 0.0)
            answers += (s["output_tokens"] or 0) - (s["reasoning_tokens"] or 0)
            answer_s += meta.get("answer_pass_s", 0.0)
    return sum(think_tokens.values()) + answers, sum(think_s.values()), answer_s


def quickstart(items: int, slots: int, weights: int, memory: float) -> None:
    shipped = int(QUICKSTART["concurrency"])
    with tempfile.TemporaryDirectory() as tmp:
        before = _quickstart_run(items, shipped, {}, Path(tmp) / "before")
        after = _quickstart_run(items, slots, {"n_parallel": slots}, Path(tmp) / "after")
        a, b = _samples(Path(tmp) / "before"), _samples(Path(tmp) / "after")
        tokens, think_s, answer_s = _passes(Path(tmp) / "before")
    same = sum(a[k] == b.get(k) for k in a)
    print(f"\nquickstart's work ({items} items x 2 tasks x budgets {QUICKSTART['budgets']}, forced), wall clock:")
    print(f"  as shipped (concurrency {shipped}, {DEFAULT_N_PARALLEL} slot(s)): {before:8.1f} s")
    print(f"  concurrency {slots}, {slots} slots:{'':{13 - 2 * len(str(slots))}}{after:8.1f} s   "
          f"({before / after:.2f}x faster)")
    print(f"  samples identical to the shipped run (reasoning, answer, score): {same} of {len(a)}")
    print(f"  of the shipped run's {before:.1f} s, thinking passes took {think_s:.1f} s and answer passes "
          f"{answer_s:.1f} s")
    ceiling = memory / weights  # tok/s of one stream that read the weights at the machine's full rate
    print(f"  it decodes {tokens} tokens, {tokens / (think_s + answer_s):.1f} tok/s over its passes (prompts "
          f"included). Reading the weights at the machine's {memory / 1e9:.1f} GB/s, one stream decodes at most "
          f"{ceiling:.1f} tok/s: those tokens alone take >= {tokens / ceiling:.0f} s; half the shipped time is "
          f"{before / 2:.0f} s")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--sweep-one":
        n, threads, tokens = map(int, sys.argv[2:5])
        return _sweep_one(ensure_model("qwen2.5-coder-0.5b"), threads, n, tokens)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=96, help="thinking cap per request")
    ap.add_argument("--slots", type=int, default=4, help="slots compared with 1 (default 4)")
    ap.add_argument("--requests", type=int, default=8, help="requests per side per round")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--items", type=int, default=int(QUICKSTART["limit"]),
                    help="items per task for the quickstart timing (0 = skip it)")
    ap.add_argument("--quick", action="store_true", help="2 rounds, 4 quickstart items")
    ap.add_argument("--sweep", action="store_true", help="also measure n_parallel 1/2/4/8 (one process each)")
    args = ap.parse_args()
    rounds, items = (2, min(args.items, 4)) if args.quick else (args.rounds, args.items)
    path = ensure_model(QUICKSTART["models"][0].split(":", 1)[1])
    print(f"model {path.name}; default n_parallel {DEFAULT_N_PARALLEL}; quickstart concurrency "
          f"{QUICKSTART['concurrency']}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.sweep:
        sweep(path, args.threads, args.tokens, rounds)
    ratios, identical, single = asyncio.run(
        throughput(path, args.threads, args.slots, args.tokens, rounds, args.requests))
    print(f"greedy outputs of 1 slot and {args.slots} slots identical token for token: "
          f"{'yes' if identical else 'NO'}")
    weights = path.stat().st_size
    memory = roofline(weights, args.threads, statistics.median(single))
    if items:
        quickstart(items, args.slots, weights, memory)
    print(f"aggregate speedup: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
