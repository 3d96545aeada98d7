"""Benchmark: saving the HTML report's figures (PNG, PDF and the inline SVG, `figures.export`) once laid out.

`figures.freeze` lays a figure out and then leaves no layout engine on it. matplotlib's `set_layout_engine("none")`
(what freeze did before) leaves a placeholder engine instead, and savefig then runs one whole layout draw before
each format it saves, which changes nothing. This builds every figure of the report of a small stub run twice, saves
one copy each way in this process, and prints the CPU of the saves side by side, with the ratio; the files and the
SVG must be byte-identical (else it exits 1).

Usage: python bench/bench_figure_save.py [--limit 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

import overthink
from overthink.report import drawing, figures, html


def _figures(run_dir: Path) -> list[tuple[str, drawing.Builder, tuple]]:
    """The report's figure jobs (builder and tables), as build_context hands them to its Drawer."""
    with drawing.Drawer(None) as drawer:
        drawer.figures = dict  # record the jobs, draw none of them
        html.build_context([run_dir], None, n_boot=100, drawer=drawer)
        return [(name, builder, args) for name, (builder, args) in drawer.jobs.items()]


def _save(fig, out: Path, name: str, placeholder: bool) -> tuple[float, str]:
    if placeholder:  # the engine freeze left before: matplotlib's "none" placeholder
        fig.set_layout_engine(matplotlib.layout_engine.PlaceHolderLayoutEngine(False, False))
    started = time.process_time()
    svg = figures.export(fig, out, name)
    took = time.process_time() - started
    digest = hashlib.sha256(svg.encode())
    for fmt in ("png", "pdf"):
        digest.update((out / f"{name}.{fmt}").read_bytes())
    return took, digest.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    matplotlib.rcParams["svg.hashsalt"] = "bench"  # SVG ids from a fixed salt and a fixed PDF date: the two saves
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"  # of a figure can be compared byte for byte
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run = overthink.run({"models": ["stub:inverse", "stub:flat"], "tasks": ["misleading-math", "word-problems"],
                             "budgets": [0, 64, 256, 1024], "limit": args.limit, "run_dir": str(root / "run")},
                            say=lambda line: None).run_dir
        jobs = _figures(run)
        totals = {False: 0.0, True: 0.0}
        same = True
        for name, builder, tables in jobs:
            for _ in range(args.repeats):
                got = {}
                for placeholder in (True, False):
                    took, digest = _save(builder(*tables), root / str(placeholder), name, placeholder)
                    totals[placeholder] += took
                    got[placeholder] = digest
                same &= got[True] == got[False]
    old, new = totals[True], totals[False]
    print(f"{len(jobs)} figures x {args.repeats}: save CPU placeholder engine {old:.2f} s, no engine {new:.2f} s, "
          f"ratio {old / new:.2f}x; files and SVG identical: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
