"""`overthink compare`: the per-item slope statistic by hand, its calibration by simulation, and the CLI on real
stores (analysis/compare.py, analysis/compare_calibration.py, cli/compare.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli
from scipy import stats

from overthink.analysis.compare import budget_x, holm, item_slopes, permutation_p, sign_flip_p, slope_difference
from overthink.analysis.compare_calibration import Design, calibrate, simulate_pair
from overthink.core import Item, SampleRecord
from overthink.store import Store


def test_item_slope_by_hand():
    df = pd.DataFrame({"item_id": ["a"] * 4 + ["b"] * 2, "budget": [0, 64, 128, 256, 64, 64],
                       "status": ["ok", "ok", "ok", "truncated", "ok", "ok"], "score": [0, 1, 1, None, 1, 0]})
    slopes, unit = item_slopes(df)
    # item a: x = 6, 7, 8 (budget 0 left out), y = 1, 1, 0 (truncated = wrong): slope -0.5 = -50 points/doubling
    assert unit == "per doubling" and slopes["a"] == pytest.approx(-50.0)
    assert "b" not in slopes.index  # one budget only: no slope


def test_an_integer_budget_column_gives_the_x_of_the_general_path():
    # budget_x reads an integer column once per distinct budget; the same floats as the per-sample path of an
    # object column (math.log2 both), budget 0 left out, and no positive budget: "per effort level", all NaN
    rng = np.random.default_rng(3)
    for values in ([0, 64, 128, 1000, 1024, 3], [0, 1, 30000, 7], [0, 0]):
        budgets = pd.Series(rng.choice(values, 40), name="budget", index=rng.permutation(40) + 5)
        for dtype in ("int64", "int32", "uint16"):
            fast, general = budget_x(budgets.astype(dtype)), budget_x(budgets.astype(object))
            assert fast[1] == general[1]
            pd.testing.assert_series_equal(fast[0], general[0], check_exact=True)


def test_effort_levels_use_their_rank():
    df = pd.DataFrame({"item_id": ["a"] * 3, "budget": ["low", "medium", "high"], "status": ["ok"] * 3,
                       "score": [1, 1, 0]})
    slopes, unit = item_slopes(df)
    assert unit == "per effort level" and slopes["a"] == pytest.approx(-50.0)


def test_slope_difference_matches_scipy_paired_and_welch():
    rng = np.random.default_rng(0)
    a = pd.Series(rng.normal(0, 10, 12), index=[f"i{i}" for i in range(12)])
    b = pd.Series(a.to_numpy() + rng.normal(-5, 4, 12), index=a.index)
    d = slope_difference(a, b)
    ref = stats.ttest_rel(b, a)
    assert d.design == "paired" and d.p_t == pytest.approx(ref.pvalue) and d.df == 11
    assert d.low < d.diff < d.high
    b2 = pd.Series(rng.normal(-5, 10, 9), index=[f"j{i}" for i in range(9)])  # no shared items
    d2 = slope_difference(a, b2)
    assert d2.design == "unpaired" and d2.p_t == pytest.approx(stats.ttest_ind(b2, a, equal_var=False).pvalue)
    assert 0 < d.p < 0.01 and d2.p < 0.2  # the permutation p-values the call uses
    assert slope_difference(a.iloc[:3], b2.iloc[:3]).design == "not enough items"


def test_sign_flip_and_permutation_p_by_hand():
    # d = 1, 2, 3: of the 8 sign patterns only +++ and --- reach |mean| >= 2
    assert sign_flip_p(np.array([1.0, 2.0, 3.0])) == 0.25
    # two slopes per run, all four values distinct: 2 of the 6 splits are as extreme as the observed one
    # (Welch's t of {3, 4} vs {1, 2} and its mirror); random reassignment converges on 1/3
    assert permutation_p(np.array([1.0, 2.0]), np.array([3.0, 4.0]), n_perm=20000) == pytest.approx(1 / 3, abs=0.02)


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = holm([0.2, math.nan])
    assert out[0] == 0.2 and math.isnan(out[1])


@pytest.mark.slow  # 400 simulated run pairs: ~10 s on an idle core, minutes on a shared one
def test_calibration_null_is_silent_and_a_real_difference_is_found():
    # 200 simulated pairs under no difference, 100 per direction under -0.5 / +0.5 logit per doubling; the full
    # table (1,000 per design) is bench/bench_compare_calibration.py, in docs/report.md
    design = Design(n_items=30, replicates=3)
    null = calibrate(design, 0.0, 200, seed=11)
    assert null["worse"] <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / 200)
    assert null["any"] <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 200)
    worse = calibrate(design, -0.5, 100, seed=12)
    better = calibrate(design, 0.5, 100, seed=13)
    assert worse["worse"] >= 0.8 and worse["better"] == 0
    assert better["better"] >= 0.8 and better["worse"] == 0


def write_run(run_dir: Path, samples: pd.DataFrame, *, model: str, mechanism: str = "forced",
              task: str = "zebra") -> Path:
    with Store(run_dir) as store:
        store.set_meta("tasks", {task: {"metric": "accuracy"}})
        store.add_items(task, [Item(id=i, prompt=f"q {i}", answer="1") for i in samples["item_id"].unique()])
        store.record_many(SampleRecord(
            run_id="r", model=model, provider="stub", task=task, item_id=s.item_id, budget=int(s.budget),
            mechanism=mechanism, replicate=int(s.replicate), seed=0, status=s.status,
            reasoning_tokens=int(s.budget * 0.9), reasoning_tokens_source="stub", output_tokens=int(s.budget) + 5,
            input_tokens=10, score=None if s.status != "ok" else s.score, answer="1" if s.score == 1 else "2",
            expected="1") for s in samples.itertuples(index=False))
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(5)
    design = Design(n_items=30, replicates=2)
    a, b = simulate_pair(rng, design, -0.8)
    a2, _ = simulate_pair(rng, Design(n_items=30, replicates=2, paired=False), 0.0)
    return {"A": write_run(base / "ckpt-a", a, model="stub:flat"),
            "B": write_run(base / "ckpt-b", b, model="stub:flat"),
            "C": write_run(base / "other-items", a2.assign(item_id="x" + a2["item_id"]), model="stub:flat"),
            "N": write_run(base / "native", a, model="stub:flat", mechanism="native")}


def cli(*args: str):
    """`overthink ...` in process (the real app, its UserError -> exit 2 handling); stdout and stderr apart."""
    from typer.testing import CliRunner

    from overthink.cli import app

    result = CliRunner().invoke(app, list(args))
    result.returncode = result.exit_code
    return result


def test_compare_finds_the_worse_checkpoint_and_gates_on_it(runs):
    result = cli("compare", str(runs["A"]), str(runs["B"]), "--fail-on", "worse")
    assert result.returncode == 1, result.stderr
    line = [x for x in result.stdout.splitlines() if "overthinks" in x][0]
    assert line.startswith("ckpt-b overthinks more than ckpt-a on zebra: slope difference -")
    assert "points per doubling [" in line and "paired over 30 items" in line
    assert "--fail-on worse: 1 task comparison(s)" in result.stderr
    assert "nan" not in result.stdout
    # the other way round B -> A is "less", and the gate stays shut
    back = cli("compare", str(runs["B"]), str(runs["A"]), "--fail-on", "worse")
    assert back.returncode == 0 and "ckpt-a overthinks less than ckpt-b on zebra" in back.stdout


def test_compare_json_and_unpaired_runs(runs):
    result = cli("compare", str(runs["A"]), str(runs["C"]), "--json", "--task", "zebra")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    row = data["tasks"][0]
    assert row["design"] == "unpaired" and row["n_paired"] == 0 and "unpaired over 60 items" in row["verdict"]
    assert {r["run"] for r in data["accuracy"]} == {"ckpt-a", "other-items"}
    assert {"auc_oaa", "overthinking_score", "wasted_token_share"} <= set(data["efficiency"][0])


def test_compare_refuses_mixed_budget_controls(runs):
    result = run_cli("compare", str(runs["A"]), str(runs["N"]))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "differ in kind" in result.stderr
    assert "--allow-mixed" in result.stderr and "Traceback" not in result.stderr
    assert cli("compare", str(runs["A"]), str(runs["N"]), "--allow-mixed").returncode == 0
