"""What the review app shows: item rows with per-item verdicts, filters, one item's samples, safe highlighting.

Item verdict (per task, model and item; the "verdict" filter). Per budget, an item's accuracy is the mean of
`correct` over its scored samples (status ok with a grade); errors, truncations and unparsed answers are never scored
and do not enter the verdict (filter them by status instead). Comparing the smallest and the largest budget that have
a scored sample:
  inverse      right short, wrong long (accuracy > 1/2 at the shortest, < 1/2 at the longest): review these first
  positive     wrong short, right long
  right        right at both ends          wrong   wrong at both ends
  mixed        a tie (exactly 1/2) at one end
  incomplete   fewer than two budgets with a scored sample
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from ..core import budget_sort_key
from ..store import Store
from ..store.pages import ReviewIndex, current_labels_of, item_samples, items_of, samples_of

VERDICTS: dict[str, str] = {
    "inverse": "right short, wrong long",
    "positive": "wrong short, right long",
    "right": "right at both ends",
    "wrong": "wrong at both ends",
    "mixed": "a tie at one end",
    "incomplete": "fewer than two scored budgets",
}
STATUSES = ("ok", "error", "truncated", "unparsed")
PREVIEW_HEAD = 500  # characters of reasoning shown collapsed, from the start ...
PREVIEW_TAIL = 400  # ... and from the end, where the answer gets decided
_SAMPLE_COLS = ("id", "model", "task", "item_id", "budget", "mechanism", "replicate", "status", "answer",
                "expected", "correct", "score", "reasoning_tokens", "reasoning_tokens_source", "thinking_stop",
                "stop_reason", "error", "shared_trace", "latency_s")


def verdict(acc_by_budget: dict[Any, float]) -> str:
    """The item outcome pattern from per-budget accuracy of scored samples (see the module docstring)."""
    if len(acc_by_budget) < 2:
        return "incomplete"
    order = sorted(acc_by_budget, key=budget_sort_key)
    short, long = acc_by_budget[order[0]], acc_by_budget[order[-1]]
    if short == 0.5 or long == 0.5:
        return "mixed"
    if short > 0.5:
        return "right" if long > 0.5 else "inverse"
    return "positive" if long > 0.5 else "wrong"


@dataclass
class ItemRow:
    task: str
    model: str
    item_id: str
    prompt: str
    expected: str | None
    verdict: str
    cells: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)  # budget -> samples (no text)
    labels: set[str] = field(default_factory=set)  # current codes from any reviewer
    tags: set[str] = field(default_factory=set)

    @property
    def statuses(self) -> set[str]:
        return {s["status"] for samples in self.cells.values() for s in samples}


def _samples(store: Store, task: str | None = None, item_id: str | None = None, *,
             text: bool = False) -> list[dict[str, Any]]:
    return store.sample_rows(_SAMPLE_COLS + (("reasoning", "answer_text") if text else ()), task=task,
                             item_id=item_id)


def _accuracy(cells: dict[Any, list[dict[str, Any]]]) -> dict[Any, float]:
    acc = {}
    for budget, samples in cells.items():
        graded = [s["correct"] for s in samples if s["status"] == "ok" and s["correct"] is not None]
        if graded:
            acc[budget] = sum(graded) / len(graded)
    return acc


def new_index() -> ReviewIndex:
    """The per-process index the pages filter, count and page in SQL (store/pages.py), with this module's verdict."""
    return ReviewIndex(verdict, budget_sort_key)


def page_rows(store: Store, index: ReviewIndex, filters: Filters, offset: int, limit: int) -> list[ItemRow]:
    """The matching item rows `offset` .. `offset + limit` (as `item_rows` filtered by `filters.match`), read by key:
    the index gives the keys and verdicts, the store their samples (no text), items and the index their labels."""
    hits = index.page(filters.query(), offset, limit)
    keys = [(task, model, item_id) for _, task, model, item_id, _ in hits]
    by_key: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for s in samples_of(store, keys, _SAMPLE_COLS):
        by_key[(s["task"], s["model"], s["item_id"])].append(s)
    items = items_of(store, [(task, item_id) for task, _, item_id in keys])
    labels = index.row_labels([rid for rid, *_ in hits])
    rows = []
    for (rid, task, model, item_id, verdict_), key in zip(hits, keys):
        samples = by_key.get(key, [])
        item = items.get((task, item_id), {})
        row = ItemRow(task, model, item_id, item.get("prompt", ""),
                      item.get("expected", samples[0]["expected"] if samples else None), verdict_)
        for s in samples:
            row.cells.setdefault(s["budget"], []).append(s)
        row.cells = dict(sorted(row.cells.items(), key=lambda kv: budget_sort_key(kv[0])))
        if rid in labels:
            row.labels, row.tags = labels[rid]
        rows.append(row)
    return rows


