"""The public Python API (issue 25): `overthink.run / resume / check / analyze / write_report / load`, the typed run
meta they read (store/meta.py), and that the CLI is a thin layer over them.

Runs use the zero-cost `stub:` model (models/stub.py). The lock and the signals are tested with real second
processes and real signals: a Python caller gets what a CLI user gets."""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import overthink
from overthink import api
from overthink.config import build_config
from overthink.errors import UserError
from overthink.store import SCHEMA_VERSION, Store, StoreError
from overthink.store.lock import RunDirLocked, holder
from overthink.store.meta import RunMeta

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "jinja2", "openai", "anthropic", "httpx", "yaml")


def fields(run_dir: Path, **extra) -> dict:
    return {"models": ["stub:inverse"], "tasks": ["misleading-math"], "budgets": [0, 64, 256], "limit": 4,
            "mechanism": "forced", "run_dir": str(run_dir), **extra}


def stored(run_dir: Path) -> list[tuple]:
    with Store(run_dir, create=False) as store:
        return sorted((r["item_id"], r["budget"], r["status"], r["answer"], r["reasoning_tokens"])
                      for r in store.iter_samples(with_text=False))


def quiet(line: str) -> None:
    return None


# -- import cost ----------------------------------------------------------------------------------------------------
def test_import_overthink_loads_nothing_heavy_until_the_api_is_used():
    probe = ("import json, sys, overthink\nbefore = sorted(m for m in sys.modules if '.' not in m)\n"
             "fn = overthink.run\nafter = sorted(m for m in sys.modules if '.' not in m)\n"
             "print(json.dumps([before, after, fn.__module__]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    before, after, module = json.loads(out.stdout)
    assert not set(before) & set(HEAVY), sorted(set(before) & set(HEAVY))
    assert "pandas" in after and module == "overthink.api"  # the API itself loads on first use


def test_the_api_names_are_the_functions():
    from overthink.sweep.check import CHECK_PROMPT

    assert callable(overthink.check) and overthink.check is api.check and CHECK_PROMPT
    assert overthink.load is api.load and overthink.run is api.run
    with pytest.raises(AttributeError):
        overthink.no_such_name  # noqa: B018


# -- run: a path, a dict, a Config --------------------------------------------------------------------------------
def test_a_path_a_dict_and_a_config_run_the_same_samples(tmp_path):
    as_dict = fields(tmp_path / "dict")
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(fields(tmp_path / "file")))
    results = [overthink.run(as_dict, say=quiet), overthink.run(path, say=quiet),
               overthink.run(build_config(None, fields(tmp_path / "cfg")), say=quiet)]
    for res in results:
        assert isinstance(res, overthink.RunResult)
        assert res.planned == res.completed == 12 and res.exit_code == 0 and res.signal is None
        assert sum(res.statuses.values()) == 12
    assert stored(tmp_path / "dict") == stored(tmp_path / "file") == stored(tmp_path / "cfg")
    assert len(stored(tmp_path / "dict")) == 12


def test_overrides_layer_on_the_config_and_a_new_run_dir_is_chosen_when_none_is_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = build_config(None, {k: v for k, v in fields(tmp_path).items() if k != "run_dir"})
    res = overthink.run(cfg, limit=2, say=quiet)
    assert res.run_dir.parent == Path("runs") and res.planned == 6
    assert overthink.load(res.run_dir).config.limit == 2


def test_errors_count_in_the_result_and_resume_retries_them(tmp_path):
    opts = {"model_options": {"stub:inverse": {"fail_every": 4}}}
    res = overthink.run(fields(tmp_path / "r", **opts), say=quiet)
    assert res.errors == 3 and res.exit_code == 3 and res.completed == 12
    again = overthink.resume(tmp_path / "r", say=quiet)
    assert again.planned == again.completed == 3 and again.exit_code == 0  # only the errors were pending
    assert [s for s in stored(tmp_path / "r") if s[2] == "error"] == []


def test_bad_config_is_one_user_error_before_the_run_dir_exists(tmp_path):
    with pytest.raises(UserError, match="no-such-task"):
        overthink.run(fields(tmp_path / "r", tasks=["no-such-task"]), say=quiet)
    assert not (tmp_path / "r").exists()
    with pytest.raises(UserError, match="budgets"):
        overthink.run(fields(tmp_path / "r", budgets="zero"), say=quiet)
    with pytest.raises(UserError, match="not a run directory"):
        overthink.load(tmp_path)


