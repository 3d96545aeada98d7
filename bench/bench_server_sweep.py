"""Shared-trace vs independent forced sweeps on a real llama.cpp HTTP server (xllamacpp + the SmolLM2 GGUF).

For each item: budgets 0,64,128,256,512 answered (a) independently, one two-pass request pair per budget, and
(b) by generate_sweep from one thinking trace. Prints generated tokens (thinking + answer tokens the server
generated, from its usage) and wall time side by side, and whether every budget's result is identical.
Target: >= 1.6x fewer generated tokens and >= 1.4x less wall time.

    python bench/bench_server_sweep.py [--items 3] [--budgets 0,64,128,256,512] [--threads 2]
        [--cache-prompt | --no-cache-prompt] [--cache-ram MIB]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from overthink.budget import plan_budget
from overthink.providers import GenerateRequest, load_model
from overthink.tasks import get_task

FIELDS = ("reasoning", "answer_text", "reasoning_tokens", "thinking_stop", "truncated")


def start_server(threads: int, cache_ram_mib: int | None = None) -> tuple[object, str]:
    import xllamacpp
    from test_provider_openai_compatible import GGUF

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    params = xllamacpp.CommonParams()
    params.model.path, params.n_ctx, params.n_parallel = str(GGUF), 4096, 1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    params.port = port
    if cache_ram_mib is not None:  # llama.cpp's host-memory prompt cache (llama-server --cache-ram; 8192 MiB default)
        params.cache_ram_mib = cache_ram_mib
    params.verbosity = -1
    return xllamacpp.Server(params), f"http://127.0.0.1:{port}/v1"


def generated(c: object) -> int:
    """Tokens an independent request pair generated: its thinking pass (lookahead included) + its answer."""
    return int(c.extra.get("think_pass_tokens", c.reasoning_tokens or 0) + (c.extra.get("answer_tokens") or 0))


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=3, help="items per task")
    ap.add_argument("--budgets", default="0,64,128,256,512")
    ap.add_argument("--answer-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    cache = ap.add_mutually_exclusive_group()
    cache.add_argument("--cache-prompt", action="store_true",
                       help="llama.cpp prompt caching on every pass, thinking passes too (not exact)")
    cache.add_argument("--no-cache-prompt", action="store_true",
                       help="no prompt caching at all (answer passes recompute the thinking text)")
    ap.add_argument("--cache-ram", type=int, default=None, metavar="MIB",
                    help="llama-server --cache-ram (host-memory prompt cache; 0 turns it off)")
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    server, url = start_server(args.threads, args.cache_ram)
    # default: answer passes reuse their thinking pass's KV (cache_prompt on them only), on both sides
    options = {"cache_prompt": True} if args.cache_prompt else {"cache_prompt": False} if args.no_cache_prompt else {}
    model = load_model(f"openai-compatible:smollm2@{url}", {"timeout_s": 600, **options})
    tot = {"ind_tok": 0, "sh_tok": 0, "ind_s": 0.0, "sh_s": 0.0, "same": 0, "n": 0}
    print(f"{'item':16}{'ind tok':>8}{'sh tok':>8}{'ratio':>8}{'ind s':>8}{'sh s':>8}{'ratio':>8}{'same':>7}")
    for task_name in ("misleading-math", "word-problems"):
        task = get_task(task_name)
        for item in task.items(args.items, seed=0):
            reqs = [GenerateRequest(prompt=task.render(item), seed=1, temperature=0.0,
                                    plan=plan_budget(b, "forced", answer_margin=args.answer_tokens)) for b in budgets]
            t = time.perf_counter()
            ind = {r.plan.budget: await model.generate(r) for r in reqs}
            ind_s = time.perf_counter() - t
            ind_tok = sum(generated(c) for c in ind.values())  # each pair generates its own thinking
            t = time.perf_counter()
            shared = {r.plan.budget: c async for r, c in model.generate_sweep(reqs)}
            sh_s = time.perf_counter() - t
            trace = max((c.extra.get("shared_think_tokens", 0) for c in shared.values()), default=0)
            answers = {(c.thinking_stop, c.reasoning_tokens): c.extra.get("answer_tokens") or 0
                       for c in shared.values() if c.shared_trace or c.thinking_stop == "none"}
            alone = sum(generated(c) for c in shared.values() if not c.shared_trace and c.thinking_stop != "none")
            sh_tok = trace + sum(answers.values()) + alone
            same = sum(all(getattr(shared[b], f) == getattr(ind[b], f) for f in FIELDS) for b in budgets)
            print(f"{item.id[:16]:16}{ind_tok:8}{sh_tok:8}{ind_tok / max(sh_tok, 1):7.2f}x{ind_s:8.1f}{sh_s:8.1f}"
                  f"{ind_s / max(sh_s, 1e-9):7.2f}x{same:5}/{len(budgets)}", flush=True)
            for b in budgets:  # name what differs, so a mismatch can be chased
                diff = [f for f in FIELDS if getattr(shared[b], f) != getattr(ind[b], f)]
                if diff:
                    print(f"  budget {b} differs in {', '.join(diff)}: shared {shared[b].thinking_stop} "
                          f"{shared[b].reasoning_tokens} tok {shared[b].answer_text[:60]!r} / independent "
                          f"{ind[b].thinking_stop} {ind[b].reasoning_tokens} tok {ind[b].answer_text[:60]!r}")
            for k, v in (("ind_tok", ind_tok), ("sh_tok", sh_tok), ("ind_s", ind_s), ("sh_s", sh_s),
                         ("same", same), ("n", len(budgets))):
                tot[k] += v
    print(f"{'TOTAL':16}{tot['ind_tok']:8}{tot['sh_tok']:8}{tot['ind_tok'] / tot['sh_tok']:7.2f}x{tot['ind_s']:8.1f}"
          f"{tot['sh_s']:8.1f}{tot['ind_s'] / tot['sh_s']:7.2f}x{tot['same']:5}/{tot['n']}")
    print(f"generated tokens: {tot['ind_tok'] / tot['sh_tok']:.2f}x fewer with the shared trace; wall time "
          f"{tot['ind_s'] / tot['sh_s']:.2f}x less; identical results {tot['same']}/{tot['n']}")
    await model.aclose()
    del server


if __name__ == "__main__":
    asyncio.run(main())
