"""Issue 26, points 1, 3, 4, 6 and 7b: a store error stops the spending, readers never write, bad run dirs and stored
values are one line, signals stop retries and the end-of-run work, hung servers stop the run. Real tmpfs mounts,
real second processes, real signals, the real OpenAI SDK against the local wire-format server."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from helpers import run_cli
from review_fixtures import stub_run
from servers.fake_api import FakeAPI
from store_mounts import files_of, fill, grow, read_only, small_disk
from test_store_durability import killed_run

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
        before = len(api.log)
        res = run_cli("resume", str(run_dir), "--quiet", env=KEY)
        assert res.returncode == 0, res.stderr
        again = sent_keys(api, before)
        assert stored(run_dir) == 180
    # resume sent each sample once and only the unstored ones: 180 - kept distinct requests made 180 stored
    assert max(again.values()) == 1 and sum(again.values()) == 180 - kept


# -- 3. readers never write -------------------------------------------------------------------------------------------
def _snapshot(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()}


@pytest.mark.slow  # `report` takes half a minute on a loaded machine
def test_readers_create_and_delete_nothing_in_a_writable_run_dir(tmp_path):
    """A finished run is the one file: summary, export and report leave no -wal / -shm beside it."""
    run_dir = stub_run(tmp_path / "run", limit=3, budgets="0,64")
    gc.collect()
    before = _snapshot(run_dir)
    assert "overthink.sqlite-wal" not in before
    for args in (("summary", str(run_dir)), ("export", str(run_dir)),
                 ("report", str(run_dir), "--out", str(tmp_path / "r.html"), "--n-boot", "100")):
        res = run_cli(*args)
        assert res.returncode == 0, res.stderr
        assert _snapshot(run_dir) == before, args


def test_a_flipped_byte_in_a_killed_runs_wal_header_is_reported_and_kept(tmp_path):
    run_dir = killed_run(tmp_path / "killed", 40)
    wal = run_dir / "overthink.sqlite-wal"
    data = bytearray(wal.read_bytes())
    data[12] ^= 0x01  # the checkpoint sequence number: the header checksum no longer matches
    wal.write_bytes(bytes(data))
    before = _snapshot(run_dir)
    for args in (("summary", str(run_dir)), ("export", str(run_dir)), ("resume", str(run_dir))):
        line = one_line(run_cli(*args))
        assert str(wal) in line and "the WAL is damaged" in line, (args, line)
        after = _snapshot(run_dir)
        after.pop("overthink.lock", None)  # resume takes the writer's lock before it opens the store
        assert after == before, args  # -wal and -shm kept, byte for byte


def test_an_empty_store_file_is_a_clear_message_and_stays_empty(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "overthink.sqlite").touch()
    for args in (("summary", str(run_dir)), ("export", str(run_dir)),
                 ("report", str(run_dir), "--out", str(tmp_path / "r.html"))):
        line = one_line(run_cli(*args))
        assert "overthink.sqlite: the store is empty (0 bytes)" in line, line
        assert _snapshot(run_dir) == {"overthink.sqlite": b""}, args


# -- 4. one line instead of a traceback --------------------------------------------------------------------------------
STUB = ("-m", "stub:flat", "-t", "misleading-math", "--budgets", "0", "--limit", "1",
        "--quiet")


@pytest.mark.parametrize("target", ["a file", "/dev/null", "/proc/1/rd"])
def test_a_run_dir_that_cannot_be_a_directory(tmp_path, target):
    path = tmp_path / "f.txt" if target == "a file" else Path(target)
    if target == "a file":
        path.write_text("mine")
    line = one_line(run_cli("run", *STUB, "--run-dir", str(path)))
    assert str(path) in line
    if target == "a file":
        assert path.read_text() == "mine" and "not a directory" in line


def test_run_and_resume_on_a_read_only_run_dir(tmp_path):
    src = stub_run(tmp_path / "src", limit=2, budgets="0")
    gc.collect()
    with read_only(src, tmp_path / "ro") as ro:
        before = files_of(ro)
        for args in (("resume", str(ro)), ("run", *STUB, "--run-dir", str(ro))):
            line = one_line(run_cli(*args))
            assert str(ro) in line and "read-only" in line, line
        assert files_of(ro) == before


def test_a_lock_that_is_a_directory(tmp_path):
    run_dir = stub_run(tmp_path / "run", limit=2, budgets="0")
    (run_dir / "overthink.lock").unlink()
    (run_dir / "overthink.lock").mkdir()
    line = one_line(run_cli("resume", str(run_dir), "--quiet"))
    assert "overthink.lock is a directory" in line


@pytest.mark.parametrize("where", ["config", "metadata"])
def test_garbage_json_in_the_store_is_one_line(tmp_path, where):
    run_dir = stub_run(tmp_path / "run", limit=2, budgets="0")
    with sqlite3.connect(run_dir / "overthink.sqlite") as con:
        if where == "config":
            con.execute("UPDATE meta SET value = '{\"models\": [' WHERE key = 'config'")
        else:
            con.execute("UPDATE samples SET metadata = '{nope' WHERE id = (SELECT min(id) FROM samples)")
    commands = [("summary", str(run_dir)), ("resume", str(run_dir), "--quiet") if where == "config" else
                ("export", str(run_dir))]  # (export does not read the config)
    for args in commands:
        line = one_line(run_cli(*args))
        assert "is not valid JSON" in line and str(run_dir / "overthink.sqlite") in line, (args, line)


def test_export_to_a_missing_directory_is_one_line(tmp_path):
    run_dir = stub_run(tmp_path / "run", limit=2, budgets="0")
    for fmt in ("jsonl", "csv", "sqlite"):
        line = one_line(run_cli("export", str(run_dir), "--format", fmt, "--out", "/nonexistent/x.out"))
        assert "/nonexistent" in line, line


PLUGINS = '''
from overthink.tasks import Task


class NotATask:
    pass


class Boom(Task):
    family = "boom"

    def items(self, n=None, seed=0):
        raise KeyError("no such column")
'''


@pytest.mark.parametrize("cls, message", [("NotATask", "NotATask is not an overthink Task"),
                                          ("Boom", "its items() failed: KeyError")])
def test_a_plugin_that_is_not_a_task_or_whose_items_raise(tmp_path, cls, message):
    plugin = tmp_path / "mine.py"
    plugin.write_text(PLUGINS)
    line = one_line(run_cli("run", "-m", "stub:flat", "-t", f"{plugin}:{cls}", "--budgets", "0", "--quiet",
                            "--run-dir", str(tmp_path / "run")))
    assert message in line and str(plugin) in line, line


@pytest.mark.parametrize("name, text, message", [
    ("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
    ("digits.jsonl", '{"model": "m", "task": "t", "item_id": "1", "budget": ' + "9" * 5000 + ', "correct": true}\n',
     "cannot be read"),
    ("budget.jsonl", json.dumps({"instance_id": "q1", "reasoning_budget": 10**30, "model": "m", "task_id": "t",
                                 "metric": "accuracy", "correct": True, "extracted_answer": "1"}) + "\n",
     "above the maximum"),
    ("surrogate.jsonl", '{"instance_id": "q1\\ud800", "reasoning_budget": 0, "model": "m", "task_id": "t", '
                        '"metric": "accuracy", "correct": true, "extracted_answer": "1"}\n', "lone surrogate"),
])
def test_an_import_source_of_the_wrong_shape(tmp_path, name, text, message):
    source = tmp_path / name
    source.write_text(text)
    res = run_cli("import", str(source), "--run-dir", str(tmp_path / "run"))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert f"{source}:1: " in res.stderr and message in res.stderr, res.stderr
    assert not (tmp_path / "run" / "overthink.sqlite").exists()


# -- 6. signals --------------------------------------------------------------------------------------------------------
def _start(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, list[tuple[float, str]]]:
    """A real `overthink` process; its stderr lines (with arrival times) collected by a thread."""
    proc = subprocess.Popen([sys.executable, "-m", "overthink", *args], text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    lines: list[tuple[float, str]] = []

    def read() -> None:
        for line in proc.stderr:
            lines.append((time.time(), line))

    proc.reader = threading.Thread(target=read, daemon=True)  # _ended(proc) waits for its last line
    proc.reader.start()
    return proc, lines


def _ended(proc: subprocess.Popen) -> None:
    """After the process exited: every line it wrote to stderr has been read."""
    proc.reader.join(timeout=30)


def _wait(cond, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def _text(lines) -> str:
    return "".join(line for _, line in lines)


def test_sigint_stops_the_retries_of_a_rate_limited_request(tmp_path, api):
    """A server that answers every request with 429: after SIGINT no retry is sent (at most the one request
    that was already on the wire is answered), and the run exits 130."""
    api.faults.extend({"path": "/v1/chat/completions", "status": 429} for _ in range(10_000))
    cfg = openai_config(tmp_path, api.url, limit=2, budgets="0", concurrency=1,
                        options={"max_attempts": 40, "backoff_initial_s": 0.2, "backoff_max_s": 0.2})
    proc, lines = _start("run", "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--quiet", env=KEY)
    _wait(lambda: len(api.log) >= 3)
    proc.send_signal(signal.SIGINT)
    at_signal = len(api.log)
    proc.wait(timeout=60)
    _ended(proc)
    assert proc.returncode == 130, _text(lines)
    assert len(api.log) - at_signal <= 1, (at_signal, len(api.log))
    assert "Traceback" not in _text(lines)


STUB_CFG = """
model: stub:inverse
tasks: [misleading-math, word-problems]
budgets: [0, 64, 256, 1024]
limit: 200
concurrency: 4
model_options:
  stub:inverse: {delay_s: 0.05}
