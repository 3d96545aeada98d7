"""`run --shard I/N` and `overthink merge`: two shards of one sweep, run side by side (one in a process of its own)
against the local OpenAI wire-format server, merge into a store equal, sample for sample, to the same sweep run on
one host; labels, sessions and items come along; semantic differences and conflicting samples are refused with
nothing written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from servers.fake_api import FakeAPI
from typer.testing import CliRunner

from overthink.cli import app
from overthink.store import Store
from overthink.store.merge import VOLATILE

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["--task", "misleading-math", "--budgets", "low,high", "--mechanism", "native", "--limit", "7",
         "--replicates", "2"]


def ot(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def content(run: Path) -> dict[tuple, dict]:
    """Every sample by key, without what differs between two fetches of the same answer (ids, times)."""
    with Store(run, create=False, readonly=True) as store:
        rows = store.sample_rows(["model", "task", "item_id", "budget", "mechanism", "replicate", "status",
                                  "reasoning_tokens", "answer", "score", "correct", "seed", "reasoning",
                                  "answer_text", "output_tokens", "stop_reason"])
    return {tuple(r[k] for k in ("model", "task", "item_id", "budget", "mechanism", "replicate")):
            {k: v for k, v in r.items() if k not in VOLATILE} for r in rows}


@pytest.fixture(scope="module")
def server():
    api = FakeAPI().start()
    yield api
    api.stop()


def _run(server, run_dir: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-secret",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "overthink", "run", "--model", f"openai:o4-mini@{server.url}/v1",
                             *SWEEP, "--run-dir", str(run_dir), "--quiet", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run_here(server, run_dir: Path, *extra: str):
    """The same sweep in this process (what a process start would add is not what these runs are for)."""
    args = ["run", "--model", f"openai:o4-mini@{server.url}/v1", *SWEEP, "--run-dir", str(run_dir), "--quiet", *extra]
    return CliRunner().invoke(app, args, env={"OPENAI_API_KEY": "sk-test-not-a-secret"})


@pytest.fixture(scope="module")
def runs(server, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("shards")
    # shard 0 in a process of its own, as on another host; shard 1 and the single-host reference in this process
    # meanwhile (a second process start would add ~3.5 s of CPU and nothing these runs are for)
    proc = _run(server, base / "shard0", "--shard", "0/2")
    for name, extra in (("shard1", ("--shard", "1/2")), ("single", ())):
        done = _run_here(server, base / name, *extra)
        assert done.exit_code == 0, (name, done.output)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, ("shard0", err)
    return {name: base / name for name in ("shard0", "shard1", "single")}


def test_shards_split_by_item_and_merge_to_the_single_host_run(server, runs, tmp_path):
    shard0, shard1 = content(runs["shard0"]), content(runs["shard1"])
    items0, items1 = {k[2] for k in shard0}, {k[2] for k in shard1}
    assert not items0 & items1 and len(items0) == 4 and len(items1) == 3  # by item, balanced
    assert all(len({k[3] for k in shard0 if k[2] == i}) == 2 for i in items0)  # an item's budgets stay together
    with Store(runs["shard0"], create=False, readonly=False) as store:
        first = store.sample_rows(["id"])[0]["id"]
        store.add_label(first, ["distracted"], reviewer="ann", note="kept through the merge")
    res = ot("merge", runs["shard0"], runs["shard1"], "--into", tmp_path / "merged")
    assert res.exit_code == 0, res.output
    assert "merged 2 run(s) (shards 0/2, 1/2)" in res.output and "28 samples, 7 items, 1 labels" in res.output
    assert content(tmp_path / "merged") == content(runs["single"])
    with Store(tmp_path / "merged", create=False, readonly=True) as merged:
        (label,) = merged.labels()
        assert label["note"] == "kept through the merge" and label["labels"] == ["distracted"]
        assert len(merged.items()) == 7
        sessions = merged.get_meta("sessions")
        assert len(sessions) == 2 and {s["merged_from_run"] for s in sessions} == {
            Store(runs[n], create=False, readonly=True).get_meta("run_id") for n in ("shard0", "shard1")}
        assert [s["shard"] for s in merged.get_meta("merged_from")] == ["0/2", "1/2"]
    # the merged dir is a complete run of the unsharded config: resuming it sends nothing
    sent = len(server.log)
    res = CliRunner().invoke(app, ["resume", str(tmp_path / "merged"), "--quiet"], env={"OPENAI_API_KEY": "sk-test-x"})
    assert res.exit_code == 0, res.stderr
    assert "ran 0 of 0 pending samples" in res.stderr and len(server.log) == sent


def test_merging_a_shard_twice_is_an_overlap(runs, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(runs["shard0"], copy)
    res = ot("merge", runs["shard0"], copy, "--into", tmp_path / "m2")
    assert res.exit_code == 0, res.output
    assert "16 sample(s) were in more than one run with the same content: kept once" in res.output
    assert content(tmp_path / "m2") == content(runs["shard0"])


def test_a_conflicting_sample_refuses_and_writes_nothing(runs, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(runs["shard0"], copy)
    with Store(copy, create=False, readonly=False) as store:
        store.conn.execute("UPDATE samples SET answer = '7', correct = 0, score = 0 WHERE id = "
                           "(SELECT min(id) FROM samples)")
    res = ot("merge", runs["shard0"], copy, "--into", tmp_path / "m")
    assert res.exit_code == 2 and "merge conflict: sample" in res.output and "nothing was merged" in res.output
    with Store(tmp_path / "m", create=False, readonly=True) as store:
        assert store.count() == 0


def test_runs_with_different_semantic_settings_are_refused(server, runs, tmp_path):
    other = tmp_path / "other"
    assert _run_here(server, other, "--seed", "5", "--shard", "1/2").exit_code == 0
    res = ot("merge", runs["shard0"], other, "--into", tmp_path / "m")
    assert res.exit_code == 2 and "different seed" in res.output


@pytest.mark.parametrize("shard", ["2/2", "a/2", "1", "0/0", "-1/2", "١/٢"])
def test_a_bad_shard_is_one_line(shard, tmp_path):
    res = ot("run", "--model", "stub:oracle", "--task", "misleading-math", "--shard", shard, "--run-dir",
             tmp_path / "r")
    assert res.exit_code == 2 and "shard" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "r").exists()
