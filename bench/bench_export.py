"""Benchmark: `overthink export --format parquet|csv` peak RSS and time at two store sizes, this tree against an
older checkout, side by side. Target (issue 27): RSS flat in the number of samples (exports stream in batches).

Stores are built through the real store API by bench_review.build_store (reasoning text 0-2,000 characters) and
kept under --dir. Each export runs the real CLI (`python -m overthink export ...`) in its own process with that
tree's src on PYTHONPATH; the process reports its own peak RSS (VmHWM). The outputs are compared: csv byte for byte,
parquet read back with pandas.

Usage: python bench/bench_export.py [--sizes 50000,400000] [--against /path/to/old/worktree] [--dir DIR]
An old tree: `git worktree add --detach /tmp/ot-old main`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from bench_review import build_store

_RUN = r"""
import json, runpy, sys, time
sys.argv = ["overthink", "export", *sys.argv[1:]]
t = time.perf_counter()
try:
    runpy.run_module("overthink", run_name="__main__")
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report its (large) parent's peak.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"s": time.perf_counter() - t, "rss_mb": hwm / 1024}), file=sys.stderr)
"""


def run_export(src: Path, run_dir: Path, fmt: str, out: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, "-c", _RUN, str(run_dir), "--format", fmt, "--out", str(out)], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"export with {src} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stderr.strip().splitlines()[-1])


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def same_content(fmt: str, a: Path, b: Path) -> str:
    if fmt == "csv":
        return "bytes equal" if _sha(a) == _sha(b) else "DIFFERENT"
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    except AssertionError as exc:
        return f"DIFFERENT ({str(exc).splitlines()[0]})"
    return "equal (pandas)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50000,400000")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/overthink-bench"))
    parser.add_argument("--against", type=Path, help="an older checkout (its src/ is imported)")
    parser.add_argument("--formats", default="parquet,csv")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1] / "src"
    out_dir = args.dir / "exports"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        run_dir = build_store(args.dir / f"review-{n}", n)
        for fmt in args.formats.split(","):
            new_out = out_dir / f"new-{n}.{fmt}"
            new = run_export(here, run_dir, fmt, new_out)
            old = {}
            check = "-"
            if args.against:
                old_out = out_dir / f"old-{n}.{fmt}"
                old = run_export(args.against / "src", run_dir, fmt, old_out)
                check = same_content(fmt, old_out, new_out)
                old_out.unlink()
            new_out.unlink()
            results.append((n, fmt, old, new, check))
            print(f"{n:,} {fmt}: old {old} new {new} {check}", file=sys.stderr)
    print(f"{'samples':>9} {'format':<8}{'old s':>8}{'new s':>8}{'ratio':>7}{'old MB':>9}{'new MB':>9}"
          f"{'ratio':>7}  output")
    for n, fmt, old, new, check in results:
        def cell(d: dict, k: str, f: str) -> str:
            return format(d[k], f) if k in d else "-"
        rt = f"{old['s'] / new['s']:6.1f}x" if old else "     -"
        rm = f"{old['rss_mb'] / new['rss_mb']:6.1f}x" if old else "     -"
        print(f"{n:>9,} {fmt:<8}{cell(old, 's', '8.1f')}{new['s']:8.1f}{rt}{cell(old, 'rss_mb', '9.0f')}"
              f"{new['rss_mb']:9.0f}{rm}  {check}")


if __name__ == "__main__":
    main()
