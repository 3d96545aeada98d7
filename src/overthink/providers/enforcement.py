"""What enforces a budget (`enforced_by`), for the providers whose responses do not say it themselves: decided from
the provider, the mechanism, the budget and today's capability table. The sweep asks a model for it when a sample
runs (ModelBase.enforced_by) and stores it with the sample, so a later change of the table never relabels an old
run; the audit uses this only for samples stored before the column existed, and marks those labels as inferred.

Labels: client_forcing, server_field, budget_tokens, thinking_budget, reasoning_max_tokens, provider_budget (hard
caps); effort, prompt (soft); thinking_off, thinking_switch (budget 0); none (natural)."""

from __future__ import annotations

from typing import Any

from ..core import NATURAL
from .capabilities import capabilities
from .registry import info_for


def _anthropic_modes(model: str) -> tuple[str, ...]:
    try:
        caps = capabilities("anthropic", model)
    except Exception:  # an unreadable user table must not stop an analysis; assume the documented default
        return ("budget_tokens",)
    modes = caps.get("thinking") if isinstance(caps, dict) else getattr(caps, "thinking", None)
    return tuple(modes or ())


def derive_enforced_by(provider: str, mechanism: str, budget: Any, model: str = "") -> str:
    """The enforcement a (provider, mechanism, budget) gets by today's tables."""
    if budget == NATURAL:
        return "none"
    if mechanism == "prompted":
        return "prompt"
    if mechanism == "forced":
        return "client_forcing"
    if isinstance(budget, str):
        return "effort"
    info = info_for(provider)
    how = info.enforcement if info else "provider_budget"
    if how == "anthropic-thinking":
        if int(budget) == 0:
            return "thinking_off"
        return "budget_tokens" if "budget_tokens" in _anthropic_modes(model) else "effort"
    return how  # effort: numeric budgets map to a level (OpenAI's reasoning_effort)
