"""`overthink run --until-decided` end to end against the local OpenAI-compatible server with a known truth
(tests/servers/truth.py): a run killed mid-round with a real signal and resumed reaches the uninterrupted run's
decisions, and the server never answers a finished sample twice."""

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from helpers import run_cli
from servers.fake_api import FakeAPI
from servers.truth import BUDGET_FIELD, KnownTruth

import overthink
from overthink.analysis.sequential import round_ends
from overthink.config import ExperimentConfig, build_config
from overthink.errors import ConfigError
from overthink.store import Store
from overthink.sweep import batch, start
from overthink.sweep.record import FLUSH_S
from overthink.sweep.sequential import check_config
from overthink.tasks import get_task

KEYS = {"OPENAI_API_KEY": "sk-openai-test-000"}
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.2, "timeout_s": 10, "max_attempts": 2}
BUDGETS = [128, 256, 512, 1024]
LIMIT = 60
EFFECTS = {"misleading-math": 0.6, "word-problems": 0.0}  # a strong inverse truth and a flat one


def _truth():
    tasks = {name: (get_task(name).items(n=LIMIT, seed=0), get_task(name), effect) for name, effect in EFFECTS.items()}
    return KnownTruth(tasks, BUDGETS), tasks


def _config(tmp_path, url):
    spec = f"openai-compatible:qwen3@{url}/v1"
    cfg = tmp_path / "seq.yaml"
    cfg.write_text(yaml.safe_dump({
        "models": [spec], "tasks": list(EFFECTS), "budgets": BUDGETS, "mechanism": "native", "limit": LIMIT,
        "concurrency": 4, "until_decided": True, "grace_s": 0,
        "model_options": {spec: {**FAST, "capabilities": {"budget_field": BUDGET_FIELD}}}}))
    return cfg


def _meta(run_dir):
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    try:
        value = con.execute("SELECT value FROM meta WHERE key = 'sequential'").fetchone()[0]
    finally:
        con.close()
    return json.loads(value)


def _finished(run_dir):
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    try:
        return con.execute("SELECT task, item_id, budget, seed FROM samples WHERE status != 'error'").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_killed_mid_round_then_resumed_reaches_the_same_decisions(tmp_path, monkeypatch):
    truth, tasks = _truth()
    api = FakeAPI().start()
    api.answer_for = truth
    api.delay_s = 0.01
    try:
        cfg = _config(tmp_path, api.url)
        ref_dir = tmp_path / "uninterrupted"  # through the API: the CLI's end-of-run figure is no part of this test
        monkeypatch.setenv("OPENAI_API_KEY", KEYS["OPENAI_API_KEY"])
        assert overthink.run(cfg, run_dir=str(ref_dir), say=lambda line: None).exit_code == 0
        res = run_cli("summary", str(ref_dir))
        assert "2 curves (task x model x mechanism) tested" in res.stdout
        reference = _meta(ref_dir)
        asked_by_reference = len(truth.asked)

        run_dir = tmp_path / "killed"
        proc = subprocess.Popen([sys.executable, "-m", "overthink", "run", "--config", str(cfg), "--run-dir",
                                 str(run_dir), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, **KEYS})
        ends = round_ends(LIMIT)  # the flat cell runs every round: kill it inside its third
        low, high = ends[1] * len(BUDGETS), ends[2] * len(BUDGETS)
        db = run_dir / "overthink.sqlite"
        deadline, n = time.time() + 120, 0
        while time.time() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    n = sqlite3.connect(db).execute(
                        "SELECT COUNT(*) FROM samples WHERE task = 'word-problems'").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
                if n > low + 8:
                    break
            time.sleep(0.01)
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert low < n < high, f"the kill must land inside round 3 ({low} < {n} < {high} samples)"
        finished = _finished(run_dir)
        mark = len(truth.asked)

        assert overthink.resume(run_dir, say=lambda line: None).exit_code == 0
    finally:
        api.stop()

    resumed = _meta(run_dir)
    assert [c["decision"] for c in reference["cells"]] == ["inverse", "undecided"]
    for a, b in zip(reference["cells"], resumed["cells"]):
        assert a == b  # decision, rounds, items, interval and every look
    assert (resumed["alpha"], resumed["flat_margin"]) == (0.05, 0.02)
    inverse = reference["cells"][0]
    assert inverse["items"] < LIMIT  # it stopped paying before the ceiling

    # no finished sample was asked for again after the kill
    prompt = {(name, item.id): task.render(item) for name, (items, task, _) in tasks.items() for item in items}
    done = {(prompt[(t, i)], int(b), int(s)) for t, i, b, s in finished}
    again = [key for key in truth.asked[mark:] if key in done]
    assert not again
    # The interrupted run paid beyond the uninterrupted one only for the requests in flight at the kill (at most
    # `concurrency` 4) and the answers it had received but not yet committed, which sweep/record.py bounds in time
    # (a batch commits FLUSH_S after its first sample; the slack is for an event loop slowed by a loaded machine).
    uncommitted = [at for key, at in zip(truth.asked[asked_by_reference:mark], truth.asked_at[asked_by_reference:mark])
                   if at <= killed_at and key not in done]
    assert all(killed_at - at < FLUSH_S + 1.0 for at in uncommitted), [killed_at - at for at in uncommitted]
    killed_total = len(truth.asked) - asked_by_reference
    assert asked_by_reference <= killed_total <= asked_by_reference + 4 + len(uncommitted)


