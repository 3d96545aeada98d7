"""`overthink estimate` for self-hosted runs (issue 31, item 7): "no price (self-hosted)" instead of 0.00, a wall
time from tokens per second measured on a previous run (and which run), model names abbreviated uniquely."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from overthink.cli import app
from overthink.core import SampleRecord
from overthink.report.names import short_names
from overthink.store import Store
from overthink.sweep.estimate import measured_speed, self_hosted

MODEL = "local:qwen2.5-coder-0.5b"


def _run(run_dir: Path) -> Path:
    """Two items of a shared-trace sweep: each unit took 10 s and decoded 256 thinking + 3 x 4 answer tokens."""
    with Store(run_dir) as store:
        for item in ("a", "b"):
            for budget in (0, 64, 256):
                store.record(SampleRecord(
                    run_id="r", model=MODEL, provider="local", task="misleading-math", item_id=item, budget=budget,
                    mechanism="forced", replicate=0, seed=0, status="ok", reasoning_tokens=budget,
                    output_tokens=budget + 4, latency_s=10.0, shared_trace=budget > 0))
    return run_dir


def test_speed_counts_a_shared_trace_once(tmp_path: Path):
    speed = measured_speed([_run(tmp_path / "r")], MODEL)
    assert speed is not None and speed.samples == 6
    assert abs(speed.tokens_per_s - 2 * (256 + 12) / 20) < 1e-9
    assert measured_speed([tmp_path / "r"], "local:smollm2-135m") is None


def test_self_hosted_is_local_and_own_servers_not_hosted_apis():
    assert self_hosted(MODEL) and self_hosted("openai-compatible:m@http://127.0.0.1:8000/v1")
    assert not self_hosted("openai-compatible:deepseek-reasoner@https://api.deepseek.com/v1")
    assert not self_hosted("anthropic:claude-sonnet-4-20250514")


def test_estimate_says_no_price_and_gives_a_measured_wall_time(tmp_path: Path):
    run = _run(tmp_path / "r")
    config = tmp_path / "c.yaml"
    config.write_text(f"models: [{MODEL}]\ntasks: [misleading-math]\nbudgets: [0, 256]\nlimit: 4\n")
    runner = CliRunner()
    done = runner.invoke(app, ["estimate", str(config)], env={"COLUMNS": "250"})
    assert done.exit_code == 0, done.output
    assert "no price (self-hosted)" in done.output and "0.00" not in done.output
    assert "not measured yet; give --speed-from RUN_DIR" in done.output
    done = runner.invoke(app, ["estimate", str(config), "--speed-from", str(run)], env={"COLUMNS": "250"})
    assert done.exit_code == 0, done.output
    assert "wall time" in done.output.splitlines()[2] and "no price (self-hosted)" in done.output
    assert f"26.8 output tokens/s per request stream, measured on 6 finished samples of {run}" in done.output


def test_short_names_are_unique_and_short():
    names = [f"openai-compatible:Qwen/Qwen3-8B@http://127.0.0.1:80{k:02d}/v1" for k in range(12)] + [MODEL]
    short = short_names(names, width=28)
    assert len(set(short.values())) == len(names)
    assert all(len(v) <= 28 for v in short.values()) and short[MODEL] == MODEL
    assert short[names[3]].endswith("@:8003")
