"""What the test suite saves by running CLI commands in process (tests/helpers.run_cli) instead of one subprocess
per command (tests/helpers.run_process): the same commands both ways, alternating, in one run; the same exit code
and output are checked each time.

    python bench/bench_test_cli.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]

from helpers import run_cli, run_process  # noqa: E402  (tests/ on the path first)


def commands(run_dir: Path, cfg: Path) -> dict[str, list[str]]:
    """Each command's arguments; `run_dir` is new for each call (the run writes into it)."""
    return {"tasks list": ["tasks", "list"],
            "estimate (a preset)": ["estimate", str(ROOT / "presets" / "paper-claude.yaml")],
            "run (stub, 12 samples)": ["run", "-m", "stub:inverse", "-t", "misleading-math", "--budgets", "0,64",
                                       "--limit", "6", "--run-dir", str(run_dir / "new"), "--quiet"],
            "summary": ["summary", str(run_dir.parent / "base")],
            "a refused config (exit 2)": ["run", "--config", str(cfg), "--run-dir", str(run_dir / "bad")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        os.environ["OVERTHINK_HOME"] = str(base / "home")
        cfg = base / "bad.yaml"
        cfg.write_text("models: [stub:inverse]\ntasks: [misleading-math]\nbudgets: [-5]\n")
        assert run_cli("run", "-m", "stub:inverse", "-t", "misleading-math", "--budgets", "0,64", "--limit", "4",
                       "--run-dir", str(base / "base"), "--quiet").returncode == 0
        run_cli("tasks", "list")  # imports done once, as in a test session
        times: dict[str, dict[str, list[float]]] = {}
        for r in range(args.rounds):
            for name in commands(base, cfg):
                got = {}
                for how, call in (("subprocess", run_process), ("in process", run_cli)):
                    own = base / f"{r}-{how.replace(' ', '_')}"
                    argv = commands(own, cfg)[name]
                    start = time.perf_counter()
                    res = call(*argv)
                    times.setdefault(name, {}).setdefault(how, []).append(time.perf_counter() - start)
                    got[how] = (res.returncode, res.stdout.replace(str(own), "RUN").strip().splitlines()[-1:])
                assert got["subprocess"] == got["in process"], (name, got)
    print(f"{'command':28s} {'subprocess':>11s} {'in process':>11s} {'ratio':>7s}"
          f"   (median of {args.rounds} rounds, s)")
    total = {"subprocess": 0.0, "in process": 0.0}
    for name, by in times.items():
        sub, inp = statistics.median(by["subprocess"]), statistics.median(by["in process"])
        total["subprocess"] += sub
        total["in process"] += inp
        print(f"{name:28s} {sub:11.2f} {inp:11.2f} {sub / inp:6.1f}x")
    print(f"{'all':28s} {total['subprocess']:11.2f} {total['in process']:11.2f} "
          f"{total['subprocess'] / total['in process']:6.1f}x   load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
