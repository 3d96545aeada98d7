"""Real run stores for report tests: a stub sweep through the real runner, plus hand-written records."""

from __future__ import annotations

from pathlib import Path

from overthink.core import Item, SampleRecord
from overthink.store import Store

XSS_REASONING = ('Let me think. <script>window.__xss = 1; console.error("xss")</script> '
                 '<img src=x onerror="window.__xss = 2"> & the answer is 3')
XSS_ANSWER = '<answer>3</answer><svg onload="window.__xss=3"></svg>'


def stub_run(run_dir: Path, *, model: str = "stub:inverse", natural: int | None = None) -> Path:
    """`overthink run` of a stub model through the real CLI (in this process unless a browser's event loop runs
    here: helpers.run_cli)."""
    from helpers import run_cli

    args = ["run", "--model", model, "--task", "misleading-math", "--limit", "24", "--run-dir", str(run_dir), "--quiet"]
    args += ["--natural", str(natural)] if natural else ["--budgets", "0,64,256,1024"]
    res = run_cli(*args, timeout=300)
    assert res.returncode == 0, res.stderr
    return run_dir


def hostile_run(run_dir: Path) -> Path:
    """A tiny run whose model output, model name and prompt carry HTML and script."""
    with Store(run_dir) as store:
        store.set_meta("tasks", {"evil<b>task": {"metric": "accuracy"}})
        items = [Item(id=f"x{i}", prompt=f"Count <b onmouseover=alert(1)>{i}</b>", answer=2) for i in range(6)]
        store.add_items("evil<b>task", items)
        for i, item in enumerate(items):
            for b in (0, 512):
                wrong = b > 0 and i % 2 == 0
                store.record(SampleRecord(
                    run_id="r", model='m"><script>alert(1)</script>', provider="stub", task="evil<b>task",
                    item_id=item.id, budget=b, mechanism="forced", replicate=0, seed=0, status="ok",
                    reasoning_tokens=0 if b == 0 else 400 + i, answer="3" if wrong else "2", expected="2",
                    score=0.0 if wrong else 1.0, correct=not wrong, reasoning=XSS_REASONING if b else "",
                    answer_text=XSS_ANSWER if wrong else "<answer>2</answer>"))
    return run_dir


def grades_run(run_dir: Path) -> Path:
    """A regression task whose items carry features, with declared causal/spurious roles."""
    import numpy as np

    rng = np.random.default_rng(0)
    with Store(run_dir) as store:
        store.set_meta("tasks", {"grades-sim": {"metric": "rmse", "causal_features": ["Study_Hours"],
                                                "spurious_features": ["Sleep_Hours"]}})
        items = []
        for i in range(40):
            study, sleep = float(rng.uniform(5, 10)), float(rng.uniform(5, 9))
            items.append(Item(id=f"g{i}", prompt="<record>...</record>", answer=round(0.8 * study, 2),
                              metadata={"features": {"Study_Hours": study, "Sleep_Hours": sleep,
                                                     "Stress_Level": ["Low", "Moderate", "High"][i % 3]},
                                        "shots": [0, 8][i % 2]}))
        store.add_items("grades-sim", items)
        for item in items:
            f = item.metadata["features"]
            for b, pred in ((0, 0.8 * f["Study_Hours"]), (1024, 0.9 * f["Sleep_Hours"])):
                store.record(SampleRecord(
                    run_id="g", model="stub:grades", provider="stub", task="grades-sim", item_id=item.id, budget=b,
                    mechanism="forced", replicate=0, seed=0, status="ok", reasoning_tokens=b * 0.9,
                    answer=f"{pred:.2f}", expected=str(item.answer), score=(pred - float(item.answer)) ** 2,
                    reasoning="I weigh study hours" if b else ""))
    return run_dir
