"""A known truth for FakeAPI's chat endpoint (tests and bench/bench_sequential.py): whether the "model" answers an
item correctly depends on the item (a difficulty) and on the budget it was given, by a stated effect.

Each prompt gets a base probability of being right, uniform in `spread` (from a hash of the prompt, so the same
item is as hard in every run); per task the probability falls by `effect` (a share, 0.2 = 20 points) linearly over
the budgets' order, the shortest to the longest. Whether a sample is right is a deterministic draw from a hash of
(prompt, budget, seed), so two runs of the same config see the same answers and a resumed run the same answers as
an uninterrupted one. The budget is the one the request asked for (the server budget field); every answered
request is logged with its (prompt, budget, seed), so a test can check that nothing was asked twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

BUDGET_FIELD = "thinking_token_budget"


def _uniform(*parts: object) -> float:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


class KnownTruth:
    def __init__(self, tasks: dict[str, tuple[Sequence[Any], Any, float]], budgets: Sequence[int], *,
                 spread: tuple[float, float] = (0.3, 0.9)) -> None:
        """tasks: name -> (items, task, effect); `task.render(item)` is the prompt the run sends."""
        self.budgets = list(budgets)
        self.spread = spread
        self.prompts: dict[str, tuple[str, str, float]] = {}  # prompt -> (task, expected, effect)
        for name, (items, task, effect) in tasks.items():
            for item in items:
                self.prompts[task.render(item)] = (name, item.expected, effect)
        self.asked: list[tuple[str, int, int]] = []  # (prompt, budget, seed) of every answered request
        self.asked_at: list[float] = []  # time.monotonic() of each, in the same order

    def p_correct(self, prompt: str, budget: int) -> float:
        _, _, effect = self.prompts[prompt]
        lo, hi = self.spread
        base = lo + (hi - lo) * _uniform("base", prompt)
        rank = self.budgets.index(budget) / max(1, len(self.budgets) - 1)
        return min(1.0, max(0.0, base - effect * rank))

    def __call__(self, body: dict[str, Any], think: int) -> str:
        prompt = body["messages"][-1]["content"]
        budget = int(body[BUDGET_FIELD])
        seed = int(body.get("seed") or 0)
        self.asked.append((prompt, budget, seed))
        self.asked_at.append(time.monotonic())
        _, expected, _ = self.prompts[prompt]
        right = _uniform("draw", prompt, budget, seed) < self.p_correct(prompt, budget)
        return expected if right else expected + "9"
