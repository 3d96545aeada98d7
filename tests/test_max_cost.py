"""`--max-cost` through every executor path (sweep/dispatch.py owns the reservation for all of them): one request
at a time, a shared thinking trace of several budgets, and a provider batch. Each run must stop before a send whose
worst case could pass the limit, and spend no more than the limit.

The first tests are the repro of issue 25 (a priced shared-trace model with max_cost 3.0 spent 40 USD); the others
drive the real openai / anthropic SDKs against the local wire-faithful servers (tests/servers/)."""

from __future__ import annotations

import asyncio

import pytest
from servers.fake_api import FakeAPI
from servers.profile_api import TEMPLATE

from overthink.config import build_config
from overthink.core import Completion
from overthink.pricing import Price
from overthink.providers import ModelSpec, load_model
from overthink.providers.stub import StubModel
from overthink.store import Store
from overthink.sweep import batch
from overthink.sweep.plan import build_plan
from overthink.sweep.start import run, run_sync
from overthink.tasks import get_task

FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.2, "timeout_s": 10, "max_attempts": 1}


class PricedSweep(StubModel):
    """A stub that bills 1 USD per sample and answers several budgets from one "trace" (a SweepModel)."""

    price = Price(1.0, 1.0, source="test")

    def __init__(self) -> None:
        super().__init__(ModelSpec("stub", "oracle"), {})
        self.sent: list[object] = []

    def worst_case_cost(self, request):
        return 1.0

    async def generate(self, request) -> Completion:
        self.sent.append(request.plan.budget)
        c = await super().generate(request)
        c.cost_usd = 1.0
        return c

    async def generate_sweep(self, requests):
        for r in requests:
            yield r, await self.generate(r)


def stub_run(tmp_path, budgets, **kw):
    cfg = build_config(None, dict(models=["stub:oracle"], tasks=["misleading-math"], budgets=budgets, limit=20,
                                  mechanism="forced", max_cost=3.0, run_dir=str(tmp_path / "r"), **kw))
    model = PricedSweep()
    with Store(cfg.run_dir) as store:
        stats = asyncio.run(run(cfg, store, models={"stub:oracle": model}, progress=False))
        spent = [r["cost_usd"] for r in store.iter_samples()]
    return stats, spent, model


def test_shared_trace_reserves_a_whole_unit_and_stops_at_the_limit(tmp_path):
    # 20 units of 2 budgets (40 samples, 1 USD each): a unit may cost 2, so after one unit (2 spent) a second
    # could reach 4 > 3 and the run stops - before the fix it ran all 40 and spent 40 USD
    stats, spent, model = stub_run(tmp_path, [0, 64])
    assert stats.stopped_for_cost and stats.planned == 40
    assert sum(spent) == 2.0 and stats.cost_usd == 2.0 and len(model.sent) == 2


def test_one_by_one_stops_at_the_limit(tmp_path):
    stats, spent, model = stub_run(tmp_path, [0, 64], independent=True)
    assert stats.stopped_for_cost and sum(spent) == 3.0 and len(model.sent) == 3


def test_a_shared_unit_wider_than_the_limit_sends_nothing(tmp_path):
    stats, spent, model = stub_run(tmp_path, [0, 64, 256, 1024])  # one unit may cost 4 > 3
    assert stats.stopped_for_cost and spent == [] and model.sent == []


def test_shared_trace_on_a_server_stops_before_a_unit_that_could_pass_the_limit(serve, tmp_path):
    api = serve("vllm")
    spec = f"openai-compatible:m@{api.url}/v1"
    options = {**FAST, "chat_template": TEMPLATE, "price": {"input": 100.0, "output": 100.0}}
    data = dict(models=[spec], tasks=["misleading-math"], budgets=[0, 4, 16], limit=8, mechanism="forced",
                answer_margin=16, temperature=0.0, model_options={spec: options}, run_dir=str(tmp_path / "r"))
    unit_worst = worst_cases(build_config(None, data), spec, options)
    limit = unit_worst[0] * 2.5  # room for two units' worst case, not three
    cfg = build_config(None, {**data, "max_cost": limit})
    with Store(cfg.run_dir) as store:
        stats = run_sync(cfg, store, progress=False)
        rows = list(store.iter_samples(with_text=False))
    spent = sum(r["cost_usd"] for r in rows)
    assert stats.stopped_for_cost and 0 < len(rows) < 24 and spent <= limit
    assert all(r["shared_trace"] for r in rows if r["budget"] != 0) and len(rows) % 3 == 0  # whole units
    units = len(rows) // 3
    assert spent + unit_worst[units] > limit  # it stopped exactly when one more unit could have passed the limit
    thinking_passes = [e for e in api.log if e["path"] == "/v1/completions" and "logprobs" in e["body"]]
    assert len(thinking_passes) == units  # no trace was started that was not recorded


@pytest.fixture()
def anthropic_api(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-max-cost")
    monkeypatch.setattr(batch, "POLL_S", 0.01)
    server = FakeAPI().start()
    yield server
    server.stop()


def worst_cases(cfg, spec, options, *, batch_mode=False):
    """The worst case of each planned send, as the model computes it (the plan's own requests)."""
    model = load_model(spec, options)
    model.batch_mode = batch_mode
    task = get_task("misleading-math")
    plan = build_plan(cfg, [(task, task.items(n=cfg.limit, seed=cfg.seed))], set())
    return [sum(model.worst_case_cost(r) for r in plan.requests(u)) for u in plan.units]


@pytest.mark.parametrize("use_batch", [False, True], ids=["one-by-one", "batch"])
def test_api_paths_stop_at_the_limit(anthropic_api, tmp_path, use_batch):
    spec = f"anthropic:claude-sonnet-4-20250514@{anthropic_api.url}"
    opts = {**FAST, "price": {"input": 1.0, "output": 1.0}}  # one 1024 request may cost ~0.0112 (half in a batch)
    cfg = build_config(None, dict(models=[spec], tasks=["misleading-math"], budgets=[1024], limit=5,
                                  mechanism="native", batch=use_batch, max_cost=0.0125, run_dir=str(tmp_path / "r"),
                                  model_options={spec: opts}))
    worst = worst_cases(cfg, spec, opts, batch_mode=use_batch)
    with Store(cfg.run_dir) as store:
        stats = run_sync(cfg, store, progress=False)
        spent = [r["cost_usd"] for r in store.iter_samples(with_text=False)]
    assert stats.stopped_for_cost and 0 < len(spent) < 5 and sum(spent) <= cfg.max_cost
    assert len(anthropic_api.billed) == len(spent)  # nothing sent beyond what was stored
    n = len(spent)
    if use_batch:  # a batch reserves every entry before submitting: as many as the worst cases allow
        assert sum(worst[:n]) <= cfg.max_cost < sum(worst[:n + 1])
    else:  # one at a time: the next request's worst case on top of what was really spent
        assert sum(spent[:-1]) + worst[n - 1] <= cfg.max_cost < sum(spent) + worst[n]
