"""`overthink run` against a bare AsyncOpenAI loop, on one zero-latency OpenAI-compatible server (issue 16).

A minimal HTTP server runs in its own process and answers every chat completion at once with a small reply that
carries reasoning text (`reasoning_content`) and usage (reasoning tokens included). Both sides are separate
processes timed from launch to exit, so interpreter start, imports, the store and the end-of-run summary count:

- overthink: `python -m overthink run --quiet` as a user types it (prompted mechanism, one budget, misleading-math,
  `openai-compatible:MODEL@http://127.0.0.1:PORT/v1`, model_options max_concurrency = the run's concurrency);
- bare: a script that imports openai and sends the same number of chat completions with the same concurrency, on
  the SDK's default transport (httpx), as most users' loops do. overthink uses the SDK's aiohttp transport when
  aiohttp is installed (the api extra installs it), so part of its lead is the transport: --bare-aiohttp also times
  the bare loop on that transport and prints overthink's ratio to it.

The two alternate (order swapped every round); the ratio is overthink's throughput over the bare loop's, the
median of the per-round ratios. Target (issue 16): >= 0.95x at 10,000 samples, >= 0.90x at 1,000.

    python bench/bench_harness_vs_sdk.py [--rounds 2] [--quick] [--profile PATH] [--against SRC] [--bare-aiohttp]
                                       [--configs ...]

--memory N (default 100,000; 0 skips) runs one N-sample `overthink run` and samples its RSS (/proc) against the
samples stored so far (a read-only count of the store's rows): flat RSS during the sweep means no per-sample
growth beyond the store (the plan of all N units is built before the first request).
--profile PATH also runs one 1,000-sample `overthink run` under cProfile and writes the top cumulative entries.
--against SRC also runs `overthink run` from another source tree (e.g. the main checkout's src) in the same
alternating rounds, so a before/after comparison shares one machine state; its ratio is printed beside ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "bench-model"
PROMPT = "You have one fork and one spoon. How many different types of cutlery do you have?"
REPLY = {
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": MODEL,
    "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "<answer>2</answer>",
        "reasoning_content": "A fork and a spoon are two kinds of cutlery; the dates do not matter."}}],
    "usage": {"prompt_tokens": 40, "completion_tokens": 24, "total_tokens": 64,
              "completion_tokens_details": {"reasoning_tokens": 17}},
}
CONFIGS = [(1_000, 32), (1_000, 128), (10_000, 32), (10_000, 128)]


# -- the server (its own process) ---------------------------------------------------------------------------
class _Http(asyncio.Protocol):
    """HTTP/1.1 keep-alive, Content-Length bodies only: just enough for the OpenAI SDK (httpx)."""

    def __init__(self, ok: bytes, missing: bytes) -> None:
        self.ok, self.missing, self.buf = ok, missing, b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            path = head[0].split(" ")[1]
            self.transport.write(self.ok if path.endswith("/chat/completions") else self.missing)


def serve() -> None:
    body = json.dumps(REPLY).encode()
    ok = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)) + body
    missing = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Http(ok, missing), "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


# -- the bare loop (its own process) ------------------------------------------------------------------------
def bare(url: str, n: int, concurrency: int, transport: str = "httpx") -> None:
    import openai

    async def main() -> None:
        http = openai.DefaultAioHttpClient() if transport == "aiohttp" else None
        client = openai.AsyncOpenAI(api_key="not-needed", base_url=url, max_retries=0, http_client=http)
        left = iter(range(n))

        async def worker() -> None:
            for _ in left:
                r = await client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": PROMPT}], max_tokens=64 + 128, seed=0)
                assert r.choices[0].message.content

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await client.close()

    asyncio.run(main())


# -- the driver ---------------------------------------------------------------------------------------------
def _env(src: Path = ROOT / "src") -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
    # an installed package has its bytecode cached; a sandbox that forbids writing it would make every run
    # recompile overthink's own modules (the SDK's are cached in site-packages), which no user pays
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _overthink_args(url: str, n: int, concurrency: int, run_dir: str) -> list[str]:
    spec = f"openai-compatible:{MODEL}@{url}"
    config = Path(run_dir).with_suffix(".yaml")
    config.write_text(json.dumps({"model_options": {spec: {"max_concurrency": concurrency}}}))
    return ["-m", "overthink", "run", "--model", spec, "--task", "misleading-math", "--budgets", "64",
            "--mechanism", "prompted", "--limit", str(n), "--concurrency", str(concurrency), "--quiet",
            "--run-dir", run_dir, "--config", str(config)]


CPU: dict[float, float] = {}  # wall seconds of a timed process -> its CPU seconds (user + sys)


def _timed(args: list[str], src: Path = ROOT / "src") -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=_env(src), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[seconds] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def run_overthink(url: str, n: int, concurrency: int, src: Path = ROOT / "src") -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return _timed(_overthink_args(url, n, concurrency, str(Path(tmp) / "run")), src)


def run_bare(url: str, n: int, concurrency: int, transport: str = "httpx") -> float:
    return _timed([__file__, "--bare", url, str(n), str(concurrency), transport])


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            return int(conn.execute("SELECT count(*) FROM samples").fetchone()[0])
    except sqlite3.Error:  # not created yet, or busy for a moment
        return -1


def memory(url: str, n: int, concurrency: int = 32) -> None:
    """RSS of one n-sample run against the samples it has stored, at 10 %, 25 %, 50 %, 75 % and 100 %."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = str(Path(tmp) / "run")
        proc = subprocess.Popen([sys.executable, *_overthink_args(url, n, concurrency, run_dir)], env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen: list[tuple[int, float]] = []
        peak = 0.0
        while proc.poll() is None:
            rss = _rss_mb(proc.pid)
            if rss is not None:
                peak = max(peak, rss)
                done = _stored(Path(run_dir) / "overthink.sqlite")
                if done >= 0:
                    seen.append((done, rss))
            time.sleep(0.25)
        if proc.returncode != 0:
            sys.exit(f"memory run failed ({proc.returncode})")
    print(f"memory: one {n:,}-sample run, concurrency {concurrency}; RSS while the sweep stores samples")
    marks = []
    for share in (0.10, 0.25, 0.50, 0.75, 1.00):
        at = [rss for done, rss in seen if done >= share * n * 0.999]
        if at:
            marks.append((share, at[0]))
            print(f"  {share:>4.0%} stored ({int(share * n):>7,}): RSS {at[0]:7.1f} MB")
    if len(marks) >= 2:
        growth = (marks[-1][1] - marks[0][1]) / ((marks[-1][0] - marks[0][0]) * n) * 1e6
        print(f"  growth from {marks[0][0]:.0%} to {marks[-1][0]:.0%}: {marks[-1][1] - marks[0][1]:+.1f} MB "
              f"({growth:+.0f} bytes per sample); peak RSS incl. the end-of-run summary {peak:.1f} MB")


def profile(url: str, out: Path, n: int = 1_000, concurrency: int = 32) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "run.prof"
        seconds = _timed(["-m", "cProfile", "-o", str(raw),
                          *_overthink_args(url, n, concurrency, str(Path(tmp) / "run"))])
        with out.open("w") as fh:
            fh.write(f"cProfile of `overthink run --quiet` (openai-compatible, prompted, one budget), {n:,} samples, "
                     f"concurrency {concurrency}: {seconds:.2f} s wall under the profiler\n\n")
            stats = pstats.Stats(str(raw), stream=fh)
            stats.sort_stats("cumulative").print_stats(60)
            fh.write("\n-- by own time --\n")
            stats.sort_stats("tottime").print_stats(30)
    print(f"profile ({seconds:.1f} s under cProfile) written to {out}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        return serve()
    if len(sys.argv) > 1 and sys.argv[1] == "--bare":
        return bare(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:6])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds per configuration (default 2)")
    ap.add_argument("--quick", action="store_true", help="one round")
    ap.add_argument("--memory", type=int, default=100_000,
                    help="samples of the RSS run (default %(default)s; 0 skips it)")
    ap.add_argument("--profile", type=Path, help="also write a cProfile summary of a 1,000-sample run here")
    ap.add_argument("--against", type=Path, metavar="SRC",
                    help="also time overthink from this source tree (e.g. /work/main/src) in the same rounds")
    ap.add_argument("--bare-aiohttp", action="store_true",
                    help="also time the bare loop on the SDK's aiohttp transport (the one overthink uses when "
                         "aiohttp is installed) and print overthink's ratio to it")
    ap.add_argument("--configs", default=",".join(f"{n}x{c}" for n, c in CONFIGS),
                    help="SAMPLESxCONCURRENCY, comma-separated (default: %(default)s)")
    args = ap.parse_args()
    rounds = 1 if args.quick else max(1, args.rounds)
    configs = [tuple(int(v) for v in c.split("x")) for c in args.configs.split(",")]

    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])), timeout=5):
            pass
        print(f"server {url}; {rounds} alternating round(s) per configuration; times are process wall clock")
        print(f"{'samples':>8} {'conc':>5} {'bare s':>8} {'overthink s':>12} {'bare/s':>8} {'overthink/s':>12}"
              f" {'ratio':>6}" + (f"   against {args.against}: s, ratio" if args.against else ""))
        rows = []
        for n, concurrency in configs:
            ratios, t_bare, t_ours, t_other, other, t_aio, aio = [], [], [], [], [], [], []
            jobs = [(t_bare, partial(run_bare, url, n, concurrency)),
                    (t_ours, partial(run_overthink, url, n, concurrency))]
            jobs += [(t_other, partial(run_overthink, url, n, concurrency, args.against))] if args.against else []
            jobs += [(t_aio, partial(run_bare, url, n, concurrency, "aiohttp"))] if args.bare_aiohttp else []
            for r in range(rounds):
                for times, timed in (jobs if r % 2 == 0 else jobs[::-1]):
                    times.append(timed())
                ratios.append(t_bare[-1] / t_ours[-1])  # throughput ratio = (n / o) / (n / b)
                if args.against:
                    other.append(t_bare[-1] / t_other[-1])
                if args.bare_aiohttp:
                    aio.append(t_aio[-1] / t_ours[-1])
            ratio = statistics.median(ratios)
            mb, mo = statistics.median(t_bare), statistics.median(t_ours)
            rows.append((n, concurrency, ratio))
            against = (f"   against: {statistics.median(t_other):.2f} s, {statistics.median(other):.2f}x"
                       f" (rounds: {', '.join(f'{x:.2f}' for x in other)})" if args.against else "")
            print(f"{n:>8,} {concurrency:>5} {mb:>8.2f} {mo:>12.2f} {n / mb:>8.0f} {n / mo:>12.0f} {ratio:>5.2f}x"
                  f"   rounds: {', '.join(f'{x:.2f}' for x in ratios)}{against}", flush=True)
            if args.bare_aiohttp:
                print(f"{'':>14} bare loop on aiohttp: {statistics.median(t_aio):.2f} s; overthink / it"
                      f" {statistics.median(aio):.2f}x (rounds: {', '.join(f'{x:.2f}' for x in aio)})", flush=True)
            # On a shared, busy machine wall time mostly measures the scheduler; the client's CPU seconds for the
            # same requests measure the harness (bare CPU / overthink CPU = the ratio an idle machine approaches).
            cpu = [f"bare {statistics.median(CPU[t] for t in t_bare):.2f}",
                   f"overthink {statistics.median(CPU[t] for t in t_ours):.2f}"]
            cpu += [f"against {statistics.median(CPU[t] for t in t_other):.2f}"] if args.against else []
            cpu_ratio = statistics.median(CPU[b] / CPU[o] for b, o in zip(t_bare, t_ours))
            other_cpu = (f", against {statistics.median(CPU[b] / CPU[o] for b, o in zip(t_bare, t_other)):.2f}x"
                         if args.against else "")
            print(f"{'':>14} client CPU s (median): {', '.join(cpu)}; CPU ratio {cpu_ratio:.2f}x{other_cpu}",
                  flush=True)
        if args.profile:
            profile(url, args.profile)
        if args.memory:
            memory(url, args.memory)
        for n, concurrency, ratio in rows:
            print(f"throughput ratio at {n:,} samples, concurrency {concurrency}: {ratio:.2f}x")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