# -- load: typed meta, samples, summary ----------------------------------------------------------------------------
def test_load_gives_typed_meta_samples_scores_and_verdicts(tmp_path):
    res = overthink.run(fields(tmp_path / "r"), say=quiet)
    run = overthink.load(res.run_dir)
    assert isinstance(run.meta, RunMeta) and run.run_id == res.run_id
    assert run.meta.tasks["misleading-math"].metric == "accuracy"
    assert run.meta.models["stub:inverse"].mechanism == "forced"
    session = run.meta.latest_session
    assert session.status == "completed" and session.overthink == overthink.__version__ and not session.resumed
    assert run.config.budgets == [0, 64, 256] and not run.writing
    assert isinstance(run.samples, pd.DataFrame) and len(run.samples) == 12
    assert "reasoning" not in run.samples and "reasoning" in run.texts()
    assert set(run.scores["budget"]) == {0, 64, 256} and len(run.verdicts) == 1
    assert len(run.items) == 4
    tables = overthink.analyze(run, n_boot=200)
    assert len(tables["scores"]) == 3 and tables["runs"]["samples"].tolist() == [12]


def test_analyze_takes_one_path_several_or_loaded_runs(tmp_path):
    a = overthink.run(fields(tmp_path / "a"), say=quiet).run_dir
    b = overthink.run(fields(tmp_path / "b", models=["stub:flat"]), say=quiet).run_dir
    one = overthink.analyze(a, n_boot=200)
    both = overthink.analyze([a, overthink.load(b)], n_boot=200)
    assert one["runs"]["run"].tolist() == ["a"] and both["runs"]["run"].tolist() == ["a", "b"]
    assert set(both["scores"]["model"]) == {"stub:inverse", "stub:flat"}


def test_write_report_refuses_a_missing_run(tmp_path):
    """(A report written through the API, with a run given twice: the CLI test below, which draws one.)"""
    run_dir = overthink.run(fields(tmp_path / "r"), say=quiet).run_dir
    with pytest.raises(UserError, match="at least 100"):
        overthink.write_report(run_dir, n_boot=10)
    with pytest.raises(UserError, match="not a run directory"):
        overthink.write_report([run_dir, tmp_path / "missing"], tmp_path / "x.html", n_boot=100)
    assert not (tmp_path / "x.html").exists()


# -- typed meta: older stores, unknown keys, damage -----------------------------------------------------------------
def _make_old(run_dir: Path, retired: bool = False) -> None:
    """A store as an early overthink wrote it: schema 1 (no item hashes, no enforced_by), sessions without the
    package versions or the resumed flag, tasks without metric_label, and a key this version does not know."""
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    with con:
        con.executescript("""
            ALTER TABLE samples DROP COLUMN enforced_by;
            ALTER TABLE items DROP COLUMN content_hash;
            UPDATE meta SET value = '1' WHERE key = 'schema_version';
            DELETE FROM meta WHERE key IN ('models', 'item_sets');
        """)
        config = json.loads(con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
        old = {"sessions": [{"overthink": "0.0.9", "python": "3.11.1", "started_at": 1.7e9, "status": "completed"}],
               "config": {**config, **({"retired_option": 1} if retired else {})},
               "tasks": {"misleading-math": {"name": "misleading-math", "metric": "accuracy"}},
               "legacy_note": {"written_by": "an older overthink"}}
        con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                        [(k, json.dumps(v)) for k, v in old.items()])
    con.close()


def test_an_older_store_loads_through_the_typed_meta(tmp_path):
    run_dir = overthink.run(fields(tmp_path / "r"), say=quiet).run_dir
    _make_old(run_dir)
    run = overthink.load(run_dir)  # read-only: not migrated
    assert run.meta.schema_version == 1 and run.meta.models == {} and run.meta.item_sets == {}
    assert run.meta.sessions[0].packages == {} and run.meta.sessions[0].resumed is False
    assert run.meta.model_extra == {"legacy_note": {"written_by": "an older overthink"}}  # kept, not dropped
    assert run.meta.metrics() == {"misleading-math": "accuracy"} and run.config.limit == 4
    assert "overthink 0.0.9" in run.summary.provenance and len(run.verdicts) == 1
    assert len(overthink.analyze(run_dir, n_boot=200)["scores"]) == 3
    with Store(run_dir, create=False) as store:
        assert store.get_meta("schema_version") == 1  # reading wrote nothing
    res = overthink.resume(run_dir, say=quiet)  # a writer migrates it and continues
    assert res.planned == 0 and overthink.load(run_dir).meta.schema_version == SCHEMA_VERSION


