"""A zero-cost stand-in model for benchmarks and harness tests (`stub:MODE`). Never a user's model.

Modes: `oracle` always answers `answer` (option, default "2"); `inverse` answers wrongly more often as the budget
grows; `flat` is wrong 30 % of the time at every budget. Reasoning length is a deterministic function of the seed
and the budget. Option `delay_s` adds latency per call, `fail_every` makes every k-th call raise.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

from ..core import NATURAL, Completion
from .base import GenerateRequest, ModelBase, ModelSpec

MODES = ("oracle", "inverse", "flat")


class StubModel(ModelBase):
    def __init__(self, spec: ModelSpec, options: dict[str, Any]) -> None:
        if spec.model not in MODES:
            from ..errors import ModelUnavailable

            raise ModelUnavailable(f"unknown stub mode {spec.model!r}; one of {', '.join(MODES)}")
        self.spec = spec
        self.answer = str(options.get("answer", "2"))
        self.delay_s = float(options.get("delay_s", 0.0))
        self.fail_every = int(options.get("fail_every", 0))
        self.call_log = options.get("call_log")  # a file that gets one line per call (tests count real calls)
        self.calls = 0

    async def generate(self, request: GenerateRequest) -> Completion:
        start = time.perf_counter()
        self.calls += 1
        if self.call_log:
            with open(self.call_log, "a") as fh:
                fh.write(f"{request.seed} {request.plan.budget}\n")
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RuntimeError("stub: injected failure")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        budget = request.plan.budget
        r = random.Random(f"{request.seed}:{budget}")
        cap = 2048 if budget == NATURAL or isinstance(budget, str) else int(budget)
        tokens = int(cap * r.uniform(0.6, 1.0)) if request.plan.thinking else 0
        p_wrong = {"oracle": 0.0, "flat": 0.3}.get(self.spec.model, min(0.9, 0.05 + 0.12 * math.log2(1 + tokens / 32)))
        answer = self.answer if r.random() >= p_wrong else str(int(self.answer) + 1 if self.answer.isdigit() else "?")
        return Completion(
            reasoning="hmm " * tokens, answer_text=f"<answer>{answer}</answer>", reasoning_tokens=tokens,
            reasoning_tokens_source="stub", output_tokens=tokens + 5, input_tokens=len(request.prompt) // 4,
            stop_reason="stop", latency_s=time.perf_counter() - start,
            thinking_stop="natural" if tokens else "none",
        )

    async def aclose(self) -> None:
        return None


def create(spec: ModelSpec, options: dict[str, Any]) -> StubModel:
    return StubModel(spec, options)
