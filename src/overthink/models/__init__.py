"""Provider registry. Lazy: a provider module (and its SDK) is imported only when a spec names it, so the core
imports and runs without any API SDK installed."""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ModelUnavailable, install_hint
from .base import (
    BatchModel,
    GenerateRequest,
    ModelBase,
    ModelSpec,
    ServerControls,
    SweepModel,
    answer_margin_for,
    natural_cap_for,
)

# provider name -> "module:factory". The factory takes (spec, options) and returns a ModelBase. What the engine
# needs of a provider before it is created (its default answer margin) is data in base.py, not a module import.
PROVIDERS: dict[str, str] = {
    "local": "overthink.models.local:create",
    "anthropic": "overthink.models.anthropic:create",
    "openai": "overthink.models.openai:create",
    "openai-compatible": "overthink.models.openai_compatible:create",
    "gemini": "overthink.models.gemini:create",
    "openrouter": "overthink.models.openrouter:create",
    "anthropic-bedrock": "overthink.models.anthropic_cloud:create_bedrock",
    "anthropic-vertex": "overthink.models.anthropic_cloud:create_vertex",
    "stub": "overthink.models.stub:create",
}


def _factory(provider: str):
    target = PROVIDERS.get(provider)
    if target is None:
        known = ", ".join(sorted(p for p in PROVIDERS if p != "stub"))
        raise ModelUnavailable(f"unknown provider {provider!r}; known providers: {known}")
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("overthink"):
            raise ModelUnavailable(f"provider {provider!r} is not available in this version of overthink") from exc
        raise ModelUnavailable(
            f"provider {provider!r} needs the package {exc.name!r}: {install_hint(_extra(provider))}"
        ) from exc
    return getattr(module, attr)


def _extra(provider: str) -> str:
    return "local" if provider == "local" else "api"


def load_model(spec: str | ModelSpec, options: dict[str, Any] | None = None) -> ModelBase:
    """Create a model for a spec. Raises ModelUnavailable with a readable message when it cannot be served."""
    parsed = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec)
    return _factory(parsed.provider)(parsed, dict(options or {}))


def check_spec(spec: str) -> ModelSpec:
    """Validate a spec's syntax and provider without creating the model (no SDK import, no download)."""
    parsed = ModelSpec.parse(spec)
    if parsed.provider not in PROVIDERS:
        _factory(parsed.provider)
    return parsed


__all__ = ["BatchModel", "GenerateRequest", "ModelBase", "ModelSpec", "ServerControls", "SweepModel", "PROVIDERS",
           "answer_margin_for", "natural_cap_for", "load_model", "check_spec"]
