"""Tiny hand-written run stores for the first-hour tests: the small-data cases where words used to go wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from overthink.core import Item, SampleRecord
from overthink.store import Store

TASK = "misleading-math"


def tiny_run(run_dir: Path, *, items: int, budgets: tuple[int, ...] = (0, 64, 256), replicates: int = 1,
             score: Callable[[int, int, int], float | None] = lambda i, b, r: 1.0,
             status: Callable[[int, int, int], str] = lambda i, b, r: "ok",
             tokens: Callable[[int, int, int], int] = lambda i, b, r: int(0.9 * b),
             config: dict | None = None) -> Path:
    """A run of `items` items x budgets x replicates; score/status/tokens are functions of (item, budget, rep)."""
    with Store(run_dir) as store:
        store.set_meta("tasks", {TASK: {"metric": "accuracy"}})
        store.set_meta("config", config or {"models": ["local:m"], "tasks": [TASK], "replicates": replicates})
        store.add_items(TASK, [Item(f"i{i}", f"Question {i}", answer=2) for i in range(items)])
        for i in range(items):
            for b in budgets:
                for r in range(replicates):
                    st = status(i, b, r)
                    s = score(i, b, r) if st == "ok" else None
                    store.record(SampleRecord(
                        run_id="x", model="local:m", provider="local", task=TASK, item_id=f"i{i}", budget=b,
                        mechanism="forced", replicate=r, seed=r, status=st,
                        reasoning_tokens=None if st == "error" else tokens(i, b, r),
                        answer=None if s is None else ("2" if s else "3"), expected="2", score=s,
                        correct=None if s is None else bool(s), error="boom" if st == "error" else None,
                        reasoning="thinking " * int(b // 8), answer_text="<answer>2</answer>"))
    return run_dir
