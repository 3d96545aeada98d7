"""`openai:MODEL` - OpenAI Chat Completions (default) or Responses (`model_options: {SPEC: {api: responses}}`),
and the Batch API.

Budgets are effort levels: `--budgets minimal,low,medium,high` sends reasoning_effort as given; numeric budgets
map through budget.py's table (the paper's: < 4096 low, < 8192 medium, else high) or a per-model `effort_table`.
max_completion_tokens / max_output_tokens = the plan's max_tokens (B + answer margin; reasoning counts against
it). Reasoning models get no temperature/top_p and their instructions in the `developer` role (capabilities
table). Reasoning length from usage.completion_tokens_details.reasoning_tokens (Chat) or
usage.output_tokens_details.reasoning_tokens (Responses). finish_reason "length" / status "incomplete" without a
complete answer is `truncated`.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

from ..budget import BudgetPlan
from ..core import NATURAL, Budget, Completion, Mechanism, TokenSource
from ..errors import ConfigError
from ..secrets import get_key
from .apibase import ApiModel, reasoning_before_answer, sampling, sdk_http_client, sdk_kwargs
from .base import GenerateRequest, ModelSpec
from .retry import MalformedResponse

APIS = ("chat", "responses")


class OpenAIModel(ApiModel):
    provider = "openai"
    batch_api = True  # the Batch API (Files + /v1/batches)
    default_key_env = "OPENAI_API_KEY"
    extra_options = frozenset({"api", "base_url", "send_seed"})

    def __init__(self, spec: ModelSpec, options: dict[str, Any]) -> None:
        super().__init__(spec, options)
        self.api = options.get("api", "chat")
        if self.api not in APIS:
            raise ConfigError(f"model_options for {spec}: api must be one of {', '.join(APIS)}, got {self.api!r}")
        self.client = self._client(get_key(self.key_env, env_file=self.env_file, what=str(spec)))

    def _client(self, key: str) -> Any:
        import openai

        return openai.AsyncOpenAI(api_key=key, base_url=self.spec.base_url or self.options.get("base_url"),
                                  max_retries=0, timeout=self.timeout_s, http_client=sdk_http_client(openai))

    # -- request --------------------------------------------------------------------------------------------
    def control_budgets(self) -> list[Budget]:
        """Effort levels: the lowest and the highest (and "none" first where the model can switch thinking off)."""
        declared = list(self.caps.get("efforts", None) or [])
        levels = [e for e in declared if e != "none"]
        return (["none"] if "none" in declared else []) + levels[:1] + levels[-1:]

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        reasoning = self.caps.reasoning
        self.refuse_forced(plan, "is not possible through the OpenAI API; use 'native' (reasoning_effort) or "
                                 "'prompted'")
        if reasoning and temperature is not None:
            raise ConfigError(f"{self.spec}: reasoning models take no temperature; drop `temperature` "
                              f"(got {temperature})")
        if plan.mechanism is Mechanism.NATIVE and plan.budget != NATURAL:
            if not reasoning:
                raise ConfigError(f"{self.spec}: not a reasoning model in the capabilities table, so it has no "
                                  f"native budget; use mechanism 'prompted' or extend model_options.capabilities")
            effort = self.effort_for(plan)
            if effort not in self.caps.efforts:
                raise ConfigError(f"{self.spec}: budget {plan.budget!r} means reasoning_effort {effort!r}, which "
                                  f"this model does not take (levels: {', '.join(self.caps.efforts)})")

    def _messages(self, request: GenerateRequest) -> list[dict[str, str]]:
        system = request.system_text()
        role = self.caps.system_role
        if not system:
            return [{"role": "user", "content": request.prompt}]
        if role == "user":  # models that take no system/developer message at all
            return [{"role": "user", "content": f"{system}\n\n{request.prompt}"}]
        return [{"role": role, "content": system}, {"role": "user", "content": request.prompt}]

    def params(self, request: GenerateRequest) -> dict[str, Any]:
        """The exact request body (Chat Completions or Responses) for a request; also used for batch lines."""
        plan = request.plan
        reasoning = self.caps.reasoning
        effort = self.effort_for(plan) if reasoning and plan.mechanism is Mechanism.NATIVE else None
        if self.api == "chat":
            body: dict[str, Any] = {"model": self.spec.model, "messages": self._messages(request),
                                    "max_completion_tokens": plan.max_tokens}
            if effort:
                body["reasoning_effort"] = effort
            if self.options.get("send_seed", False):
                body["seed"] = request.seed
        else:
            body = {"model": self.spec.model, "input": self._messages(request), "max_output_tokens": plan.max_tokens,
                    "store": False}
            if reasoning:
                body["reasoning"] = {"effort": effort, "summary": "auto"} if effort else {"summary": "auto"}
        if not reasoning and self.caps.temperature:
            body.update(sampling(request))
        return body

    async def send(self, body: dict[str, Any]) -> Any:
        create = self.client.chat.completions.create if self.api == "chat" else self.client.responses.create
        return await create(**sdk_kwargs(create, body))

    @property
    def endpoint(self) -> str:
        return "/v1/chat/completions" if self.api == "chat" else "/v1/responses"

    # -- response -------------------------------------------------------------------------------------------
    def completion(self, resp: Any, plan: BudgetPlan, latency_s: float, *, batch: bool = False) -> Completion:
        try:
            if self.api == "chat":
                choice = resp.choices[0]
                text, finish = choice.message.content or "", str(choice.finish_reason)
                reasoning_text = getattr(choice.message, "reasoning_content", None) or ""
                usage = resp.usage
                input_tokens, output_tokens = usage.prompt_tokens, usage.completion_tokens
                details = getattr(usage, "completion_tokens_details", None)
            else:
                text = resp.output_text or ""
                reasoning_text = "\n".join(s.text for item in resp.output if item.type == "reasoning"
                                           for s in (item.summary or []))
                usage = resp.usage
                input_tokens, output_tokens = usage.input_tokens, usage.output_tokens
                details = getattr(usage, "output_tokens_details", None)
                reason = getattr(getattr(resp, "incomplete_details", None), "reason", None)
                finish = "length" if resp.status == "incomplete" and reason == "max_output_tokens" else str(resp.status)
        except (AttributeError, IndexError, TypeError) as exc:
            raise MalformedResponse(f"{self.api} response without choices/output/usage: {exc}") from None
        reported = getattr(details, "reasoning_tokens", None) if details is not None else None
        # Non-reasoning models report reasoning_tokens = 0 while a prompted budget makes them reason in visible text.
        if reported is not None and (reported > 0 or plan.mechanism is not Mechanism.PROMPTED):
            reasoning_tokens, source = int(reported), TokenSource.USAGE
        elif plan.mechanism is Mechanism.PROMPTED and plan.thinking and output_tokens is not None:
            # Visible step-by-step text: everything before the final answer tag counts as reasoning.
            reasoning_tokens, source = reasoning_before_answer(output_tokens, text), TokenSource.OUTPUT_MINUS_ANSWER
        else:
            reasoning_tokens, source = None, TokenSource.NONE
        return self.completed(
            text=text, reasoning=reasoning_text, tokens=reasoning_tokens, source=source, finish=finish,
            thought=bool(reasoning_tokens), output_tokens=output_tokens, input_tokens=input_tokens,
            latency_s=latency_s, batch=batch, extra={"api": self.api, "request_id": getattr(resp, "id", None)})

    # -- Batch API ------------------------------------------------------------------------------------------
    async def submit_batch(self, entries: list[tuple[str, dict[str, Any]]]) -> str:
        lines = "".join(json.dumps({"custom_id": cid, "method": "POST", "url": self.endpoint, "body": body}) + "\n"
                        for cid, body in entries)
        upload = await self.call(lambda: self.client.files.create(
            file=("overthink-batch.jsonl", io.BytesIO(lines.encode())), purpose="batch"))
        batch = await self.call(lambda: self.client.batches.create(
            input_file_id=upload.id, endpoint=self.endpoint, completion_window="24h"))
        return batch.id

    async def batch_state(self, batch_id: str) -> str:
        batch = await self.call(lambda: self.client.batches.retrieve(batch_id))
        return "ended" if batch.status in ("completed", "expired", "failed", "cancelled") else "running"

    async def batch_results(self, batch_id: str,
                            plans: dict[str, BudgetPlan]) -> AsyncIterator[tuple[str, Completion | Exception]]:
        batch = await self.call(lambda: self.client.batches.retrieve(batch_id))
        seen: set[str] = set()
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self.call(lambda fid=file_id: self.client.files.content(fid))
            for line in content.text.splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                cid = row.get("custom_id")
                if cid not in plans or cid in seen:
                    continue
                seen.add(cid)
                yield cid, self._batch_line(row, plans[cid])
        for cid in plans:  # expired / failed batches leave entries without any line
            if cid not in seen:
                yield cid, RuntimeError(f"batch {batch.status}: no result for this request")

    def _batch_line(self, row: dict[str, Any], plan: BudgetPlan) -> Completion | Exception:
        import openai.types.chat as chat_types
        import openai.types.responses as resp_types

        response = row.get("response") or {}
        if row.get("error") or response.get("status_code") != 200:
            err = row.get("error") or (response.get("body") or {}).get("error") or {}
            return RuntimeError(f"batch entry failed (status {response.get('status_code')}): "
                                f"{err.get('message', err) if isinstance(err, dict) else err}")
        try:
            model_cls = chat_types.ChatCompletion if self.api == "chat" else resp_types.Response
            return self.completion(model_cls.model_validate(response["body"]), plan, 0.0, batch=True)
        except Exception as exc:  # a malformed line is that entry's error, not the whole batch's
            return MalformedResponse(f"batch line not a valid {self.api} response: {exc}"[:500])


def create(spec: ModelSpec, options: dict[str, Any]) -> OpenAIModel:
    return OpenAIModel(spec, options)

