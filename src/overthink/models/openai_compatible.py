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
from typing import Any

import httpx

from ..budget import BudgetPlan
from ..core import NATURAL, Completion, Mechanism
from ..errors import ConfigError
from ..secrets import get_key
from .apibase import ApiModel, estimate_tokens, has_answer
from .base import GenerateRequest, ModelSpec
from .retry import MalformedResponse

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
        timeout = httpx.Timeout(self.timeout_s, connect=min(30.0, self.timeout_s))
        self.client = openai.AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout_s)
        headers = {"Authorization": f"Bearer {key}"} if self.key_env else {}
        self.http = httpx.AsyncClient(base_url=self.root, timeout=timeout, headers=headers)
        self._tokenize_style: str | None = None  # "llama.cpp" | "vllm" | "none", found on first use
        self.think_open = str(self.caps.get("think_open", "<think>\n"))
        self.think_close = str(self.caps.get("think_close", "</think>"))

    # -- planning -------------------------------------------------------------------------------------------
    def route(self, plan: BudgetPlan) -> str:
        """How this plan is enforced: chat | server | forcing | prompt."""
        if plan.budget == NATURAL or isinstance(plan.budget, str):
            return "chat"
        if plan.mechanism is Mechanism.FORCED:
            return "forcing"
        if plan.mechanism is Mechanism.PROMPTED:
            return "prompt"
        if self.enforcement in ("auto", "server") and self.caps.get("budget_field"):
            return "chat" if plan.budget == 0 else "server"  # B = 0: thinking switched off instead
        if self.enforcement in ("auto", "forcing"):
            return "forcing"
        return "prompt"

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        if isinstance(plan.budget, str) and plan.budget != NATURAL:
            raise ConfigError(f"{self.spec}: effort budgets ({plan.budget!r}) are for the openai provider; "
                              f"give numeric budgets")
        if self.enforcement == "server" and plan.mechanism is Mechanism.NATIVE and not self.caps.get("budget_field"):
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
        out: dict[str, Any] = {"seed": request.seed}
        if request.temperature is not None:
            out["temperature"] = request.temperature
        if request.top_p is not None:
            out["top_p"] = request.top_p
        return out

    def _extra(self, more: dict[str, Any] | None = None) -> dict[str, Any]:
        extra = dict(self.options.get("extra_body") or {})
        if not self.options.get("cache_prompt", False):
            extra["cache_prompt"] = False  # llama.cpp: identical greedy calls can differ with prompt caching
        extra.update(more or {})
        return extra

    # -- generation -----------------------------------------------------------------------------------------
    async def generate(self, request: GenerateRequest) -> Completion:
        route = self.route(request.plan)
        start = self.clock()
        out = await (self._forced(request) if route == "forcing" else self._chat(request, route))
        out.latency_s = self.clock() - start
        label = {"chat": "none", "server": "server_field", "forcing": "client_forcing", "prompt": "prompt"}[route]
        if request.plan.budget == 0 and route != "forcing" and self.caps.get("thinking_switch", True):
            label = "thinking_switch"  # chat_template_kwargs enable_thinking false
        out.extra["enforced_by"] = label
        return out

    async def _chat(self, request: GenerateRequest, route: str) -> Completion:
        plan = request.plan
        more: dict[str, Any] = {}
        if plan.budget == 0 and self.caps.get("thinking_switch", True):
            more["chat_template_kwargs"] = {"enable_thinking": False}
        if route == "server":
            more[str(self.caps["budget_field"])] = plan.think_tokens
        body = dict(model=self.spec.model, messages=self._messages(request), max_tokens=plan.max_tokens,
                    **self._sampling(request))
        resp = await self.call(lambda: self.client.chat.completions.create(**body, extra_body=self._extra(more)))
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
            tokens, source = int(reported), "usage"
        else:
            tokens, source = await self.count_tokens(reasoning)
        finish = str(choice.finish_reason)
        truncated = finish == "length" and not has_answer(content)
        return Completion(
            reasoning=reasoning, answer_text=content, reasoning_tokens=tokens, reasoning_tokens_source=source,
            output_tokens=getattr(usage, "completion_tokens", None), input_tokens=getattr(usage, "prompt_tokens", None),
            stop_reason="max_tokens" if finish == "length" else finish, truncated=truncated,
            cost_usd=self.cost(getattr(usage, "prompt_tokens", 0), getattr(usage, "completion_tokens", 0)),
            thinking_stop=("capped" if truncated and not content else "natural") if tokens else "none",
            extra={"api": "chat"},
        )

    async def _forced(self, request: GenerateRequest) -> Completion:
        plan = request.plan
        budget = int(plan.think_tokens or 0)
        prompt = await self._template(request) + self.think_open
        thinking, think_tokens, capped, in_tokens = "", 0, False, None
        if budget > 0:
            r1 = await self.call(lambda: self.client.completions.create(
                model=self.spec.model, prompt=prompt, max_tokens=budget, stop=[self.think_close],
                extra_body=self._extra(), **self._sampling(request)))
            try:
                thinking = r1.choices[0].text or ""
                capped = r1.choices[0].finish_reason == "length"
                think_tokens = r1.usage.completion_tokens if r1.usage else None
                in_tokens = r1.usage.prompt_tokens if r1.usage else None
            except (AttributeError, IndexError) as exc:
                raise MalformedResponse(f"completions response without choices: {exc}") from None
        source = "usage"
        if think_tokens is None:
            think_tokens, source = await self.count_tokens(thinking)
        cue = str(self.options.get("answer_cue", ""))
        prompt2 = prompt + thinking.rstrip() + "\n" + self.think_close + "\n" + cue
        r2 = await self.call(lambda: self.client.completions.create(
            model=self.spec.model, prompt=prompt2, max_tokens=plan.answer_tokens, extra_body=self._extra(),
            **self._sampling(request)))
        try:
            answer = cue + (r2.choices[0].text or "")
            finish = str(r2.choices[0].finish_reason)
            out_tokens = (think_tokens or 0) + (r2.usage.completion_tokens if r2.usage else 0)
            in_tokens = in_tokens if in_tokens is not None else (r2.usage.prompt_tokens if r2.usage else None)
        except (AttributeError, IndexError) as exc:
            raise MalformedResponse(f"completions response without choices: {exc}") from None
        truncated = finish == "length" and not has_answer(answer)
        return Completion(
            reasoning=thinking, answer_text=answer, reasoning_tokens=think_tokens, reasoning_tokens_source=source,
            output_tokens=out_tokens, input_tokens=in_tokens,
            stop_reason="max_tokens" if finish == "length" else finish, truncated=truncated,
            cost_usd=self.cost(in_tokens, out_tokens),
            thinking_stop="none" if budget == 0 else "capped" if capped else "natural",
            extra={"api": "completions", "passes": 2 if budget else 1},
        )

    async def count_tokens(self, text: str) -> tuple[int, str]:
        """Tokens of `text` via the server's /tokenize (llama.cpp or vLLM shape), else a labelled estimate."""
        if not text:
            return 0, "none"
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
                    return len(resp.json()["tokens"]), "tokenize_endpoint"
            except (httpx.HTTPError, ValueError):
                pass
        self._tokenize_style = "none"
        return estimate_tokens(text), "estimate"

    async def aclose(self) -> None:
        await self.client.close()
        await self.http.aclose()


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
