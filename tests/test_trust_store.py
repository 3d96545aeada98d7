"""Issue 26, points 1, 3, 4, 6 and 7b: a store error stops the spending, readers never write, bad run dirs and stored
values are one line, signals stop retries and the end-of-run work, hung servers stop the run. Real tmpfs mounts,
real second processes, real signals, the real OpenAI SDK against the local wire-format server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from helpers import run_cli
from servers.fake_api import FakeAPI
from store_mounts import fill, grow, small_disk

KEY = {"OPENAI_API_KEY": "sk-openai-test-26"}
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "max_attempts": 6, "timeout_s": 20}


@pytest.fixture()
def api():
    server = FakeAPI().start()
    yield server
    server.stop()


def openai_config(tmp_path: Path, url: str, *, limit: int = 60, budgets: str = "0, 1024, 4096",
                  concurrency: int = 8, options: dict | None = None) -> Path:
    spec = f"openai:gpt-5.1@{url}/v1"
    path = tmp_path / "exp.yaml"
    path.write_text(f"""
model: "{spec}"
task: misleading-math
budgets: [{budgets}]
mechanism: native
limit: {limit}
concurrency: {concurrency}
model_options:
  "{spec}": {json.dumps({**FAST, **(options or {})})}
""")
    return path


def sent_keys(api: FakeAPI, since: int = 0) -> Counter:
    """Each answered generation as (prompt, output cap): one sample key of this one-model, one-replicate run."""
    keys: Counter = Counter()
    for entry in api.log[since:]:
        if entry["path"] == "/v1/chat/completions" and entry["body"]:
            body = entry["body"]
            keys[(body["messages"][-1]["content"], body["max_completion_tokens"])] += 1
    return keys


def stored(run_dir: Path) -> int:
    con = sqlite3.connect(f"file:{run_dir / 'overthink.sqlite'}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM samples WHERE status != 'error'").fetchone()[0]
    finally:
        con.close()


def one_line(res, code: int = 2) -> str:
    assert res.returncode == code, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    lines = [x for x in res.stderr.splitlines() if x.strip() and not x.startswith("run dir:")]
    assert len(lines) == 1, res.stderr
    return lines[0]


# -- 1. a full disk stops the spending --------------------------------------------------------------------------------
def test_full_disk_stops_sending_and_resume_never_pays_a_finished_sample_twice(tmp_path, api):
    """A 600 KB tmpfs fills mid-run at concurrency 8: the run exits 2 with the one disk-full line (no "Exception in
    callback"), the server answered at most 2 x concurrency requests that were not stored, and once the disk is
    grown `resume` sends only the samples that were not stored."""
    api.faults.extend({"path": "/v1/chat/completions", "sleep": 0.01} for _ in range(10_000))
    cfg = openai_config(tmp_path, api.url)
    with small_disk(tmp_path / "disk", "600k") as disk:
        run_dir = disk / "run"
        res = run_cli("run", "--config", str(cfg), "--run-dir", str(run_dir), "--quiet", env=KEY)
        line = one_line(res)
        assert "disk is full" in line and str(run_dir / "overthink.sqlite") in line
        first = sent_keys(api)
        kept = stored(run_dir)
        assert 0 < kept < 180
        assert sum(first.values()) - kept <= 16, (sum(first.values()), kept)  # stopped within 2 x concurrency
        fill(disk)
        res = run_cli("resume", str(run_dir), "--quiet", env=KEY)  # the disk is still full
        line = one_line(res)
        assert "disk is full" in line and str(run_dir) in line
        assert sum(sent_keys(api).values()) == sum(first.values())  # nothing sent
        (disk / "filler").unlink()
        grow(disk, "8m")
        con = sqlite3.connect(f"file:{run_dir / 'overthink.sqlite'}?mode=ro", uri=True)
        done = {(p, b) for p, b in con.execute("SELECT i.prompt, s.budget FROM samples s JOIN items i USING "
                                                "(task, item_id) WHERE s.status != 'error'")}
        con.close()
        before = len(api.log)
        res = run_cli("resume", str(run_dir), "--quiet", env=KEY)
        assert res.returncode == 0, res.stderr
        again = sent_keys(api, before)
        assert stored(run_dir) == 180
    # resume sent each sample once and only the unstored ones: 180 - kept distinct requests made 180 stored
    assert max(again.values()) == 1 and sum(again.values()) == 180 - kept
