"""The cut rules of budget forcing, shared by the embedded model's sweep (local/sweep.py) and the servers' sweep
(servers/sweep.py): which cut of one thinking trace reproduces an independent B-token run, and in which order the
cuts are answered. Pure functions of a trace's shape; no model, no I/O.

- the trace stopped naturally after T generated tokens and B >= T: the independent run stops there too;
- B <= the tokens returned: capped at B, the first B tokens of the same greedy trace;
- otherwise (B lands inside the stop word's tokens, which runtimes do not return): that budget runs alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .core import Completion, Mechanism

if TYPE_CHECKING:
    from .providers.base import GenerateRequest


def shareable(requests: list[GenerateRequest]) -> bool:
    first = requests[0]
    same = (first.prompt, first.system, first.seed, first.temperature, first.top_p, first.plan.answer_tokens)
    return all(r.plan.mechanism is Mechanism.FORCED and isinstance(r.plan.think_tokens, int) for r in requests) \
        and all((r.prompt, r.system, r.seed, r.temperature, r.top_p, r.plan.answer_tokens) == same for r in requests)


def plan_cuts(trace: Any, caps: list[int]) -> list[tuple[str, int] | None]:
    """For each cap: ("none", 0) / ("natural", n) / ("capped", n) = the cut of the trace, None = run alone.
    `trace` is a thinking pass (a server's or the embedded model's: `pieces`, one per token, `natural`,
    `total_tokens`), or None when there is none."""
    cuts: list[tuple[str, int] | None] = []
    for cap in caps:
        if cap == 0:
            cuts.append(("none", 0))
        elif trace is None:
            cuts.append(None)
        elif trace.natural and cap >= trace.total_tokens:
            cuts.append(("natural", len(trace.pieces)))
        elif cap <= len(trace.pieces):
            cuts.append(("capped", cap))
        else:
            cuts.append(None)
    return cuts


def probe_positions(n_probes: int, length: int, taken: set[int]) -> list[int]:
    """N evenly spaced cuts in (0, length) for the trajectory analysis (--probe-cuts), minus cuts already made."""
    if n_probes <= 0 or length <= 1:
        return []
    cuts = {round(k * length / (n_probes + 1)) for k in range(1, n_probes + 1)}
    return sorted(c for c in cuts if 0 < c < length and c not in taken)


def answer_order(groups: dict[tuple[str, int], list[int]], n_probes: int, length: int) -> list[tuple[str, int]]:
    """The cuts to answer (budget groups, then ("probe", n) for --probe-cuts within `length`), longest first:
    the slot's cache then still holds the decoded trace up to each next cut (both sweeps)."""
    todo = list(groups) + [("probe", n) for n in probe_positions(n_probes, length, {c[1] for c in groups})]
    return sorted(todo, key=lambda c: (-c[1], c[0] == "probe"))


def with_probes(held: list[tuple[GenerateRequest, Completion]], probes: list[dict[str, Any]]
                ) -> Iterator[tuple[GenerateRequest, Completion]]:
    """The longest budget's samples, held back until every probe cut was answered, now carrying them."""
    for request, done in held:
        if probes:
            done.extra["probe_cuts"] = sorted(probes, key=lambda p: p["cut"])
        yield request, done


def probe_record(cut: int, chars: int, answer_text: str, truncated: bool) -> dict[str, Any]:
    """One probe cut as stored in the longest budget's metadata (graded by sweep/record.py); `chars` = length of
    the thinking text up to the cut, so the trajectory analysis can locate spans in the longest trace."""
    return {"cut": cut, "chars": chars, "answer_text": answer_text, "truncated": truncated}
