"""`gemini:MODEL` - Google's Gemini API, or Vertex AI, through the official google-genai SDK.

What is sent (generationConfig; the model's thinking controls come from the capabilities table, data not code):
- native, numeric B > 0 on a budget model (Gemini 2.5): thinkingConfig {thinkingBudget: B, includeThoughts: true};
  B outside the model's range (2.5 Pro 128..32768, Flash 1..24576, Flash-Lite 512..24576) is refused before the run.
  B = 0: thinkingBudget 0 where the model can switch thinking off (Flash, Flash-Lite), refused where it cannot (Pro).
- native on a level model (Gemini 3.x): thinkingConfig {thinkingLevel: L, includeThoughts: true}, L from an effort
  budget (`--budgets minimal,low,high`) or a numeric budget mapped through budget.py's table / `effort_table`.
  Levels are a signal, not a token cap. Budget and level are never sent together (the API answers 400).
- natural: thinkingBudget -1 (dynamic) on budget models; no level (the model's default) on level models.
- prompted: thinking switched off (thinkingBudget 0) so the reasoning is visible text; refused on models that
  always think. maxOutputTokens = the plan's max tokens (thinking counts against it), plus seed, temperature, topP.

What is read: thought parts (`thought: true`, summaries) as the reasoning text, the other parts as the answer;
reasoning tokens from usageMetadata.thoughtsTokenCount (source "usage"; billed as output on top of
candidatesTokenCount); finishReason MAX_TOKENS without a complete answer = truncated.

Key: GEMINI_API_KEY, else GOOGLE_API_KEY (or `api_key_env`). Vertex AI: `model_options: {SPEC: {vertex: true,
project: P, location: L}}` (or GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION) with Application Default Credentials;
`api_key_env` with vertex is Vertex express mode.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import httpx

from ..budget import BudgetPlan
from ..core import NATURAL, Completion, Mechanism
from ..errors import ConfigError, ModelUnavailable
from ..secrets import get_key
from .apibase import ApiModel, estimate_tokens
from .base import GenerateRequest, ModelSpec
from .retry import MalformedResponse

KEY_VARS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
BUDGET, LEVEL = "thinking_budget", "thinking_level"


@cache
def _transport_errors() -> tuple[type[BaseException], ...]:
    """The connection errors of the HTTP stacks google-genai may use (aiohttp when installed, else httpx2)."""
    found: list[type[BaseException]] = []
    try:
        import aiohttp

        found.append(aiohttp.ClientConnectionError)
    except ImportError:
        pass
    try:
        import httpx2

        found.append(httpx2.TransportError)
    except ImportError:
        pass
    return tuple(found)


def _flag(spec: ModelSpec, options: dict[str, Any], name: str) -> bool:
    value = options.get(name, False)
    if not isinstance(value, bool):
        raise ConfigError(f"model_options for {spec}: {name} must be true or false, got {value!r}")
    return value


class GeminiModel(ApiModel):
    provider = "gemini"
    default_key_env = None  # GEMINI_API_KEY, then GOOGLE_API_KEY: see _key()
    extra_options = frozenset({"vertex", "project", "location", "base_url", "api_version", "include_thoughts"})

    def __init__(self, spec: ModelSpec, options: dict[str, Any]) -> None:
        super().__init__(spec, options)
        from google import genai
        from google.auth.exceptions import GoogleAuthError
        from google.genai import types

        # The SDK's own switch, GOOGLE_GENAI_USE_VERTEXAI, is honoured unless the option says otherwise.
        env_vertex = os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() in ("1", "true")
        self.vertex = _flag(spec, options, "vertex") if "vertex" in options else env_vertex
        self.include_thoughts = options.get("include_thoughts", True) is not False
        # attempts=1: overthink's retry policy (retry.py) is the only one, so `attempts` and latency are true.
        # Without retry_options google-genai reconnects by itself after 1-10 s on an aiohttp connection error
        # (a closed port took 22 s instead of 0.06 s; tests/test_provider_gemini_retries.py).
        http = types.HttpOptions(base_url=spec.base_url or options.get("base_url"),
                                 api_version=options.get("api_version"), timeout=int(self.timeout_s * 1000),
                                 retry_options=types.HttpRetryOptions(attempts=1))
        try:
            if self.vertex and not self.key_env:
                import google.auth

                # Loaded here, not on the first request, so missing credentials stop the run before it starts.
                creds, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
                self.client = genai.Client(vertexai=True, credentials=creds, http_options=http,
                                           project=options.get("project") or project,
                                           location=options.get("location"))
            else:
                self.client = genai.Client(vertexai=self.vertex, api_key=self._key(), http_options=http)
        except (ValueError, GoogleAuthError) as exc:  # no project/location, or no default credentials
            what = "Vertex AI is not configured" if self.vertex else "the Gemini client could not be created"
            raise ModelUnavailable(f"{spec}: {what}: {exc}") from None

    def _key(self) -> str:
        if self.key_env:
            return get_key(self.key_env, env_file=self.env_file, what=str(self.spec))
        for var in KEY_VARS:
            try:
                return get_key(var, env_file=self.env_file, what=str(self.spec))
            except ModelUnavailable:
                continue
        raise ModelUnavailable(f"GEMINI_API_KEY (or GOOGLE_API_KEY) is not set (needed by {self.spec}): export it "
                               f"or put it in .env; for Vertex AI set model_options.{self.spec}.vertex: true")

    # -- planning -------------------------------------------------------------------------------------------
    @property
    def modes(self) -> list[str]:
        return list(self.caps.get("thinking") or [])

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        modes, spec = self.modes, self.spec
        if plan.mechanism is Mechanism.FORCED and plan.budget != NATURAL:
            raise ConfigError(f"{spec}: mechanism 'forced' needs control of the raw text; use 'native' "
                              f"(thinkingBudget / thinkingLevel) or 'prompted' for Gemini models")
        if plan.budget == NATURAL:
            return
        if plan.mechanism is Mechanism.PROMPTED:
            if modes and not (BUDGET in modes and self.caps.get("thinking_switch")):
                raise ConfigError(f"{spec}: this model always thinks natively, so a prompted budget cannot be "
                                  f"measured apart from its hidden thinking; use mechanism 'native'")
            return
        if isinstance(plan.budget, int) and BUDGET in modes:
            low, high = int(self.caps.get("min_budget", 1)), int(self.caps.get("max_budget", 0))
            if plan.budget == 0:
                if not self.caps.get("thinking_switch"):
                    raise ConfigError(f"{spec}: this model cannot switch thinking off (thinkingBudget 0); its "
                                      f"smallest budget is {low}")
            elif not low <= plan.budget <= high:
                raise ConfigError(f"{spec}: budget {plan.budget} is outside the model's thinkingBudget range "
                                  f"{low}..{high}; the API would refuse it (extend model_options.capabilities "
                                  f"min_budget/max_budget if the model accepts more)")
            return
        if not modes:
            if plan.budget != 0:
                raise ConfigError(f"{spec}: not a thinking model in the capabilities table; use mechanism "
                                  f"'prompted' or extend model_options.capabilities")
            return
        if LEVEL not in modes:
            raise ConfigError(f"{spec}: budget {plan.budget!r}: this model takes numeric thinking budgets "
                              f"({self.caps.get('min_budget')}..{self.caps.get('max_budget')}), not levels")
        level = self.effort_for(plan)
        if level not in (self.caps.get("efforts") or []):
            raise ConfigError(f"{spec}: budget {plan.budget!r} means thinkingLevel {level!r}, which this model does "
                              f"not take (levels: {', '.join(self.caps.get('efforts') or [])}; Gemini 3 cannot "
                              f"switch thinking off)")

    def thinking(self, plan: BudgetPlan) -> tuple[dict[str, Any] | None, str]:
        """The thinkingConfig for a plan and what enforces it (stored as metadata `enforced_by`)."""
        modes = self.modes
        thoughts = {"include_thoughts": True} if self.include_thoughts else {}
        if plan.budget == NATURAL:
            if BUDGET in modes:
                return {BUDGET: -1, **thoughts}, "none"
            return ({**thoughts} if modes and thoughts else None), "none"
        if plan.mechanism is Mechanism.PROMPTED:
            return ({BUDGET: 0} if BUDGET in modes else None), "prompt"
        if isinstance(plan.budget, int) and BUDGET in modes:
            if plan.budget == 0:
                return {BUDGET: 0}, "thinking_switch"
            return {BUDGET: plan.budget, **thoughts}, "thinking_budget"
        if not modes:
            return None, "none"
        return {LEVEL: self.effort_for(plan), **thoughts}, "thinking_level"

    def params(self, request: GenerateRequest) -> dict[str, Any]:
        """The generate_content call: model, contents and config (the SDK's names; it sends generationConfig)."""
        plan = request.plan
        config: dict[str, Any] = {"max_output_tokens": plan.max_tokens, "seed": request.seed}
        system = request.system_text()
        if system:
            config["system_instruction"] = system
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.top_p is not None:
            config["top_p"] = request.top_p
        thinking, _ = self.thinking(plan)
        if thinking is not None:
            config["thinking_config"] = thinking
        return {"model": self.spec.model, "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
                "config": config}

    async def send(self, body: dict[str, Any]) -> Any:
        from google.genai import errors

        try:
            return await self.client.aio.models.generate_content(**body)
        except errors.APIError as exc:
            exc.status_code = exc.code  # the retry policy reads status_code; this SDK calls it code
            raise
        except _transport_errors() as exc:  # aiohttp / httpx2 connection failures: retried like httpx's
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from exc

    # -- response -------------------------------------------------------------------------------------------
    def completion(self, resp: Any, plan: BudgetPlan, latency_s: float, *, batch: bool = False) -> Completion:
        try:
            usage = resp.usage_metadata
            candidates = list(resp.candidates or [])
            input_tokens = int(usage.prompt_token_count or 0)
            answer_tokens = int(usage.candidates_token_count or 0)
            thoughts = int(usage.thoughts_token_count or 0)  # proto JSON omits a zero count
        except (AttributeError, TypeError, ValueError) as exc:
            raise MalformedResponse(f"generateContent response without usageMetadata: {exc}") from None
        parts = []
        finish = "blocked"
        if candidates:
            content = candidates[0].content
            parts = list(getattr(content, "parts", None) or [])
            reason = candidates[0].finish_reason
            finish = str(getattr(reason, "value", reason) or "STOP")
        else:  # a blocked prompt has no candidate; retrying would not change it
            block = getattr(getattr(resp, "prompt_feedback", None), "block_reason", None)
            finish = f"blocked:{getattr(block, 'value', block)}" if block else "blocked"
        reasoning = "\n".join(p.text for p in parts if getattr(p, "thought", False) and p.text)
        text = "".join(p.text for p in parts if not getattr(p, "thought", False) and p.text)
        config, enforced_by = self.thinking(plan)
        if thoughts or config and (config.get(BUDGET) or LEVEL in config or plan.budget == NATURAL):
            reasoning_tokens, source = thoughts, "usage"
        elif plan.mechanism is Mechanism.PROMPTED and plan.thinking:
            answer = text[text.rfind("<answer>"):] if "<answer>" in text else ""
            reasoning_tokens, source = max(0, answer_tokens - estimate_tokens(answer)), "output_minus_answer_estimate"
        else:
            reasoning_tokens, source = 0, "no_thinking"
        output_tokens = answer_tokens + thoughts  # both billed as output
        return self.completed(
            text=text, reasoning=reasoning, tokens=reasoning_tokens, source=source,
            finish="max_tokens" if finish == "MAX_TOKENS" else finish.lower(), thought=bool(reasoning_tokens),
            output_tokens=output_tokens, input_tokens=input_tokens, latency_s=latency_s, batch=batch,
            extra={"api": "vertex" if self.vertex else "gemini", "enforced_by": enforced_by,
                   "thinking_summarized": bool(reasoning), "request_id": getattr(resp, "response_id", None),
                   "model_version": getattr(resp, "model_version", None)})

    async def aclose(self) -> None:
        await self.client.aio.aclose()


def create(spec: ModelSpec, options: dict[str, Any]) -> GeminiModel:
    return GeminiModel(spec, options)

