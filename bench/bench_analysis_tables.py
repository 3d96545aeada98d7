"""Benchmark (issue 27): CPU seconds of each analysis table of `analyze` that reads every sample - the enforcement
audit, token ledger, trajectories, flips, flip shares, trace probes, sweet spots, recommendations - at N samples,
side by side with another version of the code (`--against REF`), and whether both give the same tables.

The store is bench/bench_scale.py's (3 models x 4 tasks x 5 budgets x 2 replicates, reasoning text; built once
under --dir and reused, opened read-only here). Each version runs in its own process with PYTHONPATH pointed at
its src/ (REF is extracted with `git archive`, so no worktree is touched): it loads the runs once, imports
scipy.stats first (analyze imports it anyway; the first table to need it is not charged for it), then calls the
tables in analyze's order and times each with time.process_time (CPU; on a shared machine wall time grows with
the other processes' load, CPU time much less) and perf_counter. With --against, each table of the two versions
is compared (floats to 1e-12) and the line says `same` or what differs.

Usage:
  python bench/bench_analysis_tables.py --against HEAD~8                 # 1,000,000 samples
  python bench/bench_analysis_tables.py --samples 120000 --against main --tables trajectory_table,flip_shares
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TABLES = ("audit_table", "ledger_table", "trajectory_table", "flip_table", "flip_shares", "probe_table",
          "sweet_spot_table", "recommendation_table")


# -- one version, in its own process -------------------------------------------------------------------------------
def _child(store: Path, out: Path, tables: list[str]) -> None:
    import scipy.stats  # noqa: F401 - see the module docstring

    from overthink.analysis.audit import audit_table, ledger_table
    from overthink.analysis.curves import N_BOOT
    from overthink.analysis.efficiency import efficiency_table, scored_frame
    from overthink.analysis.load import load_runs
    from overthink.analysis.probes import probe_table
    from overthink.analysis.recommend import recommendation_table
    from overthink.analysis.sweetspot import sweet_spot_table
    from overthink.analysis.trajectories import flip_shares, flip_table, trajectory_table

    started = time.process_time()
    data = load_runs([store])
    s, metrics = data.samples, data.metrics()
    result: dict = {"load_cpu_s": time.process_time() - started, "samples": len(s), "tables": {}}
    produced: dict = {}

    def timed(name: str, call):
        wall, cpu = time.perf_counter(), time.process_time()
        value = call()
        result["tables"][name] = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
        produced[name] = value
        return value

    # in analyze's order, each on what analyze gives it; a table another one needs is made untimed when skipped
    audit = timed("audit_table", lambda: audit_table(s)) if "audit_table" in tables else None
    if "ledger_table" in tables:
        timed("ledger_table", lambda: ledger_table(s))
    needs_traj = {"trajectory_table", "flip_table", "flip_shares"} & set(tables)
    traj = None
    if needs_traj:
        traj = (timed("trajectory_table", lambda: trajectory_table(s, metrics)) if "trajectory_table" in tables
                else trajectory_table(s, metrics))
    if "flip_table" in tables:
        timed("flip_table", lambda: flip_table(traj, data.items, data.runs))
    if "flip_shares" in tables:
        timed("flip_shares", lambda: flip_shares(traj, n_boot=N_BOOT))
    if "probe_table" in tables:
        timed("probe_table", lambda: probe_table(s, data.items, data.runs, per_group=2000))
    if "sweet_spot_table" in tables:
        controlled = s[s["budget"].astype(str) != "natural"]
        timed("sweet_spot_table", lambda: sweet_spot_table(controlled, metrics, n_boot=N_BOOT))
    if "recommendation_table" in tables:
        scored = scored_frame(s, metrics)  # the efficiency tables belong to efficiency.py: made, not timed
        table = efficiency_table(s, metrics, scored=scored)
        audit = audit if audit is not None else audit_table(s)
        timed("recommendation_table", lambda: recommendation_table(scored, table, audit))
        produced["efficiency_with_on_frontier"] = table
    import resource

    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(out, "wb") as f:
        pickle.dump(produced, f, protocol=5)
    print("BENCH-RESULT " + json.dumps(result), flush=True)


# -- the driver ----------------------------------------------------------------------------------------------------
def _run(src: Path, store: Path, out: Path, tables: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("PYTHONSTARTUP", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--store", str(store), "--out", str(out),
           "--tables", ",".join(tables)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    raise SystemExit(f"{src}: exit {proc.returncode}\n{proc.stderr[-3000:]}")


def _same(a, b) -> str:
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12)
    except AssertionError as exc:
        return "DIFFERENT: " + " ".join(str(exc).split())[:150]
    return "same"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "overthink-bench-scale")
    ap.add_argument("--against", default=None, help="a git ref to compare with (e.g. HEAD~8, main)")
    ap.add_argument("--tables", default=",".join(TABLES))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    tables = [t for t in args.tables.split(",") if t]
    if unknown := set(tables) - set(TABLES):
        raise SystemExit(f"unknown table(s) {', '.join(sorted(unknown))}; tables: {', '.join(TABLES)}")
    if args.child:
        _child(args.store, args.out, tables)
        return
    sys.path.insert(0, str(HERE))
    from bench_scale import build

    store = build(args.samples, args.dir)
    work = Path(tempfile.mkdtemp(prefix="overthink-bench-tables-"))
    trees = [("this tree", REPO / "src")]
    if args.against:
        ref = work / "ref"
        ref.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.against, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(ref)], input=archive, check=True)
        trees.append((args.against, ref / "src"))
    results = {}
    for label, src in trees:
        results[label] = _run(src, store, work / f"{label.replace(' ', '-').replace('/', '-')}.pkl", tables)
        r = results[label]
        print(f"{label:>12}: loaded {r['samples']:,} samples (load {r['load_cpu_s']:.1f}s CPU), peak RSS "
              f"{r['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    same = {}
    if args.against:
        with open(work / "this-tree.pkl", "rb") as f:
            mine = pickle.load(f)
        with open(work / f"{args.against.replace('/', '-')}.pkl", "rb") as f:
            theirs = pickle.load(f)
        same = {k: _same(mine[k], theirs[k]) for k in mine if k in theirs}
    print(f"\n{results['this tree']['samples']:,} samples ({store}); seconds of CPU (wall), one process per version")
    head = f"{'table':<22} {'this tree':>16}"
    if args.against:
        head += f" {args.against:>16} {'ratio cpu':>9}  tables"
    print(head)
    total = {label: 0.0 for label, _ in trees}
    for name in tables:
        a = results["this tree"]["tables"].get(name)
        if a is None:
            continue
        total["this tree"] += a["cpu_s"]
        line = f"{name:<22} {a['cpu_s']:>7.2f} ({a['wall_s']:>6.2f})"
        if args.against:
            b = results[args.against]["tables"][name]
            total[args.against] += b["cpu_s"]
            ratio = b["cpu_s"] / max(a["cpu_s"], 1e-9)
            line += f" {b['cpu_s']:>7.2f} ({b['wall_s']:>6.2f}) {ratio:>9.1f}  {same[name]}"
        print(line)
    line = f"{'total':<22} {total['this tree']:>7.2f} {'':>8}"
    if args.against:
        line += f" {total[args.against]:>7.2f} {'':>8} {total[args.against] / max(total['this tree'], 1e-9):>9.1f}"
        if "efficiency_with_on_frontier" in same:
            line += f"  on_frontier: {same['efficiency_with_on_frontier']}"
    print(line)
    print(json.dumps({"against": args.against, "results": results, "same": same}))


if __name__ == "__main__":
    main()