def item_rows(store: Store) -> list[ItemRow]:
    """One row per (task, model, item) that has samples, in task / model / item order, built from every sample.
    The reference the SQL pages (`page_rows` with `ReviewIndex`) must agree with (tests/test_review_pages.py);
    the app itself never reads the whole store per page."""
    items = {(i["task"], i["item_id"]): i for i in store.items()}
    current = store.labels()
    labels_by_sample: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for rec in current:
        labels_by_sample[rec["sample_id"]].append(rec)
    rows: dict[tuple[str, str, str], ItemRow] = {}
    for s in _samples(store):
        key = (s["task"], s["model"], s["item_id"])
        row = rows.get(key)
        if row is None:
            item = items.get((s["task"], s["item_id"]), {})
            row = rows[key] = ItemRow(s["task"], s["model"], s["item_id"], item.get("prompt", ""),
                                      item.get("expected", s["expected"]), "")
        row.cells.setdefault(s["budget"], []).append(s)
        for rec in labels_by_sample.get(s["id"], []):
            row.labels.update(rec["labels"])
            row.tags.update(rec["tags"])
    for row in rows.values():
        row.cells = dict(sorted(row.cells.items(), key=lambda kv: budget_sort_key(kv[0])))
        row.verdict = verdict(_accuracy(row.cells))
    return [rows[k] for k in sorted(rows)]


@dataclass(frozen=True)
class Filters:
    task: str = ""
    model: str = ""
    budget: str = ""
    status: str = ""
    verdict: str = ""
    label: str = ""  # a taxonomy code, "any" (labelled at all), "none" (unlabelled), or "tag:NAME"

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        return cls(**{k: str(query.get(k, "")).strip() for k in cls.__dataclass_fields__})

    def query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}

    def match(self, row: ItemRow) -> bool:
        if (self.task and row.task != self.task) or (self.model and row.model != self.model):
            return False
        if self.verdict and row.verdict != self.verdict:
            return False
        cells = row.cells
        if self.budget:
            cells = {b: s for b, s in cells.items() if str(b) == self.budget}
            if not cells:
                return False
        # A status filter asks for a sample with that status (at the chosen budget, if one is chosen).
        if self.status and not any(s["status"] == self.status for ss in cells.values() for s in ss):
            return False
        if self.label == "any":
            return bool(row.labels)
        if self.label == "none":
            return not row.labels
        if self.label.startswith("tag:"):
            return self.label[4:] in row.tags
        return not self.label or self.label in row.labels


def item_detail(store: Store, task: str, item_id: str, models: list[str] | None = None) -> dict[str, Any] | None:
    """The item (prompt, expected, metadata) with all its samples grouped model -> budget -> samples. `models`
    (the run's, from the index) lets the samples be read by key instead of by a scan of the task."""
    item = items_of(store, [(task, item_id)]).get((task, item_id))
    samples = item_samples(store, task, item_id, models or [], _SAMPLE_COLS + ("reasoning", "answer_text"))
    if item is None and not samples:
        return None
    if item is None:  # samples without a stored item (older stores): still reviewable
        item = {"task": task, "item_id": item_id, "prompt": "", "expected": samples[0]["expected"], "metadata": {}}
    by_model: dict[str, dict[Any, list[dict[str, Any]]]] = defaultdict(dict)
    for s in samples:
        by_model[s["model"]].setdefault(s["budget"], []).append(s)
    budgets = sorted({s["budget"] for s in samples}, key=budget_sort_key)
    current: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for rec in current_labels_of(store, [s["id"] for s in samples]):
        current[rec["sample_id"]][rec["reviewer"]] = rec
    verdicts = {m: verdict(_accuracy(cells)) for m, cells in by_model.items()}
    return {"item": item, "budgets": budgets, "models": dict(sorted(by_model.items())), "labels": current,
            "verdicts": verdicts}


# -- highlighting: escape every piece of model text first, then wrap matched ranges in our own tags -----------------
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def distractor_numbers(spans: list[str], exclude: set[str]) -> list[str]:
    """Numbers written in the distractor spans (e.g. '61', '4.99'), minus the expected answer."""
    return sorted({n for span in spans for n in _NUMBER.findall(span)} - exclude, key=lambda n: (-len(n), n))


def highlight(text: str, spans: list[str], numbers: list[str] | None = None) -> Markup:
    """`text` as safe HTML with exact `spans` wrapped in <mark class="distractor"> and `numbers` (whole numbers
    only, not digits inside longer ones) in <mark class="num">. Overlaps keep the earlier, longer match."""
    ranges: list[tuple[int, int, str]] = []
    for span in sorted({s for s in spans if s}, key=len, reverse=True):
        ranges += [(m.start(), m.end(), "distractor") for m in re.finditer(re.escape(span), text)]
    if numbers:
        pattern = re.compile(r"(?<![\d.])(?:" + "|".join(map(re.escape, numbers)) + r")(?![\d]|\.\d)")
        ranges += [(m.start(), m.end(), "num") for m in pattern.finditer(text)]
    ranges.sort(key=lambda r: (r[0], -(r[1] - r[0])))
    out: list[str] = []
    pos = 0
    for start, end, cls in ranges:
        if start < pos:
            continue  # overlaps a range already wrapped
        out.append(str(escape(text[pos:start])))
        out.append(f'<mark class="{cls}">{escape(text[start:end])}</mark>')
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def preview(text: str) -> tuple[str, str, int] | None:
    """(head, tail, hidden characters) when `text` is too long to show whole while collapsed, else None."""
    if len(text) <= PREVIEW_HEAD + PREVIEW_TAIL + 200:
        return None
    return text[:PREVIEW_HEAD], text[-PREVIEW_TAIL:], len(text) - PREVIEW_HEAD - PREVIEW_TAIL
