"""kill -9 a real run mid-way, resume it, and check that no key is lost, duplicated or recomputed."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

import overthink


@pytest.mark.slow
def test_kill_9_then_resume(tmp_path):
    calls = tmp_path / "calls.log"
    run_dir = tmp_path / "run"
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(f"""
model: stub:flat
tasks: [misleading-math, word-problems]
budgets: [0, 64, 256]
limit: 10
replicates: 2
concurrency: 4
model_options:
  stub:flat: {{delay_s: 0.02, call_log: "{calls}"}}
""")
    total = 2 * 10 * 3 * 2
    proc = subprocess.Popen([sys.executable, "-m", "overthink", "run", "--config", str(cfg), "--run-dir",
                             str(run_dir), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = run_dir / "overthink.sqlite"
    deadline = time.time() + 60
    done_before = 0
    while time.time() < deadline:
        if db.exists():
            try:
                done_before = sqlite3.connect(db).execute("SELECT COUNT(*) FROM samples").fetchone()[0]
            except sqlite3.OperationalError:
                done_before = 0
            if done_before >= total // 3:
                break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < done_before < total, "the run must be killed mid-way"

    con = sqlite3.connect(db)
    finished = {tuple(r[:-1]): r[-1] for r in con.execute(
        "SELECT task, item_id, budget, replicate, seed, created_at FROM samples")}
    con.close()
    calls_before = calls.read_text().splitlines()

    # through the API: what `overthink resume` does before its end-of-run summary and figure
    assert overthink.resume(run_dir, say=lambda line: None).exit_code == 0

    con = sqlite3.connect(db)
    rows = con.execute("SELECT task, item_id, budget, replicate, seed, created_at, attempts FROM samples").fetchall()
    keys = Counter((t, i, b, r) for t, i, b, r, *_ in rows)
    assert len(keys) == total and max(keys.values()) == 1  # every key exactly once
    for t, i, b, r, seed, created, attempts in rows:
        if (t, i, b, r, seed) in finished:  # samples committed before the kill are untouched
            assert created == finished[(t, i, b, r, seed)] and attempts == 1
    # The model was called again only for keys that had not finished (in-flight ones at the kill included).
    calls_after = Counter(calls.read_text().splitlines()[len(calls_before):])
    finished_calls = Counter(f"{seed} {b}" for (t, i, b, r, seed) in finished)
    assert not (set(calls_after) & set(finished_calls))
    assert sum(calls_after.values()) == total - len(finished)