"""


def _stub_run(tmp_path: Path) -> tuple[subprocess.Popen, list, Path]:
    cfg = tmp_path / "stub.yaml"
    cfg.write_text(STUB_CFG)
    run_dir = tmp_path / "run"
    proc, lines = _start("run", "--config", str(cfg), "--run-dir", str(run_dir))
    _wait(lambda: _stored_quietly(run_dir) >= 40)
    return proc, lines, run_dir


def _stored_quietly(run_dir: Path) -> int:
    try:
        return stored(run_dir)
    except sqlite3.Error:  # not created yet
        return 0


def test_sigterm_exits_without_drawing_figures(tmp_path):
    proc, lines, run_dir = _stub_run(tmp_path)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    _ended(proc)
    assert proc.returncode == 143, _text(lines)
    assert "overthink summary" in out and "figure:" not in out  # the table, not the figures
    assert not (run_dir / "figures").exists()
    assert "Traceback" not in _text(lines)


def test_a_second_sigint_during_the_end_of_run_summary_exits_at_once(tmp_path):
    proc, lines, run_dir = _stub_run(tmp_path)
    proc.send_signal(signal.SIGINT)
    _wait(lambda: "SIGINT: stopped;" in _text(lines))  # the run has ended: the summary is being made
    proc.send_signal(signal.SIGINT)
    sent = time.time()
    proc.wait(timeout=60)
    took = time.time() - sent
    _ended(proc)
    assert proc.returncode == 130 and took < 3, (took, _text(lines))
    said = _text(lines)  # the summary's own line, or the command's (the signal came before the summary began)
    assert "SIGINT: exiting now; every finished sample is stored" in said or "interrupted; a run's" in said, said
    assert "Traceback" not in _text(lines)


@pytest.mark.parametrize("after_init", [0.1, 0.3, 0.6])
def test_ctrl_c_while_starting_is_one_line(tmp_path, after_init):
    """SIGINT while the command line's modules load (after the interpreter's own start-up, which no Python code
    can guard: a signal then is CPython's "Fatal Python error: init_sys_streams")."""
    t0 = time.time()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    init = time.time() - t0
    cfg = tmp_path / "stub.yaml"
    cfg.write_text(STUB_CFG)
    proc, lines = _start("run", "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--quiet")
    time.sleep(init + after_init)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    _ended(proc)
    if "Fatal Python error: init_sys_streams" in _text(lines):  # a loaded machine: still CPython's own start-up
        pytest.skip("the signal came before the interpreter ran any overthink code")
    assert proc.returncode in (130, -signal.SIGINT), (proc.returncode, _text(lines))
    assert "Traceback" not in _text(lines) and "KeyboardInterrupt" not in _text(lines), _text(lines)


