"""A local server speaking OpenRouter's Chat Completions wire format (POST /api/v1/chat/completions with the
unified `reasoning` object), for the real openai SDK in tests. Lifecycle, request log and scripted faults come from
FakeAPI.

Refusals, as OpenRouter answers them:
- no / wrong bearer key: 401 {"error": {"message": "No auth credentials found", "code": 401}};
- reasoning.effort and reasoning.max_tokens together: 400; reasoning.max_tokens below the upstream's minimum
  (MIN_BUDGET per vendor prefix, e.g. 1024 for anthropic/): 400; an unknown effort value: 400;
- `fail(status, ...)` scripts an OpenRouter-shaped error (429 with Retry-After, 502 upstream error, ...).

The "model" reasons deterministically: max_tokens B -> B * think_fraction reasoning tokens, effort -> EFFORT_TOKENS,
nothing / enabled -> DEFAULT_TOKENS, effort none -> 0; answer `<answer>{answer}</answer>` (5 tokens); the message
carries `reasoning` (unless exclude) and `reasoning_details` (text or, with `summarized=True`, a summary - then
`reasoning` is the summary too); usage has completion_tokens_details.reasoning_tokens and `cost` (USD, at
PRICE per million). Reasoning + answer never exceed max_tokens: cut with finish_reason "length".

Misbehaving upstreams, for the `check` command and the enforcement audit (constructor flags):
- `ignore_budget=True`: every request reasons IGNORED_TOKENS whatever its reasoning object (even effort none);
- `overshoot=F` (e.g. 1.7): max_tokens B is accepted and F * B reasoning tokens are spent;
- `report_reasoning_tokens=False`: usage without completion_tokens_details (the client must estimate).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fake_api import ANSWER_TOKENS, EFFORT_TOKENS, FakeAPI

MIN_BUDGET = {"anthropic/": 1024, "google/gemini-2.5-pro": 128}
DEFAULT_TOKENS = 800
IGNORED_TOKENS = 1500
PRICE = (3.0, 15.0)  # USD per million input / output tokens


def router_error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "code": status}}


class OpenRouterAPI(FakeAPI):
    def __init__(self, *, key: str = "sk-or-v1-test-000", answer: str = "2", think_fraction: float = 0.5,
                 ignore_budget: bool = False, overshoot: float | None = None, summarized: bool = False,
                 report_reasoning_tokens: bool = True) -> None:
        super().__init__(answer=answer, think_fraction=think_fraction, report_thinking_tokens=report_reasoning_tokens)
        self.key = key
        self.ignore_budget = ignore_budget
        self.overshoot = overshoot
        self.summarized = summarized
        self.app.router.routes[:0] = [Route("/api/v1/chat/completions", self.router_chat, methods=["POST"])]

    def fail(self, status: int, message: str = "scripted", *, times: int = 1, **headers: str) -> None:
        for _ in range(times):
            self.faults.append({"status": status, "body": router_error(status, message),
                                "headers": {k.replace("_", "-"): v for k, v in headers.items()}})

    async def router_chat(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return JSONResponse(router_error(401, "No auth credentials found"), status_code=401)
        body, fault = await self._intake(request)
        if fault is not None:
            return fault
        try:
            think = self._reasoning_tokens(body["model"], body.get("reasoning"))
        except ValueError as exc:
            return JSONResponse(router_error(400, str(exc)), status_code=400)
        self.billed.append(request.url.path)
        return JSONResponse(self._completion(body, think))

    def _reasoning_tokens(self, model: str, reasoning: dict[str, Any] | None) -> int:
        reasoning = reasoning or {}
        effort, budget = reasoning.get("effort"), reasoning.get("max_tokens")
        if effort is not None and budget is not None:
            raise ValueError('Only one of "reasoning.effort" and "reasoning.max_tokens" can be specified')
        if effort is not None and effort not in EFFORT_TOKENS:
            raise ValueError(f"Invalid reasoning effort {effort!r}")
        if budget is not None:
            low = next((v for prefix, v in MIN_BUDGET.items() if model.startswith(prefix)), 1)
            if budget < low:
                raise ValueError(f"reasoning.max_tokens: must be at least {low} for {model}")
        if self.ignore_budget:
            return IGNORED_TOKENS
        if budget is not None:
            return int(budget * (self.overshoot or self.think_fraction))
        if effort is not None:
            return EFFORT_TOKENS[effort]
        return 0 if reasoning.get("enabled") is False else DEFAULT_TOKENS

    def _completion(self, body: dict[str, Any], think: int) -> dict[str, Any]:
        cap = int(body.get("max_tokens") or 65536)
        think = min(think, cap)
        room = cap - think
        answer = f"<answer>{self.answer}</answer>"
        finish = "stop" if room >= ANSWER_TOKENS else "length"
        text = answer if finish == "stop" else answer[: room * 3]
        words = "step " * max(1, think // 2) if think else ""
        details: list[dict[str, Any]] = []
        if think:
            if self.summarized:
                words = "summary " * max(1, think // 50)
                details = [{"type": "reasoning.summary", "summary": words, "format": "openai-responses-v1",
                            "index": 0}, {"type": "reasoning.encrypted", "data": "opaque==", "index": 1}]
            else:
                details = [{"type": "reasoning.text", "text": words, "format": "anthropic-claude-v1", "index": 0}]
        exclude = bool((body.get("reasoning") or {}).get("exclude"))
        completion = think + min(ANSWER_TOKENS, room)
        prompt = sum(len(m.get("content") or "") for m in body.get("messages", [])) // 4
        usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                                 "total_tokens": prompt + completion,
                                 "cost": round((prompt * PRICE[0] + completion * PRICE[1]) / 1e6, 10)}
        if self.report_thinking_tokens:
            usage["completion_tokens_details"] = {"reasoning_tokens": think}
        message: dict[str, Any] = {"role": "assistant", "content": text,
                                   "reasoning": None if exclude or not think else words.strip()}
        if not exclude and details:
            message["reasoning_details"] = details
        return {"id": self._id("gen"), "object": "chat.completion", "created": 1, "model": body["model"],
                "provider": "Anthropic" if body["model"].startswith("anthropic/") else "OpenAI",
                "choices": [{"index": 0, "message": message, "finish_reason": finish,
                             "native_finish_reason": "end_turn" if finish == "stop" else "max_tokens",
                             "logprobs": None}],
                "usage": usage}
