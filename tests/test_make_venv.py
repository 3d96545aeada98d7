"""scripts/make_venv.py (`make venv`): the venv's interpreter is the fastest build of python3's version, measured;
`make PYTHON=...` uses that interpreter only; one that cannot make a venv is one clear error, exit 2."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_venv.py"
_spec = importlib.util.spec_from_file_location("make_venv", SCRIPT)
make_venv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_venv)


def test_a_real_probe_reads_the_interpreter():
    got = make_venv.probe(sys.executable)
    assert got["version"] == list(sys.version_info[:3]) and got["venv"] and got["seconds"] > 0
    assert make_venv.probe("/nonexistent/python") is None


def test_only_keeps_the_given_interpreter():
    assert make_venv.candidates(sys.executable, only=True) == [sys.executable]
    found = make_venv.candidates(sys.executable, only=False)
    assert found[0] == sys.executable and len({Path(p).resolve() for p in found}) == len(found)


def test_the_fastest_usable_build_of_the_same_version_comes_first(monkeypatch):
    seen = {"slow": ([3, 11, 7], 0.30, True), "fast": ([3, 11, 2], 0.20, True), "newer": ([3, 12, 1], 0.10, True),
            "no-venv": ([3, 11, 4], 0.05, False), "broken": None}
    calls = []

    def probe(path: str, timed: bool = True):
        calls.append(path)
        if seen[path] is None:
            return None
        version, seconds, venv = seen[path]
        return {"version": version, "seconds": seconds + 0.01 * calls.count(path), "venv": venv}

    monkeypatch.setattr(make_venv, "probe", probe)
    order = make_venv.ranked(["slow", "fast", "newer", "no-venv", "broken"])
    assert [p for p, _ in order] == ["fast", "slow"]  # 3.12 is another language version; no venv module: unusable
    assert order[0][1] == pytest.approx(0.21)  # the best of its rounds
    assert calls.count("slow") == make_venv.ROUNDS  # measured in turn, each ROUNDS times


def test_an_interpreter_that_cannot_make_a_venv_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "v"), "--python", "/nonexistent/python",
                           "--only"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("error: /nonexistent/python cannot make a virtual environment "
                                   "(Python >= 3.11 with venv needed)")
    assert not (tmp_path / "v").exists()
