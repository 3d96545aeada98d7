"""Creating models from specs. Lazy: a provider module (and its SDK) is imported only when a spec names it, so the
core imports and runs without any API SDK installed; what is known of a provider before that is registry.py.

The pipeline's model side: providers/ (this contract, the registry and the API providers), local/ (the embedded
llama.cpp runtime and packs), servers/ (server profiles and shared-trace server sweeps) and forcing.py (the cut
rules both sweeps share)."""

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
)
from .registry import BUILTIN_TABLE, ProviderInfo, answer_margin_for, info_for, natural_cap_for, registry

# provider name -> ProviderInfo of the built-in providers (providers/registry.py; `overthink.providers` entry points add
# more, found by info_for). What the engine needs of a provider before it is created (margin, natural cap, what
# `auto` means, its extra) is data there, not a module import.
PROVIDERS: dict[str, ProviderInfo] = BUILTIN_TABLE


def _factory(provider: str):
    info = info_for(provider)
    if info is None:
        known = ", ".join(sorted(p for p, i in registry().items() if i.listed))
        raise ModelUnavailable(f"unknown provider {provider!r}; known providers: {known}")
    module_name, attr = info.factory.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("overthink"):
            raise ModelUnavailable(f"provider {provider!r} is not available in this version of overthink") from exc
        raise ModelUnavailable(
            f"provider {provider!r} needs the package {exc.name!r}: {install_hint(info.extra)}"
        ) from exc
    return getattr(module, attr)


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


__all__ = ["BatchModel", "GenerateRequest", "ModelBase", "ModelSpec", "ProviderInfo", "ServerControls", "SweepModel",
           "PROVIDERS", "answer_margin_for", "natural_cap_for", "load_model", "check_spec"]
