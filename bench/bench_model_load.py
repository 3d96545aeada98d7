"""Benchmark: CPU of loading API models (`load_model`), one TLS context per process against one per client.

Each round loads the same models (openai, anthropic, openai-compatible against a closed local port: loading sends
nothing) twice, in turn: once as shipped (`apibase.tls_context`, built once and shared) and once with the context
built anew for every client, as the SDKs do by themselves. Printed: CPU per model load for both and the ratio, and
how many CA stores each loaded. Gemini's client is left to google-genai (its own context rules: Vertex mTLS).

Usage: python bench/bench_model_load.py [--rounds 5] [--models 20]
"""

from __future__ import annotations

import argparse
import os
import ssl
import time

from overthink.providers import apibase, load_model

SPECS = ("openai:o4-mini@http://127.0.0.1:9/v1", "anthropic:claude-sonnet-4-5@http://127.0.0.1:9",
         "openai-compatible:m@http://127.0.0.1:9/v1")


def _load(n: int) -> tuple[float, int]:
    """CPU seconds for n model loads, and the CA stores loaded meanwhile."""
    loads = [0]
    real = ssl.SSLContext.load_verify_locations

    def counted(self, *args, **kwargs):
        loads[0] += 1
        return real(self, *args, **kwargs)

    ssl.SSLContext.load_verify_locations = counted
    try:
        start = time.process_time()
        for k in range(n):
            load_model(SPECS[k % len(SPECS)], {"max_attempts": 1})
        return time.process_time() - start, loads[0]
    finally:
        ssl.SSLContext.load_verify_locations = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", type=int, default=21)
    args = parser.parse_args()
    for var, value in (("OPENAI_API_KEY", "sk-bench"), ("ANTHROPIC_API_KEY", "sk-ant-bench")):
        os.environ.setdefault(var, value)
    _load(len(SPECS))  # SDK imports and the shared context, outside the timing
    shared_fn = apibase._tls_context
    fresh_fn = apibase._tls_context.__wrapped__  # the same maker, uncached: one context per client
    times: dict[str, list[float]] = {"shared": [], "per client": []}
    stores: dict[str, int] = {}
    for _ in range(args.rounds):
        for arm, fn in (("per client", fresh_fn), ("shared", shared_fn)):
            apibase._tls_context = fn
            try:
                cpu, loaded = _load(args.models)
            finally:
                apibase._tls_context = shared_fn
            times[arm].append(cpu / args.models)
            stores[arm] = loaded
    best = {arm: min(t) for arm, t in times.items()}
    print(f"{args.models} model loads x {args.rounds} rounds, best round, CPU per load:")
    for arm in ("per client", "shared"):
        print(f"  {arm:10s} {best[arm] * 1000:7.1f} ms   CA stores loaded per round: {stores[arm]}")
    print(f"  ratio (per client / shared): {best['per client'] / best['shared']:.1f}x")


if __name__ == "__main__":
    main()
