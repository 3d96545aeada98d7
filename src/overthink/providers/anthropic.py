"""`anthropic:MODEL` - the Anthropic Messages API (and Message Batches).

Mechanisms:
- native: numeric budget B -> thinking {"type": "enabled", "budget_tokens": B}, max_tokens = B + answer margin,
  temperature left at its default 1 (the API requires it with thinking). B = 0 sends no thinking parameter.
  Models that take adaptive thinking instead (capabilities table) get {"type": "adaptive"} with
  output_config.effort = the budget's effort level (sweep `--budgets low,medium,high`, or numeric budgets mapped
  through budget.py's table). B in 1..1023 cannot be expressed (the API's minimum is 1024): refused before the
  run starts rather than silently rounded up.
- prompted: no thinking parameter; the budget lives in the system prompt and the model reasons in visible text.

Reasoning length: usage.output_tokens_details.thinking_tokens (source "usage") when the API reports it, else
output_tokens minus an estimate of the visible answer's tokens (source "output_minus_answer_estimate"). The
returned (summarized) thinking text is stored but never counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..budget import BudgetPlan
from ..core import NATURAL, Budget, Completion, Mechanism, TokenSource
from ..errors import ConfigError
from ..secrets import get_key
from .apibase import ApiModel, reasoning_before_answer, sampling, sdk_http_client, sdk_kwargs
from .base import GenerateRequest, ModelSpec
from .retry import MalformedResponse


class AnthropicModel(ApiModel):
    provider = "anthropic"
    batch_api = True  # Message Batches
    default_key_env = "ANTHROPIC_API_KEY"
    extra_options = frozenset({"base_url"})

    def __init__(self, spec: ModelSpec, options: dict[str, Any]) -> None:
        super().__init__(spec, options)
        import anthropic

        key = get_key(self.key_env, env_file=self.env_file, what=str(spec))
        self.client = anthropic.AsyncAnthropic(
            api_key=key, base_url=spec.base_url or options.get("base_url"), max_retries=0,
            timeout=self.timeout_s, http_client=sdk_http_client(anthropic))

    # -- request --------------------------------------------------------------------------------------------
    def control_budgets(self) -> list[Budget]:
        efforts = list(self.caps.get("efforts", None) or [])
        if "budget_tokens" not in (self.caps.get("thinking", None) or []) and efforts:  # effort-only models
            return [0, efforts[0], efforts[-1]]
        return super().control_budgets()

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        modes = self.caps.thinking
        self.refuse_forced(plan, "needs control of the raw text; use 'native' (thinking budget) or 'prompted' "
                                 "for Anthropic models")
        if plan.mechanism is not Mechanism.NATIVE or not plan.thinking:
            return
        if temperature is not None and temperature != 1:
            raise ConfigError(f"{self.spec}: extended thinking requires temperature 1; drop `temperature` "
                              f"(got {temperature}) or use mechanism 'prompted'")
        if plan.budget == NATURAL:
            return
        if isinstance(plan.budget, int) and "budget_tokens" in modes:
            low = self.caps.min_budget
            if plan.budget < low:
                raise ConfigError(f"{self.spec}: budget {plan.budget} is below the API's minimum thinking budget "
                                  f"of {low} tokens; use 0 (thinking off) or a budget >= {low}")
            return
        if "adaptive" not in modes:
            raise ConfigError(f"{self.spec}: budget {plan.budget!r} needs adaptive thinking with an effort level, "
                              f"which the capabilities table does not list for this model; numeric budgets "
                              f"(>= 1024) set budget_tokens")
        effort = self.effort_for(plan)
        if effort not in self.caps.efforts:
            raise ConfigError(f"{self.spec}: effort {effort!r} (budget {plan.budget!r}) is not one of this "
                              f"model's levels {list(self.caps.efforts)}; extend model_options.capabilities "
                              f"if the model accepts it")

    def params(self, request: GenerateRequest) -> dict[str, Any]:
        """The exact Messages API body for a request (also used for batch entries)."""
        plan = request.plan
        body: dict[str, Any] = {"model": self.spec.model, "max_tokens": plan.max_tokens,
                                "messages": [{"role": "user", "content": request.prompt}]}
        system = request.system_text()
        if system:
            body["system"] = system
        thinking = plan.thinking and (plan.mechanism is Mechanism.NATIVE or plan.budget == NATURAL)
        modes = self.caps.thinking
        if thinking:
            if isinstance(plan.budget, int) and "budget_tokens" in modes:
                body["thinking"] = {"type": "enabled", "budget_tokens": plan.think_tokens}
            elif plan.budget == NATURAL and "budget_tokens" in modes:
                body["thinking"] = {"type": "enabled", "budget_tokens": plan.max_tokens - plan.answer_tokens}
            else:
                body["thinking"] = {"type": "adaptive"}
                effort = self.effort_for(plan)
                if effort:
                    body["output_config"] = {"effort": effort}
        else:
            body.update(sampling(request))
        return body

    async def send(self, body: dict[str, Any]) -> Any:
        create = self.client.messages.create
        return await create(**sdk_kwargs(create, body))

    # -- response -------------------------------------------------------------------------------------------
    def completion(self, message: Any, plan: BudgetPlan, latency_s: float, *, batch: bool = False) -> Completion:
        try:
            blocks = list(message.content)
            usage = message.usage
            output_tokens, input_tokens = int(usage.output_tokens), int(usage.input_tokens)
        except (AttributeError, TypeError, ValueError) as exc:
            raise MalformedResponse(f"Messages API response without content/usage: {exc}") from None
        thinking_text = "\n".join(getattr(b, "thinking", "") or "" for b in blocks if b.type == "thinking")
        redacted = sum(1 for b in blocks if b.type == "redacted_thinking")
        text = "".join(getattr(b, "text", "") or "" for b in blocks if b.type == "text")
        details = getattr(usage, "output_tokens_details", None)
        thought = bool(thinking_text or redacted)
        if details is not None and getattr(details, "thinking_tokens", None) is not None:
            reasoning_tokens, source = int(details.thinking_tokens), TokenSource.USAGE
        elif thought or plan.mechanism is Mechanism.PROMPTED and plan.thinking:
            # Summarized thinking is shorter than what was billed: measure from the bill, not the summary.
            reasoning_tokens = reasoning_before_answer(output_tokens, text, all_answer=thought)
            source = TokenSource.OUTPUT_MINUS_ANSWER
        else:
            reasoning_tokens, source = 0, TokenSource.NO_THINKING
        return self.completed(
            text=text, reasoning=thinking_text, tokens=reasoning_tokens, source=source,
            finish=str(message.stop_reason or "unknown"), thought=thought or bool(reasoning_tokens),
            output_tokens=output_tokens, input_tokens=input_tokens, latency_s=latency_s, batch=batch,
            extra={"api": "messages", "thinking_summarized": bool(thinking_text), "redacted_thinking": redacted,
                   "request_id": getattr(message, "id", None)})

    # -- Message Batches ------------------------------------------------------------------------------------
    async def submit_batch(self, entries: list[tuple[str, dict[str, Any]]]) -> str:
        requests = [{"custom_id": cid, "params": body} for cid, body in entries]
        batch = await self.call(lambda: self.client.messages.batches.create(requests=requests))
        return batch.id

    async def batch_state(self, batch_id: str) -> str:
        """'running' or 'ended'."""
        batch = await self.call(lambda: self.client.messages.batches.retrieve(batch_id))
        return "ended" if batch.processing_status == "ended" else "running"

    async def batch_results(self, batch_id: str,
                            plans: dict[str, BudgetPlan]) -> AsyncIterator[tuple[str, Completion | Exception]]:
        results = await self.call(lambda: self.client.messages.batches.results(batch_id))
        async for entry in results:
            result = entry.result
            plan = plans.get(entry.custom_id)
            if plan is None:
                continue
            if result.type == "succeeded":
                try:
                    yield entry.custom_id, self.completion(result.message, plan, 0.0, batch=True)
                except MalformedResponse as exc:
                    yield entry.custom_id, exc
            else:
                detail = getattr(getattr(result, "error", None), "error", None)
                msg = getattr(detail, "message", "") if detail is not None else ""
                yield entry.custom_id, RuntimeError(f"batch entry {result.type}{': ' + msg if msg else ''}")


def create(spec: ModelSpec, options: dict[str, Any]) -> AnthropicModel:
    return AnthropicModel(spec, options)

