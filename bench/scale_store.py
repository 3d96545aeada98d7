"""The synthetic lab sweep of bench/bench_scale.py: 3 models x 4 tasks x 5 budgets x 2 replicates x N/120 items, each
sample with reasoning text, written through the real store API (Store.add_items, Store.record_many), as a sweep
writes it (issue 27's lab sweep, scaled to N samples).

Reasoning text is about 4 characters per reasoning token (English prose), tokens up to the budget; it holds what the
trace probes look for (second-guessing markers, stated candidate answers, the distractor's number) in proportions
that vary by model and budget, so every probe statistic is non-trivial. Mean reasoning text: about 1.2 KB a sample.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from overthink.core import Item, SampleRecord
from overthink.store import Store

MODELS = ("sim:alpha", "sim:beta", "sim:gamma")
TASKS = ("misleading-math", "misleading-python", "zebra", "word-problems")
BUDGETS = (0, 64, 256, 512, 1024)
REPLICATES = 2
CHUNK = 20_000  # samples per transaction

FILLER = ("Let me set up the quantities carefully. ", "We count each object once. ", "So the total follows. ",
          "The question asks for the number of items. ", "First I list what is given. ",
          "That leaves the remaining ones. ", "Adding these gives the result. ", "This matches the setup. ")
MARKERS = ("Wait, ", "Hmm, ", "Actually, ", "On second thought, ", "Let me reconsider. ", "Hold on, ")


def items_per_task(n_samples: int) -> int:
    return max(2, n_samples // (len(MODELS) * len(TASKS) * len(BUDGETS) * REPLICATES))


def make_items(task: str, n_items: int) -> list[Item]:
    out = []
    for i in range(n_items):
        pct = i % 89 + 10
        span = f"There is a {pct}% chance it rains."
        out.append(Item(id=f"{task}-{i}", prompt=f"You have {i % 7 + 1} apples and {i % 5 + 1} pears. {span} "
                        f"How many fruits do you have?", answer=str(i % 7 + i % 5 + 2),
                        metadata={"num_distractors": i % 4, "distractor_spans": [span]}))
    return out


def reasoning_text(rng: np.random.Generator, chars: int, answer: str, wrong: str, pct: int, p_marker: float,
                   p_distract: float) -> str:
    if chars <= 0:
        return ""
    parts: list[str] = []
    size = 0
    while size < chars:
        r = rng.random()
        if r < p_marker:
            stated = wrong if rng.random() < 0.5 else answer
            piece = MARKERS[int(rng.integers(len(MARKERS)))] + f"the answer is {stated}. "
        elif r < p_marker + p_distract:
            piece = f"The {pct}% chance might matter here. "
        else:
            piece = FILLER[int(rng.integers(len(FILLER)))]
        parts.append(piece)
        size += len(piece)
    return "".join(parts)[:chars] + f" So the answer is {answer}."


def write_store(run_dir: Path, n_samples: int, *, log: bool = True) -> int:
    """Write the sweep into run_dir (a new store); returns the number of samples stored."""
    rng = np.random.default_rng(27)
    n_items = items_per_task(n_samples)
    started = time.perf_counter()
    written = 0
    with Store(run_dir) as store:
        store.set_meta("tasks", {t: {"metric": "accuracy", "description": "synthetic"} for t in TASKS})
        store.set_meta("config", {"name": "bench-scale", "models": list(MODELS), "tasks": list(TASKS),
                                  "budgets": list(BUDGETS), "replicates": REPLICATES})
        batch: list[SampleRecord] = []
        for task in TASKS:
            items = make_items(task, n_items)
            store.add_items(task, items)
            for m, model in enumerate(MODELS):
                skill = rng.uniform(0.55, 0.95, n_items)
                for budget in BUDGETS:
                    for it, base in zip(items, skill):
                        for rep in range(REPLICATES):
                            tokens = int(budget * rng.uniform(0.6, 1.0))
                            # model 0 gets worse with more thinking, the others better: verdicts differ
                            p = base + (-0.08 if m == 0 else 0.04) * np.log2(1 + tokens) / 10
                            status = "truncated" if budget and rng.random() < 0.02 else (
                                "unparsed" if rng.random() < 0.01 else "ok")
                            correct = status == "ok" and rng.random() < p
                            answer = str(it.answer)
                            given = answer if correct else str(int(answer) + 1)
                            pct = int(it.metadata["distractor_spans"][0].split("%")[0].rsplit(" ", 1)[1])
                            text = reasoning_text(rng, 4 * tokens, given, str(int(answer) + 1), pct,
                                                  0.04 + 0.03 * m, 0.02 + 0.02 * (m == 0))
                            batch.append(SampleRecord(
                                run_id="bench-scale", model=model, provider="sim", task=task, item_id=it.id,
                                budget=budget, mechanism="forced", replicate=rep, seed=rep, status=status,
                                reasoning_tokens=tokens, reasoning_tokens_source="usage",
                                output_tokens=tokens + 12, input_tokens=60, answer=None if status == "unparsed"
                                else given, expected=answer, score=None if status != "ok" else float(correct),
                                correct=None if status != "ok" else correct, latency_s=0.5, cost_usd=1e-6 * tokens,
                                stop_reason="length" if status == "truncated" else "stop", thinking_stop="natural",
                                reasoning=text, answer_text=f"<answer>{given}</answer>",
                                enforced_by="provider budget", created_at=1.7e9 + written))
                            if len(batch) >= CHUNK:
                                written += store.record_many(batch)
                                batch = []
                                if log:
                                    print(f"  store: {written:,} samples, {time.perf_counter() - started:.0f}s",
                                          flush=True)
        if batch:
            written += store.record_many(batch)
    return written
