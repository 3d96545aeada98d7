"""Plan the sample size from a pilot run: how many items (and replicates) detect a drop of D points with 80 % power.

Power is estimated by simulation under the verdict's own test: every simulated sweep goes through
`trends.calls_inverse(samples, metric)` - whether `trends.trend_test(samples, metric, spearman=False)` calls it
"inverse", decided with only the work that can change that answer (the same call; tests/test_calls_inverse.py). The
simulated samples carry the columns a real run's have (requested budget, status, reasoning tokens, score, item,
replicate), so the test sees what it sees on a run; the planner hands them to the test as the arrays it would read
from that frame (`Pilot.simulate_rows`, checked against `Pilot.simulate`).

What is simulated (new items, not the pilot's own):
- Item difficulty. A pilot item's mean score is its true difficulty plus binomial noise; with a handful of samples
  per item most means sit at 0 or 1, and drawing those as true difficulties makes items look more predictable than
  they are (the planner once promised 0.89 power where the truth was 0.69). So the item means are shrunk: a beta
  distribution is fitted to the per-item successes by maximum marginal (beta-binomial) likelihood - empirical Bayes
  - and each simulated item draws its base probability from that fitted beta.
- The drop: additive in probability and linear in log2(budget) across the thinking budgets, from the item's base at
  the smallest thinking budget to `drop` below it at the longest; "thinking off" (budget 0) scores like the smallest
  thinking budget. Clipped at 0, so a drop of 10 points from a score near 0 % cannot be planted and the plan says so
  by never reaching the target.
- Reasoning lengths are drawn from the pilot's measured lengths at each budget; each sample is not answered
  (truncated / unparsed / error) with the pilot's overall share of such samples and the pilot's mix of them, the
  same at every budget (a difference between budgets would itself be a planted effect).
- Replicates are independent draws given the item. A greedy pilot (temperature 0, or the local model's default)
  or one whose replicates repeat themselves gets one replicate planned: more would be identical.

A simulated fit that fails (a separated or singular logistic fit on a near-constant simulated sweep) is a "no call",
never a crash; the plan counts them. The search jumps towards the 80 % crossing with short runs (`n_sims` / 5, at
least 40 sweeps per size), then runs `n_sims` (default 500) sweeps at the sizes beside the crossing; the power there
is printed with its Monte Carlo standard error sqrt(p (1 - p) / n_sims). The power at the pilot's own size comes
from the short runs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln

from ..core import NATURAL, budget_sort_key
from ..errors import UserError
from ..providers.registry import info_for
from ..store import Store
from .curve_rows import Rows, sweep_rows
from .curves import MIN_ITEMS
from .load import load_runs
from .simulate import sweep_frame
from .trends import calls_inverse, trend_test

KEYS = ["task", "model", "mechanism"]
MAX_ITEMS = 5000
STEP = 1.2
N_SIMS = 500
NOT_ANSWERED = ("truncated", "unparsed", "error")


def fit_beta(successes: np.ndarray, trials: np.ndarray) -> tuple[float, float]:
    """Beta(a, b) of the item probabilities by maximum beta-binomial marginal likelihood (empirical Bayes).

    a + b is kept at most 1e4 (no spread between items beyond binomial noise: every item has the mean's
    probability) and a, b at least 1e-3 (every item at 0 or 1)."""
    k, n = np.asarray(successes, float), np.asarray(trials, float)
    keep = n > 0
    k, n = k[keep], n[keep]
    mean = float(np.clip(k.sum() / n.sum(), 1e-3, 1 - 1e-3))

    def nll(theta: np.ndarray) -> float:
        a, b = np.exp(np.clip(theta, math.log(1e-3), math.log(1e4)))
        return -float(np.sum(betaln(k + a, n - k + b) - betaln(a, b)))

    best = min((minimize(nll, np.log([mean * s, (1 - mean) * s]), method="Nelder-Mead",
                         options={"xatol": 1e-4, "fatol": 1e-8, "maxiter": 2000}) for s in (1.0, 10.0, 100.0)),
               key=lambda r: r.fun)
    a, b = np.exp(np.clip(best.x, math.log(1e-3), math.log(1e4)))
    return float(a), float(b)


def drop_profile(budgets: Sequence) -> np.ndarray:
    """Share of the planted drop at each budget: 0 at the smallest thinking budget, 1 at the longest, linear in
    log2(budget); budget 0 (thinking off) as the smallest thinking budget. Effort levels: linear in their order."""
    n = len(budgets)
    if not all(isinstance(b, (int, float, np.integer, np.floating)) for b in budgets):
        return np.linspace(0.0, 1.0, n)
    b = np.asarray(budgets, float)
    thinking = b[b > 0]
    if len(thinking) < 2:  # (0, B): the drop is between thinking off and thinking
        return np.linspace(0.0, 1.0, n)
    x = np.log2(np.maximum(b, thinking.min()))
    return (x - x.min()) / (x.max() - x.min())


class Pilot:
    """What a simulation needs from one pilot curve: the item-difficulty distribution, lengths and statuses."""

    def __init__(self, curve: pd.DataFrame, *, greedy: bool = False, shrink: bool = True) -> None:
        curve = curve[curve["budget"].astype(str) != NATURAL]
        ok = curve[(curve["status"] == "ok") & curve["score"].notna()]
        self.budgets = sorted(ok["budget"].unique(), key=budget_sort_key)
        per_item = ok.groupby("item_id")["score"].agg(["sum", "count"])
        self.base = (per_item["sum"] / per_item["count"]).to_numpy(float)  # raw item means (for reference)
        self.n_items = len(per_item)
        self.prior = fit_beta(per_item["sum"].to_numpy(float), per_item["count"].to_numpy(float)) \
            if self.n_items else (1.0, 1.0)
        answered = curve[curve["reasoning_tokens"].notna()]
        self.tokens = [answered.loc[answered["budget"] == b, "reasoning_tokens"].to_numpy(float)
                       for b in self.budgets]
        # a budget with no length reported: its requested budget (an effort level: 0)
        self.tokens = [pool if len(pool) else np.asarray([float(b) if isinstance(b, numbers.Real) else 0.0])
                       for pool, b in zip(self.tokens, self.budgets)]
        counts = curve["status"].value_counts()
        self.not_answered = {s: float(counts.get(s, 0)) / max(len(curve), 1) for s in NOT_ANSWERED}
        self.replicates = int(curve["replicate"].nunique()) if "replicate" in curve and len(curve) else 1
        cells = ok.groupby(["item_id", "budget", *(["run"] if "run" in ok else [])])
        varied = cells[["score", "reasoning_tokens"]].nunique().max(axis=1)[cells.size() > 1]
        # True / False when replicates exist to compare; None when the pilot has one replicate
        self.repeats: bool | None = bool((varied == 1).all()) if len(varied) else None
        self.greedy = self.repeats is True or (self.repeats is None and greedy)
        self.shrink = shrink  # False: draw the pilot's raw item means (the old planner; for comparison only)
        self.task, self.model, self.mechanism = (str(curve[k].iloc[0]) if k in curve and len(curve) else "sim"
                                                 for k in KEYS)

    @property
    def repeats_itself(self) -> bool:
        return self.repeats is True

    def simulate(self, rng: np.random.Generator, n_items: int, replicates: int, drop: float) -> pd.DataFrame:
        correct, tokens, status = self._draw(rng, n_items, replicates, drop)
        return sweep_frame(correct, tokens, list(self.budgets), status=status, task=self.task, model=self.model,
                           mechanism=self.mechanism)

    def simulate_rows(self, rng: np.random.Generator, n_items: int, replicates: int, drop: float) -> Rows:
        """simulate() as the trend test reads it (curve_rows.sweep_rows), without building the frame: the same draws."""
        correct, tokens, status = self._draw(rng, n_items, replicates, drop)
        return sweep_rows(correct, tokens, list(self.budgets), status)

    def _draw(self, rng: np.random.Generator, n_items: int, replicates: int,
              drop: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(correct, tokens, status) arrays (items x budgets x replicates) of one simulated sweep."""
        n_b = len(self.budgets)
        shape = (n_items, n_b, replicates)
        tokens = np.empty(shape)
        for j, pool in enumerate(self.tokens):
            tokens[:, j, :] = rng.choice(pool, size=(n_items, replicates))
        p_item = (rng.beta(*self.prior, size=n_items) if self.shrink else rng.choice(self.base, size=n_items))
        p_item = p_item[:, None, None]
        p = np.clip(p_item - drop * drop_profile(self.budgets)[None, :, None], 0, 1)
        correct = rng.random(shape) < p
        kinds = ["ok", *NOT_ANSWERED]
        shares = [max(0.0, 1 - sum(self.not_answered.values())), *self.not_answered.values()]
        status = np.asarray(kinds, dtype=object)[rng.choice(len(kinds), size=shape, p=np.asarray(shares) / sum(shares))]
        return correct, tokens, status


