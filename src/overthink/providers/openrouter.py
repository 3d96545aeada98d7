"""`openrouter:VENDOR/MODEL` - OpenRouter's OpenAI-compatible Chat Completions with its unified `reasoning` object
(https://openrouter.ai/docs/use-cases/reasoning-tokens), through the openai SDK. Key: OPENROUTER_API_KEY.

What is sent (`reasoning`, never effort and max_tokens together - the API answers 400; `exclude: false` so the
reasoning text comes back):
- native, numeric B > 0 on a model that takes a token budget (capabilities `thinking: [max_tokens]`: Anthropic,
  Gemini 2.5, Qwen): {max_tokens: B}; B outside the model's min_budget/max_budget is refused before the run.
  On effort-only models (OpenAI, xAI, DeepSeek, Gemini 3): {effort: L}, L from budget.py's table / `effort_table`.
- native, effort budgets (`--budgets low,high`): {effort: L} on models that take effort.
- B = 0: {effort: "none"} where the model can switch reasoning off, else refused.
- natural: {enabled: true} (the model's default amount). prompted: {effort: "none"} (reasoning in visible text).
max_tokens = the plan's max tokens (B + answer margin; reasoning counts against it).

What is read: message.reasoning, else the text of message.reasoning_details (reasoning.text / reasoning.summary;
encrypted entries carry no text); reasoning tokens from usage.completion_tokens_details.reasoning_tokens (billed as
output), else a labelled estimate from the text; usage.cost (USD, reported per request) as the cost when present.
"""

from __future__ import annotations

from typing import Any

from ..budget import BudgetPlan
from ..core import NATURAL, Completion, Mechanism
from ..errors import ConfigError
from .apibase import ApiModel, estimate_tokens, sdk_http_client
from .base import GenerateRequest, ModelSpec
from .openai import OpenAIModel

BASE_URL = "https://openrouter.ai/api/v1"


class OpenRouterModel(OpenAIModel):
    provider = "openrouter"
    default_key_env = "OPENROUTER_API_KEY"
    extra_options = frozenset({"base_url", "provider_routing"})
    batch_api = False  # the inherited batch methods have no API behind them on this platform

    def _client(self, key: str) -> Any:
        import openai

        return openai.AsyncOpenAI(api_key=key, base_url=self.spec.base_url or self.options.get("base_url", BASE_URL),
                                  max_retries=0, timeout=self.timeout_s, default_headers={"X-Title": "overthink"},
                                  http_client=sdk_http_client(openai))

    # -- planning -------------------------------------------------------------------------------------------
    @property
    def modes(self) -> list[str]:
        return list(self.caps.get("thinking") or [])

    control_budgets = ApiModel.control_budgets  # numeric reasoning.max_tokens, not OpenAI's levels

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        spec, modes = self.spec, self.modes
        if plan.mechanism is Mechanism.FORCED and plan.budget != NATURAL:
            raise ConfigError(f"{spec}: mechanism 'forced' is not possible through OpenRouter's chat API; use "
                              f"'native' (the reasoning object) or 'prompted'")
        if temperature is not None and not self.caps.get("temperature", True):
            raise ConfigError(f"{spec}: this model takes no temperature; drop `temperature` (got {temperature})")
        if plan.budget == NATURAL:
            return
        if plan.budget == 0 or plan.mechanism is Mechanism.PROMPTED:
            if not self.caps.get("thinking_switch", True):
                raise ConfigError(f"{spec}: this model cannot switch reasoning off (effort none), so budget 0 and "
                                  f"prompted budgets cannot be run; use native budgets > 0")
            return
        if isinstance(plan.budget, int) and "max_tokens" in modes:
            low, high = int(self.caps.get("min_budget", 1)), self.caps.get("max_budget")
            if plan.budget < low or (high is not None and plan.budget > int(high)):
                raise ConfigError(f"{spec}: budget {plan.budget} is outside the model's reasoning budget range "
                                  f"{low}..{high if high is not None else ''}; extend model_options.capabilities "
                                  f"min_budget/max_budget if the model accepts it")
            return
        if "effort" not in modes:
            raise ConfigError(f"{spec}: budget {plan.budget!r} is an effort level, but the capabilities table lists "
                              f"only numeric reasoning budgets (max_tokens) for this model")
        effort = self.effort_for(plan)
        if effort not in (self.caps.get("efforts") or []):
            raise ConfigError(f"{spec}: budget {plan.budget!r} means reasoning effort {effort!r}, which this model "
                              f"does not take (levels: {', '.join(self.caps.get('efforts') or [])})")

    def reasoning(self, plan: BudgetPlan) -> tuple[dict[str, Any], str]:
        """The `reasoning` object for a plan and what enforces it (stored as metadata `enforced_by`)."""
        if plan.budget == NATURAL:
            return {"enabled": True, "exclude": False}, "none"
        if plan.mechanism is Mechanism.PROMPTED:
            return {"effort": "none"}, "prompt"
        if plan.budget == 0:
            return {"effort": "none"}, "thinking_switch"
        if isinstance(plan.budget, int) and "max_tokens" in self.modes:
            return {"max_tokens": plan.budget, "exclude": False}, "reasoning_max_tokens"
        return {"effort": self.effort_for(plan), "exclude": False}, "reasoning_effort"

    def params(self, request: GenerateRequest) -> dict[str, Any]:
        """The Chat Completions body, with OpenRouter's reasoning object (sent through extra_body by the SDK)."""
        body: dict[str, Any] = {"model": self.spec.model, "messages": self._messages(request),
                                "max_tokens": request.plan.max_tokens, "seed": request.seed,
                                "reasoning": self.reasoning(request.plan)[0]}
        if self.caps.get("temperature", True):
            if request.temperature is not None:
                body["temperature"] = request.temperature
            if request.top_p is not None:
                body["top_p"] = request.top_p
        routing = self.options.get("provider_routing")
        if routing:  # OpenRouter's provider preferences, e.g. {order: [anthropic], allow_fallbacks: false}
            body["provider"] = dict(routing)
        return body

    # -- response -------------------------------------------------------------------------------------------
    def completion(self, resp: Any, plan: BudgetPlan, latency_s: float, *, batch: bool = False) -> Completion:
        out = super().completion(resp, plan, latency_s, batch=batch)  # choices, usage, truncation, price
        message = resp.choices[0].message
        details = list(getattr(message, "reasoning_details", None) or [])
        kinds = sorted({str(_field(d, "type")) for d in details})
        text = getattr(message, "reasoning", None) or "\n".join(
            str(_field(d, "text") or _field(d, "summary") or "") for d in details).strip()
        out.reasoning = text or out.reasoning
        if out.reasoning_tokens is None and out.reasoning:
            out.reasoning_tokens, out.reasoning_tokens_source = estimate_tokens(out.reasoning), "estimate"
            out.thinking_stop = "natural"
        cost = getattr(resp.usage, "cost", None)
        if isinstance(cost, (int, float)):
            out.cost_usd = float(cost)
            out.extra["cost_source"] = "usage.cost"
        out.extra.update({"api": "openrouter", "enforced_by": self.reasoning(plan)[1],
                          "routed_to": getattr(resp, "provider", None), "reasoning_details": kinds,
                          "thinking_summarized": "reasoning.summary" in kinds})
        return out


def _field(entry: Any, name: str) -> Any:
    return entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)


def create(spec: ModelSpec, options: dict[str, Any]) -> OpenRouterModel:
    return OpenRouterModel(spec, options)

