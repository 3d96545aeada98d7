"""The one line `summary` shows about what produced a run: the latest stored session (sweep/provenance.py
records them with the run, meta key `sessions`)."""

from __future__ import annotations

import time
from typing import Any


def provenance_line(sessions: list[dict[str, Any]] | None, *, writing: bool = False) -> str | None:
    """One line about the latest session; `writing`: a process holds the run dir's lock right now."""
    if not sessions:
        return None
    s = sessions[-1]
    status = s.get("status", "?")
    if status == "running" and not writing:
        status = "killed (did not finish; `overthink resume` continues)"
    packages = ", ".join(f"{k} {v}" for k, v in (s.get("packages") or {}).items())
    parts = [f"overthink {s.get('overthink', '?')}", f"Python {s.get('python', '?')}", str(s.get("platform", "?"))]
    if packages:
        parts.append(packages)
    when = f"started {_utc(s.get('started_at'))}"
    if s.get("ended_at"):
        end = _utc(s["ended_at"])
        when += f", ended {end[11:] if end[:10] == when[8:18] else end}"
    parts.append(f"{when}: {status}")
    if len(sessions) > 1:
        parts.append(f"session {len(sessions)}")
    return "provenance: " + " · ".join(parts)


def _utc(when: Any) -> str:
    if not isinstance(when, (int, float)):
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))