def _fit_errors() -> tuple[type[BaseException], ...]:
    from statsmodels.tools.sm_exceptions import PerfectSeparationError  # loaded with the test's own statsmodels

    return (np.linalg.LinAlgError, PerfectSeparationError, ValueError, ArithmeticError)


def simulated_power(pilot: Pilot, n_items: int, replicates: int, drop: float, *, n_sims: int,
                    seed: int = 0, metric: str = "accuracy") -> tuple[float, float, int]:
    """(share of simulated sweeps the verdict's test calls inverse, its Monte Carlo SE, fits that failed).

    Common random numbers per (seed, size): the same sizes give the same answer. A failed fit is a no call."""
    rng = np.random.default_rng([seed, n_items, replicates, int(round(drop * 1e6)), n_sims])
    errors = _fit_errors()
    hits = failed = 0
    for _ in range(n_sims):
        try:
            hits += calls_inverse(pilot.simulate_rows(rng, n_items, replicates, drop), metric)
        except errors:
            failed += 1
    power = hits / n_sims
    return power, math.sqrt(power * (1 - power) / n_sims), failed


def _start(pilot_detectable: float, pilot_items: int, drop: float) -> int:
    if math.isfinite(pilot_detectable) and pilot_detectable > 0:
        guess = pilot_items * (pilot_detectable / drop) ** 2
    else:
        guess = 4 * max(pilot_items, MIN_ITEMS)
    return int(min(MAX_ITEMS, max(MIN_ITEMS, round(guess))))


