import asyncio

import pytest

from overthink.config import build_config
from overthink.errors import ConfigError
from overthink.providers import load_model
from overthink.store import Store
from overthink.sweep.start import run, run_sync


def cfg(tmp_path, **kw):
    base = dict(models=["stub:flat"], tasks=["misleading-math", "word-problems"], budgets=[0, 64, 256], limit=6,
                replicates=2, concurrency=3, run_dir=str(tmp_path))
    base.update(kw)
    return build_config(None, base)


def test_full_sweep_stores_every_key_once(tmp_path):
    c = cfg(tmp_path)
    with Store(tmp_path) as store:
        stats = run_sync(c, store, progress=False)
        assert stats.completed == 2 * 6 * 3 * 2
        assert store.count() == stats.completed
        assert len(store.done_keys()) == stats.completed
        seeds = store.conn.execute(
            "SELECT item_id, replicate, COUNT(DISTINCT seed) FROM samples GROUP BY task, item_id, replicate").fetchall()
        assert all(n == 1 for *_, n in seeds)  # one seed per (item, replicate), shared by all budgets
        assert store.conn.execute("SELECT COUNT(DISTINCT seed) FROM samples WHERE task='word-problems'"
                                  ).fetchone()[0] == 12  # replicates differ


def test_resume_never_recalls_finished_keys(tmp_path):
    c = cfg(tmp_path)
    with Store(tmp_path) as store:
        run_sync(c, store, progress=False)
    model = load_model("stub:flat")
    with Store(tmp_path) as store:
        stats = asyncio.run(run(c, store, models={"stub:flat": model}, progress=False))
    assert stats.planned == 0 and model.calls == 0


def test_errors_are_stored_and_retried(tmp_path):
    c = cfg(tmp_path, model_options={"stub:flat": {"fail_every": 4}})
    with Store(tmp_path) as store:
        stats = run_sync(c, store, progress=False)
        errors = store.count("error")
        assert errors == stats.statuses["error"] > 0
        row = store.conn.execute("SELECT error, score, correct FROM samples WHERE status='error'").fetchone()
        assert "injected failure" in row[0] and row[1] is None and row[2] is None  # never scored
    model = load_model("stub:flat")
    with Store(tmp_path) as store:
        stats = asyncio.run(run(c, store, models={"stub:flat": model}, progress=False))
        assert model.calls == errors and store.count("error") == 0 and store.count() == 72


def test_changing_semantic_settings_is_refused(tmp_path):
    with Store(tmp_path) as store:
        run_sync(cfg(tmp_path, limit=2), store, progress=False)
        with pytest.raises(ConfigError, match="temperature"):
            run_sync(cfg(tmp_path, limit=2, temperature=0.7), store, progress=False)
        # adding budgets or items is fine: only the new keys run
        stats = run_sync(cfg(tmp_path, limit=3, budgets=[0, 64, 256, 1024]), store, progress=False)
        assert stats.planned == 2 * 2 * (3 * 4 - 2 * 3)


def test_resuming_with_another_sweep_design_is_refused(tmp_path):
    """--independent (independent requests per budget) vs one shared trace: a run dir holds one design."""
    with Store(tmp_path) as store:
        run_sync(cfg(tmp_path, limit=2), store, progress=False)
        n = store.count()
        with pytest.raises(ConfigError, match="different independent"):
            run_sync(cfg(tmp_path, limit=2, independent=True), store, progress=False)
        assert store.count() == n  # nothing ran
    with Store(tmp_path / "ind") as store:
        run_sync(cfg(tmp_path / "ind", limit=2, independent=True), store, progress=False)
        with pytest.raises(ConfigError, match="different independent"):
            run_sync(cfg(tmp_path / "ind", limit=2), store, progress=False)
        stats = run_sync(cfg(tmp_path / "ind", limit=3, independent=True), store, progress=False)
        assert stats.planned > 0  # the same design resumes


def test_natural_mode_and_max_cost(tmp_path):
    with Store(tmp_path / "n") as store:
        stats = run_sync(cfg(tmp_path / "n", natural=4, limit=3), store, progress=False)
        assert stats.completed == 2 * 3 * 4
        assert {r["budget"] for r in store.iter_samples()} == {"natural"}


def test_truncated_and_unparsed_are_their_own_status(tmp_path):
    from overthink.core import Completion
    from overthink.providers.stub import StubModel

    class Odd(StubModel):
        async def generate(self, request):
            c = await super().generate(request)
            if request.plan.budget == 64:
                return Completion(reasoning="...", answer_text="", truncated=True, stop_reason="max_tokens",
                                  reasoning_tokens=64)
            if request.plan.budget == 256:
                c.answer_text = "it is two or three"
            return c

    from overthink.providers import ModelSpec

    model = Odd(ModelSpec("stub", "oracle"), {})
    c = cfg(tmp_path, models=["stub:oracle"], replicates=1)
    with Store(tmp_path) as store:
        asyncio.run(run(c, store, models={"stub:oracle": model}, progress=False))
        by = dict(store.conn.execute("SELECT budget, GROUP_CONCAT(DISTINCT status) FROM samples GROUP BY budget"))
        assert by == {0: "ok", 64: "truncated", 256: "unparsed"}
        assert store.conn.execute("SELECT COUNT(*) FROM samples WHERE status != 'ok' AND score IS NOT NULL"
                                  ).fetchone()[0] == 0


def test_semantic_diff_is_per_model_and_ignores_operational_options(tmp_path):
    base = cfg(tmp_path, model_options={"stub:flat": {"delay_s": 0.0, "max_attempts": 3}})
    added = cfg(tmp_path, models=["stub:flat", "stub:oracle"],
                model_options={"stub:flat": {"delay_s": 0.0, "max_attempts": 9}, "stub:oracle": {"answer": "3"}})
    assert added.semantic_diff(base) == []  # a new model with its options, and a retry setting, are fine
    changed = cfg(tmp_path, model_options={"stub:flat": {"delay_s": 0.5, "max_attempts": 3}})
    assert changed.semantic_diff(base) == ["model_options.stub:flat"]
    assert cfg(tmp_path, tasks=["misleading-math", "word-problems", "zebra"],
               task_args={"zebra": {"grids": "3x3"}}).semantic_diff(cfg(tmp_path)) == []


def test_budgets_after_a_natural_run_add_a_controlled_sweep(tmp_path):
    from helpers import run_cli

    run_dir = str(tmp_path / "r")
    common = ("--model", "stub:flat", "--task", "misleading-math", "--limit", "3", "--run-dir", run_dir, "--quiet")
    assert run_cli("run", *common, "--natural", "2").returncode == 0
    res = run_cli("run", *common, "--budgets", "0,64")
    assert res.returncode == 0 and "ran 6 of 6" in res.stderr
    with Store(run_dir) as store:
        assert {r["budget"] for r in store.iter_samples()} == {"natural", 0, 64}


def test_a_user_error_from_a_provider_stops_the_run_instead_of_filling_it_with_errors(tmp_path):
    from overthink.providers import ModelSpec
    from overthink.providers.stub import StubModel

    class Misconfigured(StubModel):
        async def generate(self, request):
            if request.plan.budget == 256:
                raise ConfigError("the server has no chat template; set model_options.chat_template")
            return await super().generate(request)

    model = Misconfigured(ModelSpec("stub", "flat"), {})
    with Store(tmp_path) as store:
        with pytest.raises(ConfigError, match="chat template"):
            asyncio.run(run(cfg(tmp_path, concurrency=1), store, models={"stub:flat": model}, progress=False))
        assert store.count("error") == 0 and store.count() >= 2  # finished samples kept, nothing stored as error
