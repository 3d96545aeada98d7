"""Benchmark: building and exporting every report figure, this tree against another git revision (default: main).

Each figure kind of tests/test_figures_layout.py (curves, factors, ranks, probes, frontier, heatmap, trajectories)
at 1x1, 3x4, 10x1 and 10x8 models x tasks (tests/figure_fixtures.py), and the figures of a demo-sized report (one
stub model, one task, 24 items, budgets 0/64/256/1024), are built and saved with `figures.export` (PNG, PDF and the
inline SVG) in child processes, the old revision's `src` (from `git archive`) and this tree's taking turns. Printed:
the CPU of building and of exporting per figure kind, old and new side by side with the ratio, and whether every
SVG, PNG and PDF is byte-identical (SVG ids from a fixed salt, the PDF date from SOURCE_DATE_EPOCH); exits 1 if not.

Usage: python bench/bench_figure_build.py [--old main] [--repeats 1] [--sizes 1x1,3x4,10x1,10x8]
(--old: any revision, e.g. the commit before a change once it is merged; issue 25's numbers: --old 008e799)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("curves", "factors", "ranks", "probes", "frontier", "heatmap", "trajectories")


def _jobs(sizes: list[tuple[int, int]], run_dir: Path) -> list[tuple[str, str, object]]:
    """(kind, key, builder) for every figure: the grid of fixtures, then the demo report's figures. (Imports here:
    a child imports the overthink of the tree it times, the parent none.)"""
    sys.path.insert(0, str(ROOT / "tests"))
    import figure_fixtures as fx

    from overthink.report import drawing, html

    jobs = [(kind, f"{kind}-{m}x{t}", lambda f=fx.FIGURES[kind], m=m, t=t: f(m, t)) for kind in KINDS for m, t in sizes]
    with drawing.Drawer(None) as drawer:
        drawer.figures = dict  # record the report's figure jobs, draw none of them
        html.build_context([run_dir], None, n_boot=100, drawer=drawer)
        jobs += [("report", f"report-{name}", lambda b=builder, a=args: b(*a))
                 for name, (builder, args) in drawer.jobs.items()]
    return jobs


def child(sizes: list[tuple[int, int]], run_dir: Path, out: Path) -> None:
    """Build and export every figure with the overthink on sys.path; one JSON line per figure."""
    import matplotlib

    from overthink.report import figures

    matplotlib.rcParams["svg.hashsalt"] = "bench"
    jobs = _jobs(sizes, run_dir)
    figures.export(jobs[0][2](), None, "warm-up")  # fonts loaded and caches filled before anything is timed
    for kind, key, builder in jobs:
        started = time.process_time()
        fig = builder()
        built = time.process_time()
        svg = figures.export(fig, out, key)
        done = time.process_time()
        digest = hashlib.sha256(svg.encode())
        for fmt in ("png", "pdf"):
            digest.update((out / f"{key}.{fmt}").read_bytes())
        print(json.dumps({"kind": kind, "key": key, "build": built - started, "export": done - built,
                          "sha": digest.hexdigest()}), flush=True)


def _run_child(src: Path, sizes: str, run_dir: Path, out: Path) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(src), SOURCE_DATE_EPOCH="1700000000", MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, __file__, "--child", "--sizes", sizes, "--run-dir", str(run_dir),
                           "--out", str(out)], env=env, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", default="main", help="git revision to compare with")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--sizes", default="1x1,3x4,10x1,10x8")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [tuple(int(n) for n in s.split("x")) for s in args.sizes.split(",")]
    if args.child:
        child(sizes, args.run_dir, args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        archive = root / "old.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), args.old, "src"], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(root / "old", filter="data")
        trees = {"old": root / "old" / "src", "new": ROOT / "src"}
        run_dir = root / "run"
        subprocess.run([sys.executable, "-m", "overthink", "run", "--model", "stub:inverse", "--task",
                        "misleading-math", "--limit", "24", "--budgets", "0,64,256,1024", "--run-dir",
                        str(run_dir), "--quiet"], env=dict(os.environ, PYTHONPATH=str(trees["new"])),
                       check=True, capture_output=True)
        cpu: dict[tuple[str, str, str], float] = defaultdict(float)
        shas: dict[str, dict[str, str]] = {"old": {}, "new": {}}
        for r in range(args.repeats):
            for side in (("old", "new") if r % 2 == 0 else ("new", "old")):  # take turns: drift hits both
                for row in _run_child(trees[side], args.sizes, run_dir, root / side):
                    cpu[side, row["kind"], "build"] += row["build"] / args.repeats
                    cpu[side, row["kind"], "export"] += row["export"] / args.repeats
                    shas[side][row["key"]] = row["sha"]
    differ = sorted(k for k in shas["new"] if shas["new"][k] != shas["old"].get(k))
    print(f"figures at {args.sizes} (models x tasks) and a demo report's; CPU seconds per kind, mean of "
          f"{args.repeats} run(s), {args.old} -> this tree")
    print(f"{'kind':14s} {'build old':>9s} {'new':>6s} {'ratio':>6s}   {'export old':>10s} {'new':>6s} {'ratio':>6s}")
    total = defaultdict(float)
    for kind in (*KINDS, "report"):
        b_old, b_new = cpu["old", kind, "build"], cpu["new", kind, "build"]
        e_old, e_new = cpu["old", kind, "export"], cpu["new", kind, "export"]
        for k, v in (("bo", b_old), ("bn", b_new), ("eo", e_old), ("en", e_new)):
            total[k] += v
        print(f"{kind:14s} {b_old:9.2f} {b_new:6.2f} {b_old / b_new:5.2f}x   {e_old:10.2f} {e_new:6.2f} "
              f"{e_old / e_new:5.2f}x")
    print(f"{'all':14s} {total['bo']:9.2f} {total['bn']:6.2f} {total['bo'] / total['bn']:5.2f}x   "
          f"{total['eo']:10.2f} {total['en']:6.2f} {total['eo'] / total['en']:5.2f}x   build + export "
          f"{(total['bo'] + total['eo']) / (total['bn'] + total['en']):.2f}x")
    print(f"{len(shas['new'])} figures: SVG, PNG and PDF byte-identical: "
          f"{'yes' if not differ and shas['new'] else 'NO: ' + ', '.join(differ)}")
    return 1 if differ or not shas["new"] else 0


if __name__ == "__main__":
    sys.exit(main())
