"""Fetching datasets: pinned checksums, resume/restart of interrupted downloads, --from, SOURCE.json, the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from data_helpers import FileServer, shared_data
from typer.testing import CliRunner

from overthink import datasets
from overthink.cli.data import app
from overthink.errors import DataError
from overthink.tasks.files import read_prize_file

GSM8K = shared_data() / "gsm8k" / "test.jsonl"
AI_RISK = shared_data() / "anthropic-evals-advanced-ai-risk"
GSM8K_URL = "/openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data/test.jsonl"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERTHINK_DATA_MIRROR", "http://127.0.0.1:9")  # nothing listens: no accidental network


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch):
    servers: list[FileServer] = []

    def start(files: dict[str, bytes], **kw) -> FileServer:
        server = FileServer(files, **kw)
        servers.append(server)
        monkeypatch.setenv("OVERTHINK_DATA_MIRROR", server.url)
        return server

    yield start
    for server in servers:
        server.close()


def test_registry_pins_every_file_and_the_paper_subsets() -> None:
    reg = datasets.registry()
    assert {"ai-risk", "bbeh-zebra", "gsm8k", "inverse-scaling-prize"} <= set(reg)
    assert len(reg["ai-risk"].files) == 16
    for ds in reg.values():
        assert ds.licence and ds.upstream
        for f in ds.files:
            assert f.sha256 or f.git_blob
            assert ds.commit and len(ds.commit) == 40


def test_the_shared_samples_match_the_pinned_checksums() -> None:
    f = next(f for f in datasets.get_dataset("gsm8k").files)
    info = datasets.verify(GSM8K, f, "gsm8k")
    assert info["sha256"] == hashlib.sha256(GSM8K.read_bytes()).hexdigest()
    assert info["git_blob"].startswith("e4c2ff49")  # the blob id the upstream tree lists


def test_download_verifies_and_records_source(serve, home: Path) -> None:
    server = serve({GSM8K_URL: GSM8K.read_bytes()})
    seen: list[int] = []
    result = datasets.fetch("gsm8k", progress=lambda name, done, total: seen.append(done))
    target = home / "data" / "gsm8k" / "test.jsonl"
    assert result.fetched == ["test.jsonl"]
    assert target.read_bytes() == GSM8K.read_bytes()
    assert seen[-1] == GSM8K.stat().st_size
    source = json.loads((home / "data" / "gsm8k" / "SOURCE.json").read_text())
    assert source["licence"] == "MIT" and source["commit"].startswith("3101c7d5")
    assert source["files"]["test.jsonl"]["url"] == server.url + GSM8K_URL
    assert source["files"]["test.jsonl"]["verified_by"] == "sha256"
    assert datasets.fetch("gsm8k").already == ["test.jsonl"]  # cached: no second download
    assert len(server.requests) == 1


def test_checksum_mismatch_is_rejected_and_nothing_is_left(serve, home: Path) -> None:
    body = bytearray(GSM8K.read_bytes())
    body[100] ^= 1  # same size, one bit different
    serve({GSM8K_URL: bytes(body)})
    with pytest.raises(DataError, match="sha256"):
        datasets.fetch("gsm8k")
    folder = home / "data" / "gsm8k"
    assert not (folder / "test.jsonl").exists() and not (folder / "test.jsonl.part").exists()
    with pytest.raises(DataError, match="overthink data fetch gsm8k"):
        datasets.locate("gsm8k", "test.jsonl")


def test_interrupted_download_resumes_with_range(serve, home: Path) -> None:
    server = serve({GSM8K_URL: GSM8K.read_bytes()}, ranges=True, cut=300_000)
    datasets.fetch("gsm8k")
    assert len(server.requests) == 2 and server.requests[0][1] is None
    resumed_at = int(server.requests[1][1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 300_000  # what reached the .part file before the cut
    assert (home / "data" / "gsm8k" / "test.jsonl").read_bytes() == GSM8K.read_bytes()


def test_interrupted_download_restarts_when_the_server_cannot_resume(serve, home: Path) -> None:
    server = serve({GSM8K_URL: GSM8K.read_bytes()}, ranges=False, cut=300_000)
    datasets.fetch("gsm8k")
    assert len(server.requests) == 2 and server.requests[1][1].startswith("bytes=")  # asked, got a full 200
    assert (home / "data" / "gsm8k" / "test.jsonl").read_bytes() == GSM8K.read_bytes()


def test_partial_file_is_never_used_and_the_next_fetch_resumes_it(serve, home: Path) -> None:
    server = serve({GSM8K_URL: GSM8K.read_bytes()}, cut=200_000, cut_times=3)
    with pytest.raises(DataError, match="partial file"):
        datasets.fetch("gsm8k")
    folder = home / "data" / "gsm8k"
    assert not (folder / "test.jsonl").exists()
    kept = (folder / "test.jsonl.part").stat().st_size
    assert 0 < kept < GSM8K.stat().st_size  # three cut attempts, each resumed from the last
    assert all(r and r.startswith("bytes=") for _, r in server.requests[1:])
    with pytest.raises(DataError, match="not downloaded"):
        datasets.locate("gsm8k", "test.jsonl")
    datasets.fetch("gsm8k")
    assert server.requests[-1][1] == f"bytes={kept}-"
    assert (folder / "test.jsonl").read_bytes() == GSM8K.read_bytes()
    assert not (folder / "test.jsonl.part").exists()


def test_git_blob_prefix_verification(serve, tmp_path: Path) -> None:
    """Files without a known sha256 (12 AI-risk subsets, BBEH task.json) are checked by git blob id + rows."""
    body = (AI_RISK / "human_generated_evals" / "myopic-reward.jsonl").read_bytes()
    server = serve({"/x.jsonl": body})
    good = datasets.DataFile("x.jsonl", git_blob="ecc7cd75", rows=1000)
    info = datasets.download(server.url + "/x.jsonl", tmp_path / "x.jsonl", good)
    assert info["verified_by"] == "git blob prefix"
    for bad, message in ((datasets.DataFile("y.jsonl", git_blob="ecc7cd76", rows=1000), "git blob"),
                         (datasets.DataFile("y.jsonl", git_blob="ecc7cd75", rows=999), "records")):
        with pytest.raises(DataError, match=message):
            datasets.download(server.url + "/x.jsonl", tmp_path / "y.jsonl", bad)
        assert not (tmp_path / "y.jsonl").exists()


def test_not_found_on_the_mirror(serve) -> None:
    serve({})
    with pytest.raises(DataError, match="404"):
        datasets.fetch("gsm8k")


def test_offline_from_folder_and_file(home: Path) -> None:
    # OVERTHINK_DATA_MIRROR points at a closed port: any network use would fail
    result = datasets.fetch("ai-risk", source=AI_RISK)
    assert sorted(result.fetched) == ["corrigible-neutral-HHH.jsonl", "myopic-reward.jsonl",
                                      "self-awareness-general-ai.jsonl", "survival-instinct.jsonl"]
    assert len(result.missing) == 12
    source = json.loads((home / "data" / "ai-risk" / "SOURCE.json").read_text())
    assert source["licence"] == "CC-BY-4.0"
    assert source["files"]["survival-instinct.jsonl"]["from"].endswith("survival-instinct.jsonl")
    assert datasets.fetch("gsm8k", source=GSM8K).fetched == ["test.jsonl"]


def test_offline_copy_of_the_wrong_file_is_refused(tmp_path: Path, home: Path) -> None:
    wrong = tmp_path / "test.jsonl"
    wrong.write_bytes(GSM8K.read_bytes()[:-10])
    with pytest.raises(DataError, match="size"):
        datasets.fetch("gsm8k", source=wrong)
    with pytest.raises(DataError, match="none of the files"):
        datasets.fetch("bbeh-zebra", source=shared_data() / "gsm8k")
    assert not (home / "data" / "gsm8k" / "test.jsonl").exists()


def test_user_supplied_prize_files(tmp_path: Path, home: Path) -> None:
    with pytest.raises(DataError, match="--from"):
        datasets.fetch("inverse-scaling-prize")
    folder = tmp_path / "prize"
    folder.mkdir()
    (folder / "memo-trap_classification.jsonl").write_text(
        json.dumps({"prompt": "End it: a stitch in time saves", "classes": [" nine.", " time."],
                    "answer_index": 0, "round": 1, "part": 1}) + "\n")
    (folder / "broken.csv").write_text("prompt,classes,answer_index\nhello,\"[' a', ' b']\",7\n")
    with pytest.raises(DataError, match=r"broken.csv:2: .*out of range"):
        datasets.fetch("inverse-scaling-prize", source=folder, validate=read_prize_file)
    assert not list((home / "data" / "inverse-scaling-prize").glob("*.jsonl"))  # nothing half-imported
    (folder / "broken.csv").unlink()
    datasets.fetch("inverse-scaling-prize", source=folder, validate=read_prize_file)
    from overthink.tasks import get_task

    task = get_task("prize/memo-trap")
    (item,) = task.items()
    assert item.choices == (" nine.", " time.") and item.expected == "A"
    assert item.metadata == {"round": 1, "part": 1}


def test_cli_list_and_fetch(home: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0
    for name in ("ai-risk", "bbeh-zebra", "gsm8k", "inverse-scaling-prize", "CC-BY-4.0"):
        assert name in res.output
    res = runner.invoke(app, ["fetch", "gsm8k", "--from", str(GSM8K.parent)])
    assert res.exit_code == 0, res.output
    assert "1/1" in runner.invoke(app, ["list"]).output
    res = runner.invoke(app, ["fetch", "no-such-data"])
    assert res.exit_code == 2 and "unknown dataset" in res.output
    res = runner.invoke(app, ["fetch", "inverse-scaling-prize"])
    assert res.exit_code == 2 and "huggingface" in res.output.lower()
