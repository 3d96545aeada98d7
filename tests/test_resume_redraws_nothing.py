"""A resume with nothing to do is quick (issue 27: under 3 s at 40,000 samples, bench/bench_resume.py): it neither
imports matplotlib nor redraws the run's curve figure, whose table did not change (report/stamps.py); a changed
table is drawn again."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from helpers import ROOT, run_cli

PROBE = ("import runpy, sys\n"
         "sys.argv = ['overthink', 'resume', sys.argv[1], '--quiet']\n"
         "try:\n    runpy.run_module('overthink', run_name='__main__', alter_sys=True)\n"
         "except SystemExit as e:\n    code = e.code\n"
         "print('MATPLOTLIB', 'matplotlib' in sys.modules, flush=True)\n")


def _resume(run_dir):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", PROBE, str(run_dir)], capture_output=True, text=True, env=env,
                          timeout=300)


def test_a_resume_with_nothing_to_do_redraws_nothing_and_a_changed_table_is_drawn(tmp_path):
    run_dir = tmp_path / "run"
    res = run_cli("run", "--model", "stub:inverse", "--task", "misleading-math", "--limit", "8", "--budgets",
                  "0,64,256", "--run-dir", str(run_dir), "--quiet")
    assert res.returncode == 0, res.stderr
    png = run_dir / "figures" / "curves.png"
    drawn = png.stat().st_mtime_ns

    res = _resume(run_dir)
    assert "nothing to do" in res.stderr and "MATPLOTLIB False" in res.stdout, res.stderr + res.stdout
    assert f"figure: {png}" in res.stdout.replace("\n", "")
    assert png.stat().st_mtime_ns == drawn

    with sqlite3.connect(run_dir / "overthink.sqlite") as con:  # a different table: e.g. a regraded answer
        con.execute("UPDATE samples SET score = 1 - score, correct = 1 - correct WHERE budget = 256")
    res = _resume(run_dir)
    assert "MATPLOTLIB True" in res.stdout, res.stderr + res.stdout
    assert png.stat().st_mtime_ns != drawn
