"""What a config would cost before it runs: requests, expected and worst-case tokens and USD per model and budget.

No model is created (no key, no download, no SDK import): a provider's default answer margin is data
(providers/registry.py) and prices come from the price tables. Budget plans are the sweep's own.
A dataset task whose files are not downloaded yet is estimated from the registry (data/datasets.yaml): its item
count (the pinned files' rows, or the dataset's `estimate.items`) and its prompt size (`estimate.prompt_chars`,
else the pinned files' bytes per record, an upper bound since records also hold the answers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .. import datasets
from ..config import ExperimentConfig
from ..core import Budget
from ..errors import DataError
from ..pricing import estimate_input_tokens, price_for
from ..providers import ModelSpec
from ..providers.registry import info_for
from ..servers.profiles import by_host
from ..store import Store
from ..store.schema import DB_NAME
from ..tasks import get_task
from .plan import resolve_run_spec

EXPECTED_ANSWER_TOKENS = 256


@dataclass
class EstimateRow:
    model: str
    budget: Budget
    requests: int
    input_tokens: int
    output_tokens: int  # expected: thinking about the budget + a short answer
    max_output_tokens: int  # worst case: every allowed token
    cost_usd: float | None
    max_cost_usd: float | None


@dataclass(frozen=True)
class RegistryGuess:
    """A not-downloaded dataset task as the registry describes it."""

    task: str
    dataset: str
    items: int
    prompt_chars: int


def dataset_of(name: str) -> tuple[str, list[str] | None] | None:
    """(dataset, file names or None for all) a task name reads, without instantiating the task."""
    head = name.split("/", 1)[0]
    reg = datasets.registry()
    if head == "ai-risk":
        return "ai-risk", [f"{name.split('/', 1)[1]}.jsonl"] if "/" in name else None
    for ds in reg.values():
        if ds.extra.get("task") == name or ds.name == name:
            return ds.name, None
    return None


def registry_guess(name: str, limit: int | None) -> RegistryGuess | None:
    """Items and prompt size of a dataset task from data/datasets.yaml alone (None when the registry cannot say)."""
    found = dataset_of(name)
    if found is None:
        return None
    ds = datasets.get_dataset(found[0])
    files = [f for f in ds.files if found[1] is None or f.name in found[1]]
    hints = ds.extra.get("estimate") or {}
    if found[1] is not None and not files:
        return None
    rows = [f.rows for f in files]
    items = sum(r for r in rows if r) if rows and all(rows) else hints.get("items")
    sized = [f for f in (files or ds.files) if f.size and f.rows]
    sized = sized or [f for f in ds.files if f.size and f.rows]
    chars = hints.get("prompt_chars") or (sum(f.size for f in sized) // sum(f.rows for f in sized) if sized else None)
    if not chars and items and all(f.size for f in files):  # one document (bbeh-zebra): its bytes per item
        chars = sum(f.size for f in files) // items
    if not items or not chars:
        return None
    return RegistryGuess(name, ds.name, min(items, limit) if limit else items, int(chars))


def _prompt_sizes(cfg: ExperimentConfig) -> tuple[list[str | int], list[RegistryGuess]]:
    """Rendered prompts (or, for a dataset not downloaded, its registry prompt size in characters per item)."""
    prompts: list[str | int] = []
    guesses: list[RegistryGuess] = []
    for name in cfg.tasks:
        try:
            task = get_task(name, **cfg.task_args.get(name, {}))
        except DataError:
            guess = registry_guess(name, cfg.limit)
            if guess is None:
                raise
            guesses.append(guess)
            prompts += [guess.prompt_chars] * guess.items
            continue
        prompts += [(task.system or "") + task.render(item) for item in task.items(n=cfg.limit, seed=cfg.seed)]
    return prompts, guesses


def estimate_run(cfg: ExperimentConfig, guesses: list[RegistryGuess] | None = None) -> list[EstimateRow]:
    """Expected and worst-case requests, tokens and cost of a config, before anything runs (no key, no download).
    Tasks estimated from the registry are appended to `guesses` when given."""
    prompts, found = _prompt_sizes(cfg)
    if guesses is not None:
        guesses += found
    reps = cfg.sweep_replicates()
    rows = []
    for spec_text in cfg.models:
        spec = ModelSpec.parse(spec_text)
        price = price_for(spec.provider, spec.model, (cfg.model_options.get(spec_text) or {}).get("price"))
        run_spec = resolve_run_spec(cfg, spec_text)  # what the run would resolve, without creating the model
        for budget in cfg.sweep_budgets():
            plan = run_spec.plan(budget)
            n = len(prompts) * reps
            system = plan.system_prompt or ""
            inp = sum(estimate_input_tokens((p if isinstance(p, str) else " " * p) + system) for p in prompts) * reps
            think = budget if isinstance(budget, int) else plan.max_tokens - plan.answer_tokens
            expected = min(plan.max_tokens, think + EXPECTED_ANSWER_TOKENS) * n
            worst = plan.max_tokens * n
            rows.append(EstimateRow(
                spec_text, budget, n, inp, expected, worst,
                None if price is None else price.cost(inp, expected, batch=cfg.batch),
                None if price is None else price.cost(inp, worst, batch=cfg.batch)))
    return rows


def registry_note(g: RegistryGuess) -> str:
    """The line `overthink estimate` prints for a task estimated from the registry."""
    return (f"{g.task}: not downloaded, so {g.items:,} items x ~{g.prompt_chars:,} prompt characters are the "
            f"registry's figures (data/datasets.yaml); `overthink data fetch {g.dataset}` makes them exact")


@dataclass
class SequentialEstimate:
    """`overthink estimate --until-decided`: the expected cost of stopping each cell once decided, by simulation
    (analysis/sequential.simulate_design) under no effect and under `effect`, beside the fixed design's."""

    effect: float
    runs: int
    fixed_usd: float | None  # the fixed design at the ceiling (expected); also the sequential run's ceiling
    max_usd: float | None  # the ceiling's worst case (every allowed token)
    no_effect_usd: float | None
    effect_usd: float | None
    no_effect_share: float  # expected share of the fixed design's items (and so of its tokens)
    effect_share: float
    effect_power: float


