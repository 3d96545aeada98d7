"""Benchmark (issue 27): everything after a lab's sweep, on a store of 1,000,000 samples with reasoning text.

Builds (once, cached under --dir keyed by N) a store of N samples through the real store API (bench/scale_store.py:
Store.add_items + Store.record_many, as a sweep writes them: 3 models x 4 tasks x 5 budgets x 2 replicates, about
1.2 KB of reasoning text a sample), then times each step in a fresh process, printing wall seconds, CPU seconds
(with those of the report's figure worker, report/drawing.py) and the step process's peak RSS:

  report          `overthink report STORE --out ...` (the CLI: load, analysis, figures, HTML)
  analyze         overthink.analysis.api.analyze([STORE])
  review_page     the review app's first page of items (review.data.page_rows when it exists, else item_rows)
  export_parquet  `overthink export STORE --format parquet --out ...`
  export_csv      `overthink export STORE --format csv --out ...`
  summary         `overthink summary STORE` (stands in for resume: the synthetic run has no task files to resume)

`--against REF` (default HEAD~ when given without a value) runs the same steps with that version of the code
(a `git worktree add --detach` in a temp dir, PYTHONPATH pointed at its src/) on the same store, side by side, and
prints the ratio REF / this tree per step. A version whose store schema is older than the store's reads the store
with the store's schema_version set to its own for the duration of its steps (a newer schema only adds the
sample_probes cache, which that version does not read); the store is migrated back when it is done.

Usage:
  python bench/bench_scale.py                       # 1,000,000 samples, this tree only
  python bench/bench_scale.py --samples 50000 --against HEAD~3
  python bench/bench_scale.py --against 7ec3c5a --steps report,analyze
On a shared machine read the CPU column: wall time grows with the other processes' load, CPU time much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STEPS = ("report", "analyze", "review_page", "export_parquet", "export_csv", "summary")
STORE_FORMAT = 1  # bump when scale_store.py writes different data: cached stores of another format are not reused


# -- one step, in its own process ------------------------------------------------------------------------------
def _cli(*args: str) -> None:
    argv = sys.argv
    sys.argv = ["overthink", *args]
    try:
        runpy.run_module("overthink", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise RuntimeError(f"overthink {' '.join(args)} exited with {exc.code}") from None
    finally:
        sys.argv = argv


def _review_page(store_dir: Path) -> str:
    from overthink.review import data
    from overthink.store import Store

    with Store(store_dir, create=False) as store:
        if hasattr(data, "page_rows") and hasattr(data, "new_index"):
            rows = data.page_rows(store, data.new_index(), data.Filters(), 0, 50)
            return f"review.data.page_rows: {len(rows)} rows"
        rows = [r for r in data.item_rows(store) if data.Filters().match(r)][:50]
        return f"review.data.item_rows (first page of 50): {len(rows)} rows"


def run_step(name: str, store_dir: Path, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    note = ""
    if name == "report":
        _cli("report", str(store_dir), "--out", str(out_dir / "report.html"))
    elif name == "analyze":
        from overthink.analysis.api import analyze
        tables = analyze([store_dir])
        note = f"{len(tables)} tables"
    elif name == "review_page":
        note = _review_page(store_dir)
    elif name.startswith("export_"):
        fmt = name.split("_", 1)[1]
        _cli("export", str(store_dir), "--format", fmt, "--out", str(out_dir / f"samples.{fmt}"))
        note = f"{(out_dir / f'samples.{fmt}').stat().st_size / 1e6:.0f} MB"
    elif name == "summary":
        _cli("summary", str(store_dir))
    else:
        raise SystemExit(f"unknown step {name!r}; steps: {', '.join(STEPS)}")
    return {"note": note}


def _child(name: str, store_dir: Path, out_dir: Path) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        result = run_step(name, store_dir, out_dir)
    except Exception as exc:  # a missing function or a failure of an older version: reported, not fatal
        result = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the report's figure worker (report/drawing.py)
    result.update(wall_s=time.perf_counter() - wall,
                  cpu_s=time.process_time() - cpu + children.ru_utime + children.ru_stime,
                  worker_cpu_s=children.ru_utime + children.ru_stime,
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  worker_peak_rss_mb=children.ru_maxrss / 1024)
    print("BENCH-RESULT " + json.dumps(result), flush=True)


# -- the driver ----------------------------------------------------------------------------------------------------
def build(n: int, root: Path) -> Path:
    store_dir = root / f"store-{n}-f{STORE_FORMAT}"
    if (store_dir / "overthink.sqlite").is_file():
        print(f"store: reusing {store_dir}", file=sys.stderr)
        return store_dir
    sys.path.insert(0, str(REPO / "src"))
    sys.path.insert(0, str(HERE))
    from scale_store import write_store

    part = root / f"store-{n}-f{STORE_FORMAT}.part"
    shutil.rmtree(part, ignore_errors=True)
    started = time.perf_counter()
    written = write_store(part, n)
    part.rename(store_dir)
    print(f"store: wrote {written:,} samples to {store_dir} in {time.perf_counter() - started:.0f}s",
          file=sys.stderr)
    return store_dir


def _env(src: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(HERE)]), OVERTHINK_PROGRESS_MIN_SAMPLES="1")
    env.pop("PYTHONSTARTUP", None)
    return env


def timed(src: Path, name: str, store_dir: Path, out_dir: Path, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", name, "--store", str(store_dir),
           "--out", str(out_dir)]
    try:
        proc = subprocess.run(cmd, env=_env(src), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    return {"error": f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"}


def schema_version(src: Path) -> int:
    out = subprocess.run([sys.executable, "-c", "from overthink.store import SCHEMA_VERSION; print(SCHEMA_VERSION)"],
                         env=_env(src), capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def set_store_version(src: Path, store_dir: Path, version: int | None) -> None:
    """Open the store as a writer with the code in src (None: migrate it to that code's schema), else set the
    schema_version an older reader accepts."""
    code = ("import sys; from overthink.store import Store\n"
            "with Store(sys.argv[1]) as s:\n"
            "    v = sys.argv[2]\n"
            "    if v != 'None': s.set_meta('schema_version', int(v))\n")
    subprocess.run([sys.executable, "-c", code, str(store_dir), str(version)], env=_env(src), check=True)


def _fmt(r: dict | None) -> tuple[str, str, str]:
    if not r:
        return ("", "", "")
    if "error" in r:
        return ("failed", "", "")
    return (f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", f"{r['peak_rss_mb']:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "overthink-bench-scale")
    ap.add_argument("--against", nargs="?", const="HEAD~", default=None, help="a git ref (default HEAD~)")
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per step before it counts as failed")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        _child(args.step, args.store, args.out)
        return
    steps = [s for s in args.steps.split(",") if s]
    args.dir.mkdir(parents=True, exist_ok=True)
    store_dir = build(args.samples, args.dir)
    trees: list[tuple[str, Path]] = [("this tree", REPO / "src")]
    other: Path | None = None
    if args.against:
        other = Path(tempfile.mkdtemp(prefix="overthink-against-"))
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), args.against],
                       check=True, capture_output=True)
        trees.append((args.against, other / "src"))
    results: dict[str, dict[str, dict]] = {label: {} for label, _ in trees}
    try:
        mine = schema_version(REPO / "src")
        for label, src in trees:
            theirs = schema_version(src)
            if theirs < mine:
                set_store_version(REPO / "src", store_dir, theirs)
            try:
                for step in steps:
                    r = timed(src, step, store_dir, args.dir / f"out-{label.replace(' ', '-').replace('/', '-')}",
                              args.timeout)
                    results[label][step] = r
                    print(f"{label:>12} {step:<15} " + (r.get("error") or
                          f"wall {r['wall_s']:.1f}s cpu {r['cpu_s']:.1f}s peak RSS {r['peak_rss_mb']:.0f} MB "
                          + (f"(worker process: cpu {r['worker_cpu_s']:.1f}s, peak RSS "
                             f"{r['worker_peak_rss_mb']:.0f} MB) " if r.get("worker_cpu_s") else "")
                          + f"{r.get('note', '')}"), file=sys.stderr, flush=True)
            finally:
                if theirs < mine:
                    set_store_version(REPO / "src", store_dir, None)
    finally:
        if other is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], capture_output=True)
    print(f"\n{args.samples:,} samples ({store_dir}); seconds wall / CPU (with any worker process's), peak RSS of "
          "the step's process in MB")
    head = f"{'step':<15} {'wall':>8} {'cpu':>8} {'RSS':>6}"
    if args.against:
        head += f" | {'wall':>8} {'cpu':>8} {'RSS':>6} | {'ratio wall':>10} {'ratio cpu':>9}   ({args.against} / this)"
    print(head)
    for step in steps:
        a = results["this tree"].get(step)
        line = f"{step:<15} " + " ".join(f"{v:>8}" if i < 2 else f"{v:>6}" for i, v in enumerate(_fmt(a)))
        if args.against:
            b = results[args.against].get(step)
            line += " | " + " ".join(f"{v:>8}" if i < 2 else f"{v:>6}" for i, v in enumerate(_fmt(b)))
            ok = a and b and "error" not in a and "error" not in b
            line += (f" | {b['wall_s'] / a['wall_s']:>10.1f} {b['cpu_s'] / max(a['cpu_s'], 1e-9):>9.1f}" if ok
                     else " |          -         -")
        print(line)
    print(json.dumps({"samples": args.samples, "against": args.against, "results": results}))


if __name__ == "__main__":
    main()
