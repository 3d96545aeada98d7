"""A local server speaking the Gemini API generateContent wire format (and the same call on Vertex AI's
publishers/google path, plus an OAuth token endpoint for Application Default Credentials), for the real
google-genai SDK in tests. Lifecycle, request log and scripted faults come from FakeAPI.

The server keeps its OWN table of what each model accepts (MODELS below, from the Gemini thinking docs), so a
request overthink should never send is refused here as the real API refuses it:
- thinkingBudget and thinkingLevel together: 400 INVALID_ARGUMENT;
- thinkingBudget outside the model's range, 0 on a model that cannot switch off, thinkingLevel on a 2.5 model or a
  level the model lacks: 400 INVALID_ARGUMENT;
- Gemini API: no key 403 PERMISSION_DENIED, a wrong key 400 INVALID_ARGUMENT (API_KEY_INVALID), as Google answers;
  Vertex: a wrong bearer token 401 UNAUTHENTICATED; an unknown model 404 NOT_FOUND.
- `fail(status, ...)` scripts a Google-shaped error (429 RESOURCE_EXHAUSTED with Retry-After, 500, 401, ...).

The "model" thinks deterministically: budget B -> B * think_fraction thought tokens, a level -> LEVEL_TOKENS,
dynamic (-1 or nothing) -> DYNAMIC_TOKENS, 0 -> none; then answers `<answer>{answer}</answer>` (5 tokens).
Thoughts + answer never exceed maxOutputTokens: the tail is cut and finishReason is MAX_TOKENS. Thought parts are
summaries (far shorter than thoughtsTokenCount), sent only with includeThoughts.

Misbehaving servers, for the `check` command and the enforcement audit (constructor flags):
- `ignore_budget=True`: every request thinks IGNORED_TOKENS whatever its budget or level (even 0) - the
  silently-ignored budget users report;
- `overshoot=F` (e.g. 1.7): budget B is accepted and F * B thought tokens are spent - a cap that is exceeded.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .fake_api import ANSWER_TOKENS, FakeAPI
from .oauth import verify_jwt

# model -> (min budget, max budget, can switch off with 0, default thinking on) or a set of levels.
MODELS: dict[str, tuple[int, int, bool, bool] | set[str]] = {
    "gemini-2.5-pro": (128, 32768, False, True),
    "gemini-2.5-flash": (1, 24576, True, True),
    "gemini-2.5-flash-lite": (512, 24576, True, False),
    "gemini-2.0-flash": (0, 0, True, False),  # no thinking at all
    "gemini-3-pro-preview": {"LOW", "HIGH"},
    "gemini-3-flash-preview": {"MINIMAL", "LOW", "MEDIUM", "HIGH"},
}
LEVEL_TOKENS = {"MINIMAL": 30, "LOW": 300, "MEDIUM": 900, "HIGH": 2500}
DYNAMIC_TOKENS = 1200
IGNORED_TOKENS = 1500
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def google_error(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": status, "message": message, "status": STATUS.get(status, "UNKNOWN")}
    if reason:
        err["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                           "domain": "googleapis.com"}]
    return {"error": err}


def _get(d: dict[str, Any], camel: str) -> Any:
    """The API accepts a field in lowerCamelCase or its proto snake_case name (the SDK sends both kinds)."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return d.get(camel, d.get(snake))


