"""`openai-compatible:MODEL@BASE_URL` - vLLM, SGLang, llama.cpp server, Ollama (any OpenAI-shaped server).

How a numeric budget B is enforced, in order (recorded per sample as metadata `enforced_by`):
1. native + the server's own hard budget field declared in capabilities (`budget_field`, e.g. vLLM
   `thinking_token_budget`): sent in the chat request body.
2. native or forced: client-side forcing in two passes on the completions endpoint, with the prompt built from
   the model's chat template (the server's /apply-template, or `chat_template` given in model_options):
   pass 1 generates at most B tokens after the think delimiter, stopping at the closing delimiter; pass 2 appends
   the closing delimiter and generates the answer (at most the answer margin).
3. native with neither: the budget is only stated in the prompt (`prompt`), as in mechanism prompted.
B = 0 switches thinking off with chat_template_kwargs {"enable_thinking": false} (chat) or an empty think block
(forcing). Reasoning text from message.reasoning_content / message.reasoning / inline <think>...</think>.
Reasoning tokens: usage (when the server reports them) > the server's /tokenize endpoint > a labelled estimate.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..budget import BudgetPlan
from ..core import NATURAL, Completion, Mechanism, TokenSource
from ..errors import ConfigError
from ..secrets import get_key
from ..tokens import estimate_tokens
from .apibase import ApiModel, sampling, sdk_kwargs
from .base import GenerateRequest, ModelSpec
from .retry import MalformedResponse

if TYPE_CHECKING:
    import httpx

ENFORCEMENT = ("auto", "server", "forcing", "prompt")


class OpenAICompatibleModel(ApiModel):
    provider = "openai-compatible"
    default_answer_margin = 16_384
    extra_options = frozenset({"chat_template", "enforcement", "answer_cue", "extra_body", "cache_prompt"})

    def __init__(self, spec: ModelSpec, options: dict[str, Any]) -> None:
        super().__init__(spec, options)
        if not spec.base_url:
            raise ConfigError(f"{spec}: openai-compatible needs a server URL: openai-compatible:MODEL@http://HOST:PORT/v1")
        self.enforcement = options.get("enforcement", "auto")
        if self.enforcement not in ENFORCEMENT:
            raise ConfigError(f"model_options for {spec}: enforcement must be one of {', '.join(ENFORCEMENT)}")
        key = get_key(self.key_env, env_file=self.env_file, what=str(spec)) if self.key_env else "not-needed"
        import openai

        self.base_url = spec.base_url.rstrip("/")
        self.root = self.base_url.removesuffix("/v1")
        self.client = openai.AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout_s)
        self._headers = {"Authorization": f"Bearer {key}"} if self.key_env else {}
        self._http: httpx.AsyncClient | None = None
        self._tokenize_style: str | None = None  # "llama.cpp" | "vllm" | "none", found on first use
        self.think_open, self.think_close = self.caps.think_open, self.caps.think_close

    @property
    def http(self) -> httpx.AsyncClient:
        """The client for the server's own endpoints (/tokenize, /apply-template), made on first use: a chat
        run that never needs them skips importing httpx and building its TLS context (~0.1-0.3 s)."""
        if self._http is None:
            import httpx

            timeout = httpx.Timeout(self.timeout_s, connect=min(30.0, self.timeout_s))
            self._http = httpx.AsyncClient(base_url=self.root, timeout=timeout, headers=self._headers)
        return self._http

    # -- planning -------------------------------------------------------------------------------------------
    def route(self, plan: BudgetPlan) -> str:
        """How this plan is enforced: chat | server | forcing | prompt."""
        if plan.budget == NATURAL or isinstance(plan.budget, str):
            return "chat"
        if plan.mechanism is Mechanism.FORCED:
            return "forcing"
        if plan.mechanism is Mechanism.PROMPTED:
            return "prompt"
        if self.enforcement in ("auto", "server") and self.caps.budget_field:
            return "chat" if plan.budget == 0 else "server"  # B = 0: thinking switched off instead
        if self.enforcement in ("auto", "forcing"):
            return "forcing"
        return "prompt"

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        if isinstance(plan.budget, str) and plan.budget != NATURAL:
            raise ConfigError(f"{self.spec}: effort budgets ({plan.budget!r}) are for the openai provider; "
                              f"give numeric budgets")
        if self.enforcement == "server" and plan.mechanism is Mechanism.NATIVE and not self.caps.budget_field:
            raise ConfigError(f"{self.spec}: enforcement 'server' but no budget_field is declared in "
                              f"model_options.capabilities (e.g. budget_field: thinking_token_budget for vLLM)")

    async def _template(self, request: GenerateRequest) -> str:
        messages = self._messages(request)
        template = self.options.get("chat_template")
        if template:
            import jinja2

            env = jinja2.Environment(undefined=jinja2.StrictUndefined)
            return env.from_string(template).render(messages=messages, add_generation_prompt=True)
        resp = await self.call(lambda: self.http.post("/apply-template", json={"messages": messages}))
        if resp.status_code == 404:
            raise ConfigError(f"{self.spec}: client-side forcing needs the chat template: this server has no "
                              f"/apply-template, so give model_options.chat_template (Jinja) or use "
                              f"mechanism prompted")
        resp.raise_for_status()
        return resp.json()["prompt"]

    def _messages(self, request: GenerateRequest) -> list[dict[str, str]]:
        system = request.system_text()
        msgs = [{"role": "system", "content": system}] if system else []
        return msgs + [{"role": "user", "content": request.prompt}]

    def _sampling(self, request: GenerateRequest) -> dict[str, Any]:
        return {"seed": request.seed, **sampling(request)}

    def _extra(self, more: dict[str, Any] | None = None) -> dict[str, Any]:
        extra = dict(self.options.get("extra_body") or {})
        if not self.options.get("cache_prompt", False):
            extra["cache_prompt"] = False  # llama.cpp: identical greedy calls can differ with prompt caching
        extra.update(more or {})
        return extra

    def params(self, request: GenerateRequest) -> dict[str, Any]:
        """The chat request body (routes chat, server and prompt; forcing builds its own two bodies)."""
        plan = request.plan
        more: dict[str, Any] = {}
        if plan.budget == 0 and self.caps.thinking_switch:
            more["chat_template_kwargs"] = {"enable_thinking": False}
        if self.route(plan) == "server":
            more[str(self.caps.budget_field)] = plan.think_tokens
        return {"model": self.spec.model, "messages": self._messages(request), "max_tokens": plan.max_tokens,
                **self._sampling(request), **self._extra(more)}

    async def send(self, body: dict[str, Any]) -> Any:
        """A body with a `prompt` goes to the completions endpoint (forcing), one with `messages` to chat."""
        create = self.client.completions.create if "prompt" in body else self.client.chat.completions.create
        return await create(**sdk_kwargs(create, body))

    # -- generation -----------------------------------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> Completion:
        """The template for chat routes; forcing makes two template exchanges of its own. Reasoning text the
        server did not count is counted afterwards (its /tokenize, else the estimate), outside the retries."""
        route = self.route(request.plan)
        start = self.clock()
        out = await (self._forced(request) if route == "forcing" else super().generate(request))
        if out.reasoning_tokens is None:
            out.reasoning_tokens, out.reasoning_tokens_source = await self.count_tokens(out.reasoning)
        out.latency_s = self.clock() - start
        label = {"chat": "none", "server": "server_field", "forcing": "client_forcing", "prompt": "prompt"}[route]
        if request.plan.budget == 0 and route != "forcing" and self.caps.thinking_switch:
            label = "thinking_switch"  # chat_template_kwargs enable_thinking false
        out.extra["enforced_by"] = label
        return out

    def completion(self, resp: Any, plan: BudgetPlan, latency_s: float, *, batch: bool = False) -> Completion:
        try:
            choice = resp.choices[0]
            msg = choice.message
            content = msg.content or ""
            usage = resp.usage
        except (AttributeError, IndexError, TypeError) as exc:
            raise MalformedResponse(f"chat response without choices: {exc}") from None
        reasoning = getattr(msg, "reasoning_content", None) or getattr(msg, "reasoning", None) or ""
        if not reasoning:
            reasoning, content = split_think(content, self.think_open.strip(), self.think_close)
        details = getattr(usage, "completion_tokens_details", None) if usage else None
        reported = getattr(details, "reasoning_tokens", None) if details is not None else None
        if reported is not None:
            tokens, source = int(reported), TokenSource.USAGE
        elif reasoning:
            tokens, source = None, TokenSource.NONE  # counted by generate once the response is in
        else:
            tokens, source = 0, TokenSource.NONE
        return self.completed(
            text=content, reasoning=reasoning, tokens=tokens, source=source, finish=str(choice.finish_reason),
            thought=bool(tokens if tokens is not None else reasoning), latency_s=latency_s,
            output_tokens=getattr(usage, "completion_tokens", None), input_tokens=getattr(usage, "prompt_tokens", None),
            extra={"api": "chat"})

    def _pass_body(self, request: GenerateRequest, prompt: str, max_tokens: int, **more: Any) -> dict[str, Any]:
        return {"model": self.spec.model, "prompt": prompt, "max_tokens": max_tokens, **more,
                **self._sampling(request), **self._extra()}

    async def _forced(self, request: GenerateRequest) -> Completion:
        plan = request.plan
        budget = int(plan.think_tokens or 0)
        prompt = await self._template(request) + self.think_open
        thinking, capped, think_tokens, in_tokens = "", False, 0, None
        if budget > 0:
            first, _ = await self.exchange(self._pass_body(request, prompt, budget, stop=[self.think_close]), _pass)
            thinking, finish, think_tokens, in_tokens = first
            capped = finish == "length"
        source = TokenSource.USAGE
        if think_tokens is None:
            think_tokens, source = await self.count_tokens(thinking)
        cue = str(self.options.get("answer_cue", ""))
        prompt2 = prompt + thinking.rstrip() + "\n" + self.think_close + "\n" + cue
        second, _ = await self.exchange(self._pass_body(request, prompt2, plan.answer_tokens), _pass)
        text, finish, answer_tokens, in2 = second
        answer = cue + text
        out_tokens = (think_tokens or 0) + (answer_tokens or 0)
        in_tokens = in_tokens if in_tokens is not None else in2
        return self.completed(
            text=answer, reasoning=thinking, tokens=think_tokens, source=source, finish=finish, thought=budget > 0,
            capped=capped, output_tokens=out_tokens, input_tokens=in_tokens,
            extra={"api": "completions", "passes": 2 if budget else 1})

    async def count_tokens(self, text: str) -> tuple[int, TokenSource]:
        """Tokens of `text` via the server's /tokenize (llama.cpp or vLLM shape), else a labelled estimate."""
        if not text:
            return 0, TokenSource.NONE
        import httpx  # as lazy as self.http

        styles = [self._tokenize_style] if self._tokenize_style else ["llama.cpp", "vllm"]
        for style in styles:
            if style == "none":
                break
            body = ({"content": text, "add_special": False} if style == "llama.cpp"
                    else {"model": self.spec.model, "prompt": text, "add_special_tokens": False})
            try:
                resp = await self.http.post("/tokenize", json=body)
                if resp.status_code == 200 and isinstance(resp.json().get("tokens"), list):
                    self._tokenize_style = style
                    return len(resp.json()["tokens"]), TokenSource.TOKENIZE_ENDPOINT
            except (httpx.HTTPError, ValueError):
                pass
        self._tokenize_style = "none"
        return estimate_tokens(text), TokenSource.ESTIMATE

    async def aclose(self) -> None:
        await super().aclose()
        if self._http is not None:
            await self._http.aclose()


def _pass(resp: Any) -> tuple[str, str, int | None, int | None]:
    """One completions response: (text, finish reason, completion tokens, prompt tokens)."""
    try:
        choice, usage = resp.choices[0], resp.usage
        return (choice.text or "", str(choice.finish_reason), usage.completion_tokens if usage else None,
                usage.prompt_tokens if usage else None)
    except (AttributeError, IndexError, TypeError) as exc:
        raise MalformedResponse(f"completions response without choices: {exc}") from None


def split_think(content: str, open_tag: str = "<think>", close_tag: str = "</think>") -> tuple[str, str]:
    """Inline reasoning: '<think>R</think>A' (or 'R</think>A' when the template opened the block) -> (R, A)."""
    if close_tag not in content:
        return "", content
    head, _, tail = content.partition(close_tag)
    head = re.sub(r"^\s*" + re.escape(open_tag), "", head)
    return head.strip(), tail.lstrip()


def create(spec: ModelSpec, options: dict[str, Any]) -> OpenAICompatibleModel:
    return OpenAICompatibleModel(spec, options)


MODEL_CLASS = OpenAICompatibleModel
