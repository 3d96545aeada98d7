"""The one line `summary` shows about what produced a run: the latest stored session (sweep/provenance.py
records them with the run, meta key `sessions`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..store.meta import Session


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
