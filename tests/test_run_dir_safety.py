"""Paid once, stopped clearly (issue 11): one writer per run dir (real second processes), SIGINT / SIGTERM store
the answers in flight (real signals to a real run against the slow local wire-format server), budgets refused
before any request, non-retryable failures and unreachable servers stop the run with one line and a non-zero exit,
HTTP attempts and the successful attempt's time recorded, provenance shown by `summary`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import run_cli
from servers.fake_api import FakeAPI

from overthink.budget import MAX_BUDGET
from overthink.store.lock import RunDirLocked, RunLock, holder

KEY = {"ANTHROPIC_API_KEY": "sk-ant-test-key-000", "OPENAI_API_KEY": "sk-openai-test-000"}
SPEC = "anthropic:claude-sonnet-4-20250514"
# The tests with second processes run OpenAI's wire format: each process imports its provider's SDK, and the openai
# one imports in well under half the CPU of the anthropic one (about 1.4 s against 3.3 s on a loaded machine).
OPENAI_SPEC, CHAT = "openai:gpt-5.1", "/v1/chat/completions"
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.1, "max_attempts": 2, "timeout_s": 20}


@pytest.fixture()
def api():
    server = FakeAPI().start()
    yield server
    server.stop()


def config(tmp_path: Path, url: str, *, limit: int = 6, budgets: str = "0, 1024", seed: int = 0,
           concurrency: int = 2, options: dict | None = None, name: str = "exp.yaml", sdk: str = "anthropic") -> Path:
    spec = f"{SPEC}@{url}" if sdk == "anthropic" else f"{OPENAI_SPEC}@{url}/v1"
    path = tmp_path / name
    path.write_text(f"""
model: "{spec}"
task: misleading-math
budgets: [{budgets}]
mechanism: native
limit: {limit}
seed: {seed}
concurrency: {concurrency}
model_options:
  "{spec}": {json.dumps({**FAST, **(options or {})})}
