"""A run resolved once (budget.py RunSpec, sweep/plan.py resolve_run_spec): the plan, `check`, `estimate` and the
stored meta read one resolved per-model spec; `auto` never reaches a plan."""

from __future__ import annotations

import pytest

from overthink.budget import RunSpec
from overthink.config import build_config
from overthink.core import NATURAL, Mechanism
from overthink.providers import load_model
from overthink.store import Store
from overthink.sweep.estimate import estimate_run
from overthink.sweep.plan import build_plan, model_options, resolve_run_spec
from overthink.sweep.start import prepare, run_sync
from overthink.tasks import get_task


def _cfg(tmp_path, **over):
    base = dict(models=["stub:inverse"], tasks=["misleading-math"], budgets=[0, 64, 256], limit=2, natural=1,
                run_dir=str(tmp_path / "r"))
    return build_config(None, {**base, **over})


def test_a_run_spec_never_holds_auto():
    with pytest.raises(ValueError, match="auto"):
        RunSpec("stub:x", Mechanism.AUTO, 10, 100)


def test_created_and_uncreated_models_resolve_the_same(tmp_path):
    cfg = _cfg(tmp_path, answer_margin=300, natural_cap=900, temperature=0.7, top_p=0.9, cautioned=True)
    model = load_model("stub:inverse", model_options(cfg, "stub:inverse"))
    created, from_spec = resolve_run_spec(cfg, "stub:inverse", model), resolve_run_spec(cfg, "stub:inverse")
    assert created == from_spec
    assert (created.mechanism, created.answer_margin, created.natural_cap) == (Mechanism.FORCED, 300, 900)
    assert (created.temperature, created.top_p, created.cautioned) == (0.7, 0.9, True)
    assert created.plan(NATURAL).max_tokens == 900 + 300
    assert created.plan(64).max_tokens == 64 + 300


def test_defaults_come_from_the_provider_registry(tmp_path):
    spec = resolve_run_spec(_cfg(tmp_path), "local:smollm2-360m")
    assert (spec.mechanism, spec.answer_margin, spec.natural_cap) == (Mechanism.FORCED, 128, 2048)
    with_option = _cfg(tmp_path, models=["local:smollm2-360m"],
                       model_options={"local:smollm2-360m": {"natural_cap": 500}})
    assert resolve_run_spec(with_option, "local:smollm2-360m").natural_cap == 500


def test_plan_estimate_and_meta_read_the_one_spec(tmp_path):
    cfg = _cfg(tmp_path, answer_margin=77)
    sweep = prepare(cfg)
    spec = sweep.specs["stub:inverse"]
    task = get_task("misleading-math")
    plan = build_plan(cfg, [(task, task.items(n=2, seed=cfg.seed))], set(), sweep.specs)
    assert all(r.plan == spec.plan(r.plan.budget) for u in plan.units for r in plan.requests(u))
    rows = estimate_run(cfg)
    assert {r.budget: r.max_output_tokens // r.requests for r in rows} == {
        b: spec.plan(b).max_tokens for b in cfg.sweep_budgets()}
    with Store(cfg.run_dir) as store:
        run_sync(cfg, store, progress=False)
        stored = store.get_meta("models")["stub:inverse"]
    assert {k: stored[k] for k in spec.describe()} == spec.describe()
