"""Create the project's virtual environment (`make venv`, `make demo`, `make test`) with the fastest build of this
machine's Python.

Why: one CPython version runs pure-Python code at quite different speeds depending on how it was built. pyenv's
default build (a shared libpython, no profile-guided optimisation) ran the test suite with ~14 % more CPU than
Debian's /usr/bin/python3.11 (PGO + LTO, static) on the same machine, and a short loop ~30 % slower
(docs/development.md). Build flags do not reliably show PGO, so the choice is measured: every candidate runs the
same short pure-Python loop, in turn, ROUNDS times, and the best time of each decides.

Candidates: `python3` (or --python) and the interpreters of the same minor version at the usual places
(/usr/bin, /usr/local/bin, PATH): the same language and the same wheels, only a faster build. `make PYTHON=...`
passes --python and --only: that interpreter and no other. An interpreter without ensurepip (Debian's, unless
python3-venv is installed) gets its venv --without-pip and pip from the interpreter running this script (pip's
--python option, pip >= 22.3); when that fails too, the next candidate is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROUNDS = 3
MINIMUM = (3, 11)  # pyproject.toml requires-python
PROBE = r"""
import importlib.util, json, sys, time
def work():
    d = {}
    for i in range(300_000):
        d[i % 997] = d.get(i % 997, 0) + i
    class A:
        def __init__(self, x): self.x = x
        def twice(self): return self.x * 2
    return sum(A(i).twice() for i in range(100_000)) + len(sorted(str(i) for i in range(50_000)))
t = time.process_time()
if sys.argv[1:] != ["untimed"]:
    work()
print(json.dumps({"version": list(sys.version_info[:3]), "executable": sys.executable,
                  "seconds": time.process_time() - t, "venv": importlib.util.find_spec("venv") is not None,
                  "ensurepip": importlib.util.find_spec("ensurepip") is not None}))
"""


def candidates(python: str, only: bool) -> list[str]:
    """`python` first, then the other interpreters of its minor version (distinct real files)."""
    first = shutil.which(python) or python
    out = [first]
    if not only:
        minor = probe(first, timed=False)
        if minor is not None:
            name = f"python{minor['version'][0]}.{minor['version'][1]}"
            places = [shutil.which(name), f"/usr/bin/{name}", f"/usr/local/bin/{name}", "/usr/bin/python3"]
            out += [p for p in places if p and os.access(p, os.X_OK)]
    seen, unique = set(), []
    for path in out:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append(path)
    return unique


def probe(python: str, timed: bool = True) -> dict | None:
    """The interpreter's version, its venv / ensurepip modules and the loop's CPU seconds; None if it cannot run."""
    try:
        done = subprocess.run([python, "-c", PROBE, *([] if timed else ["untimed"])],
                              capture_output=True, text=True, timeout=120)
        return json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None


def ranked(paths: list[str]) -> list[tuple[str, float]]:
    """The usable candidates (the same minor version as the first, >= MINIMUM, with venv), fastest first."""
    best: dict[str, float] = {}
    info: dict[str, dict] = {}
    for _ in range(ROUNDS if len(paths) > 1 else 1):
        for path in paths:
            got = probe(path)
            if got is None:
                continue
            info[path] = got
            best[path] = min(best.get(path, float("inf")), got["seconds"])
    want = info.get(paths[0], {}).get("version", [0, 0])[:2]
    usable = [p for p in best if tuple(info[p]["version"][:2]) >= MINIMUM and info[p]["venv"]
              and info[p]["version"][:2] == want]
    return sorted(((p, best[p]) for p in usable), key=lambda pair: (pair[1], paths.index(pair[0])))


def make(python: str, venv: Path) -> bool:
    """A venv with pip from `python`; False (nothing left behind) when it cannot be made."""
    plain = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True)
    if plain.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        bare = subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True)
        pip = bare.returncode == 0 and subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "pip"],
            capture_output=True, text=True).returncode == 0
        if not pip:
            shutil.rmtree(venv, ignore_errors=True)
            return False
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade",
                           "pip"]).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("venv", type=Path)
    parser.add_argument("--python", default="python3")
    parser.add_argument("--only", action="store_true", help="use --python and no other interpreter")
    args = parser.parse_args()
    order = ranked(candidates(args.python, args.only))
    if not order:
        print(f"error: {args.python} cannot make a virtual environment (Python >= 3.11 with venv needed)",
              file=sys.stderr)
        return 2
    if len(order) > 1:
        print("interpreters (CPU seconds of one pure-Python loop, best of 3): "
              + ", ".join(f"{p} {s:.2f} s" for p, s in order))
    for path, _seconds in order:
        if make(path, args.venv):
            print(f"{args.venv}: made with {path}")
            return 0
        print(f"note: {path} could not make {args.venv}; trying the next interpreter", file=sys.stderr)
    print(f"error: no interpreter could make {args.venv}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
