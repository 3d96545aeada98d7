"""Runs through the real runner + store against the local API server: batch submit/poll/collect and resume
without paying twice, expired batches, --max-cost, and the canary key never reaching the run dir."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from servers.fake_api import FakeAPI

from overthink.config import build_config
from overthink.store import Store, write_export
from overthink.sweep import batch
from overthink.sweep.start import run, run_sync

CANARY = "sk-canary-7f3a9c1e5b2d4f60"
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.2, "timeout_s": 5, "max_attempts": 3}


@pytest.fixture()
def api(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setattr(batch, "POLL_S", 0.01)
    server = FakeAPI(batch_polls=2).start()
    yield server
    server.stop()


def config(api, tmp_path, spec, **kw):
    data = dict(models=[spec], tasks=["misleading-math"], limit=3, budgets=[0, 1024], mechanism="native",
                run_dir=str(tmp_path / "run"), model_options={spec: dict(FAST)})
    data.update(kw)
    return build_config(None, data)


def statuses(store: Store) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in store.iter_samples(with_text=False):
        out[row["status"]] = out.get(row["status"], 0) + 1
    return out


def test_anthropic_batch_killed_then_resumed_never_pays_twice(api, tmp_path):
    spec = f"anthropic:claude-sonnet-4-20250514@{api.url}"
    cfg = config(api, tmp_path, spec, batch=True)
    api.batch_polls = 10**9  # the batch never ends: the process is "killed" while polling

    async def killed_while_polling(store: Store) -> None:
        task = asyncio.ensure_future(run(cfg, store, progress=False))
        while not any(b["polls"] for b in api.batches.values()):
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with Store(cfg.run_dir) as store:
        asyncio.run(killed_while_polling(store))
        assert [b["batch_id"] for b in store.open_batches()] == ["msgbatch_0001"]
        assert store.count() == 0
    api.batch_polls = 1
    with Store(cfg.run_dir) as store:
        stats = run_sync(cfg, store, progress=False)
        assert statuses(store) == {"ok": 6}
        assert store.open_batches() == []
        rows = list(store.iter_samples())
    creates = [e for e in api.log if e["path"] == "/v1/messages/batches"]
    assert len(creates) == 1 and len(creates[0]["body"]["requests"]) == 6
    assert len(api.billed) == 6 and len(set(api.billed)) == 6
    assert {r["reasoning_tokens"] for r in rows} == {0, 512} and stats.cost_usd > 0
    # batch price: half of the table's
    r = next(r for r in rows if r["budget"] == 1024)
    assert r["cost_usd"] == pytest.approx((r["input_tokens"] * 3 + r["output_tokens"] * 15) / 1e6 * 0.5)
    # a further resume has nothing to do and submits nothing
    with Store(cfg.run_dir) as store:
        run_sync(cfg, store, progress=False)
    assert len([e for e in api.log if e["path"] == "/v1/messages/batches"]) == 1


def test_openai_expired_batch_entries_become_errors_and_are_resubmitted(api, tmp_path):
    spec = f"openai:o3@{api.url}/v1"
    cfg = config(api, tmp_path, spec, batch=True, budgets=["low", "high"])
    api.expire_batches = True
    with Store(cfg.run_dir) as store:
        run_sync(cfg, store, progress=False)
        assert statuses(store) == {"ok": 3, "error": 3}
        assert all("expired" in r["error"] for r in store.iter_samples() if r["status"] == "error")
    api.expire_batches = False
    with Store(cfg.run_dir) as store:
        run_sync(cfg, store, progress=False)
        assert statuses(store) == {"ok": 6}
    assert len(api.billed) == 6 and len(set(api.billed)) == 6  # errors were never billed twice
    second = [e for e in api.log if e["path"] == "/v1/batches"]
    assert len(second) == 2


def test_max_cost_stops_before_the_next_request_would_exceed(api, tmp_path):
    spec = f"anthropic:claude-sonnet-4-20250514@{api.url}"
    # $1 per M input and output: a 1024 request may cost up to (prompt/3 + 16 + 11024) / 1e6 ~= 0.0112
    opts = {**FAST, "price": {"input": 1.0, "output": 1.0}}
    cfg = config(api, tmp_path, spec, budgets=[1024], limit=5, max_cost=0.0125, model_options={spec: opts})
    with Store(cfg.run_dir) as store:
        stats = asyncio.run(run(cfg, store, progress=False))
        spent = [r["cost_usd"] for r in store.iter_samples()]
    worst = 0.0112  # about one request's input + 11,024 output tokens at $1/M
    assert stats.stopped_for_cost and 0 < len(spent) < 5 and len(api.billed) == len(spent)
    assert sum(spent) <= cfg.max_cost
    # it stopped exactly when one more worst-case request could have passed the limit
    assert sum(spent) + worst > cfg.max_cost - 0.0002 and sum(spent[:-1]) + worst <= cfg.max_cost


def test_canary_key_never_reaches_the_run_dir(api, tmp_path):
    spec = f"anthropic:claude-sonnet-4-20250514@{api.url}"
    api.faults += [{"status": 401, "body": {"type": "error", "error": {"type": "authentication_error",
                                                                        "message": f"bad key {CANARY}"}}}]
    cfg = config(api, tmp_path, spec)
    with Store(cfg.run_dir) as store:
        run_sync(cfg, store, progress=False)
        assert statuses(store) == {"ok": 5, "error": 1}
        with open(tmp_path / "run" / "export.jsonl", "w") as fh:
            write_export(store, "jsonl", fh)
    assert any(CANARY in e["headers"].get("authorization", "") + e["headers"].get("x-api-key", "")
               for e in api.log)  # the key was really used...
    for path in Path(tmp_path / "run").rglob("*"):  # ...and is nowhere in the run dir (db, WAL, export)
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_missing_key_is_one_line_cli_error_before_any_sample(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from overthink.cli import app

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "-m", "anthropic:claude-sonnet-4-20250514", "-t", "misleading-math",
                                      "--budgets", "0,1024", "--mechanism", "native", "--limit", "2", "--quiet",
                                      "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: ANTHROPIC_API_KEY is not set")
    assert not (tmp_path / "r").exists()  # refused before the run dir is created


def test_budget_below_anthropic_minimum_is_refused_before_any_request(api, tmp_path):
    spec = f"anthropic:claude-sonnet-4-20250514@{api.url}"
    from overthink.errors import ConfigError

    with Store(tmp_path / "run") as store, pytest.raises(ConfigError, match="minimum thinking budget"):
        run_sync(config(api, tmp_path, spec, budgets=[0, 512]), store, progress=False)
    assert api.log == []


def test_max_cost_limits_what_a_batch_submits(api, tmp_path):
    spec = f"anthropic:claude-sonnet-4-20250514@{api.url}"
    # batch price: half of $1 per M, so one 1024 request may cost up to ~0.0056; two fit under 0.0125, three do not
    opts = {**FAST, "price": {"input": 1.0, "output": 1.0}}
    cfg = config(api, tmp_path, spec, batch=True, budgets=[1024], limit=5, max_cost=0.0125,
                 model_options={spec: opts})
    with Store(cfg.run_dir) as store:
        stats = run_sync(cfg, store, progress=False)
        assert statuses(store) == {"ok": 2}
    creates = [e for e in api.log if e["path"] == "/v1/messages/batches"]
    assert len(creates) == 1 and len(creates[0]["body"]["requests"]) == 2
    assert stats.stopped_for_cost and stats.completed == 2 and len(api.billed) == 2


def test_batch_without_a_batch_api_is_refused_before_the_run_dir(tmp_path):
    from helpers import run_cli

    res = run_cli("run", "-m", "stub:flat", "-t", "misleading-math", "--limit", "2", "--batch", "--quiet",
                  "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2
    last = res.stderr.strip().splitlines()[-1]
    assert last == "error: --batch: stub:flat has no batch API (anthropic: and openai: do)"
    assert not (tmp_path / "r").exists()
