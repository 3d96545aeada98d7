"""The provider contract (providers/base.py) and the sweep's promise to begin a run once: every provider inherits
ModelBase, the data the estimate reads agrees with the classes, and a run creates, checks and builds once."""

from __future__ import annotations

import importlib
import typing

import pytest

from overthink.config import build_config
from overthink.providers import PROVIDERS, BatchModel, ModelBase, ModelSpec, SweepModel
from overthink.providers.stub import StubModel
from overthink.store import Store
from overthink.sweep.plan import SampleKey, build_plan
from overthink.sweep.start import run_sync
from overthink.tasks import get_task

BATCH = {"anthropic", "openai"}


def provider_class(name: str) -> type:
    """The class a provider's registered factory declares it returns."""
    module_name, factory = PROVIDERS[name].factory.split(":")
    return typing.get_type_hints(getattr(importlib.import_module(module_name), factory))["return"]


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_provider_declares_the_contract(name):
    cls = provider_class(name)
    assert issubclass(cls, ModelBase)
    # answer margins are data (providers/registry.py) that the estimate reads without the provider: no
    # class may declare its own, which the estimate would not see
    assert all("default_answer_margin" not in vars(k) for k in cls.__mro__ if k is not ModelBase)
    assert cls.batch_api == (name in BATCH)  # declared, and only where the methods exist
    if cls.batch_api:
        assert all(callable(getattr(cls, m, None)) for m in ("params", "submit_batch", "batch_state", "batch_results"))
    assert hasattr(cls, "generate_sweep") == (name in ("local", "openai-compatible"))  # shared-trace sweeps


def test_batch_and_sweep_protocols_are_checked_on_instances():
    stub = StubModel(ModelSpec("stub", "flat"), {})
    assert not isinstance(stub, BatchModel) and not isinstance(stub, SweepModel)
    assert stub.price is not None and stub.worst_case_cost is not None and stub.default_answer_margin == 10_000


def test_sample_keys_equal_the_store_tuples_and_plan_only_unfinished(tmp_path):
    cfg = build_config(None, dict(models=["stub:flat"], tasks=["misleading-math"], budgets=[0, 64], limit=2,
                                  run_dir=str(tmp_path)))
    with Store(tmp_path) as store:
        run_sync(cfg, store, progress=False)
        done = store.done_keys()
    task = get_task("misleading-math")
    items = task.items(n=2)
    key = SampleKey("stub:flat", task.name, items[0].id, 64, "forced", 0)
    assert key in done and tuple(key) in done and len(done) == 4
    assert build_plan(cfg, [(task, items)], done).units == []
    partial = build_plan(cfg, [(task, items)], done - {key})
    assert [(u.item.id, u.budgets) for u in partial.units] == [(items[0].id, [64])] and partial.planned == 1


def test_a_run_creates_checks_and_builds_everything_once(tmp_path, monkeypatch):
    import overthink.sweep.start as start

    checks: list = []
    built: list = []

    class Counted(StubModel):
        def check_plan(self, plan, temperature=None):
            checks.append(plan.budget)

    def loader(spec, options):
        built.append(spec)
        return Counted(ModelSpec.parse(spec), options)

    real_get_task = start.get_task
    tasks: list = []
    monkeypatch.setattr(start, "get_task", lambda name, **kw: tasks.append(name) or real_get_task(name, **kw))
    cfg = build_config(None, dict(models=["stub:flat", "stub:oracle"], tasks=["misleading-math", "word-problems"],
                                  budgets=[0, 64, 256], limit=2, run_dir=str(tmp_path)))
    with Store(tmp_path) as store:
        stats = run_sync(cfg, store, progress=False, loader=loader)
    assert stats.completed == 2 * 2 * 2 * 3
    assert built == ["stub:flat", "stub:oracle"] and checks == [0, 64, 256] * 2
    assert tasks == ["misleading-math", "word-problems"]
