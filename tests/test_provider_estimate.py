"""Presets parse; `overthink estimate` prints requests, tokens and cost without a key or any request."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from overthink.cli.estimate import app
from overthink.config import build_config
from overthink.pricing import price_for
from overthink.sweep.estimate import estimate_run

PRESETS = sorted((Path(__file__).parent.parent / "presets").glob("*.yaml"))


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_presets_are_valid_configs(path):
    cfg = build_config(path)
    assert cfg.models and cfg.tasks
    if "natural" in path.stem:
        assert cfg.natural == 5
    else:
        assert cfg.replicates == 3 and cfg.cautioned == ("cautioned" in path.stem)


def test_all_variants_present():
    names = {p.stem for p in PRESETS}
    for base in ("paper-claude", "paper-openai", "paper-open-weights"):
        assert {base, base + "-natural", base + "-cautioned"} <= names


def test_estimate_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"models": ["anthropic:claude-sonnet-4-20250514"], "tasks": ["misleading-math"],
                                    "budgets": [0, 1024, 4096], "mechanism": "native", "replicates": 3,
                                    "limit": 10, "max_cost": 5}))
    rows = estimate_run(build_config(path))
    assert [r.requests for r in rows] == [30, 30, 30]
    assert [r.max_output_tokens for r in rows] == [30 * 10_000, 30 * 11_024, 30 * 14_096]
    price = price_for("anthropic", "claude-sonnet-4-20250514")
    assert rows[2].max_cost_usd == pytest.approx((rows[2].input_tokens * 3 + 30 * 14_096 * 15) / 1e6)
    assert price.output == 15
    result = CliRunner().invoke(app, [str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "claude-sonnet-4-20250514" in result.output and "90" in result.output  # total requests
    assert f"{sum(r.max_cost_usd for r in rows):,.2f}" in result.output
    batch = build_config(path, {"batch": True})
    assert estimate_run(batch)[2].max_cost_usd == pytest.approx(rows[2].max_cost_usd * 0.5)


def test_natural_estimate_uses_each_models_own_cap():
    """A natural sample thinks up to the model's cap: 2,048 on the embedded model (what it really generates), the
    paper's 16,384 elsewhere; a model option or the run's natural_cap overrides it."""
    def worst(cfg):
        return {r.model: r.max_output_tokens // r.requests for r in estimate_run(build_config(None, cfg))}

    base = {"models": ["local:qwen2.5-coder-0.5b", "openai-compatible:m@http://h/v1"], "tasks": ["misleading-math"],
            "natural": 2, "limit": 3, "mechanism": "prompted"}
    assert worst(base) == {"local:qwen2.5-coder-0.5b": 2048 + 128, "openai-compatible:m@http://h/v1": 16_384 * 2}
    opts = {**base, "model_options": {"local:qwen2.5-coder-0.5b": {"natural_cap": 512}}}
    assert worst(opts)["local:qwen2.5-coder-0.5b"] == 512 + 128
    assert set(worst({**base, "natural_cap": 300}).values()) == {300 + 128, 300 + 16_384}
