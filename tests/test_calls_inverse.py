"""trends.calls_inverse - the power planner's question - must answer exactly as trend_test's call does: it only
skips work that cannot change whether the call is "inverse" (a change short of the margin, permutations after
p < 5 % is ruled out, the bend test of a curve not called inverse)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from overthink.analysis import power as P
from overthink.analysis.curve_rows import Rows
from overthink.analysis.simulate import simulate_sweep, sweep_frame
from overthink.analysis.trends import calls_inverse, trend_test
from overthink.analysis.verdicts import INVERSE
from overthink.analysis.within import permutation_p


def _pilot(rng: np.random.Generator, budgets: list, *, n_items: int = 20, replicates: int = 1,
           not_answered: float = 0.0, base: tuple[float, float] = (0.3, 0.9)) -> pd.DataFrame:
    shape = (n_items, len(budgets), replicates)
    correct = rng.random(shape) < rng.uniform(*base, n_items)[:, None, None]
    status = np.where(rng.random(shape) < not_answered,
                      rng.choice(np.array(["truncated", "unparsed", "error"], dtype=object), shape), "ok")
    tokens = rng.integers(1, 4000, shape).astype(float)
    return sweep_frame(correct, tokens, budgets, status=status.astype(object))


def test_calls_inverse_is_the_call_of_trend_test():
    rng = np.random.default_rng(3)
    pilots = [
        _pilot(rng, [0, 64, 128, 256]),  # the demo's budgets, one replicate: permutation p below 30 items
        _pilot(rng, [0, 256, 1024, 4096], replicates=2, not_answered=0.15),  # statuses: complete cases differ
        _pilot(rng, ["low", "medium", "high"], replicates=2),  # effort levels
        _pilot(rng, [0, 1024]),  # thinking off against one budget
        _pilot(rng, [0, 64, 128, 256], base=(0.0, 0.08)),  # nearly all wrong (the demo's word-problems)
        simulate_sweep(rng, n_items=20, replicates=2),
    ]
    seen, permuted, inverse = 0, 0, 0
    for k, frame in enumerate(pilots):
        pilot = P.Pilot(frame)
        for n_items in (12, 25, 60, 150):
            for drop in (0.0, 0.1, 0.3):
                sim_rng = np.random.default_rng([k, n_items, int(drop * 10)])
                for _ in range(3):
                    sim = pilot.simulate(sim_rng, n_items, pilot.replicates, drop)
                    full = trend_test(sim, spearman=False, seed=k)
                    assert calls_inverse(sim, seed=k) == (full["trend"] == INVERSE), (k, n_items, drop, full)
                    seen += 1
                    permuted += str(full["p_method"]).startswith("within-trace permutation")
                    inverse += full["trend"] == INVERSE
    # not vacuous: both answers and both p-values (t and permutation) were compared
    assert seen == 216 and 20 <= inverse <= seen - 20 and permuted >= 40


def test_a_curtailed_permutation_decides_as_the_full_one():
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(15), 4)
    x = np.tile(np.log2([64, 128, 256, 512]), 15)
    decided = 0
    for s in range(150):
        y = (rng.random(60) < 0.5 - 0.06 * (s % 3) * (x - 6)).astype(float)
        full = permutation_p(y, x[:, None], groups, groups, n_perm=999, seed=s)
        cut = permutation_p(y, x[:, None], groups, groups, n_perm=999, seed=s, stop_at=0.05)
        assert (full < 0.05) == (cut < 0.05)
        assert cut == full if full < 0.05 else 0.05 <= cut <= full
        decided += full < 0.05
    assert 10 <= decided <= 140


def test_the_planners_arrays_are_what_the_test_reads_from_the_simulated_frame():
    # Pilot.simulate_rows skips the DataFrame; every field the tests read must equal Rows(Pilot.simulate(...))
    rng = np.random.default_rng(5)
    for budgets, reps, missed in (([0, 64, 128, 256], 1, 0.0), ([0, 256, 1024, 4096], 3, 0.2),
                                  (["low", "medium", "high"], 2, 0.1), ([0, 1024], 2, 0.0)):
        pilot = P.Pilot(_pilot(rng, budgets, replicates=reps, not_answered=missed))
        for n_items in (7, 40):
            seed = [n_items, reps]
            rows = pilot.simulate_rows(np.random.default_rng(seed), n_items, reps, 0.1)
            read = Rows(pilot.simulate(np.random.default_rng(seed), n_items, reps, 0.1))
            assert rows.n == read.n
            for field in ("status", "score", "y", "items", "item_codes", "traces", "budget", "tokens"):
                np.testing.assert_array_equal(getattr(rows, field), getattr(read, field), err_msg=field)
            assert calls_inverse(rows, seed=n_items) == calls_inverse(read, seed=n_items)


def test_the_order_table_gives_the_argsort_permutation_p(monkeypatch):
    # permutation_p reads each trace's order from pairwise comparisons and looks up its share of the coefficient
    # (within._table_stats); with MAX_TABLE_BLOCK = 0 it argsorts every draw as before: the same p-values, for
    # traces of 2 to 6 budgets, one or two regressors, full and curtailed
    from overthink.analysis import within

    rng = np.random.default_rng(6)
    cases = []
    for k in range(60):
        s, items, reps = 2 + k % 5, int(rng.integers(5, 25)), int(rng.integers(1, 4))
        x = np.tile(np.r_[0.0, np.arange(6, 6 + s - 1)], items * reps)
        off = (x == 0).astype(float)
        X = np.column_stack([x, off]) if k % 2 else x[:, None]
        y = (rng.random(len(x)) < rng.uniform(0.2, 0.9) - 0.02 * (k % 4) * (x - 6) * (1 - off)).astype(float)
        cases.append((y, X, np.repeat(np.arange(items), s * reps), np.repeat(np.arange(items * reps), s), k))
    fast = [within.permutation_p(y, X, g, t, n_perm=499, seed=k, stop_at=stop)
            for y, X, g, t, k in cases for stop in (None, 0.05)]
    monkeypatch.setattr(within, "MAX_TABLE_BLOCK", 0)
    sorted_ = [within.permutation_p(y, X, g, t, n_perm=499, seed=k, stop_at=stop)
               for y, X, g, t, k in cases for stop in (None, 0.05)]
    np.testing.assert_array_equal(fast, sorted_)
    assert 10 <= sum(p < 0.05 for p in sorted_) <= len(sorted_) - 10  # both sides of the line were compared
