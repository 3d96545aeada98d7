"""Benchmark (issue 27): `overthink resume` of a finished 40,000-sample run, which has nothing to do.

Target: under 3 s. The run (stub:inverse, misleading-math, 2,000 items x 5 budgets x 4 replicates) is made once by
`overthink run` and kept under --dir. Each timing is a fresh `overthink resume RUN --quiet` process (what a user
types: interpreter start, imports, the plan against the stored samples, the summary table and its figure), the best
of --repeats, wall and CPU (user + system of the child). `--against REF` times the same with that version of the
code (a `git worktree add --detach`, PYTHONPATH at its src/) on the same run made by that version (an older store
schema cannot read a newer store), side by side, with the ratio.

Usage: python bench/bench_resume.py [--samples 40000] [--against REF] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGETS = "0,64,256,1024,4096"
REPLICATES = 4


def build(root: Path, samples: int, src: Path, label: str = "") -> Path:
    run_dir = root / f"resume-{samples}{label}"
    if (run_dir / "overthink.sqlite").is_file():
        return run_dir
    shutil.rmtree(run_dir, ignore_errors=True)
    limit = max(1, samples // (len(BUDGETS.split(",")) * REPLICATES))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "overthink", "run", "--model", "stub:inverse", "--task", "misleading-math",
                    "--limit", str(limit), "--budgets", BUDGETS, "--replicates", str(REPLICATES), "--run-dir",
                    str(run_dir), "--quiet"], env=_env(src), check=True, capture_output=True)
    print(f"run: {limit * len(BUDGETS.split(',')) * REPLICATES:,} samples in {time.perf_counter() - started:.0f}s",
          file=sys.stderr)
    return run_dir


def _env(src: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("PYTHONSTARTUP", None)
    return env


def timed(src: Path, run_dir: Path, repeats: int) -> tuple[float, float]:
    """Best wall and CPU seconds of `overthink resume` over `repeats` fresh processes."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "overthink", "resume", str(run_dir), "--quiet"],
                              env=_env(src), capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0 or "nothing to do" not in proc.stderr:
            raise SystemExit(f"resume failed or had work to do: {proc.stderr[-500:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=40_000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "overthink-bench-resume")
    ap.add_argument("--against", default=None, help="a git ref to time side by side")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    run_dir = build(args.dir, args.samples, REPO / "src")
    rows = [("this tree", *timed(REPO / "src", run_dir, args.repeats))]
    if args.against:
        other = Path(tempfile.mkdtemp(prefix="overthink-against-"))
        theirs = args.dir / f"resume-{args.samples}-against"
        try:
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), args.against],
                           check=True, capture_output=True)
            # the same run made by that version (an older store schema is not readable the other way round)
            shutil.rmtree(theirs, ignore_errors=True)
            build(args.dir, args.samples, other / "src", "-against")
            rows.append((args.against, *timed(other / "src", theirs, args.repeats)))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], capture_output=True)
            shutil.rmtree(theirs, ignore_errors=True)
    print(f"`overthink resume` of a finished run of {args.samples:,} samples (best of {args.repeats}; target < 3 s)")
    for label, wall, cpu in rows:
        print(f"{label:>12}  wall {wall:6.2f} s  cpu {cpu:6.2f} s")
    if len(rows) == 2:
        print(f"{'ratio':>12}  wall {rows[1][1] / rows[0][1]:6.1f} x  cpu {rows[1][2] / rows[0][2]:6.1f} x  "
              f"({args.against} / this tree)")


if __name__ == "__main__":
    main()
