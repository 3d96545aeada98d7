"""What produced a run's samples, stored with the run (meta key `sessions`: one entry per `run` / `resume`):
overthink, Python and platform versions, the versions of the SDK packages the models use, start and end time and
how the session ended (running, completed, interrupted, stopped, failed; "running" left behind by a killed
process). `summary` shows the latest session in one line (report/provenance.py)."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from ..providers import ModelBase
from ..version import __version__

# the distribution behind each provider's SDK (the client's top-level module names it for any other provider)
SDKS = {"anthropic": ("anthropic",), "anthropic-bedrock": ("anthropic", "boto3"),
        "anthropic-vertex": ("anthropic", "google-auth"), "openai": ("openai",), "openai-compatible": ("openai",),
        "openrouter": ("openai",), "gemini": ("google-genai",), "local": ("xllamacpp",)}


def sdk_versions(models: Iterable[ModelBase]) -> dict[str, str]:
    out: dict[str, str] = {}
    for model in models:
        for dist in SDKS.get(model.spec.provider, ()):
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return dict(sorted(out.items()))


def session(models: Iterable[ModelBase], *, resumed: bool) -> dict[str, Any]:
    return {"overthink": __version__, "python": platform.python_version(),
            "platform": f"{platform.system()}-{platform.release()}-{platform.machine()}",
            "packages": sdk_versions(models), "started_at": time.time(), "ended_at": None, "status": "running",
            "resumed": resumed}