class GeminiAPI(FakeAPI):
    def __init__(self, *, key: str = "AIza-test-key-000", answer: str = "2", think_fraction: float = 0.5,
                 ignore_budget: bool = False, overshoot: float | None = None) -> None:
        super().__init__(answer=answer, think_fraction=think_fraction)
        self.key = key
        self.token = "ya29.local-token"  # what /token hands out and Vertex requests must carry
        self.public_key: Any = None  # a service account's public key: /token then verifies the JWT signature
        self.ignore_budget = ignore_budget
        self.overshoot = overshoot
        self.app.router.routes[:0] = [
            Route("/token", self.oauth_token, methods=["POST"]),
            Route("/{version}/models/{call}", self.api_generate, methods=["POST"]),
            Route("/{version}/projects/{project}/locations/{location}/publishers/google/models/{call}",
                  self.vertex_generate, methods=["POST"]),
        ]

    def fail(self, status: int, message: str = "scripted", *, times: int = 1, **headers: str) -> None:
        for _ in range(times):
            self.faults.append({"status": status, "body": google_error(status, message),
                                "headers": {k.replace("_", "-"): v for k, v in headers.items()}})

    # -- routes ---------------------------------------------------------------------------------------------
    async def oauth_token(self, request: Request) -> Response:
        """OAuth token endpoint of a service account: the JWT assertion must verify with `public_key`."""
        form = dict(await request.form())
        self.log.append({"path": "/token", "headers": dict(request.headers), "body": form})
        if self.public_key is not None and not verify_jwt(str(form.get("assertion", "")), self.public_key):
            return JSONResponse({"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                                status_code=400)
        return JSONResponse({"access_token": self.token, "expires_in": 3600, "token_type": "Bearer",
                             "scope": "https://www.googleapis.com/auth/cloud-platform"})

    async def api_generate(self, request: Request) -> Response:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key:
            return JSONResponse(google_error(403, "Method doesn't allow unregistered callers."), status_code=403)
        if key != self.key:
            return JSONResponse(google_error(400, "API key not valid. Please pass a valid API key.",
                                             "API_KEY_INVALID"), status_code=400)
        return await self._generate(request)

    async def vertex_generate(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(google_error(401, "Request had invalid authentication credentials."),
                                status_code=401)
        return await self._generate(request)

    async def _generate(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault is not None:
            return fault
        model, _, method = request.path_params["call"].partition(":")
        if method != "generateContent":
            return JSONResponse(google_error(404, f"method {method} not found"), status_code=404)
        if model not in MODELS:
            return JSONResponse(google_error(404, f"models/{model} is not found"), status_code=404)
        try:
            think = self._thought_tokens(model, _get(body, "generationConfig") or {})
        except ValueError as exc:
            return JSONResponse(google_error(400, str(exc)), status_code=400)
        self.billed.append(request.url.path)
        return JSONResponse(self._response(model, body, think))

    # -- the model ------------------------------------------------------------------------------------------
    def _thought_tokens(self, model: str, config: dict[str, Any]) -> int:
        thinking = _get(config, "thinkingConfig") or {}
        budget, level = _get(thinking, "thinkingBudget"), _get(thinking, "thinkingLevel")
        accepts = MODELS[model]
        if budget is not None and level is not None:
            raise ValueError("You can only set one of thinking budget and thinking level.")
        if level is not None:
            if not isinstance(accepts, set):
                raise ValueError(f"Thinking level is not supported for {model}.")
            if str(level).upper() not in accepts:
                raise ValueError(f"Thinking level {level} is not supported for {model}.")
        if budget is not None and isinstance(accepts, tuple):
            low, high, off, _ = accepts
            if high == 0 and budget != 0:
                raise ValueError(f"Thinking is not supported for {model}.")
            if budget == 0 and not off:
                raise ValueError("Budget 0 is invalid. This model only works in thinking mode.")
            if budget not in (0, -1) and not low <= budget <= high:
                raise ValueError(f"The thinking budget {budget} is invalid. Please choose a value between "
                                 f"{low} and {high}.")
        if self.ignore_budget and (isinstance(accepts, set) or accepts[1]):
            return IGNORED_TOKENS
        if level is not None:
            return LEVEL_TOKENS[str(level).upper()]
        if budget == 0:
            return 0
        if budget is not None and budget > 0:
            return int(budget * (self.overshoot or self.think_fraction))
        if isinstance(accepts, set):
            return LEVEL_TOKENS["HIGH"]  # Gemini 3 default level
        return DYNAMIC_TOKENS if (budget == -1 or accepts[3]) and accepts[1] else 0

    def _response(self, model: str, body: dict[str, Any], think: int) -> dict[str, Any]:
        config = _get(body, "generationConfig") or {}
        include = bool(_get(_get(config, "thinkingConfig") or {}, "includeThoughts"))
        cap = int(_get(config, "maxOutputTokens") or 65536)
        think = min(think, cap)
        answer = f"<answer>{self.answer}</answer>"
        room = cap - think
        finish = "STOP" if room >= ANSWER_TOKENS else "MAX_TOKENS"
        text = answer if finish == "STOP" else answer[: max(0, room) * 3]
        parts: list[dict[str, Any]] = []
        if include and think:
            parts.append({"text": "summary " * max(1, think // 50), "thought": True})
        if text:
            parts.append({"text": text})
        candidates = min(ANSWER_TOKENS, max(0, room))
        usage: dict[str, Any] = {"promptTokenCount": len(json.dumps(body.get("contents"))) // 4,
                                 "candidatesTokenCount": candidates}
        if think:  # proto3 JSON leaves a zero count out
            usage["thoughtsTokenCount"] = think
        usage["totalTokenCount"] = usage["promptTokenCount"] + candidates + think
        return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
                "usageMetadata": usage, "modelVersion": model, "responseId": self._id("resp")}
