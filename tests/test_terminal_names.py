"""Terminal tables abbreviate model names uniquely (issue 27): two servers of one model at two ports used to look
identical once cut; each table that abbreviates prints `SHORT = FULL` under it."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from overthink.cli import app
from overthink.core import SampleRecord
from overthink.report.names import short_names
from overthink.store import Store

MODELS = [f"openai-compatible:Qwen/Qwen3-8B-Instruct-2507-AWQ@http://127.0.0.1:{port}/v1" for port in (8001, 8002)]


def _run(run: Path) -> None:
    with Store(run) as store:
        store.set_meta("tasks", {"t": {"metric": "accuracy"}})
        for model in MODELS:
            for i in range(12):
                for b in (0, 256):
                    correct = (i + b) % 3 != 0
                    store.record(SampleRecord(
                        run_id="r", model=model, provider="openai-compatible", task="t", item_id=f"i{i}", budget=b,
                        mechanism="native", replicate=0, seed=0, status="ok", reasoning_tokens=b, output_tokens=b + 9,
                        input_tokens=40, answer="2" if correct else "3", expected="2", score=float(correct),
                        correct=correct, cost_usd=0.0))


def test_every_terminal_table_names_each_model_uniquely_with_a_legend(tmp_path):
    run = tmp_path / "run"
    _run(run)
    out = CliRunner().invoke(app, ["summary", str(run)], env={"COLUMNS": "250"}).output
    short = short_names(MODELS)
    assert len(set(short.values())) == 2 and all(len(s) <= 40 for s in short.values())
    tables = ("overthink summary", "efficiency per budget", "budget enforcement audit")
    starts = [out.index(title) for title in tables]
    assert starts == sorted(starts)
    for title, start, end in zip(tables, starts, [*starts[1:], len(out)]):
        part = out[start:end]  # this table, its legend and the lines up to the next table
        table = part[:part.index("└")]
        for model in MODELS:  # both short names in the rows, the full ones only in the legend under the table
            assert short[model] in table and model not in table, title
            assert f"{short[model]} = {model}" in re.sub(r"\s+", " ", part), title
    assert "cost: no price (self-hosted)" in out
