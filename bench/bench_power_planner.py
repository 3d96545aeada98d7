"""Does `overthink power` promise the power the verdict's test really has? A known truth, pilots drawn from it.

The truth: items with logit-normal difficulty (mean logit MU, sd SIGMA), budgets 0/64/128/256 (forced, lengths =
budgets), one replicate, a drop of DROP points linear in log2(budget) over the thinking budgets (thinking off as the
smallest). Each pilot is PILOT items from the truth with no drop. For every pilot the planner's promised power at N
items (analysis/power.simulated_power, SIMS sweeps) is set beside the real power at N items (TRUTH_SIMS sweeps of
the truth through the same trends.trend_test), once with shrunk item means (the planner) and once with the pilot's
raw item means (the old planner).

    python bench/bench_power_planner.py [--n 150] [--pilots 8] [--sims 500] [--truth-sims 1000]
        [--mu 0.5 --sigma 1.5] [--drop 0.1]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from overthink.analysis.power import Pilot, simulated_power
from overthink.analysis.trends import trend_test

BUDGETS = (0, 64, 128, 256)
MU, SIGMA, DROP = 0.5, 1.5, 0.10


def truth(rng: np.random.Generator, n_items: int, drop: float) -> pd.DataFrame:
    """Written apart from the planner's simulator on purpose: a plan is checked against a truth it did not make."""
    p = 1 / (1 + np.exp(-rng.normal(MU, SIGMA, n_items)))
    x = np.log2(np.maximum(np.asarray(BUDGETS, float), 64))
    frac = (x - x[0]) / (x[-1] - x[0])
    rows = []
    for i in range(n_items):
        for j, b in enumerate(BUDGETS):
            q = min(1.0, max(0.0, p[i] - drop * frac[j]))
            rows.append((f"t{i}", b, 0, "ok", float(b), float(rng.random() < q)))
    df = pd.DataFrame(rows, columns=["item_id", "budget", "replicate", "status", "reasoning_tokens", "score"])
    return df.assign(task="truth", model="truth", mechanism="forced", provider="sim", run="truth")


def main() -> None:
    global MU, SIGMA, DROP
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--pilots", type=int, default=8)
    ap.add_argument("--pilot-items", type=int, default=20)
    ap.add_argument("--sims", type=int, default=500)
    ap.add_argument("--truth-sims", type=int, default=1000)
    ap.add_argument("--mu", type=float, default=0.5)
    ap.add_argument("--sigma", type=float, default=1.5)
    ap.add_argument("--drop", type=float, default=0.10, help="as a share: 0.10 = 10 points")
    a = ap.parse_args()
    MU, SIGMA, DROP = a.mu, a.sigma, a.drop
    t0 = time.perf_counter()
    rng = np.random.default_rng(2024)
    real = float(np.mean([trend_test(truth(rng, a.n, DROP), spearman=False)["trend"] == "inverse"
                          for _ in range(a.truth_sims)]))
    real_se = math.sqrt(real * (1 - real) / a.truth_sims)
    print(f"truth: {a.n} items, drop {100 * DROP:.0f} points, logit-normal({MU}, {SIGMA}) difficulty: "
          f"real power {real:.3f} ± {real_se:.3f} ({a.truth_sims} sweeps)", flush=True)
    shrunk, raw = [], []
    for k in range(a.pilots):
        pilot = truth(np.random.default_rng(k), a.pilot_items, 0.0)
        s = simulated_power(Pilot(pilot), a.n, 1, DROP, n_sims=a.sims, seed=k)
        r = simulated_power(Pilot(pilot, shrink=False), a.n, 1, DROP, n_sims=a.sims, seed=k)
        shrunk.append(s[0])
        raw.append(r[0])
        print(f"pilot {k}: promised {s[0]:.3f} ± {s[1]:.3f} (shrunk item means), {r[0]:.3f} ± {r[1]:.3f} "
              f"(raw item means)", flush=True)
    for name, vals in (("shrunk", shrunk), ("raw", raw)):
        m, sd = float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else math.nan
        print(f"{name:>6}: mean promised {m:.3f} (sd over pilots {sd:.3f}, MC SE of the mean "
              f"{math.sqrt(m * (1 - m) / a.sims / len(vals)):.3f}) vs real {real:.3f} ± {real_se:.3f}: "
              f"ratio {m / real:.2f}x")
    print(f"wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
