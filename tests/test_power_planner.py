"""`overthink power` on a run shaped like the demo's, the planner's shrinkage, Monte Carlo error and greedy runs.

The demo's run: the local model, misleading-math and word-problems, budgets 0,64,128,256, 20 items, forced, greedy,
one replicate. Its word-problems curve is almost all wrong, and a simulated sweep from it can be one success among
80 samples - where the logistic fit of the trend test separates (statsmodels: LinAlgError "Singular matrix"). Such
a fit is a "no call" in the planner, never a crash.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli

from overthink.analysis import power as P
from overthink.core import Item, SampleRecord
from overthink.store import Store

BUDGETS = (0, 64, 128, 256)
# misleading-math: right answers per budget as in the README's demo (65 / 45 / 15 / 20 %)
MATH_RIGHT = {0: 13, 64: 9, 128: 3, 256: 4}
# word-problems: one right answer in 80 samples, and the lengths at 256 as a natural stop leaves them. On this exact
# curve the trend test's logistic fit fails (LinAlgError: Singular matrix) - the planner fitted it unguarded.
WORD_RIGHT = ("i5", 64)
WORD_TOKENS_256 = [196, 239, 146, 157, 220, 251, 162, 219, 231, 181, 198, 153, 137, 224, 194, 126, 181, 141, 151, 230]


def demo_shaped_run(run_dir: Path, *, temperature: float | None = None) -> Path:
    """20 items x 4 budgets x 1 replicate of both quickstart tasks on a `local` model, written with the store API."""
    config = {"models": ["local:qwen2.5-coder-0.5b"], "tasks": ["misleading-math", "word-problems"],
              "budgets": list(BUDGETS), "mechanism": "forced", "limit": 20, "seed": 0, "replicates": 1}
    if temperature is not None:
        config["temperature"] = temperature
    with Store(run_dir) as store:
        store.set_meta("tasks", {"misleading-math": {"metric": "accuracy"}, "word-problems": {"metric": "accuracy"}})
        store.set_meta("config", config)
        for task in ("misleading-math", "word-problems"):
            store.add_items(task, [Item(f"i{i}", f"Question {i}", answer=2) for i in range(20)])
            for i in range(20):
                for b in BUDGETS:
                    if task == "misleading-math":
                        right, tokens = (i * 7 + b) % 20 < MATH_RIGHT[b], b
                    else:
                        right, tokens = (f"i{i}", b) == WORD_RIGHT, WORD_TOKENS_256[i] if b == 256 else b
                    store.record(SampleRecord(
                        run_id="demo", model="local:qwen2.5-coder-0.5b", provider="local", task=task,
                        item_id=f"i{i}", budget=b, mechanism="forced", replicate=0, seed=0, status="ok",
                        reasoning_tokens=tokens, answer="2" if right else "3", expected="2", score=float(right),
                        correct=right, reasoning="thinking " * (tokens // 8), answer_text="<answer>2</answer>"))
    return run_dir


def test_power_on_a_demo_shaped_run_plans_one_replicate_and_never_crashes(tmp_path):
    run = demo_shaped_run(tmp_path / "quickstart")
    for args in (["--detect", "10", "--seed", "0"], ["--detect", "20", "--seed", "1"]):
        res = run_cli("power", str(run), *args, "--sims", "20", "--json")
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
        rows = json.loads(res.stdout)
        assert {r["task"] for r in rows} == {"misleading-math", "word-problems"}
        # greedy (the local model's default temperature 0): replicates would be identical, so only 1 is planned
        assert {r["replicates"] for r in rows} == {1}
        assert all("greedy" in r["note"] for r in rows)
        # the MC error is 0 only where every simulated sweep agreed (power 0 or 1: the near-constant word-problems
        # curve, one right answer in 80, is never called inverse by the test on requested budgets)
        assert all(0 <= r["power_at_items"] <= 1 and (r["power_mc_error"] > 0 or r["power_at_items"] in (0, 1))
                   for r in rows)
    res = run_cli("power", str(run), "--detect", "30", "--sims", "20")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "Monte Carlo standard error" in res.stdout and " ± " in res.stdout and "nan" not in res.stdout.lower()


def test_a_sampled_run_plans_replicates_and_a_configured_temperature_0_does_not():
    rng = np.random.default_rng(4)
    frame = pd.concat([_sweep(rng, rep) for rep in (0, 1)], ignore_index=True)
    sampled = P.power_plan(frame.assign(provider="openai"), {}, 0.3, n_sims=20)
    assert sorted(sampled["replicates"]) == [1, 2, 3]
    one = frame[frame["replicate"] == 0]
    assert P.power_plan(one.assign(provider="openai"), {}, 0.3, n_sims=20, temperature=0.0)["replicates"].tolist() \
        == [1]
    assert sorted(P.power_plan(one.assign(provider="openai"), {}, 0.3, n_sims=20)["replicates"]) == [1, 3]
    # a local model with varied replicates (it was given a temperature): the data say they differ, so plan them
    assert sorted(P.power_plan(frame.assign(provider="local"), {}, 0.3, n_sims=20)["replicates"]) == [1, 2, 3]


def _sweep(rng: np.random.Generator, rep: int, n_items: int = 20) -> pd.DataFrame:
    p = rng.uniform(0.3, 0.9, n_items)
    rows = [dict(task="t", model="m", mechanism="forced", item_id=f"i{i}", budget=b, replicate=rep, status="ok",
                 reasoning_tokens=float(b), score=float(rng.random() < p[i])) for i in range(n_items) for b in BUDGETS]
    return pd.DataFrame(rows)


def test_a_failed_fit_is_a_no_call_and_is_counted(monkeypatch):
    pilot = P.Pilot(_sweep(np.random.default_rng(5), 0))
    calls = {"n": 0}
    real = P.calls_inverse  # the planner's question to the trend test of each simulated sweep

    def sometimes_singular(samples, metric="accuracy", *, seed=0):
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise np.linalg.LinAlgError("Singular matrix")
        return real(samples, metric, seed=seed)

    monkeypatch.setattr(P, "calls_inverse", sometimes_singular)
    power, se, failed = P.simulated_power(pilot, 40, 1, 0.3, n_sims=30)
    assert failed == 10 and 0 <= power <= 20 / 30 and se > 0


def test_the_simulated_sweep_has_a_real_runs_columns_and_statuses():
    frame = _sweep(np.random.default_rng(6), 0)
    frame.loc[frame.index[:8], ["status", "score"]] = ["unparsed", np.nan]
    frame.loc[frame.index[8:12], ["status", "score"]] = ["truncated", np.nan]
    pilot = P.Pilot(frame)
    assert pilot.not_answered["unparsed"] == pytest.approx(8 / 80) and pilot.not_answered["truncated"] == 0.05
    sim = pilot.simulate(np.random.default_rng(0), 400, 2, 0.1)
    for col in ("task", "model", "mechanism", "item_id", "budget", "replicate", "status", "reasoning_tokens", "score"):
        assert col in sim
    assert set(sim["budget"]) == set(BUDGETS) and sim["item_id"].nunique() == 400
    shares = sim["status"].value_counts(normalize=True)
    assert shares["unparsed"] == pytest.approx(0.1, abs=0.02) and shares["truncated"] == pytest.approx(0.05, abs=0.015)
    scored = sim["status"] == "ok"
    assert sim.loc[~scored, "score"].isna().all() and sim.loc[scored, "score"].notna().all()


def test_shrinkage_pulls_pilot_item_means_in():
    rng = np.random.default_rng(7)
    p = rng.beta(2, 2, 2000)  # true spread: sd 0.22
    k = rng.binomial(4, p)
    a, b = P.fit_beta(k, np.full(2000, 4))
    assert a / (a + b) == pytest.approx(0.5, abs=0.03) and a + b == pytest.approx(4, rel=0.3)
    assert np.std(k / 4) > 0.3  # the raw means of 4 samples spread far wider than the truth
    # no spread beyond binomial noise: (nearly) one common probability, not the raw means' sd of 0.23
    a, b = P.fit_beta(rng.binomial(4, 0.3, 500), np.full(500, 4))
    assert np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))) < 0.1 and a / (a + b) == pytest.approx(0.3, abs=0.03)


def test_drop_profile_is_linear_in_log_budget_over_thinking_budgets():
    assert P.drop_profile([0, 64, 128, 256]).tolist() == [0.0, 0.0, 0.5, 1.0]
    assert P.drop_profile([0, 1024]).tolist() == [0.0, 1.0]
    assert P.drop_profile(["low", "medium", "high"]).tolist() == [0.0, 0.5, 1.0]


def _truth(rng: np.random.Generator, n_items: int, drop: float, mu: float = 2.0, sigma: float = 1.0) -> pd.DataFrame:
    """A known truth written apart from the planner: logit-normal items, the drop linear in log2 budget over the
    thinking budgets (thinking off as the smallest), lengths = budgets, one replicate."""
    p = 1 / (1 + np.exp(-rng.normal(mu, sigma, n_items)))
    frac = np.array([0.0, 0.0, 0.5, 1.0])
    q = np.clip(p[:, None] - drop * frac[None, :], 0, 1)
    right = rng.random(q.shape) < q
    item, j = np.meshgrid(np.arange(n_items), np.arange(4), indexing="ij")
    b = np.asarray(BUDGETS)[j.ravel()]
    return pd.DataFrame({"task": "t", "model": "m", "mechanism": "forced", "item_id": item.ravel().astype(str),
                         "budget": b, "replicate": 0, "status": "ok", "reasoning_tokens": b.astype(float),
                         "score": right.ravel().astype(float)})


@pytest.mark.slow
def test_promised_power_matches_the_truth_within_its_error():
    """Pilots of 20 items from a known truth: the power promised at 120 items is the truth's within the Monte Carlo
    and pilot-to-pilot error; the raw item means of the old planner promise more (bench/bench_power_planner.py)."""
    n, drop, sims = 120, 0.2, 200
    rng = np.random.default_rng(31)
    real = np.mean([P.trend_test(_truth(rng, n, drop), spearman=False)["trend"] == "inverse" for _ in range(400)])
    promised = [P.simulated_power(P.Pilot(_truth(np.random.default_rng(k), 20, 0.0)), n, 1, drop, n_sims=sims,
                                  seed=k)[0] for k in range(3)]
    tol = 3 * np.sqrt(np.var(promised, ddof=1) / 3 + np.mean(promised) * (1 - np.mean(promised)) / (3 * sims)
                      + real * (1 - real) / 400)
    assert abs(np.mean(promised) - real) <= tol, (promised, real, tol)
