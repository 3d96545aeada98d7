"""Run stores for the review tests: a real stub sweep plus an item whose model text is hostile HTML."""

from __future__ import annotations

from pathlib import Path

from overthink.core import Item, SampleRecord
from overthink.store import Store

EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
EVIL_ID = 'evil-"<b>&item'


def stub_run(run_dir: Path, *, limit: int = 8, budgets: str = "0,64,256,1024") -> Path:
    """A real run store made by the runner with the test-only stub model."""
    from overthink.cli import execute

    execute({"models": ["stub:inverse"], "tasks": ["misleading-math"], "budgets": budgets, "limit": limit,
             "run_dir": str(run_dir)}, None, quiet=True)
    return run_dir


def add_evil_item(run_dir: Path) -> list[int]:
    """An item whose prompt, metadata and model outputs carry script; returns its sample ids."""
    item = Item(id=EVIL_ID, prompt=f"You have one apple and one orange. {EVIL} The apple cost $61. How many?",
                answer=2, metadata={"distractor_spans": [f"{EVIL} The apple cost $61."], "note": EVIL})
    with Store(run_dir) as store:
        store.add_items("misleading-math", [item])
        for budget, answer in ((0, "2"), (1024, "3")):
            store.record(SampleRecord(
                run_id="evil", model="stub:inverse", provider="stub", task="misleading-math", item_id=EVIL_ID,
                budget=budget, mechanism="forced", replicate=0, seed=0, status="ok", answer=answer,
                expected="2", score=float(answer == "2"), correct=answer == "2",
                reasoning=(f"It cost $61 so 61 + 2 ... {EVIL} " * 80) if budget else "",
                answer_text=f"<answer>{answer}</answer>{EVIL}"))
        rows = store.sample_rows(("id", "budget"), item_id=EVIL_ID)
        return [r["id"] for r in sorted(rows, key=lambda r: r["budget"])]
