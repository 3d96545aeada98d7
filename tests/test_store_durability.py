"""Nothing lost, every store readable: read-only run dirs (a real read-only bind mount), the WAL checkpoint and
`export --format sqlite`, damaged / garbage / truncated stores and WALs, a full disk (a real small tmpfs), and
task content drift. Every failure is one line naming the file, exit 2, no traceback."""

from __future__ import annotations

import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from helpers import run_cli
from review_fixtures import stub_run
from starlette.testclient import TestClient
from store_mounts import files_of, fill, read_only, small_disk

from overthink.core import Item, SampleRecord
from overthink.review.app import ReviewConfig, create_app
from overthink.store import Store, StoreError

KILLED_WRITER = textwrap.dedent("""
    import os, sys
    from overthink.core import Item, SampleRecord
    from overthink.store import Store
    st = Store(sys.argv[1])
    st.set_meta("run_id", "k")
    st.add_items("t", [Item(id=str(i), prompt=f"q{i}", answer=i) for i in range(int(sys.argv[2]))])
    for i in range(int(sys.argv[2])):
        st.record(SampleRecord(run_id="k", model="m:x", provider="m", task="t", item_id=str(i), budget=0,
                               mechanism="forced", replicate=0, seed=0, status="ok", answer="1", expected=str(i),
                               score=1.0, correct=True, reasoning="r" * 200, answer_text="<answer>1</answer>"))
    os._exit(0)  # killed: no close, no checkpoint
""")


def killed_run(path, n=40):
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path), str(n)], check=True)
    assert (path / "overthink.sqlite-wal").stat().st_size > 0
    return path


