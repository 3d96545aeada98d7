"""Decode speed through LocalModel vs calling xllamacpp directly, side by side in one run (target >= 0.95x).

Both sides use the same llama.cpp server, prompt, max_tokens, seed and greedy sampling, so the ratio isolates
the provider's own overhead (prompt building, per-token ids, asyncio/thread hop, result parsing). Runs alternate
A/B to spread the machine's background load over both sides.

    python bench/bench_local_decode.py [--tokens 128] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from overthink.budget import plan_budget
from overthink.providers import load_model
from overthink.providers.base import GenerateRequest

# a prompt whose greedy output runs to the cap, so both sides decode exactly max_tokens tokens
PROMPT = "Count from 1 to 300, one number per line, then give the last number inside <answer></answer> tags."


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    model = load_model(args.model, {"progress": lambda s, d, t: d == t and print(f"{s}: done", flush=True)})
    t0 = time.perf_counter()
    engine = model.engine()
    print(f"model ready in {time.perf_counter() - t0:.1f}s (threads={engine.options['n_threads']})")
    # prompted = one pass capped at plan.max_tokens: the same single call the direct side makes
    plan = plan_budget(args.tokens, "prompted", answer_margin=0)
    request = GenerateRequest(prompt=PROMPT, plan=plan, seed=7)
    body = {"prompt": model.prompt(request), "max_tokens": plan.max_tokens, "temperature": 0.0, "seed": 7,
            "cache_prompt": False, "stop": []}
    engine.server.handle_completions({**body, "max_tokens": 8})  # warm-up

    med = statistics.median
    ours, direct, decode = [], [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        c = await model.generate(request)
        ours.append(c.output_tokens / (time.perf_counter() - t))
        t = time.perf_counter()
        r = engine.server.handle_completions(body)
        direct.append(r["usage"]["completion_tokens"] / (time.perf_counter() - t))
        decode.append(r["timings"]["predicted_per_second"])
        assert r["usage"]["completion_tokens"] == c.output_tokens, "both sides must generate the same tokens"

    # forced: two passes (think with stop </think>, then the answer from the cut, reusing the thinking pass's KV
    # cache in the same slot) vs the same two calls made directly (plain text prompts, no per-token ids)
    forced = GenerateRequest(prompt=PROMPT, plan=plan_budget(args.tokens, "forced", answer_margin=16), seed=7)
    f_ours, f_direct = [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        c = await model.generate(forced)
        f_ours.append(c.output_tokens / (time.perf_counter() - t))
        t = time.perf_counter()
        r1 = engine.server.handle_completions({**body, "max_tokens": args.tokens + 1, "stop": ["</think>"],
                                               "id_slot": 0})
        r2 = engine.server.handle_completions({**body, "prompt": body["prompt"] + r1["choices"][0]["text"]
                                               + "\n</think>\n<answer>", "max_tokens": 16, "stop": ["</answer>"],
                                               "cache_prompt": True, "id_slot": 0})
        n = min(r1["usage"]["completion_tokens"], args.tokens) + r2["usage"]["completion_tokens"]
        f_direct.append(n / (time.perf_counter() - t))

    print(f"\ngenerated tokens/s, wall clock incl. prompt processing (median of {args.rounds} alternating runs, "
          f"{c.input_tokens} prompt tokens; server-reported decode speed of the direct runs: "
          f"{med(decode):.1f} tok/s)")
    print(f"{'':34}{'LocalModel':>12}{'direct':>10}{'ratio':>8}")
    print(f"{'prompted, 1 pass, max ' + str(plan.max_tokens):34}{med(ours):12.1f}{med(direct):10.1f}"
          f"{med(ours) / med(direct):8.3f}")
    print(f"{'forced, 2 passes, B=' + str(args.tokens):34}{med(f_ours):12.1f}{med(f_direct):10.1f}"
          f"{med(f_ours) / med(f_direct):8.3f}")
    print("prompted runs, LocalModel:", [round(x, 1) for x in ours], "direct:", [round(x, 1) for x in direct])
    print("forced runs,   LocalModel:", [round(x, 1) for x in f_ours], "direct:", [round(x, 1) for x in f_direct])


if __name__ == "__main__":
    asyncio.run(main())