def test_a_stored_config_field_this_version_lacks_loads_and_is_named_when_the_config_is_built(tmp_path):
    run_dir = overthink.run(fields(tmp_path / "r"), say=quiet).run_dir
    _make_old(run_dir, retired=True)
    run = overthink.load(run_dir)
    assert run.meta.config["retired_option"] == 1 and len(run.scores) == 3
    with pytest.raises(UserError, match="'retired_option' does not validate in this version"):
        run.config  # noqa: B018


def test_a_meta_value_of_the_wrong_shape_is_one_store_error_naming_it(tmp_path):
    run_dir = overthink.run(fields(tmp_path / "r"), say=quiet).run_dir
    con = sqlite3.connect(run_dir / "overthink.sqlite")
    with con:
        con.execute("UPDATE meta SET value = '[1, 2]' WHERE key = 'tasks'")
    con.close()
    with pytest.raises(StoreError, match=r"metadata 'tasks'.*edited or damaged"):
        overthink.load(run_dir)


# -- check ------------------------------------------------------------------------------------------------------------
def test_check_takes_model_specs_or_the_run_config(tmp_path):
    by_spec = overthink.check(["stub:oracle"], [0, 64], mechanism="forced")
    assert [m.spec for m in by_spec.models] == ["stub:oracle"] and by_spec.models[0].budgets == [0, 64]
    cfg = fields(tmp_path / "r", budgets=[0, 64, 256, 1024])
    by_run = overthink.check(cfg)
    assert by_run.models[0].budgets == [0, 64, 256]  # the run's cheapest: budget 0 and its two smallest others
    assert not (tmp_path / "r").exists()  # a check writes no run


def test_a_failed_positive_control_raises_before_the_run_dir_exists(tmp_path, monkeypatch):
    seen = []
    failing = api.CheckResult([api.run_check(["stub:oracle"], [0, 64], mechanism="forced").models[0]], 0.1)
    failing.models[0].controls[0].status = "not honoured"
    monkeypatch.setattr(api, "run_check", lambda *a, **k: failing)
    with pytest.raises(overthink.ControlNotHonoured) as caught:
        overthink.run(fields(tmp_path / "r", check=True), say=quiet, on_check=seen.append)
    assert caught.value.result is failing and seen == [failing] and caught.value.exit_code == 1
    assert not (tmp_path / "r").exists()


# -- the CLI calls the API -----------------------------------------------------------------------------------------
def test_the_cli_run_resume_check_and_report_go_through_the_api(tmp_path, monkeypatch):
    from overthink.cli import app

    calls: list[str] = []
    returned: dict = {}

    def through(name: str):
        real = getattr(api, name)

        def call(*a, **k):
            calls.append(name)
            returned[name] = real(*a, **k)
            return returned[name]
        return call

    for name in ("run", "check", "write_report"):
        monkeypatch.setattr(api, name, through(name))
    runner = CliRunner()
    run_dir = tmp_path / "r"
    args = ["run", "-m", "stub:inverse", "-t", "misleading-math", "--budgets", "0,64", "--limit", "2",
            "--run-dir", str(run_dir), "--quiet"]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, ["resume", str(run_dir), "--quiet"]).exit_code == 0
    assert runner.invoke(app, ["check", "stub:oracle", "--budgets", "0,64", "--json"]).exit_code == 0
    # the API writes the report, and its notes reach the caller's `say` (here the CLI's stderr)
    res = runner.invoke(app, ["report", str(run_dir), str(run_dir), "--n-boot", "100", "--probe-samples", "50"])
    assert res.exit_code == 0, res.output
    assert calls == ["run", "run", "check", "write_report"]  # resume is run(resume=True)
    path = returned["write_report"]
    assert path == run_dir / "report.html" and path.stat().st_size > 1000 and "given twice" in res.stderr


# -- the lock and the signals from Python, with real processes ------------------------------------------------------
SCRIPT = """
import json, sys, overthink
from overthink.store.lock import RunDirLocked
cfg = json.loads(sys.argv[1])
try:
    res = overthink.run(cfg)
except RunDirLocked as exc:
    print(json.dumps({"locked": str(exc)}))
    raise SystemExit(2)
print(json.dumps({"signal": res.signal, "completed": res.completed, "planned": res.planned,
                  "exit_code": res.exit_code}))
"""