def _count(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM samples").fetchone()[0]


def _clean(res, code=0):
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr + res.stdout


@pytest.mark.parametrize("how", ["killed", "closed"])
def test_read_only_run_dir_is_readable(tmp_path, how):
    """summary, export (jsonl, csv, sqlite), report and the review pages work on a read-only mount, with the
    WAL still holding every sample (killed) or checkpointed away (closed); nothing is written there."""
    src = killed_run(tmp_path / "src") if how == "killed" else stub_run(tmp_path / "src", limit=4, budgets="0,64")
    n = _count(src / "overthink.sqlite") if how == "closed" else 40
    if how == "closed":
        wal = src / "overthink.sqlite-wal"
        assert not wal.exists() or wal.stat().st_size == 0  # the writer's close checkpointed the WAL away
    gc.collect()  # (a connection the in-process run left to the collector deletes its empty WAL when collected)
    before = files_of(src)
    with read_only(src, tmp_path / "ro") as ro:
        _clean(run_cli("summary", str(ro)))
        res = run_cli("export", str(ro))
        _clean(res)
        assert len(res.stdout.splitlines()) == n
        res = run_cli("export", str(ro), "--format", "csv")
        _clean(res)
        assert len(res.stdout.splitlines()) == n + 1
        one = tmp_path / "one.sqlite"
        _clean(run_cli("export", str(ro), "--format", "sqlite", "--out", str(one)))
        _clean(run_cli("report", str(ro), "--out", str(tmp_path / "r.html"), "--n-boot", "100"))
        assert (tmp_path / "r.html").stat().st_size > 1000
        client = TestClient(create_app(cfg := ReviewConfig(ro, default_reviewer="ann")), base_url="http://127.0.0.1")
        client.get(f"/?token={cfg.token}")
        assert client.get("/").status_code == 200
        with Store(ro, create=False) as store:
            sid = store.sample_rows(("id",))[0]["id"]
        r = client.post("/api/labels", json={"sample_id": sid, "labels": ["distracted"], "reviewer": "ann"},
                        headers={"X-CSRF-Token": cfg.csrf})
        assert r.status_code == 403 and "read-only" in r.json()["error"], r.text
        assert files_of(ro) == before  # nothing created, nothing changed
    # the exported file is one self-contained database: no -wal beside it, every sample inside
    assert not one.with_name(one.name + "-wal").exists() and _count(one) == n


def test_clean_close_checkpoints_so_the_main_file_alone_has_every_sample(tmp_path):
    run = stub_run(tmp_path / "run", limit=3, budgets="0,64")
    shutil.copy(run / "overthink.sqlite", tmp_path / "alone.sqlite")  # just the one file, as a user copies it
    assert _count(tmp_path / "alone.sqlite") == 6
    killed = killed_run(tmp_path / "k", 30)
    assert _count_file_alone(killed, tmp_path) == 0  # after a kill the samples sit in the WAL
    with Store(killed):
        pass  # any clean open + close by a writer checkpoints
    assert _count_file_alone(killed, tmp_path) == 30


def _count_file_alone(run, tmp_path) -> int:
    lone = tmp_path / "lone"
    shutil.rmtree(lone, ignore_errors=True)
    lone.mkdir()
    shutil.copy(run / "overthink.sqlite", lone / "overthink.sqlite")
    with sqlite3.connect(f"file:{lone / 'overthink.sqlite'}?immutable=1", uri=True) as conn:
        try:
            return conn.execute("SELECT count(*) FROM samples").fetchone()[0]
        except sqlite3.OperationalError:
            return 0  # not even the table: all of it was in the WAL


def _damage(tmp_path, kind):
    run = tmp_path / kind
    if kind == "garbage":
        run.mkdir()
        (run / "overthink.sqlite").write_bytes(os.urandom(30000))
        return run, "overthink.sqlite", "not a SQLite database"
    if kind == "not-a-store":
        run.mkdir()
        with sqlite3.connect(run / "overthink.sqlite") as conn:
            conn.execute("CREATE TABLE other (x)")
        return run, "overthink.sqlite", "not an overthink run store"
    if kind == "truncated":
        stub_run(run, limit=30, budgets="0,64,256")
        with open(run / "overthink.sqlite", "r+b") as fh:
            fh.truncate(os.path.getsize(run / "overthink.sqlite") // 3)
        return run, "overthink.sqlite", "damaged"
    killed_run(run, 300)  # truncated WAL: cut after the first pages, index still lists them all
    with open(run / "overthink.sqlite-wal", "r+b") as fh:
        fh.truncate(100_000)
    return run, "overthink.sqlite-wal", "the WAL is truncated"


@pytest.mark.parametrize("kind", ["garbage", "not-a-store", "truncated", "truncated-wal"])
def test_damaged_store_is_one_clear_message(tmp_path, kind):
    run, name, what = _damage(tmp_path, kind)
    for args in (("summary", str(run)), ("export", str(run)), ("export", str(run), "--format", "sqlite", "--out",
                                                                str(tmp_path / "x.sqlite")),
                 ("report", str(run), "--out", str(tmp_path / "r.html")), ("resume", str(run))):
        res = run_cli(*args)
        _clean(res, 2)
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and str(run / name) in lines[0] and what in lines[0], (args, res.stderr)


def test_full_disk_stops_the_run_and_keeps_everything_before(tmp_path):
    """A real tmpfs that fills mid-run: exit 2 with the disk-full line; the store stays intact and holds exactly
    the samples the run got to store; a resume elsewhere finishes the rest without redoing any."""
    with small_disk(tmp_path / "disk", "400k") as disk:
        res = run_cli("run", "-m", "stub:inverse", "-t", "misleading-math", "--budgets", "0,64,256,1024",
                      "--limit", "200", "--run-dir", str(disk / "run"), "--quiet")
        _clean(res, 2)
        assert "disk is full" in res.stderr and str(disk / "run" / "overthink.sqlite") in res.stderr
        assert "ran " not in res.stderr  # no tally of samples that were not stored
        moved = tmp_path / "moved"
        shutil.copytree(disk / "run", moved)
    with sqlite3.connect(moved / "overthink.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    assert 0 < kept < 800
    res = run_cli("resume", str(moved), "--quiet")
    _clean(res)
    assert f"ran {800 - kept} of {800 - kept} pending" in res.stderr
    assert _count(moved / "overthink.sqlite") == 800


def test_label_on_a_full_disk_is_a_clear_error(tmp_path):
    with small_disk(tmp_path / "disk", "2m") as disk:
        run = stub_run(disk / "run", limit=2, budgets="0,64")
        client = TestClient(create_app(cfg := ReviewConfig(run, default_reviewer="ann")), base_url="http://127.0.0.1")
        client.get(f"/?token={cfg.token}")
        with Store(run, create=False) as store:
            sid = store.sample_rows(("id",))[0]["id"]
        fill(disk)
        body = {"sample_id": sid, "labels": ["distracted"], "reviewer": "ann", "note": "x" * 3900}
        saved = 0
        for _ in range(400):  # the WAL's free pages may take a few labels before the disk refuses
            r = client.post("/api/labels", json=body, headers={"X-CSRF-Token": cfg.csrf})
            assert r.status_code in (200, 507), r.text
            if r.status_code == 507:
                assert "disk is full" in r.json()["error"] and "label not saved" in r.json()["error"]
                break
            saved += 1
        else:
            pytest.fail("the disk never filled")
        (disk / "filler").unlink()
        with Store(run, create=False) as store:
            assert len(store.labels(history=True)) == saved  # every 200 was stored, the 507 was not


def test_store_error_is_raised_not_swallowed(tmp_path):
    """A sample whose write fails raises StoreError (so no executor counts it), via SQLite's page limit."""
    with Store(tmp_path / "r") as store:
        store.conn.execute(f"PRAGMA max_page_count={store.conn.execute('PRAGMA page_count').fetchone()[0] + 2}")
        sample = dict(run_id="x", model="m:x", provider="m", task="t", budget=0, mechanism="forced", replicate=0,
                      seed=0, status="ok")
        stored = 0
        with pytest.raises(StoreError, match="disk is full"):
            for i in range(1000):
                store.record(SampleRecord(item_id=str(i), reasoning="z" * 3000, **sample))
                stored += 1
        assert store.count() == stored


def test_changed_item_refuses_the_run(tmp_path, monkeypatch):
    """Re-importing a task under the same name with a changed item, then continuing the run dir: exit 2 naming
    the task and the first changed item; the run dir is unchanged."""
    home = tmp_path / "home"
    env = {"OVERTHINK_HOME": str(home)}
    data = tmp_path / "qs.jsonl"
    rows = [{"id": f"q{i}", "prompt": f"What is {i} + 1?", "answer": i + 1} for i in range(6)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _clean(run_cli("tasks", "import", str(data), "--name", "mine", env=env))
    run = tmp_path / "run"
    # (one budget: no end-of-run curve figure; the items are what is checked)
    args = ("run", "-m", "stub:inverse", "-t", "mine", "--budgets", "0", "--run-dir", str(run), "--quiet")
    _clean(run_cli(*args, env=env))
    rows[3]["answer"] = 99  # same id, other expected answer
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _clean(run_cli("tasks", "import", str(data), "--name", "mine", "--force", env=env))
    before = _count(run / "overthink.sqlite")
    res = run_cli(*args, env=env)
    _clean(res, 2)
    assert "task 'mine': item 'q3'" in res.stderr and "re-imported" in res.stderr
    res = run_cli("resume", str(run), env=env)
    _clean(res, 2)
    assert "item 'q3'" in res.stderr
    assert _count(run / "overthink.sqlite") == before
    rows[3]["answer"] = 4  # restored: the run continues
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _clean(run_cli("tasks", "import", str(data), "--name", "mine", "--force", env=env))
    _clean(run_cli("resume", str(run), "--quiet", env=env))


def test_old_store_gets_content_hashes(tmp_path):
    """A schema-1 store (no content_hash column) is migrated from what it stores, and then guards drift."""
    run = tmp_path / "old"
    Store(run).close()
    with sqlite3.connect(run / "overthink.sqlite") as conn:  # back to schema 1: items without the hash
        conn.executescript("""
            ALTER TABLE items DROP COLUMN content_hash;
            UPDATE meta SET value = '1' WHERE key = 'schema_version';
            INSERT INTO items VALUES ('t', 'a', 'Pick one', 'B', '{"choices": ["x", "y"]}');
        """)
    with Store(run) as store:
        store.add_items("t", [Item(id="a", prompt="Pick one", choices=("x", "y"), answer_index=1)])  # same item
        with pytest.raises(StoreError, match="item 'a'"):
            store.add_items("t", [Item(id="a", prompt="Pick one", choices=("x", "z"), answer_index=1)])
        assert store.get_meta("schema_version") == 4  # migrated through 2 (content hashes), 3 and 4
