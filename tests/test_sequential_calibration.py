"""The sequential decision (analysis/sequential.py): its looks, its statistic, and a short calibration by
simulation (the long one, 1,000 runs x 24 designs, is bench/bench_sequential_calibration.py)."""

import numpy as np
import pytest

from overthink.analysis.sequential import (
    FLAT,
    INVERSE,
    OPEN,
    POSITIVE,
    UNDECIDED,
    bound,
    decide,
    item_statistic,
    mc_error,
    round_ends,
    simulate_design,
)


def test_rounds_grow_geometrically_up_to_the_ceiling():
    ends = round_ends(400)
    sizes = np.diff([0, *ends])
    assert ends[0] == 8 and ends[-1] == 400
    assert all(b > a for a, b in zip(sizes[:-2], sizes[1:-1]))  # each round larger than the one before
    assert round_ends(5) == [5]


def test_statistic_is_the_change_from_shortest_to_longest_budget_and_bounded():
    # 3 budgets: longest minus shortest; not answered counts 0 (the caller passes 0)
    correct = np.array([[[1, 1], [0, 1], [0, 0]]], float)  # one item, 3 budgets, 2 replicates
    assert item_statistic(correct)[0] == pytest.approx(-1.0)
    five = np.array([[[1], [1], [0], [0], [0]]], float)
    assert -bound(5) <= item_statistic(five)[0] < 0
    assert item_statistic(np.array([[[0], [1], [0], [1], [1]]], float))[0] > 0


def test_clear_effects_stop_early_and_no_effect_does_not():
    n = 200
    down = decide(np.full((1, n), -1.0), n_budgets=3)
    up = decide(np.full((1, n), 1.0), n_budgets=3)
    assert down.decision[0] == INVERSE and up.decision[0] == POSITIVE
    assert down.items[0] <= 20 and down.high[0] < 0
    rng = np.random.default_rng(1)
    noise = decide(rng.choice([-1.0, 0.0, 1.0], size=(1, n)), n_budgets=3)
    assert noise.decision[0] == UNDECIDED and noise.items[0] == n and noise.low[0] < 0 < noise.high[0]
    many = decide(np.zeros((1, 3000)), n_budgets=3, delta=0.02)  # no change at all, many items: flat
    assert many.decision[0] == FLAT and -0.02 < many.low[0] and many.high[0] < 0.02


def test_replaying_a_prefix_gives_the_same_looks():
    """What resume relies on: the looks on the first k items do not depend on the items after them."""
    rng = np.random.default_rng(2)
    stats = rng.choice([-1.0, 0.0, 0.0, 1.0], size=(1, 200))
    full = decide(stats, n_budgets=3, keep_history=True)
    ends = round_ends(200)
    part = decide(stats[:, :ends[3]], n_budgets=3, ends=ends[:4], ceiling=200, keep_history=True)
    assert part.history[0] == full.history[0][:4]
    assert part.decision[0] in (OPEN, full.decision[0])


@pytest.mark.parametrize("design", [dict(n_items=100, n_budgets=3, spread="low", replicates=1),
                                    dict(n_items=100, n_budgets=5, spread="high", replicates=3)])
def test_false_inverse_rate_and_power_short(design):
    runs = 400
    null = simulate_design(runs=runs, effect=0.0, seed=3, **design)
    assert null[f"share_{INVERSE}"] <= 0.05 + 2 * mc_error(0.05, runs)
    assert null[f"share_{POSITIVE}"] <= 0.05 + 2 * mc_error(0.05, runs)
    alt = simulate_design(runs=runs, effect=0.3, seed=3, **design)
    assert alt[f"share_{INVERSE}"] >= 0.8
    assert alt["mean_items"] < 0.75 * design["n_items"]  # a clear effect stops before the ceiling


def test_estimate_until_decided_prices_no_effect_and_an_effect_beside_the_fixed_design(tmp_path):
    from helpers import run_cli

    cfg = tmp_path / "exp.yaml"
    cfg.write_text("models: [anthropic:claude-sonnet-4-20250514]\ntasks: [misleading-math]\nbudgets: [1024, 4096]\n"
                   "limit: 200\nreplicates: 3\n")
    res = run_cli("estimate", str(cfg), "--until-decided", "--effect", "30")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    fixed = next(line for line in lines if "fixed design (every item, the ceiling)" in line)
    null = next(line for line in lines if line.strip().startswith("no effect:"))
    effect = next(line for line in lines if "inverse effect of 30 points" in line)
    usd = [float(x.split(" USD")[0].split()[-1].replace(",", "")) for x in (fixed, null, effect)]
    assert usd[2] < usd[1] <= usd[0]  # an effect stops early; no effect costs at most the fixed design
    bad = run_cli("estimate", str(cfg), "--until-decided", "--effect", "0")
    assert bad.returncode == 2 and "--effect" in bad.stderr
