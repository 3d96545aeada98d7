"""How fast the command line starts (issue 16): `overthink --version` and `--help` against a bare interpreter,
alternating, as subprocesses; plus the import time of `overthink.cli` that `python -X importtime` reports.
Target: well under 0.3 s of imports for --help / --version.

    python bench/bench_cli_start.py [--rounds 7] [--against SRC]

--against SRC times the same commands from another source tree (e.g. an older checkout's src) in the same rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {"python -c pass": ["-c", "pass"],
            # the floor: typer and the rich help renderer it imports for any --help (rich.markdown, rich.traceback)
            "typer + rich help": ["-c", "import typer.main, typer.rich_utils"],
            "overthink --version": ["-m", "overthink", "--version"],
            "overthink --help": ["-m", "overthink", "--help"], "overthink run --help": ["-m", "overthink", "run",
                                                                                      "--help"]}


def _env(src: Path = ROOT / "src") -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode cached
    return env


def wall(args: list[str], src: Path = ROOT / "src") -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=_env(src), capture_output=True, check=True)
    return time.perf_counter() - start


def import_ms(args: list[str], src: Path = ROOT / "src", runs: int = 5) -> float:
    """Median over `runs` of the top-level imports' summed cumulative times (-X importtime's microseconds), in ms."""
    return statistics.median(_import_ms(args, src) for _ in range(runs))


def _import_ms(args: list[str], src: Path) -> float:
    done = subprocess.run([sys.executable, "-X", "importtime", *args], env=_env(src), capture_output=True,
                          text=True, check=True)
    total = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # depth 0: " name"
            total += int(cumulative)
    return total / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--against", type=Path, metavar="SRC", help="also time this source tree in the same rounds")
    opts = ap.parse_args()
    trees = {"this tree": ROOT / "src"} | ({"against": opts.against} if opts.against else {})
    jobs = [(name, tree) for name in COMMANDS for tree in (trees if name.startswith("overthink") else ["this tree"])]
    for name, tree in jobs:
        wall(COMMANDS[name], trees[tree])  # warm the bytecode and the page cache
    times: dict[tuple[str, str], list[float]] = {job: [] for job in jobs}
    for r in range(opts.rounds):
        for name, tree in (jobs if r % 2 == 0 else jobs[::-1]):
            times[(name, tree)].append(wall(COMMANDS[name], trees[tree]))
    base = statistics.median(times[("python -c pass", "this tree")])
    print(f"{'command':<22} {'tree':<10} {'wall s (median)':>16} {'minus bare python':>18} {'imports ms':>11}")
    for name, tree in jobs:
        med = statistics.median(times[(name, tree)])
        print(f"{name:<22} {tree:<10} {med:>16.3f} {med - base:>18.3f} "
              f"{import_ms(COMMANDS[name], trees[tree]):>11.0f}")
    print(f"imports of overthink --help: {import_ms(COMMANDS['overthink --help']):.0f} ms (target < 300 ms;"
          f" typer and its rich help renderer alone: {import_ms(COMMANDS['typer + rich help']):.0f} ms)")


if __name__ == "__main__":
    main()
