"""Local servers speaking each server profile's wire format (vLLM, SGLang, llama.cpp, Ollama, DeepSeek, xAI) on
/v1/chat/completions and /v1/completions, for the real openai SDK behind `openai-compatible:`. Lifecycle, request
log and scripted faults come from FakeAPI.

Each identifies itself as the real server does (detection): vLLM GET /version and /v1/models owned_by "vllm";
SGLang owned_by "sglang" and GET /get_server_info; llama.cpp owned_by "llamacpp" and GET /props; Ollama GET
/api/version (its /v1/models says owned_by "library"). DeepSeek and xAI are hosted: recognised by host name only, so
tests name them with `server`.

What each reads, the way the real one does:
- vllm: top-level `thinking_token_budget`; reasoning returned in `message.reasoning`; no reasoning count in usage
  (POST /tokenize, vLLM shape, counts it). Unknown fields are ignored (vLLM logs and drops them).
- sglang: nested `custom_params.thinking_budget`; a top-level `thinking_budget` is silently ignored (like a chat
  template hint the template lacks); `message.reasoning_content`.
- llamacpp: top-level `thinking_budget_tokens`; `message.reasoning_content`; POST /tokenize (llama.cpp shape).
- ollama: no budget field at all (any budget field is ignored); `reasoning_effort` none / low / medium / high on
  /v1 (`think` in a /v1 body is ignored; an unknown level falls back to the default silently); reasoning in
  `message.reasoning`.
- deepseek: Bearer key required; `thinking: {type: enabled|disabled}` and `reasoning_effort` low / high / max
  (minimal -> low, medium -> high; anything else 400); `reasoning_content`; usage reasoning_tokens. No
  /v1/completions (404).
- xai: Bearer key required; `reasoning_effort` per model (grok-3-mini low / high, grok-4.3 none..high) - a value the
  model does not take is a 400, and models without the parameter (grok-4.20*) answer 400 whenever it is sent;
  `reasoning_content` on grok-3-mini only; usage reasoning_tokens. No /v1/completions.
- unknown: a server that is none of the above (a proxy, a home-grown server): /v1/models says owned_by "someone",
  no identifying endpoint, thinking as vLLM's chat (no budget field is read), /v1/completions, and neither
  /apply-template nor /tokenize: `unknown_paths` says how it answers them - "404", "405", "200" (a JSON object
  without the expected field, as a catch-all route answers) or "html" (a web page, status 200).
B = 0: `chat_template_kwargs.enable_thinking: false` (vllm, sglang, llamacpp), reasoning_effort none (ollama, xai),
thinking disabled (deepseek).

The "model" thinks NATURAL tokens ("step" words, one token each) unless a control says otherwise; answers
`<answer>{answer}</answer>` (ANSWER_TOKENS); output beyond max_tokens is cut with finish_reason "length".
`budget_mode`: "honour" (think min(B, NATURAL)), "ignore" (the budget field is accepted and has no effect) or
"overshoot" (think B x `overshoot`, as SGLang #25536 reported). /v1/completions (the forcing passes) thinks NATURAL
tokens after an open think block, cut at max_tokens, else answers. With `logprobs` in the body (and `token_pieces`,
the default) it returns the generated tokens as each server does: vLLM and SGLang the OpenAI legacy shape
(logprobs.tokens, token strings), llama.cpp logprobs.content [{id, token, bytes, logprob, top_logprobs}]; Ollama
never. POST /tokenize counts words; llama.cpp's `with_pieces: true` returns [{id, piece}] whose join is the text.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .fake_api import ANSWER_TOKENS, EFFORT_TOKENS, FakeAPI

NATURAL = 1200
PROFILES = ("vllm", "sglang", "llamacpp", "ollama", "deepseek", "xai", "unknown")
UNKNOWN_PATHS = ("404", "405", "200", "html")
BUDGET_PATH = {"vllm": ("thinking_token_budget",), "sglang": ("custom_params", "thinking_budget"),
               "llamacpp": ("thinking_budget_tokens",)}
REASONING_FIELD = {"vllm": "reasoning", "sglang": "reasoning_content", "llamacpp": "reasoning_content",
                   "unknown": "reasoning_content",
                   "ollama": "reasoning", "deepseek": "reasoning_content", "xai": "reasoning_content"}
DEEPSEEK_EFFORT = {"minimal": "low", "low": "low", "medium": "high", "high": "high", "max": "max"}
XAI_EFFORTS = {"grok-3-mini": ("low", "high"), "grok-4.3": ("none", "low", "medium", "high"), "grok-4.20": None}
HOSTED = ("deepseek", "xai")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": status}},
                        status_code=status)


# a ChatML-like template for client-side forcing (the profile servers have no /apply-template of their own)
TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}<|assistant|>"


class ProfileAPI(FakeAPI):
    def __init__(self, profile: str, *, budget_mode: str = "honour", overshoot: float = 1.7, answer: str = "2",
                 key: str = "sk-test-profile-000", token_pieces: bool = True, unknown_paths: str = "404") -> None:
        assert profile in PROFILES and unknown_paths in UNKNOWN_PATHS
        super().__init__(answer=answer, budget_mode=budget_mode, overshoot=overshoot)
        self.profile, self.key, self.token_pieces = profile, key, token_pieces and profile != "ollama"
        self.vocab: dict[str, int] = {}  # llama.cpp token ids: one per distinct piece, as a real vocabulary
        routes = [Route("/v1/chat/completions", self.profile_chat, methods=["POST"]),
                  Route("/v1/models", self.models, methods=["GET"])]
        if profile == "unknown":
            self.unknown_paths = unknown_paths
            routes += [Route("/v1/completions", self.completions, methods=["POST"]),
                       Route("/apply-template", self.not_here, methods=["GET", "POST"]),
                       Route("/tokenize", self.not_here, methods=["GET", "POST"])]
        elif profile not in HOSTED:
            routes += [Route("/v1/completions", self.completions, methods=["POST"]),
                       Route("/tokenize", self.tokenize, methods=["POST"])]
        identity = {"vllm": "/version", "sglang": "/get_server_info", "llamacpp": "/props", "ollama": "/api/version"}
        if profile in identity:
            routes.append(Route(identity[profile], self.identity, methods=["GET"]))
        self.app.router.routes[:0] = routes

    # -- identity -------------------------------------------------------------------------------------------
    async def not_here(self, request: Request) -> Response:
        """An unknown server's answer to a path it does not serve (`unknown_paths`)."""
        self.log.append({"path": request.url.path, "headers": dict(request.headers), "body": None})
        if self.unknown_paths == "404":
            return _error(404, f"File Not Found: {request.url.path}")
        if self.unknown_paths == "405":
            return Response(status_code=405, headers={"allow": "GET"})
        if self.unknown_paths == "200":
            return JSONResponse({"status": "ok", "routes": ["/v1/chat/completions", "/v1/completions"]})
        return HTMLResponse("<!doctype html><title>Proxy</title><p>Welcome</p>")

    async def models(self, request: Request) -> Response:
        owner = {"ollama": "library", "deepseek": "deepseek", "xai": "xai", "unknown": "someone"}.get(self.profile,
                                                                                                     self.profile)
        return JSONResponse({"object": "list", "data": [{"id": "m", "object": "model", "owned_by": owner}]})

    async def identity(self, request: Request) -> Response:
        return JSONResponse({"vllm": {"version": "0.22.1"}, "sglang": {"tp_size": 1, "version": "0.5.12"},
                             "llamacpp": {"default_generation_settings": {}, "total_slots": 1},
                             "ollama": {"version": "0.40.12"}}[self.profile])

    # -- the model ------------------------------------------------------------------------------------------
    def _budget(self, body: dict[str, Any]) -> int | None:
        value: Any = body
        for part in BUDGET_PATH.get(self.profile, ("\0",)):
            value = value.get(part) if isinstance(value, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _thinking(self, body: dict[str, Any]) -> int | Response:
        """Reasoning tokens for a chat body, or the error the real server answers."""
        p, effort = self.profile, body.get("reasoning_effort")
        if p in ("vllm", "sglang", "llamacpp", "unknown"):
            if (body.get("chat_template_kwargs") or {}).get("enable_thinking") is False:
                return 0
            budget = self._budget(body)
            if budget is None or self.budget_mode == "ignore":
                return NATURAL
            return int(budget * self.overshoot) if self.budget_mode == "overshoot" else min(budget, NATURAL)
        if p == "ollama":
            return EFFORT_TOKENS[effort] if effort in ("none", "low", "medium", "high") else NATURAL
        if p == "deepseek":
            if (body.get("thinking") or {}).get("type") == "disabled":
                return 0
            if effort is None:
                return EFFORT_TOKENS["high"]  # on by default at high
            if effort not in DEEPSEEK_EFFORT:
                return _error(400, f"Invalid reasoning_effort {effort!r}")
            return EFFORT_TOKENS[DEEPSEEK_EFFORT[effort]]
        family = next((f for f in XAI_EFFORTS if str(body.get("model", "")).startswith(f)), None)
        takes = XAI_EFFORTS.get(family) if family else None
        if effort is not None and takes is None:
            return _error(400, f"Model {body.get('model')} does not support parameter reasoningEffort")
        if effort is not None and effort not in takes:
            return _error(400, f"reasoning_effort {effort!r} is not supported by {body.get('model')}")
        return EFFORT_TOKENS[effort] if effort else EFFORT_TOKENS["low"]

    async def profile_chat(self, request: Request) -> Response:
        if self.profile in HOSTED and request.headers.get("authorization") != f"Bearer {self.key}":
            return _error(401, "Authentication Fails (no such user)")
        body, fault = await self._intake(request)
        if fault is not None:
            return fault
        think = self._thinking(body)
        if isinstance(think, Response):
            return think
        self.billed.append(request.url.path)
        cap = int(body.get("max_tokens") or 1 << 30)
        think_out = min(think, cap)
        answer_out = min(ANSWER_TOKENS, cap - think_out)
        content = f"<answer>{self.answer}</answer>" if answer_out == ANSWER_TOKENS else "<answer>"[:answer_out]
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if think_out and not (self.profile == "xai" and not str(body.get("model")).startswith("grok-3-mini")):
            message[REASONING_FIELD[self.profile]] = " ".join(["step"] * think_out)
        usage: dict[str, Any] = {"prompt_tokens": 20, "completion_tokens": think_out + answer_out,
                                 "total_tokens": 20 + think_out + answer_out}
        if self.profile in HOSTED:
            usage["completion_tokens_details"] = {"reasoning_tokens": think_out}
        finish = "length" if think_out + answer_out < think + ANSWER_TOKENS else "stop"
        return JSONResponse({"id": self._id("chatcmpl"), "object": "chat.completion", "model": body.get("model"),
                             "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage})

    async def completions(self, request: Request) -> Response:
        """Raw-prompt completions (the forcing passes): after an open think block the model thinks NATURAL
        tokens, stopping early at max_tokens; after the closing delimiter it answers."""
        body, fault = await self._intake(request)
        if fault is not None:
            return fault
        self.billed.append(request.url.path)
        prompt, cap = self._prompt(body.get("prompt", "")), int(body.get("max_tokens") or 16)
        if prompt is None:
            return _error(400, "prompt: a string, or (llama.cpp) a list of strings and known token ids")
        if prompt.rstrip().endswith("<think>"):
            n = min(NATURAL, cap)
            text, finish = " ".join(["step"] * n), "length" if n < NATURAL else "stop"
        else:
            n = min(ANSWER_TOKENS, cap)
            text, finish = f"<answer>{self.answer}</answer>", "stop" if n == ANSWER_TOKENS else "length"
        choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": finish}
        if body.get("logprobs") is not None and self.token_pieces:
            choice["logprobs"] = self._logprobs(_pieces(text) if prompt.rstrip().endswith("<think>") else [text])
        return JSONResponse({"id": self._id("cmpl"), "object": "text_completion", "model": body.get("model"),
                             "choices": [choice],
                             "usage": {"prompt_tokens": 20, "completion_tokens": n, "total_tokens": 20 + n}})

    def _id(self, piece: str) -> int:
        return self.vocab.setdefault(piece, 100 + len(self.vocab))

    def _prompt(self, prompt: Any) -> str | None:
        """The prompt's text; llama.cpp also takes a mixed list of strings and token ids (its tokenize_mixed)."""
        if isinstance(prompt, str):
            return prompt
        if self.profile != "llamacpp" or not isinstance(prompt, list):
            return None
        pieces = {i: p for p, i in self.vocab.items()}
        if any(not isinstance(x, str) and x not in pieces for x in prompt):
            return None
        return "".join(x if isinstance(x, str) else pieces[x] for x in prompt)

    def _logprobs(self, pieces: list[str]) -> dict[str, Any]:
        if self.profile == "llamacpp":
            return {"content": [{"id": self._id(p), "token": p, "bytes": list(p.encode()), "logprob": -0.1,
                                 "top_logprobs": [{"id": self._id(p), "token": p, "bytes": list(p.encode()),
                                                   "logprob": -0.1}]} for p in pieces]}
        offsets = [sum(len(q) for q in pieces[:i]) for i in range(len(pieces))]
        return {"tokens": pieces, "token_logprobs": [-0.1] * len(pieces),
                "top_logprobs": [{p: -0.1} for p in pieces], "text_offset": offsets}

    async def tokenize(self, request: Request) -> Response:
        body = await request.json()
        text = body.get("content") if self.profile == "llamacpp" else body.get("prompt")
        if not isinstance(text, str):
            return _error(400, "nothing to tokenize")
        if self.profile == "llamacpp" and body.get("with_pieces"):
            return JSONResponse({"tokens": [{"id": self._id(p), "piece": p} for p in _pieces(text)]})
        return JSONResponse({"tokens": list(range(len(text.split())))})


def _pieces(text: str) -> list[str]:
    """The fake's tokens: each word with the whitespace before it (trailing whitespace is one more token)."""
    return re.findall(r"\s*\S+|\s+$", text)
