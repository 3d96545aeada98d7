"""`--mechanism auto` (the default): the best budget mechanism a model's provider and capabilities allow, decided
here and nowhere else. A run stores the resolved mechanism with every sample (never "auto").

- local (the embedded model) and the test stub: forced - the client owns the raw text and closes the think block.
- anthropic, anthropic-bedrock, anthropic-vertex, openai, gemini, openrouter: native - the API's own control
  (budget_tokens / adaptive effort, reasoning_effort, thinkingBudget / thinkingLevel, the reasoning object).
- openai-compatible: native when the server declares a hard budget field (its server profile, e.g. vLLM
  thinking_token_budget, or capabilities.budget_field), else forced (client-side forcing) where the server has a
  raw-prompt completions endpoint, else native (a hosted chat-only API: DeepSeek, xAI take effort levels).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .core import Mechanism
from .errors import ConfigError
from .providers.base import ModelBase, ModelSpec, ServerControls
from .providers.registry import BUILTIN_TABLE, info_for

# What `auto` means per provider: the registry's data (providers/registry.py), a server provider decided below.
AUTO_MECHANISM: dict[str, Mechanism] = {n: p.mechanism for n, p in BUILTIN_TABLE.items() if p.mechanism is not None}
SERVER_PROVIDERS = frozenset(n for n, p in BUILTIN_TABLE.items() if p.mechanism is None)


def auto_mechanism(provider: str, controls: ServerControls | None = None) -> Mechanism:
    """The mechanism `auto` means for `provider` (and, for an OpenAI-compatible server, its controls)."""
    info = info_for(provider)
    if info is None:
        raise ConfigError(f"mechanism auto: no default mechanism known for provider {provider!r}; "
                          f"give --mechanism forced, prompted or native")
    if info.mechanism is None:  # a server provider: its controls decide
        c = controls or ServerControls()
        if c.budget_field:
            return Mechanism.NATIVE
        return Mechanism.FORCED if c.forcing else Mechanism.NATIVE
    return info.mechanism


def resolve(mechanism: Mechanism | str, model: ModelBase) -> Mechanism:
    """`mechanism` for a created model: itself, or what `auto` means for it."""
    mech = Mechanism(mechanism)
    if mech is not Mechanism.AUTO:
        return mech
    return auto_mechanism(model.spec.provider, model.server_controls())


def resolve_spec(mechanism: Mechanism | str, spec: ModelSpec, options: Mapping[str, Any] | None = None) -> Mechanism:
    """`mechanism` for a model that is not created (an estimate sends nothing): a server profile named in its
    options decides for openai-compatible; an undetected server counts as forced (the same token caps)."""
    mech = Mechanism(mechanism)
    if mech is not Mechanism.AUTO:
        return mech
    controls = None
    if (info := info_for(spec.provider)) is not None and info.server:
        from .servers.profiles import controls_for_options

        controls = controls_for_options(dict(options or {}))
    return auto_mechanism(spec.provider, controls)