def _jump(n: int, power: float, target: float) -> int:
    """The size at which a two-sided 5 % test with power `power` at n items reaches `target`, if the signal grows
    as sqrt(items): n ((z_target + z_.975) / (z_power + z_.975))^2, moved at most 4x either way."""
    z = NormalDist().inv_cdf
    factor = ((z(target) + z(0.975)) / max(z(min(max(power, 0.02), 0.98)) + z(0.975), 0.25)) ** 2
    return int(min(MAX_ITEMS, max(MIN_ITEMS, round(n * min(4.0, max(0.25, factor))))))


def items_needed(pilot: Pilot, drop: float, replicates: int, *, target: float = 0.8, n_sims: int = N_SIMS,
                 seed: int = 0, start: int | None = None) -> dict[str, Any]:
    """The smallest simulated item count whose power (from `n_sims` sweeps) reaches `target`, or None.

    A short search (a fifth of n_sims, at least 40 sweeps per size) jumps towards the crossing by the sqrt(items)
    rule; then sizes a step of 20 % apart are simulated with n_sims sweeps from there until the smallest one at or
    above the target is found. Returns items, power, mc_error, sims, failed_fits (at that size) and tried:
    every (n, power, sweeps) simulated."""
    coarse = min(n_sims, max(40, n_sims // 5))
    tried: dict[tuple[int, int], tuple[float, float, int]] = {}

    def power(k: int, sims: int) -> float:
        if (k, sims) not in tried:
            tried[(k, sims)] = simulated_power(pilot, k, replicates, drop, n_sims=sims, seed=seed)
        return tried[(k, sims)][0]

    def down(k: int) -> int:
        return max(MIN_ITEMS, int(k / STEP))

    def up(k: int) -> int:
        return min(MAX_ITEMS, math.ceil(k * STEP))

    def result(n: int | None, sims: int) -> dict[str, Any]:
        p, se, failed = tried[(MAX_ITEMS if n is None else n, sims)]
        return dict(items=n, power=p, mc_error=se, sims=sims, failed_fits=failed,
                    tried=sorted((k, v[0], s) for (k, s), v in tried.items()))

    n = start or _start(math.nan, pilot.n_items, drop)
    for _ in range(6):
        nxt = _jump(n, power(n, coarse), target)
        if abs(nxt - n) <= max(1, n * (STEP - 1) / 2):
            break
        n = nxt
    if n >= MAX_ITEMS and power(MAX_ITEMS, coarse) < target:
        return result(None, coarse)
    # the STEP grid through n, with the full number of sweeps
    if power(n, n_sims) >= target:
        while n > MIN_ITEMS and power(down(n), n_sims) >= target:
            n = down(n)
        return result(n, n_sims)
    while power(n, n_sims) < target:
        if n >= MAX_ITEMS:
            return result(None, n_sims)
        n = up(n)
    return result(n, n_sims)


def power_plan(samples: pd.DataFrame, metrics: dict[str, str], detect: float, *, target: float = 0.8,
               n_sims: int = N_SIMS, seed: int = 0, replicates: Sequence[int] | None = None,
               temperature: float | None = None) -> pd.DataFrame:
    """One row per (curve, replicates): items needed to detect a drop of `detect` (a share: 0.10 = 10 points).

    `temperature`: the run's configured temperature (None = each provider's default; the local model's is 0)."""
    if not 0 < detect < 1:
        raise ValueError("detect is a drop in score share, between 0 and 1")
    controlled = samples[samples["budget"].astype(str) != NATURAL]
    rows: list[dict[str, Any]] = []
    for key, curve in controlled.groupby(KEYS, sort=False):
        base = dict(zip(KEYS, key), detect=detect, target_power=target)
        metric = metrics.get(key[0], "accuracy")
        providers = set(curve["provider"].dropna()) if "provider" in curve else set()
        greedy_by_default = bool(providers) and all(getattr(info_for(p), "greedy_default", False) for p in providers)
        configured_greedy = temperature == 0 or (temperature is None and greedy_by_default)
        pilot = Pilot(curve, greedy=configured_greedy)
        try:
            detectable = float(trend_test(curve, metric)["detectable_change"])
        except _fit_errors():
            detectable = math.nan
        base.update(pilot_items=pilot.n_items, pilot_replicates=pilot.replicates, pilot_detectable=detectable,
                    prior_a=pilot.prior[0], prior_b=pilot.prior[1])
        if metric == "rmse":
            rows.append(dict(base, note="RMSE curve: a drop in points does not apply; not planned"))
            continue
        if len(pilot.budgets) < 2 or pilot.n_items < 2:
            rows.append(dict(base, note=f"not enough data: the pilot has {pilot.n_items} scored items at "
                                        f"{len(pilot.budgets)} budgets"))
            continue
        options = sorted({1, 3, pilot.replicates}) if replicates is None else sorted(set(replicates))
        note = ""
        if pilot.greedy:
            options = [1]
            note = ("the pilot's replicates repeat themselves (greedy decoding): one replicate planned"
                    if pilot.repeats_itself else
                    "greedy decoding (temperature 0): more replicates would be identical; one replicate planned")
        start = _start(detectable, pilot.n_items, detect)
        for reps in options:
            # More replicates per item: start lower (they add information within items, less than new items).
            found = items_needed(pilot, detect, reps, target=target, n_sims=n_sims, seed=seed,
                                 start=max(MIN_ITEMS, int(start * pilot.replicates / reps)))
            at_pilot, at_pilot_se, _ = simulated_power(pilot, pilot.n_items, reps, detect,
                                                       n_sims=max(40, n_sims // 5), seed=seed)
            n = found["items"]
            rows.append(dict(base, replicates=reps, items_needed=n, power_at_items=found["power"],
                             power_mc_error=found["mc_error"], sims_at_items=found["sims"],
                             failed_fits=found["failed_fits"],
                             samples_needed=None if n is None else n * reps * len(pilot.budgets),
                             power_at_pilot_items=at_pilot, power_at_pilot_items_mc_error=at_pilot_se,
                             simulated=sum(s for _, _, s in found["tried"]),
                             note=note or ("" if n is not None else
                                           f"more than {MAX_ITEMS} items: the drop cannot be planted or detected "
                                           f"from this pilot's scores")))
    return pd.DataFrame(rows)


def configured_temperature(run_dir: str) -> float | None:
    """The temperature the run was configured with (None: each provider's default)."""
    with Store(run_dir, create=False) as store:
        config = store.meta().config or {}
    value = config.get("temperature") if isinstance(config, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def plan_run(run_dir: str, detect_points: float, *, target: float = 0.8, n_sims: int = N_SIMS, seed: int = 0,
             replicates: Sequence[int] | None = None) -> pd.DataFrame:
    """power_plan for the curves of one run directory; `detect_points` in points (10 = a drop of 10 %)."""
    if not 0 < detect_points < 100:
        raise UserError(f"--detect {detect_points:g}: give the drop to detect in points, between 0 and 100")
    if not 0.5 <= target < 1:
        raise UserError(f"--power {target:g}: give a target power between 0.5 and 1 (e.g. 0.8)")
    if n_sims < 20:
        raise UserError(f"--sims {n_sims}: use at least 20 simulated sweeps per size")
    data = load_runs([run_dir])
    if data.samples.empty or (data.samples["budget"].astype(str) == NATURAL).all():
        raise UserError(f"{run_dir}: no budget sweep to plan from (a pilot needs at least two budgets)")
    return power_plan(data.samples, data.metrics(), detect_points / 100, target=target, n_sims=n_sims, seed=seed,
                      replicates=replicates, temperature=configured_temperature(run_dir))