def sequential_estimate(cfg: ExperimentConfig, *, effect: float = 0.10, runs: int = 300,
                        seed: int = 0) -> SequentialEstimate:
    """Expected cost of `cfg` run --until-decided: per task, the simulated share of the ceiling's items a cell uses
    (items uniform in difficulty over 5-95 % correct, one request per item, budget and replicate as the fixed
    design; the effect falls linearly over the budgets' order) times that task's fixed-design cost."""
    from ..analysis.sequential import SPREAD, simulate_design

    n_budgets, reps = len(cfg.sweep_budgets()), cfg.sweep_replicates()
    totals = {"fixed": 0.0, "max": 0.0, "null": 0.0, "alt": 0.0}
    priced, weights, shares, powers = True, [], [], []
    for task in cfg.tasks:
        rows = estimate_run(cfg.model_copy(update={"tasks": [task]}))
        n_items = max(1, rows[0].requests // reps) if rows else 1
        sims = [simulate_design(runs=runs, n_items=n_items, n_budgets=n_budgets, replicates=reps,
                                spread=SPREAD["high"], effect=e, alpha=cfg.alpha, delta=cfg.flat_margin, seed=seed)
                for e in (0.0, effect)]
        out = sum(r.output_tokens for r in rows)
        weights.append(out)
        shares.append((sims[0]["share_of_ceiling"], sims[1]["share_of_ceiling"]))
        powers.append(sims[1]["share_inverse"])
        if any(r.cost_usd is None for r in rows):
            priced = False
            continue
        fixed = sum(r.cost_usd or 0.0 for r in rows)
        totals["fixed"] += fixed
        totals["max"] += sum(r.max_cost_usd or 0.0 for r in rows)
        totals["null"] += fixed * sims[0]["share_of_ceiling"]
        totals["alt"] += fixed * sims[1]["share_of_ceiling"]
    w = [x / max(1, sum(weights)) for x in weights]
    money = (lambda k: totals[k]) if priced else (lambda k: None)
    return SequentialEstimate(effect, runs, money("fixed"), money("max"), money("null"), money("alt"),
                              sum(a * s[0] for a, s in zip(w, shares)), sum(a * s[1] for a, s in zip(w, shares)),
                              sum(a * p for a, p in zip(w, powers)))
def self_hosted(spec_text: str) -> bool:
    """A model that runs on the user's own hardware: `local:`, or an openai-compatible server that is not a
    hosted API (DeepSeek, xAI are recognised by host)."""
    spec = ModelSpec.parse(spec_text)
    info = info_for(spec.provider)
    return info is not None and (info.embedded or (info.server and by_host(str(spec.base_url or "")) is None))


@dataclass(frozen=True)
class Speed:
    """Output tokens per second of one request stream of a model, measured on finished samples of a run."""

    tokens_per_s: float
    samples: int
    run_dir: str


def measured_speed(run_dirs: list[str | Path], model: str) -> Speed | None:
    """Tokens per second of `model` from the first run dir that has finished samples of it: decoded tokens over
    wall time per request (prompt processing and retries included). The budgets of an item's shared trace were
    decoded in one unit whose time each of its samples records: the unit counts its longest thinking plus each
    answer, over the unit's time."""
    for run_dir in run_dirs:
        if not (Path(run_dir) / DB_NAME).is_file():
            continue
        with Store(run_dir, create=False, readonly=True) as store:
            df = store.sample_frame(["model", "status", "task", "item_id", "replicate", "shared_trace",
                                     "output_tokens", "reasoning_tokens", "latency_s"])
        df = df[(df["model"] == model) & (df["status"] != "error") & (df["latency_s"] > 0)].copy()
        if df.empty:
            continue
        df["thinking"] = df["reasoning_tokens"].fillna(0)
        df["answer"] = (df["output_tokens"].fillna(df["thinking"]) - df["thinking"]).clip(lower=0)
        shared = df.groupby(["task", "item_id", "replicate"], sort=False)["shared_trace"].transform("max")
        df["trace"] = [(t, i, r) if bool(sh) else (t, i, r, k) for k, (t, i, r, sh) in
                       enumerate(zip(df["task"], df["item_id"], df["replicate"], shared.fillna(0)))]
        per = df.groupby("trace", sort=False).agg(thinking=("thinking", "max"), answer=("answer", "sum"),
                                                  seconds=("latency_s", "max"))
        tokens, seconds = float((per["thinking"] + per["answer"]).sum()), float(per["seconds"].sum())
        if seconds > 0 and tokens > 0:
            return Speed(tokens / seconds, len(df), str(run_dir))
    return None


def streams(cfg: ExperimentConfig, spec_text: str) -> int:
    """Requests decoded at once: a local model's llama.cpp slots (n_parallel, 1 by default), else concurrency."""
    options = cfg.model_options.get(spec_text) or {}
    info = info_for(ModelSpec.parse(spec_text).provider)
    if info is not None and info.embedded:
        return max(1, int(options.get("n_parallel") or 1))
    return max(1, min(int(cfg.concurrency or 1), int(options.get("max_concurrency") or cfg.concurrency or 1)))


def wall_time(output_tokens: int, speed: Speed, n_streams: int) -> float:
    """Seconds for `output_tokens` at the measured per-stream speed, `n_streams` at once (an upper bound on the
    gain: a server's streams share its hardware)."""
    return output_tokens / speed.tokens_per_s / max(1, n_streams)


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-"
    minutes = int(round(seconds / 60))
    if minutes < 1:
        return f"{max(1, int(round(seconds)))} s"
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