def test_semantic_settings_of_a_sequential_run_are_refused_on_change(tmp_path):
    run_dir = tmp_path / "run"
    base = ["run", "-m", "stub:flat", "-t", "misleading-math", "--budgets", "0,64", "--limit", "10",
            "--until-decided", "--run-dir", str(run_dir), "--quiet"]
    res = run_cli(*base)
    assert res.returncode == 0, res.stderr
    assert "sequential misleading-math / stub:flat (forced)" in res.stdout
    res = run_cli(*base, "--alpha", "0.1")
    assert res.returncode == 2 and "alpha" in res.stderr and "Traceback" not in res.stderr
    stored = ExperimentConfig.model_validate(_config_of(run_dir))
    for change, word in (({"flat_margin": 0.05}, "flat_margin"), ({"limit": 20}, "limit"),
                         ({"until_decided": False}, "until_decided")):
        assert any(word in d for d in stored.model_copy(update=change).semantic_diff(stored))
    for bad, words in (({"natural": 3}, "--natural"), ({"budgets": [64]}, "two budgets")):
        cfg = build_config(None, {"models": ["stub:flat"], "tasks": ["misleading-math"], "until_decided": True,
                                  **bad})
        with pytest.raises(ConfigError, match=words):
            check_config(cfg, [get_task("misleading-math")])


def _config_of(run_dir):
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    try:
        return json.loads(con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
    finally:
        con.close()


def test_with_batch_apis_each_round_is_one_batch_and_a_killed_round_is_collected_not_resent(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-000")
    monkeypatch.setattr(batch, "POLL_S", 0.01)
    api = FakeAPI(batch_polls=3).start()
    try:
        spec = f"anthropic:claude-sonnet-4-20250514@{api.url}"
        cfg = build_config(None, dict(models=[spec], tasks=["misleading-math"], limit=30, budgets=[1024, 2048],
                                      mechanism="native", batch=True, until_decided=True,
                                      run_dir=str(tmp_path / "run"), model_options={spec: dict(FAST)}))

        async def killed_in_round_two(store):
            task = asyncio.ensure_future(start.run(cfg, store, progress=False))
            while not any(b["polls"] for b in list(api.batches.values())[1:]):  # round 2's batch is stored
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        with Store(cfg.run_dir) as store:
            asyncio.run(killed_in_round_two(store))
            assert len(store.open_batches()) == 1
        with Store(cfg.run_dir) as store:
            start.run_sync(cfg, store, progress=False)
            meta = store.get_meta("sequential")
    finally:
        api.stop()
    sizes = [len(b["requests"]) for b in api.batches.values()]
    ends = round_ends(30)
    cell = meta["cells"][0]
    assert sizes == [2 * n for n in np.diff([0, *ends[:cell["rounds"]]])]  # one batch per round, none resent
    assert len(api.billed) == len(set(api.billed)) == 2 * cell["items"]
