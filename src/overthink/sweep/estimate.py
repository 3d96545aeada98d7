"""What a config would cost before it runs: requests, expected and worst-case tokens and USD per model and budget.

No model is created (no key, no download, no SDK import): a provider's default answer margin is data
(models/base.py ANSWER_MARGINS) and prices come from the price tables. Budget plans are the sweep's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ExperimentConfig
from ..core import Budget
from ..mechanism import resolve_spec
from ..models import ModelSpec, answer_margin_for
from ..pricing import estimate_input_tokens, price_for
from ..tasks import get_task
from .plan import budget_plan

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


def estimate_run(cfg: ExperimentConfig) -> list[EstimateRow]:
    """Expected and worst-case requests, tokens and cost of a config, before anything runs (no key needed)."""
    prompts: list[str] = []
    for name in cfg.tasks:
        task = get_task(name, **cfg.task_args.get(name, {}))
        prompts += [(task.system or "") + task.render(item) for item in task.items(n=cfg.limit, seed=cfg.seed)]
    reps = cfg.sweep_replicates()
    rows = []
    for spec_text in cfg.models:
        spec = ModelSpec.parse(spec_text)
        price = price_for(spec.provider, spec.model, (cfg.model_options.get(spec_text) or {}).get("price"))
        for budget in cfg.sweep_budgets():
            plan = budget_plan(cfg, budget, answer_margin_for(spec.provider),
                               resolve_spec(cfg.mechanism, spec, cfg.model_options.get(spec_text)))
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
