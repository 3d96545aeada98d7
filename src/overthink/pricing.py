"""Cost from a price table (data/prices.yaml; user file $OVERTHINK_HOME/prices.yaml and per-model overrides).

Costs are per sample (input + output tokens, reasoning billed as output) with the provider's batch discount when
the run goes through a batch API. A model with no price gives cost None, and `--max-cost` refuses to start
rather than guess.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from .errors import ConfigError
from .paths import user_table
from .tokens import estimate_tokens


@dataclass(frozen=True)
class Price:
    input: float  # USD per million tokens
    output: float
    batch_discount: float = 1.0
    source: str = "table"

    def cost(self, input_tokens: int | None, output_tokens: int | None, *, batch: bool = False) -> float:
        usd = ((input_tokens or 0) * self.input + (output_tokens or 0) * self.output) / 1e6
        return usd * (self.batch_discount if batch else 1.0)


@lru_cache(maxsize=1)
def _packaged() -> dict[str, Any]:
    return yaml.safe_load(resources.files("overthink").joinpath("data", "prices.yaml").read_text())


def _user() -> dict[str, Any]:
    return user_table("prices.yaml", "provider names to price tables")


def price_for(provider: str, model: str, override: dict[str, Any] | None = None) -> Price | None:
    """The price of a model, or None when no table row matches and no override is given."""
    packaged, user = _packaged().get(provider, {}) or {}, _user().get(provider, {}) or {}
    discount = float(user.get("batch_discount", packaged.get("batch_discount", 1.0)))
    if override:
        try:
            return Price(float(override["input"]), float(override["output"]),
                         float(override.get("batch_discount", discount)), "model_options")
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"model_options price for {provider}:{model}: give numbers 'input' and 'output' "
                              f"(USD per million tokens)") from None
    for source, table in (("user", user), ("table", packaged)):
        for row in table.get("models", []) or []:
            if fnmatch.fnmatchcase(model, str(row.get("match", ""))):
                return Price(float(row["input"]), float(row["output"]), discount, source)
    return None


def estimate_input_tokens(text: str) -> int:
    """A deliberately generous token count for text we have not sent yet (tokens.estimate_tokens, generous)."""
    return estimate_tokens(text, generous=True)


def worst_case_cost(price: Price | None, prompt_chars: int, max_tokens: int, *, batch: bool = False) -> float | None:
    """The most one request can cost: its input plus every output token the request allows."""
    if price is None:
        return None
    return price.cost(prompt_chars // 3 + 16, max_tokens, batch=batch)


@dataclass
class EstimateRow:
    model: str
    budget: Any
    requests: int
    input_tokens: int
    output_tokens: int  # expected: thinking about the budget + a short answer
    max_output_tokens: int  # worst case: every allowed token
    cost_usd: float | None
    max_cost_usd: float | None


EXPECTED_ANSWER_TOKENS = 256


def _answer_margin(cfg: Any, provider: str) -> int:
    if cfg.answer_margin:
        return int(cfg.answer_margin)
    import importlib

    from .models import PROVIDERS

    try:
        module = importlib.import_module(PROVIDERS[provider].split(":")[0])
    except (KeyError, ImportError):
        return 10_000
    return int(getattr(getattr(module, "MODEL_CLASS", None), "default_answer_margin", 10_000))


def estimate_run(cfg: Any) -> list[EstimateRow]:
    """Expected and worst-case requests, tokens and cost of a config, before anything runs (no key needed)."""
    from .budget import plan_budget
    from .models import ModelSpec
    from .tasks import get_task

    prompts: list[str] = []
    for name in cfg.tasks:
        task = get_task(name, **cfg.task_args.get(name, {}))
        prompts += [(task.system or "") + task.render(item) for item in task.items(n=cfg.limit, seed=cfg.seed)]
    reps = cfg.sweep_replicates()
    rows = []
    for spec_text in cfg.models:
        spec = ModelSpec.parse(spec_text)
        price = price_for(spec.provider, spec.model, (cfg.model_options.get(spec_text) or {}).get("price"))
        margin = _answer_margin(cfg, spec.provider)
        for budget in cfg.sweep_budgets():
            plan = plan_budget(budget, cfg.mechanism, answer_margin=margin, cautioned=cfg.cautioned)
            n = len(prompts) * reps
            inp = sum(estimate_input_tokens(p + (plan.system_prompt or "")) for p in prompts) * reps
            think = budget if isinstance(budget, int) else plan.max_tokens - plan.answer_tokens
            expected = min(plan.max_tokens, think + EXPECTED_ANSWER_TOKENS) * n
            worst = plan.max_tokens * n
            rows.append(EstimateRow(
                spec_text, budget, n, inp, expected, worst,
                None if price is None else price.cost(inp, expected, batch=cfg.batch),
                None if price is None else price.cost(inp, worst, batch=cfg.batch)))
    return rows