""")
    return path


def start(cfg: Path, run_dir: Path, *extra: str, cmd: str = "run") -> subprocess.Popen:
    args = ["run", "--config", str(cfg), "--run-dir", str(run_dir)] if cmd == "run" else ["resume", str(run_dir)]
    return subprocess.Popen([sys.executable, "-m", "overthink", *args, "--quiet", *extra], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **KEY})


def wait_for(cond, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def samples(run_dir: Path, where: str = "") -> list[tuple]:
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    try:
        return con.execute(f"SELECT item_id, budget, status, seed, attempts, metadata FROM samples {where}").fetchall()
    finally:
        con.close()


def slow(api: FakeAPI, seconds: float, n: int = 200) -> None:
    api.faults.extend({"path": CHAT, "sleep": seconds} for _ in range(n))


# -- one writer ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_second_writer_is_refused_at_once_and_readers_keep_working(tmp_path, api):
    slow(api, 1.0)
    cfg, run_dir = config(tmp_path, api.url, limit=40, sdk="openai"), tmp_path / "run"  # 40 s of work: still running
    first = start(cfg, run_dir)
    wait_for(lambda: len(api.log) >= 2)
    for cmd in ("run", "resume"):
        t0 = time.time()
        res = run_cli(*(["run", "--config", str(cfg), "--run-dir", str(run_dir)] if cmd == "run"
                        else ["resume", str(run_dir)]), "--quiet", env=KEY)
        assert res.returncode == 2, res.stderr
        assert time.time() - t0 < 20
        err = res.stderr
        assert f"pid {first.pid}" in err and f"host {socket.gethostname()}" in err and "started 20" in err
        assert f"kill {first.pid}" in err and "Traceback" not in err
    readers = (["summary", str(run_dir)], ["export", str(run_dir)],
               ["report", str(run_dir), "--out", str(tmp_path / "report.html"), "--n-boot", "100"])
    for reader in readers:  # readers work during the run
        res = run_cli(*reader)
        assert res.returncode == 0, res.stderr
    info = holder(run_dir)
    assert info is not None and info["pid"] == first.pid and first.poll() is None  # still running
    first.send_signal(signal.SIGTERM)  # (the rest is not needed)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 143, err
    assert holder(run_dir) is None
    rows = samples(run_dir)
    assert 0 < len(rows) == len(api.billed) == len(api.log) < 80  # each request sent once, by one writer


@pytest.mark.slow
def test_two_fresh_runs_with_different_seeds_get_one_writer(tmp_path, api):
    slow(api, 0.2)
    run_dir = tmp_path / "run"
    # one budget (12 items): the winner's end-of-run summary has no curve to draw; the lock is what is tested
    procs = {s: start(config(tmp_path, api.url, seed=s, limit=12, budgets="0", name=f"s{s}.yaml", sdk="openai"),
                      run_dir) for s in (1, 2)}
    codes = {s: p.wait(timeout=120) for s, p in procs.items()}
    assert sorted(codes.values()) == [0, 2]
    winner = next(s for s, c in codes.items() if c == 0)
    assert "being written by another overthink process" in procs[3 - winner].stderr.read()
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
    rows = con.execute("SELECT DISTINCT run_id FROM samples").fetchall()
    con.close()
    assert meta["config"]["seed"] == winner and len(meta["sessions"]) == 1  # the winner's config, alone
    assert rows == [(meta["run_id"],)] and len(api.billed) == 12


@pytest.mark.slow
def test_a_dead_writers_lock_is_taken_over(tmp_path, api):
    slow(api, 0.3)
    cfg, run_dir = config(tmp_path, api.url, limit=12, budgets="0", sdk="openai"), tmp_path / "run"  # (no curve)
    first = start(cfg, run_dir)
    wait_for(lambda: (run_dir / "overthink.sqlite").exists() and len(api.billed) >= 3)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert holder(run_dir) is None  # the kernel dropped the dead process's flock
    assert run_cli("summary", str(run_dir)).stdout.count("killed") == 1
    res = run_cli("resume", str(run_dir), "--quiet", env=KEY)
    assert res.returncode == 0, res.stderr
    assert f"took over the lock of a writer that is gone (pid {first.pid}" in res.stderr
    assert len(samples(run_dir)) == 12


def test_lock_in_process_refuses_a_second_holder(tmp_path):
    with RunLock(tmp_path):
        code = ("from overthink.store.lock import RunLock\nimport sys\n"
                f"try:\n    RunLock({str(tmp_path)!r}).acquire()\nexcept Exception as e:\n    print(type(e).__name__)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == RunDirLocked.__name__
    RunLock(tmp_path).acquire().release()  # free again once released


# -- signals ------------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stores_every_answer_in_flight(tmp_path, api, sig, code):
    slow(api, 1.5)
    cfg, run_dir = config(tmp_path, api.url, limit=8, concurrency=4, sdk="openai"), tmp_path / "run"
    proc = start(cfg, run_dir)
    wait_for(lambda: len(api.log) >= 4)  # four requests in flight, none answered yet
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    name = signal.Signals(sig).name
    assert f"{name}: sending no new requests" in err and f"overthink resume {run_dir}" in err
    rows = samples(run_dir)
    assert len(api.billed) >= 4
    assert len(rows) == len(api.billed)  # every request the server answered is stored
    assert all(r[2] == "ok" for r in rows) and len(rows) < 16
    found = re.search(r"(\d+) of them answered after the signal by the (\d+) request", err)
    stored, at_signal = map(int, found.groups())
    assert stored == at_signal >= 1
    assert "interrupted" in run_cli("summary", str(run_dir)).stdout


@pytest.mark.slow
def test_the_grace_period_is_bounded_and_a_second_signal_exits_at_once(tmp_path, api):
    slow(api, 30, n=8)
    cfg, run_dir = config(tmp_path, api.url, limit=2, concurrency=2, sdk="openai"), tmp_path / "run"
    proc = start(cfg, run_dir, "--grace-s", "1")
    wait_for(lambda: len(api.log) >= 2)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and time.time() - t0 < 15, err
    assert "2 still unanswered after the grace period were not stored" in err

    proc = start(cfg, run_dir, cmd="resume")  # grace 30 s: the second signal must not wait for it
    wait_for(lambda: len(api.log) >= 4)
    proc.send_signal(signal.SIGTERM)
    said: list[str] = []  # two signals sent at once may arrive as one: the second goes once the first is handled
    threading.Thread(target=lambda: [said.append(line) for line in proc.stderr], daemon=True).start()
    wait_for(lambda: any("SIGTERM: sending no new requests" in line for line in said))
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert proc.returncode == 143 and time.time() - t0 < 10, said
    wait_for(lambda: any("SIGTERM again: exiting now" in line for line in said), timeout=10)


# -- failures that stop the run -------------------------------------------------------------------------------------
@pytest.mark.parametrize("status, what", [(401, "authentication failed"), (404, "unknown model"),
                                          (400, "invalid request")])
def test_a_refused_key_stops_the_run_non_zero(tmp_path, api, status, what):
    api.faults.extend({"path": "/v1/messages", "status": status} for _ in range(200))
    cfg, run_dir = config(tmp_path, api.url, limit=20, budgets="0", concurrency=1), tmp_path / "run"
    res = run_cli("run", "--config", str(cfg), "--run-dir", str(run_dir), "--quiet", env=KEY)
    assert res.returncode == 4, res.stderr
    assert f"refused 3 requests in a row with HTTP {status} ({what}" in res.stderr
    assert len(api.log) == 3 and len(samples(run_dir)) == 3  # a few samples, not 20
    assert "Traceback" not in res.stderr


def test_an_unreachable_server_stops_after_the_first_exhausted_retries(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed once the block ends: connection refused
    cfg, run_dir = config(tmp_path, url, limit=20, concurrency=1), tmp_path / "run"
    t0 = time.time()
    res = run_cli("run", "--config", str(cfg), "--run-dir", str(run_dir), "--quiet", env=KEY)
    assert res.returncode == 4, res.stderr
    assert f"cannot reach {url}" in res.stderr and time.time() - t0 < 30
    assert len(samples(run_dir)) == 1


def test_a_run_that_ends_with_errors_exits_3(tmp_path):
    res = run_cli("run", "-m", "stub:flat", "-t", "misleading-math", "--budgets", "0", "--limit", "12",
                  "--run-dir", str(tmp_path / "run"), "--quiet", "--config", str(_stub_failing(tmp_path)))
    assert res.returncode == 3 and "4 sample(s) ended with an error" in res.stderr, res.stderr
    again = run_cli("resume", str(tmp_path / "run"), "--quiet")
    assert again.returncode in (0, 3)


def _stub_failing(tmp_path: Path) -> Path:
    path = tmp_path / "fail.yaml"
    path.write_text("model_options:\n  stub:flat: {fail_every: 3}\n")
    return path


# -- budgets ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("budgets", ["99999999999999999999", str(MAX_BUDGET + 1), "1e12"])
def test_a_budget_no_model_takes_is_refused_before_any_request(tmp_path, api, budgets):
    run_dir = tmp_path / "run"
    res = run_cli("run", "-m", f"{SPEC}@{api.url}", "-t", "misleading-math", "--mechanism", "native",
                  "--budgets", budgets, "--run-dir", str(run_dir), "--quiet", env=KEY)
    assert res.returncode == 2 and "budgets" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert api.log == [] and not run_dir.exists()


def test_a_budget_above_the_models_table_maximum_is_refused(tmp_path, api):
    cfg = config(tmp_path, api.url, budgets="0, 4096", options={"capabilities": {"max_budget": 2048}})
    res = run_cli("run", "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--quiet", env=KEY)
    assert res.returncode == 2 and "above this model's maximum thinking budget of 2048" in res.stderr, res.stderr
    assert api.log == []


# -- attempts and timing ------------------------------------------------------------------------------------------
def test_a_hung_request_records_http_attempts_and_the_successful_attempts_time(tmp_path, api):
    api.faults.append({"path": "/v1/messages", "sleep": 3})  # hangs past the client timeout, then retried
    cfg = config(tmp_path, api.url, limit=1, budgets="0", concurrency=1, options={"timeout_s": 1})
    res = run_cli("run", "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--quiet", env=KEY)
    assert res.returncode == 0, res.stderr
    rows = run_cli("export", str(tmp_path / "run")).stdout.splitlines()
    (rec,) = [json.loads(r) for r in rows]
    assert rec["metadata"]["attempts"] == 2  # HTTP attempts
    assert rec["latency_s"] >= 1.0 and rec["metadata"]["attempt_latency_s"] < 0.5
    assert samples(tmp_path / "run")[0][4] == 1  # the store-write count is separate


# -- provenance -----------------------------------------------------------------------------------------------------
def test_provenance_is_stored_and_shown_in_one_line(tmp_path, api):
    cfg, run_dir = config(tmp_path, api.url, limit=1, budgets="0"), tmp_path / "run"
    assert run_cli("run", "--config", str(cfg), "--run-dir", str(run_dir), "--quiet", env=KEY).returncode == 0
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    (session,) = json.loads(con.execute("SELECT value FROM meta WHERE key = 'sessions'").fetchone()[0])
    con.close()
    import anthropic

    from overthink import __version__

    assert session["packages"] == {"anthropic": anthropic.__version__} and session["overthink"] == __version__
    assert session["status"] == "completed" and session["ended_at"] >= session["started_at"]
    lines = [x for x in run_cli("summary", str(run_dir)).stdout.splitlines() if x.startswith("provenance:")]
    assert len(lines) == 1
    line = lines[0]
    assert f"overthink {__version__}" in line and f"Python {sys.version.split()[0]}" in line
    assert f"anthropic {anthropic.__version__}" in line and line.endswith("completed")


# -- inputs accepted silently before ------------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--temperature", "nan"], "field 'temperature': Input should be a finite number"),
    (["--task-args", "nosuchtask.x=1"], "task_args names task 'nosuchtask', which is not one of this run's tasks"),
    (["--limit", "100000000"], "field 'limit': Input should be less than or equal to 1000000"),
    (["-m", "openai-compatible:m@notaurl"], "'notaurl' is not an http(s) URL"),
])
def test_inputs_refused_with_the_right_reason(tmp_path, args, message):
    model = [] if "-m" in args else ["-m", "stub:flat"]
    res = run_cli("run", *model, "-t", "misleading-math", *args, "--run-dir", str(tmp_path / "r"), "--quiet")
    assert res.returncode == 2 and message in res.stderr and "nan" not in res.stderr.replace("'nan'", ""), \
        res.stderr
    assert not (tmp_path / "r").exists()


def test_option_errors_from_a_yaml_file_name_the_file(tmp_path):
    spec = "anthropic:claude-sonnet-4-20250514"
    for body, message in ((f'"{spec}": {{base_url: notaurl}}', "base_url: 'notaurl' is not an http(s) URL"),
                          (f'"{spec}": {{nosuch: 1}}', "unknown option(s) nosuch")):
        cfg = tmp_path / "exp.yaml"
        cfg.write_text(f'model: "{spec}"\ntask: misleading-math\nmechanism: native\nmodel_options:\n  {body}\n')
        res = run_cli("run", "--config", str(cfg), "--run-dir", str(tmp_path / "r"), "--quiet", env=KEY)
        assert res.returncode == 2 and res.stderr.startswith(f"error: {cfg}") and message in res.stderr, res.stderr
