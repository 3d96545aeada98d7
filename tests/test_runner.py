import asyncio

import pytest

from overthink.config import build_config
from overthink.errors import ConfigError
from overthink.models import load_model
from overthink.runner import Runner, run_sync
from overthink.store import Store


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
        stats = asyncio.run(Runner(c, store, models={"stub:flat": model}, progress=False).run())
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
        stats = asyncio.run(Runner(c, store, models={"stub:flat": model}, progress=False).run())
        assert model.calls == errors and store.count("error") == 0 and store.count() == 72


def test_changing_semantic_settings_is_refused(tmp_path):
    with Store(tmp_path) as store:
        run_sync(cfg(tmp_path, limit=2), store, progress=False)
        with pytest.raises(ConfigError, match="temperature"):
            run_sync(cfg(tmp_path, limit=2, temperature=0.7), store, progress=False)
        # adding budgets or items is fine: only the new keys run
        stats = run_sync(cfg(tmp_path, limit=3, budgets=[0, 64, 256, 1024]), store, progress=False)
        assert stats.planned == 2 * 2 * (3 * 4 - 2 * 3)


def test_natural_mode_and_max_cost(tmp_path):
    with Store(tmp_path / "n") as store:
        stats = run_sync(cfg(tmp_path / "n", natural=4, limit=3), store, progress=False)
        assert stats.completed == 2 * 3 * 4
        assert {r["budget"] for r in store.iter_samples()} == {"natural"}


def test_truncated_and_unparsed_are_their_own_status(tmp_path):
    from overthink.core import Completion
    from overthink.models.stub import StubModel

    class Odd(StubModel):
        async def generate(self, request):
            c = await super().generate(request)
            if request.plan.budget == 64:
                return Completion(reasoning="...", answer_text="", truncated=True, stop_reason="max_tokens",
                                  reasoning_tokens=64)
            if request.plan.budget == 256:
                c.answer_text = "it is two or three"
            return c

    from overthink.models import ModelSpec

    model = Odd(ModelSpec("stub", "oracle"), {})
    c = cfg(tmp_path, models=["stub:oracle"], replicates=1)
    with Store(tmp_path) as store:
        asyncio.run(Runner(c, store, models={"stub:oracle": model}, progress=False).run())
        by = dict(store.conn.execute("SELECT budget, GROUP_CONCAT(DISTINCT status) FROM samples GROUP BY budget"))
        assert by == {0: "ok", 64: "truncated", 256: "unparsed"}
        assert store.conn.execute("SELECT COUNT(*) FROM samples WHERE status != 'ok' AND score IS NOT NULL"
                                  ).fetchone()[0] == 0
