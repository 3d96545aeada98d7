"""Issue 12, long local runs: the run-level natural thinking cap (`--natural-cap N`, config `natural_cap`) and the
grace period a signal gives (none for a run of embedded models only). Fast: no llama.cpp model is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_cli

from overthink.config import DEFAULT_GRACE_S, build_config
from overthink.core import NATURAL
from overthink.errors import ConfigError
from overthink.local.model import DEFAULT_NATURAL_CAP
from overthink.providers import load_model
from overthink.sweep.plan import model_options, resolve_run_spec

LOCAL = "local:smollm2-135m"


def _config(tmp_path: Path, body: str, **flags) -> object:
    f = tmp_path / "exp.yaml"
    f.write_text(f"models: [{LOCAL}, stub:inverse]\ntasks: [misleading-math]\nnatural: 2\n{body}")
    return build_config(f, flags, base={"natural_cap": 7})


def test_natural_cap_layers_stored_file_flag(tmp_path: Path) -> None:
    assert _config(tmp_path, "").natural_cap == 7  # a resumed run's stored value
    assert _config(tmp_path, "natural_cap: 300\n").natural_cap == 300  # the file over the stored config
    assert _config(tmp_path, "natural_cap: 300\n", natural_cap=40).natural_cap == 40  # the flag over the file
    with pytest.raises(ConfigError, match="field 'natural_cap'"):
        _config(tmp_path, "natural_cap: 0\n")


def test_natural_cap_reaches_the_local_model_and_the_plans(tmp_path: Path) -> None:
    # above the local default (2,048) and over the model option: the run-level field is the explicit layer
    cfg = _config(tmp_path, f"natural_cap: 3000\nmodel_options: {{{LOCAL}: {{natural_cap: 100}}}}\n")
    assert model_options(cfg, LOCAL)["natural_cap"] == 3000 and "natural_cap" not in model_options(cfg, "stub:inverse")
    local = load_model(LOCAL, model_options(cfg, LOCAL))
    stub = load_model("stub:inverse", model_options(cfg, "stub:inverse"))
    assert local.think_cap(resolve_run_spec(cfg, str(local.spec), local).plan(NATURAL)) == 3000
    plan = resolve_run_spec(cfg, str(stub.spec), stub).plan(NATURAL)  # natural_cap + the answer margin
    assert plan.max_tokens == 3000 + plan.answer_tokens
    budgeted = resolve_run_spec(cfg, str(stub.spec), stub).plan(64)
    assert budgeted.max_tokens == 64 + plan.answer_tokens  # budgets are not touched
    unset = _config(tmp_path, "")
    unset = unset.model_copy(update={"natural_cap": None})
    default = load_model(LOCAL, model_options(unset, LOCAL))
    assert default.think_cap(resolve_run_spec(unset, str(default.spec), default).plan(NATURAL)) == DEFAULT_NATURAL_CAP
    assert resolve_run_spec(unset, str(stub.spec), stub).plan(NATURAL).max_tokens == 16384 + plan.answer_tokens


def test_a_changed_natural_cap_is_refused_on_resume(tmp_path: Path) -> None:
    a = build_config(None, {"models": [LOCAL], "tasks": ["misleading-math"], "natural": 2, "natural_cap": 100})
    assert a.semantic_diff(a.model_copy(update={"natural_cap": 200})) == ["natural_cap"]


def test_run_takes_natural_cap_flag(tmp_path: Path) -> None:
    shown = run_cli("run", "--help", env={"COLUMNS": "200"})
    assert "--natural-cap" in shown.stdout
    bad = run_cli("run", "--model", LOCAL, "--task", "misleading-math", "--natural", "1", "--natural-cap", "0",
                  "--run-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert bad.returncode == 2 and "natural_cap" in bad.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "r").exists()


def test_grace_is_zero_for_local_only_runs(tmp_path: Path) -> None:
    cfg = build_config(None, {"models": [LOCAL], "tasks": ["misleading-math"]})
    local, stub = load_model(LOCAL, {}), load_model("stub:inverse", {})
    assert cfg.grace([local]) == 0 and cfg.grace([local, stub]) == DEFAULT_GRACE_S == cfg.grace([stub])
    assert cfg.model_copy(update={"grace_s": 5.0}).grace([local]) == 5.0  # an explicit --grace-s is kept
