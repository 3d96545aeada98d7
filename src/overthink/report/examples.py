"""Trace examples: per task, a few items with a short and a long trace side by side.

Preference goes to items whose answer flips between the shortest and the longest budget (right when short, wrong
when long first), since those show what overthinking looks like. Natural runs compare an item's shortest and
longest sample. Text is shortened to MAX_CHARS; the template escapes it (model output is untrusted).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis.load import RunData, read_texts
from ..core import budget_sort_key

MAX_CHARS = 6000
PER_TASK = 3


def _clip(text: str | None) -> str:
    text = text or ""
    if len(text) <= MAX_CHARS:
        return text
    return text[:MAX_CHARS] + f"\n[... {len(text) - MAX_CHARS:,} more characters not shown]"


def _pairs(curve: pd.DataFrame) -> list[tuple[pd.Series, pd.Series]]:
    done = curve[curve["status"] != "error"]
    budgets = sorted(done["budget"].unique(), key=budget_sort_key)
    if len(budgets) >= 2:
        short = done[(done["budget"] == budgets[0]) & (done["replicate"] == 0)].set_index("item_id")
        long = done[(done["budget"] == budgets[-1]) & (done["replicate"] == 0)].set_index("item_id")
    else:  # natural: shortest vs longest sample of the item
        ordered = done.sort_values(["item_id", "reasoning_tokens", "replicate"])
        short = ordered.groupby("item_id").head(1).set_index("item_id")
        long = ordered.groupby("item_id").tail(1).set_index("item_id")
        long = long[long["replicate"] != short["replicate"].reindex(long.index)]
    common = short.index.intersection(long.index)
    if common.empty:
        return []
    s, l_ = short.loc[common], long.loc[common]
    flip = (s["score"].fillna(-1) > l_["score"].fillna(-1)).astype(int)
    order = flip.sort_values(ascending=False, kind="stable").index[:PER_TASK]
    return [(s.loc[i], l_.loc[i]) for i in order]


def pick_examples(data: RunData) -> list[dict[str, Any]]:
    """The first curve of each task as [{task, model, mechanism, pairs: [{item_id, prompt, expected, short: {...},
    long: {...}}]}]."""
    out = []
    samples = data.samples
    prompts = {(r.run, r.task, r.item_id): (r.prompt, r.expected) for r in data.items.itertuples(index=False)}
    for task, tsub in samples.groupby("task", sort=False):
        (model, mech), curve = next(iter(tsub.groupby(["model", "mechanism"], sort=False)))
        pairs = _pairs(curve)
        if not pairs:
            continue
        run = curve["run"].iloc[0]
        keys = pd.DataFrame([{"model_id": p["model_id"], "task": task, "item_id": p.name, "budget": p["budget"],
                              "mechanism": mech, "replicate": p["replicate"]} for pair in pairs for p in pair])
        texts = read_texts(data.runs[run], keys)
        items = []
        for n, (short, long) in enumerate(pairs):
            sides = {}
            for side, rec, idx in (("short", short, 2 * n), ("long", long, 2 * n + 1)):
                sides[side] = dict(budget=rec["budget"], tokens=rec["reasoning_tokens"], status=rec["status"],
                                   answer=rec["answer"], score=rec["score"],
                                   reasoning=_clip(texts.loc[idx, "reasoning"]),
                                   answer_text=_clip(texts.loc[idx, "answer_text"]))
            prompt, expected = prompts.get((run, task, short.name), ("", ""))
            items.append(dict(item_id=short.name, prompt=_clip(prompt), expected=expected, **sides))
        out.append(dict(task=task, model=model, mechanism=mech, pairs=items))
    return out