# -- 7b. hangs and connection failures ---------------------------------------------------------------------------------
class RawServer:
    """A TCP server on 127.0.0.1 that reads each request and then resets the connection ("reset") or never answers
    ("hang"); `accepted` counts connections (each HTTP attempt opens one: a timed-out one is closed)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == "hang":
                self.held.append(conn)
                continue
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _errors(run_dir: Path) -> list[tuple[str, dict]]:
    con = sqlite3.connect(f"file:{run_dir / 'overthink.sqlite'}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT error, metadata FROM samples WHERE status = 'error'").fetchall()
        return [(e, json.loads(m)) for e, m in rows]
    finally:
        con.close()


@pytest.mark.parametrize("kind, text", [("refused", "connection refused"), ("dns", "DNS lookup failed"),
                                        ("reset", "connection reset by the server")])
def test_connection_failures_are_stored_as_what_they_were(tmp_path, kind, text):
    server = RawServer("reset") if kind == "reset" else None
    url = server.url if server else _closed_port_url() if kind == "refused" else "http://no-such-host.invalid"
    try:
        cfg = openai_config(tmp_path, url, limit=1, budgets="0", concurrency=1, options={"max_attempts": 2})
        res = run_cli("run", "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--quiet", env=KEY)
    finally:
        if server:
            server.close()
    assert res.returncode in (3, 4) and "Traceback" not in res.stderr, res.stderr
    ((error, meta),) = _errors(tmp_path / "run")
    assert error.startswith(f"ProviderError: {text}") and meta == {"failure": kind}, error
    assert "timed out" not in res.stderr


def test_a_server_that_never_answers_stops_the_run_after_three_timeouts(tmp_path):
    """timeout_s 0.5, 6 attempts, 10 samples at concurrency 1: without the rule that is 60 attempts and half a minute;
    with it the run stops after 3 timeouts in a row, says so, and summary counts the sample that timed out."""
    server = RawServer("hang")
    try:
        cfg = openai_config(tmp_path, server.url, limit=10, budgets="0", concurrency=1,
                            options={"timeout_s": 0.5, "max_attempts": 6})
        t0 = time.time()
        res = run_cli("run", "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--quiet", env=KEY)
        took = time.time() - t0
        accepted = server.accepted
    finally:
        server.close()
    assert res.returncode == 4 and "Traceback" not in res.stderr, res.stderr
    assert "3 requests in a row got no answer within timeout_s 0.5 s" in res.stderr
    assert "1 sample(s) timed out" in res.stderr
    assert accepted == 3, accepted
    assert took < 20, took
    ((error, meta),) = _errors(tmp_path / "run")
    assert error.startswith("ProviderError: timed out: no answer within the timeout") and meta == {"failure": "timeout"}
    out = run_cli("summary", str(tmp_path / "run")).stdout
    assert "1 sample(s) timed out" in out
