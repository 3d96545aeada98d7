"""Cost where people look (issue 27): `overthink summary` and `summary --json` give the cost per budget, per task
and in total, with the cost per correct answer, from real runs through the CLI against the local wire-faithful
servers; a self-hosted model says "no price (self-hosted)" and a model nobody prices "price unknown", never 0.00."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from servers.fake_api import FakeAPI
from typer.testing import CliRunner

from overthink.cli import app
from overthink.core import SampleRecord
from overthink.store import Store

OPTIONS = ["--quiet", "--limit", "4", "--task", "misleading-math"]


def _json(run: Path) -> dict:
    done = CliRunner().invoke(app, ["summary", str(run), "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def _terminal(run: Path) -> str:
    done = CliRunner().invoke(app, ["summary", str(run)], env={"COLUMNS": "250"})
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture()
def openai_api(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test-cost")
    server = FakeAPI().start()
    yield server
    server.stop()


def test_a_priced_api_run_shows_its_recorded_cost_per_budget_per_task_and_in_total(openai_api, tmp_path):
    run = tmp_path / "priced"
    done = CliRunner().invoke(app, ["run", "--model", f"openai:o4-mini@{openai_api.url}/v1", "--budgets",
                                    "1024,8192", "--run-dir", str(run), *OPTIONS])
    assert done.exit_code == 0, done.output
    with Store(run, create=False) as store:
        rows = list(store.iter_samples(with_text=False))
    spent = sum(r["cost_usd"] for r in rows)
    correct = sum(bool(r["correct"]) for r in rows)
    assert spent > 0 and len(rows) == 8

    cost = _json(run)["cost"]
    total = cost["total"]
    assert total["cost_usd"] == pytest.approx(spent) and total["basis"] == "stored"
    assert total["n"] == 8 and total["n_priced"] == 8 and total["n_correct"] == correct
    assert total["cost_per_correct_usd"] == (pytest.approx(spent / correct) if correct else None)
    by_budget = {r["budget"]: r for r in cost["budgets"]}
    assert set(by_budget) == {"1024", "8192"}
    for budget, row in by_budget.items():
        here = [r for r in rows if str(r["budget"]) == budget]
        assert row["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in here)) and row["n"] == len(here)
    (task,) = cost["tasks"]
    assert task["task"] == "misleading-math" and task["cost_usd"] == pytest.approx(spent)
    assert sum(r["cost_usd"] for r in cost["budgets"]) == pytest.approx(spent)  # the budgets add up to the total

    out = _terminal(run)
    assert "cost (as recorded" in out and f"${spent:,.4f}" in out and "stored" in out
    assert "price unknown" not in out and "self-hosted" not in out


def test_a_self_hosted_server_says_no_price_instead_of_zero(serve, tmp_path):
    api = serve("vllm")
    run = tmp_path / "server"
    done = CliRunner().invoke(app, ["run", "--model", f"openai-compatible:m@{api.url}/v1", "--server", "vllm",
                                    "--budgets", "0,64", "--run-dir", str(run), *OPTIONS])
    assert done.exit_code == 0, done.output
    with Store(run, create=False) as store:  # the provider stored 0.0 from the "*" row of the price table
        assert {r["cost_usd"] for r in store.iter_samples(with_text=False)} == {0.0}

    summary = _json(run)
    total = summary["cost"]["total"]
    assert total["cost_usd"] is None and total["basis"] == "no price (self-hosted)" and total["n_priced"] == 0
    assert all(r["cost_usd"] is None and r["cost_per_correct_usd"] is None for r in summary["cost"]["budgets"])
    efficiency = summary["efficiency"][0]["budgets"]
    assert all(b["cost_source"] == "no price (self-hosted)" and b["cost_per_correct_usd"] is None
               for b in efficiency)

    out = _terminal(run)
    assert f"cost: no price (self-hosted): openai-compatible:m@{api.url}/v1 ran on your own hardware" in out
    cells = out.split("efficiency per budget")[1].split("cost:")[0]  # the $ / correct cells (wrapped in two lines)
    assert cells.count("no price") == 2 and cells.count("(self-hosted)") == 2
    assert "$0" not in out and "price table" not in out


def _record(store: Store, model: str, provider: str, budget: int, item: str, cost: float | None,
            correct: bool) -> None:
    store.record(SampleRecord(run_id="r", model=model, provider=provider, task="t", item_id=item, budget=budget,
                              mechanism="native", replicate=0, seed=0, status="ok", reasoning_tokens=budget,
                              output_tokens=budget + 10, input_tokens=50, answer="2" if correct else "3",
                              expected="2", score=float(correct), correct=correct, cost_usd=cost))


def test_unknown_prices_are_said_and_a_partly_priced_total_counts_what_it_left_out(tmp_path):
    run = tmp_path / "mixed"
    with Store(run) as store:
        store.set_meta("tasks", {"t": {"metric": "accuracy"}})
        for i in range(4):
            for b in (0, 512):
                _record(store, "acme:reasoner-1", "acme", b, f"i{i}", None, i % 2 == 0)  # nobody prices acme
                _record(store, "openai:o4-mini", "openai", b, f"i{i}", 0.01, i < 3)
    cost = _json(run)["cost"]
    models = {m["model"]: m for m in cost["models"]}
    assert models["acme:reasoner-1"]["cost_usd"] is None and models["acme:reasoner-1"]["basis"] == "price unknown"
    assert models["openai:o4-mini"]["cost_usd"] == pytest.approx(0.08)
    assert models["openai:o4-mini"]["cost_per_correct_usd"] == pytest.approx(0.08 / 6)
    total = cost["total"]  # the sum of what is priced, and how many samples were not
    assert total["cost_usd"] == pytest.approx(0.08) and total["n_priced"] == 8 and total["n"] == 16
    assert total["cost_per_correct_usd"] is None  # not every answer has a price: no honest ratio
    out = _terminal(run)
    assert "price unknown" in out and "(8 of 16 samples: price unknown)" in out
    assert not any(math.isnan(v) for v in [total["cost_usd"]])


def test_imported_inspect_logs_keep_the_cost_they_recorded(inspect_logs, tmp_path):
    """inspect_ai's own prices (model_cost_config) recorded each sample's total_cost; the import keeps it."""
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(inspect_logs["low"]))
    recorded = [u.total_cost for s in log.samples for u in (s.model_usage or {}).values()]
    assert recorded and all(c is not None and c > 0 for c in recorded)
    run = tmp_path / "imported"
    done = CliRunner().invoke(app, ["import", str(inspect_logs["low"]), "--run-dir", str(run), "--scorer",
                                    "includes"])
    assert done.exit_code == 0, done.output
    total = _json(run)["cost"]["total"]
    assert total["cost_usd"] == pytest.approx(sum(recorded)) and total["basis"] == "stored"
