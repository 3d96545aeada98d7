"""What produced a run's samples, stored with the run (meta key `sessions`: one entry per `run` / `resume`):
overthink, Python and platform versions, the versions of the SDK packages the models use, start and end time and
how the session ended (running, completed, interrupted, stopped, failed; "running" left behind by a killed
process). `summary` shows the latest session in one line (`provenance_line`)."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

from ..models import ModelBase
from ..store.meta import Session
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


def provenance_line(sessions: Sequence[Session] | None, *, writing: bool = False) -> str | None:
    """One line about the latest session (RunMeta.sessions); `writing`: a process holds the run dir's lock now."""
    if not sessions:
        return None
    s = sessions[-1]
    status = s.status
    if status == "running" and not writing:
        status = "killed (did not finish; `overthink resume` continues)"
    packages = ", ".join(f"{k} {v}" for k, v in s.packages.items())
    parts = [f"overthink {s.overthink or '?'}", f"Python {s.python or '?'}", s.platform or "?"]
    if packages:
        parts.append(packages)
    when = f"started {_utc(s.started_at)}"
    if s.ended_at:
        end = _utc(s.ended_at)
        when += f", ended {end[11:] if end[:10] == when[8:18] else end}"
    parts.append(f"{when}: {status}")
    if len(sessions) > 1:
        parts.append(f"session {len(sessions)}")
    return "provenance: " + " · ".join(parts)


def _utc(when: Any) -> str:
    if not isinstance(when, (int, float)):
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))