def _start(cfg: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, json.dumps(cfg)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def _wait_for(cond, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _slow(tmp_path: Path, limit: int) -> tuple[dict, Path]:
    log = tmp_path / "calls.log"
    opts = {"stub:inverse": {"delay_s": 0.2, "call_log": str(log)}}
    return fields(tmp_path / "r", limit=limit, model_options=opts, grace_s=5), log


def test_a_second_python_writer_in_another_process_is_refused(tmp_path):
    cfg, log = _slow(tmp_path, limit=200)  # 600 x 0.2 s: still running below (stopped by SIGTERM)
    first = _start(cfg)
    _wait_for(lambda: _calls(log) >= 2)
    second = _start(cfg)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 2, err
    assert f"pid {first.pid}" in json.loads(out)["locked"] and first.poll() is None
    with pytest.raises(RunDirLocked):  # and in this process too
        overthink.resume(cfg["run_dir"], say=quiet)
    assert holder(cfg["run_dir"])["pid"] == first.pid
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0 and json.loads(out)["signal"] == signal.SIGTERM, err
    assert holder(cfg["run_dir"]) is None


def test_sigint_during_overthink_run_stops_cleanly_and_resume_finishes(tmp_path):
    cfg, log = _slow(tmp_path, limit=10)  # 30 samples x 0.2 s
    proc = _start(cfg)
    _wait_for(lambda: _calls(log) >= 4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err  # the API returns: no KeyboardInterrupt traceback
    got = json.loads(out)
    assert got["signal"] == signal.SIGINT and got["exit_code"] == 130 and 0 < got["completed"] < 30
    assert "SIGINT: sending no new requests" in err and "Traceback" not in err
    run = overthink.load(cfg["run_dir"])
    assert run.meta.latest_session.status == "interrupted" and len(run.samples) == got["completed"]
    sent = _calls(log)
    assert sent == got["completed"]  # the request in flight at the signal was answered and stored

    again = overthink.resume(cfg["run_dir"], say=quiet, grace_s=5, concurrency=4)  # (the stopped run was the process)
    assert (again.signal, again.completed, again.planned, again.exit_code) == (None, 30 - sent, 30 - sent, 0)
    assert _calls(log) == 30  # nothing was asked twice
    run = overthink.load(cfg["run_dir"])
    keys = set(zip(run.samples["item_id"], run.samples["budget"], run.samples["replicate"]))
    assert len(run.samples) == len(keys) == 30 and set(run.samples["status"]) == {"ok"}
    assert [s.status for s in run.meta.sessions] == ["interrupted", "completed"] and run.meta.sessions[1].resumed


# -- docs -------------------------------------------------------------------------------------------------------------
def test_the_docs_example_is_the_script_and_it_runs(tmp_path, monkeypatch, capsys):
    doc = (ROOT / "docs" / "api.md").read_text()
    block = re.search(r"```python\n(.*?)```", doc, re.S)
    script = ROOT / "examples" / "api_notebook.py"
    assert block and block.group(1).strip() == script.read_text().split('"""', 2)[2].strip()
    assert "python examples/api_notebook.py" in doc
    monkeypatch.chdir(tmp_path)  # as `python examples/api_notebook.py` runs it, in this process (no second start-up)
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "verdict" in out and "nan" not in out.lower()
    assert (tmp_path / "runs" / "api-example" / "report.html").is_file()


# -- the writer lock's fallback (no flock: Windows) -----------------------------------------------------------------
HOLD = """
import sys, time
from overthink.store import lock
lock.fcntl = None  # the fallback: the pid in the lock file decides
held = lock.RunLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_the_pid_file_fallback_refuses_a_live_writer_and_takes_over_a_killed_one(tmp_path, monkeypatch):
    from overthink.store import lock

    holder_proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], text=True, stdout=subprocess.PIPE,
                                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        assert holder_proc.stdout.readline().strip() == "held"
        monkeypatch.setattr(lock, "fcntl", None)
        with pytest.raises(RunDirLocked, match=f"pid {holder_proc.pid}"):
            lock.RunLock(tmp_path).acquire()
        assert lock.holder(tmp_path)["pid"] == holder_proc.pid
        holder_proc.kill()  # kill -9: no chance to clean up
        holder_proc.wait()
        taken = lock.RunLock(tmp_path).acquire()
        assert taken.took_over["pid"] == holder_proc.pid and lock.holder(tmp_path)["pid"] == os.getpid()
        taken.release()
        assert lock.holder(tmp_path) is None
    finally:
        if holder_proc.poll() is None:
            holder_proc.kill()
            holder_proc.wait()


# -- OVERTHINK_HOME's default ----------------------------------------------------------------------------------------
@pytest.mark.skipif(sys.platform != "linux", reason="the folders named are Linux's")
def test_overthink_home_default_follows_the_platform_and_keeps_an_existing_legacy_folder(tmp_path, monkeypatch):
    from overthink import paths

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("OVERTHINK_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert paths.home() == tmp_path / ".cache" / "overthink"  # Linux's user cache folder: where it always was
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.home() == tmp_path / "xdg" / "overthink"  # the XDG setting is honoured ...
    (tmp_path / ".cache" / "overthink" / "models").mkdir(parents=True)
    assert paths.home() == tmp_path / ".cache" / "overthink"  # ... unless earlier data is in the old place
    monkeypatch.setenv("OVERTHINK_HOME", str(tmp_path / "mine"))
    assert paths.home() == tmp_path / "mine"  # the variable always wins
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "mine").exists()  # naming creates nothing


def test_a_file_system_without_flock_falls_back_to_the_pid_file(tmp_path, monkeypatch):
    """Some network and FUSE mounts refuse flock (ENOLCK): the lock must not then call every run dir taken."""
    import errno

    from overthink.store import lock

    real = lock.fcntl.flock

    def no_flock(fd, op):
        if op & (lock.fcntl.LOCK_EX | lock.fcntl.LOCK_SH):
            raise OSError(errno.ENOLCK, "No locks available")
        return real(fd, op)

    monkeypatch.setattr(lock.fcntl, "flock", no_flock)
    first = lock.RunLock(tmp_path).acquire()
    assert lock.holder(tmp_path)["pid"] == os.getpid()
    first.release()
    assert lock.holder(tmp_path) is None  # released: not "a writer is there"
    (tmp_path / lock.LOCK_NAME).write_text(json.dumps({"pid": os.getppid(), "host": lock.socket.gethostname()}))
    with pytest.raises(RunDirLocked, match=f"pid {os.getppid()}"):  # a live holder named in the file refuses
        lock.RunLock(tmp_path).acquire()


# -- inside a running event loop (a Jupyter notebook) ------------------------------------------------------------
NOTEBOOK = """
import asyncio, json, signal, sys, overthink
cfg = json.loads(sys.argv[1])
async def cell():  # a notebook cell: synchronous code on the kernel's thread, whose event loop is running
    return overthink.run(cfg)
loop = asyncio.new_event_loop()  # run_until_complete keeps Python's SIGINT -> KeyboardInterrupt, as ipykernel does
res = loop.run_until_complete(cell())
print(json.dumps({"signal": res.signal, "completed": res.completed, "exit_code": res.exit_code,
                  "check": overthink.check(["stub:oracle"], [0, 64], mechanism="forced").ok}))
"""


def test_run_inside_a_running_event_loop_works_and_an_interrupt_stops_it_cleanly(tmp_path):
    cfg, log = _slow(tmp_path, limit=10)
    proc = subprocess.Popen([sys.executable, "-c", NOTEBOOK, json.dumps(cfg)], text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    _wait_for(lambda: _calls(log) >= 4)
    proc.send_signal(signal.SIGINT)  # the kernel's interrupt: a KeyboardInterrupt in the cell's thread
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    got = json.loads(out)
    assert got["signal"] == signal.SIGINT and got["exit_code"] == 130 and got["check"] is True
    assert 0 < got["completed"] == _calls(log) < 30 and "Traceback" not in err
    assert overthink.load(cfg["run_dir"]).meta.latest_session.status == "interrupted"


PROBE = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_SH)  # what store.lock.holder does for an instant (summary, overthink.load(...).writing)
print("probing", flush=True)
time.sleep(0.2)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_writer_starting_while_a_reader_probes_the_lock_is_not_refused(tmp_path):
    from overthink.store import lock

    reader = subprocess.Popen([sys.executable, "-c", PROBE, str(tmp_path / lock.LOCK_NAME)], text=True,
                              stdout=subprocess.PIPE)
    try:
        assert reader.stdout.readline().strip() == "probing"
        taken = lock.RunLock(tmp_path).acquire()  # waits out the reader's shared lock instead of refusing
        assert taken.held and lock.holder(tmp_path)["pid"] == os.getpid()
        taken.release()
    finally:
        reader.wait(timeout=30)
