"""`openai-compatible:MODEL@BASE_URL` - vLLM, SGLang, llama.cpp server, Ollama, DeepSeek, xAI (any OpenAI-shaped
server). Which fields a server takes comes from its server profile (server_profiles.py: the `server` option, or
detected), and the user's capabilities may declare a budget field of their own.

How a numeric budget B is enforced, in order (recorded per sample as metadata `enforced_by`, with `server`):
1. native + a hard budget field (the profile's, e.g. vLLM `thinking_token_budget`, SGLang
   `custom_params.thinking_budget`, llama.cpp `thinking_budget_tokens`, or capabilities `budget_field`; dotted
   paths are nested): sent in the chat request body.
2. native or forced, where the server has a raw completions endpoint: client-side forcing in two passes, with
   the prompt built from the model's chat template (the server's /apply-template, or `chat_template` given in
   model_options, rendered as Hugging Face renders it: chat_template.py): pass 1 generates at most B tokens after
   the think delimiter, stopping at the closing delimiter; pass 2 appends the closing delimiter and generates the
   answer (at most the answer margin).
3. native on a server with effort levels only (DeepSeek, xAI): the level B maps to (`effort`, a signal).
4. otherwise the budget is only stated in the prompt (`prompt`), as in mechanism prompted.
B = 0 switches thinking off with the profile's switch (chat_template_kwargs enable_thinking false, DeepSeek's
thinking disabled, reasoning_effort none) or an empty think block (forcing). Reasoning text from the profile's
message fields, else inline <think>...</think>.
Reasoning tokens: usage (when the server reports them) > the server's /tokenize endpoint > a labelled estimate.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from ..budget import BudgetPlan
from ..core import NATURAL, Budget, Completion, Mechanism, TokenSource
from ..errors import ConfigError
from ..secrets import get_key
from ..servers import sweep as server_sweep
from ..servers.chat_template import render as render_template
from ..servers.chat_template import template_variables
from ..servers.profiles import choose, forcing_without_template, merge, nested
from ..tokens import estimate_tokens
from .apibase import ApiModel, sampling, sdk_http_client, sdk_kwargs
from .base import GenerateRequest, ModelSpec, ServerControls
from .retry import MalformedResponse

if TYPE_CHECKING:
    import httpx

ENFORCEMENT = ("auto", "server", "forcing", "prompt")


class OpenAICompatibleModel(ApiModel):
    provider = "openai-compatible"
    extra_options = frozenset({"chat_template", "chat_template_vars", "special_tokens", "enforcement", "answer_cue",
                               "extra_body", "cache_prompt", "server"})

    def __init__(self, spec: ModelSpec, options: dict[str, Any]) -> None:
        super().__init__(spec, options)
        if not spec.base_url:
            raise ConfigError(f"{spec}: openai-compatible needs a server URL: openai-compatible:MODEL@http://HOST:PORT/v1")
        self.enforcement = options.get("enforcement", "auto")
        if self.enforcement not in ENFORCEMENT:
            raise ConfigError(f"model_options for {spec}: enforcement must be one of {', '.join(ENFORCEMENT)}")
        given = get_key(self.key_env, env_file=self.env_file, what=str(spec)) if self.key_env else None
        self.profile, self.server_how = choose(spec, options, {"Authorization": f"Bearer {given}"} if given else None)
        self.key_env = self.key_env or self.profile.key_env  # hosted APIs (DeepSeek, xAI) name their own key
        key = given or (get_key(self.key_env, env_file=self.env_file, what=str(spec)) if self.key_env else "not-needed")
        self.budget_field = self.caps.budget_field or self.profile.budget_field
        self.efforts = tuple(self.caps.efforts) or self.profile.efforts_for(spec.model)
        import openai

        self.base_url = spec.base_url.rstrip("/")
        self.root = self.base_url.removesuffix("/v1")
        self.client = openai.AsyncOpenAI(api_key=key, base_url=self.base_url, max_retries=0, timeout=self.timeout_s,
                                         http_client=sdk_http_client(openai))
        self._headers = {"Authorization": f"Bearer {key}"} if self.key_env else {}
        self._http: httpx.AsyncClient | None = None
        self._tokenize_style: str | None = None  # "llama.cpp" | "vllm" | "none", found on first use
        self.think_open, self.think_close = self.caps.think_open, self.caps.think_close
        self.sweep_state = server_sweep.SweepState(no_tokens=not self.profile.token_pieces)

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
    def control_budgets(self) -> list[Budget]:
        server = self.server_controls()
        if not server.budget_field and not server.forcing and server.efforts:  # DeepSeek, xAI: levels only
            levels = [e for e in server.efforts if e != "none"]
            return (["none"] if "none" in server.efforts else [0]) + levels[:1] + levels[-1:]
        return [0, 128, 512]

    def server_controls(self) -> ServerControls:
        efforts = self.efforts if self.profile.effort_field else ()
        return ServerControls(self.budget_field, self.profile.forcing, efforts)

    def describe(self) -> dict[str, Any]:
        return {"server": self.profile.name, "server_detected_by": self.server_how, "budget_field": self.budget_field,
                "server_note": self.profile.note}

    def off_switch(self) -> dict[str, Any] | None:
        """The body fragment that switches thinking off (B = 0), or None when the server has none."""
        if not self.caps.thinking_switch:
            return None
        if self.profile.thinking_off is not None:
            return dict(self.profile.thinking_off)
        if self.profile.effort_field and "none" in self.efforts:
            return nested(self.profile.effort_field, "none")
        return None

    def route(self, plan: BudgetPlan) -> str:
        """How this plan is enforced: chat | server | forcing | effort | prompt."""
        if plan.budget == NATURAL:
            return "chat"
        if isinstance(plan.budget, str):
            return "effort"
        if plan.mechanism is Mechanism.FORCED:
            return "forcing"
        if plan.mechanism is Mechanism.PROMPTED:
            return "prompt"
        levels = self.enforcement == "auto" and self.profile.effort_field is not None
        if (self.enforcement in ("auto", "server") and self.budget_field) or (plan.budget == 0 and levels):
            return "chat" if plan.budget == 0 else "server"  # B = 0: thinking switched off instead
        if self.enforcement in ("auto", "forcing") and self.profile.forcing:
            return "forcing"
        return "effort" if levels else "prompt"

    def check_plan(self, plan: BudgetPlan, temperature: float | None = None) -> None:
        spec, profile = self.spec, self.profile
        if plan.mechanism is Mechanism.FORCED and plan.budget != NATURAL and not profile.forcing:
            raise ConfigError(f"{spec}: mechanism 'forced' needs a raw completions endpoint, which the "
                              f"{profile.name} API does not have; use native (its {profile.effort_field or 'own'} "
                              f"control) or prompted")
        if self.enforcement == "server" and plan.mechanism is Mechanism.NATIVE and not self.budget_field:
            raise ConfigError(f"{spec}: enforcement 'server' but server profile {profile.name!r} has no budget "
                              f"field; declare one in model_options.capabilities (e.g. budget_field: "
                              f"thinking_token_budget for vLLM) or choose --server")
        route = self.route(plan)
        if route == "effort":
            effort = plan.budget if isinstance(plan.budget, str) else self.effort_for(plan)
            if not profile.effort_field or effort not in self.efforts:
                takes = (f"levels {', '.join(self.efforts)}" if self.efforts and profile.effort_field
                         else "no effort levels")
                raise ConfigError(f"{spec}: budget {plan.budget!r} needs reasoning effort {effort!r}, but server "
                                  f"profile {profile.name!r} takes {takes} for this model; give other budgets, "
                                  f"an effort_table, or model_options.capabilities efforts")
        if plan.budget == 0 and route == "chat" and plan.mechanism is Mechanism.NATIVE and self.off_switch() is None:
            raise ConfigError(f"{spec}: server profile {profile.name!r} cannot switch thinking off for this model, "
                              f"so budget 0 cannot be run natively; drop budget 0")

    async def _template(self, request: GenerateRequest) -> str:
        messages = self._messages(request)
        template = self.options.get("chat_template")
        if template:
            return render_template(template, messages, variables=template_variables(self.options))
        resp = await self.call(lambda: self.http.post("/apply-template", json={"messages": messages}))
        if resp.status_code >= 500 or resp.status_code == 429:
            resp.raise_for_status()  # a server fault: the sample's error, retried by resume
        try:
            prompt = resp.json().get("prompt") if resp.status_code == 200 else None
        except (ValueError, AttributeError):
            prompt = None
        if not isinstance(prompt, str):  # not llama.cpp's endpoint: a 404, a catch-all page, another shape
            answered = (f"POST /apply-template answered HTTP {resp.status_code}" if resp.status_code != 200 else
                        "POST /apply-template answered without a 'prompt' text (this server has no such endpoint)")
            raise ConfigError(forcing_without_template(self.spec, self.profile, self.server_how, answered))
        return prompt

    def _messages(self, request: GenerateRequest) -> list[dict[str, str]]:
        system = request.system_text()
        msgs = [{"role": "system", "content": system}] if system else []
        return msgs + [{"role": "user", "content": request.prompt}]

    def _sampling(self, request: GenerateRequest) -> dict[str, Any]:
        return {"seed": request.seed, **sampling(request)}

    def _extra(self, more: dict[str, Any] | None = None) -> dict[str, Any]:
        extra = dict(self.options.get("extra_body") or {})
        if self.profile.cache_prompt and not self.options.get("cache_prompt", False):
            extra["cache_prompt"] = False  # llama.cpp: identical greedy calls can differ with prompt caching
        return merge(extra, more or {})  # nested fields (custom_params.thinking_budget) merge with extra_body's

    def controls(self, plan: BudgetPlan) -> dict[str, Any]:
        """The profile's thinking fields for a chat-route plan (off switch, budget field, effort level)."""
        route, profile, more = self.route(plan), self.profile, {}
        if plan.budget == 0:
            more = self.off_switch() or {}
        elif plan.thinking and profile.thinking_on and route != "prompt":
            more = dict(profile.thinking_on)
        if route == "server":
            more = merge(more, nested(str(self.budget_field), plan.think_tokens))
        elif route == "effort" and profile.effort_field:
            effort = plan.budget if isinstance(plan.budget, str) else self.effort_for(plan)
            more = merge(more, nested(profile.effort_field, effort))
        return more

    def params(self, request: GenerateRequest) -> dict[str, Any]:
        """The chat request body (routes chat, server, effort and prompt; forcing builds its own two bodies)."""
        plan = request.plan
        return {"model": self.spec.model, "messages": self._messages(request), "max_tokens": plan.max_tokens,
                **self._sampling(request), **self._extra(self.controls(plan))}

    async def send(self, body: dict[str, Any]) -> Any:
        """A body with a `prompt` goes to the completions endpoint (forcing), one with `messages` to chat.
        Chat goes through the SDK's documented raw `post` (its retries-off, auth, timeout and error types, the
        same wire body) and comes back as the parsed JSON: the typed `create` walks every body field through
        its TypedDict transform and builds pydantic models of the reply, ~0.5 ms a request on a 2-core
        machine, which is most of what a harness spends next to a fast server (bench_harness_vs_sdk.py)."""
        if "prompt" in body:
            create = self.client.completions.create
            return await create(**sdk_kwargs(create, body))
        return await self.client.post("/chat/completions", cast_to=object, body=body)

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
        label = {"chat": "none", "server": "server_field", "forcing": "client_forcing", "prompt": "prompt",
                 "effort": "effort"}[route]
        if request.plan.budget == 0 and route != "forcing" and self.off_switch() is not None:
            label = "thinking_switch"  # the profile's off switch (enable_thinking false, reasoning_effort none, ...)
        out.extra.update(enforced_by=label, server=self.profile.name)
        return out

    def completion(self, resp: Any, plan: BudgetPlan, latency_s: float, *, batch: bool = False) -> Completion:
        """One chat reply, the JSON object `send` returns (a non-JSON body arrives as text and is malformed)."""
        try:
            choice = resp["choices"][0]
            msg = choice["message"]
            content = msg.get("content") or ""
            usage = resp.get("usage") or {}
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise MalformedResponse(f"chat response without choices: {exc!r}") from None
        reasoning = next((str(v) for v in (msg.get(f) for f in self.profile.reasoning_fields) if v), "")
        if not reasoning:
            reasoning, content = split_think(str(content), self.think_open.strip(), self.think_close)
        reported = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        if reported is not None:
            tokens, source = int(reported), TokenSource.USAGE
        elif reasoning:
            tokens, source = None, TokenSource.NONE  # counted by generate once the response is in
        else:
            tokens, source = 0, TokenSource.NONE
        return self.completed(
            text=str(content), reasoning=reasoning, tokens=tokens, source=source,
            finish=str(choice.get("finish_reason")), thought=bool(tokens if tokens is not None else reasoning),
            latency_s=latency_s, output_tokens=usage.get("completion_tokens"),
            input_tokens=usage.get("prompt_tokens"), extra={"api": "chat"})

    def _pass_body(self, request: GenerateRequest, prompt: str, max_tokens: int, *, cache: bool | None = None,
                   slot: int | None = None, **more: Any) -> dict[str, Any]:
        """A completions body; on llama.cpp `cache` sets this pass's prompt caching and `slot` pins it to a slot."""
        body = {"model": self.spec.model, "prompt": prompt, "max_tokens": max_tokens, **more,
                **self._sampling(request), **self._extra()}
        if self.profile.cache_prompt:
            if cache is not None:
                body["cache_prompt"] = cache
            if slot is not None:
                body["id_slot"] = slot
        return body

    async def _forced(self, request: GenerateRequest) -> Completion:
        """Client-side forcing of one budget: the passes of a one-budget shared sweep (server_sweep.forced)."""
        return await server_sweep.forced(self, request)

    async def generate_sweep(self, requests: Sequence[GenerateRequest]
                             ) -> AsyncIterator[tuple[GenerateRequest, Completion | BaseException]]:
        async for pair in server_sweep.sweep(self, list(requests)):  # forced budgets from one trace
            yield pair

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


def split_think(content: str, open_tag: str = "<think>", close_tag: str = "</think>") -> tuple[str, str]:
    """Inline reasoning: '<think>R</think>A' (or 'R</think>A' when the template opened the block) -> (R, A)."""
    if close_tag not in content:
        return "", content
    head, _, tail = content.partition(close_tag)
    head = re.sub(r"^\s*" + re.escape(open_tag), "", head)
    return head.strip(), tail.lstrip()


def create(spec: ModelSpec, options: dict[str, Any]) -> OpenAICompatibleModel:
    return OpenAICompatibleModel(spec, options)

