"""Verdict cards (issue 31, item 6): one plain sentence with its p-value first, the same detail fields on every
card (the "positive" card used to drop the power sentence and the paper's rule), and columns a later analysis
adds (adjusted p, shape, equivalence) shown without a change to the card code."""

from __future__ import annotations

import math

from overthink.report.cards import card
from overthink.report.html import _env


def row(verdict: str, words: str, **more) -> dict:
    base = {"task": "word-problems", "model": "local:qwen2.5-coder-0.5b", "mechanism": "forced",
            "metric": "accuracy", "paper_verdict": "positive", "paper_delta": 0.55, "first_budget": 0,
            "last_budget": 256, "first_score": 0.0, "last_score": 0.55, "first_tokens": 0.0, "last_tokens": 174.0,
            "n_items": 20, "trend": verdict, "slope": 0.069, "slope_low": 0.021, "slope_high": 0.117, "p": 0.005,
            "change": 0.55, "change_low": 0.17, "change_high": 0.93,
            "n_obs": 74, "n_clusters": 20, "detectable_change": 0.21, "scale": "per doubling",
            "uniform_score": math.nan, "verdict": verdict, "verdict_words": words, "verdict_detail": "",
            "control_active": True, "control_flags": "", "verdict_basis": "requested budgets"}
    return {**base, **more}


def test_every_card_leads_with_a_sentence_and_its_p_and_shows_the_same_fields():
    rows = [row("positive", "more reasoning makes it better"),
            row("inverse", "more reasoning makes it worse (inverse scaling)", first_score=0.65, last_score=0.21,
                slope=-0.25, slope_low=-0.42, slope_high=-0.09, p=0.002, paper_verdict="noisy"),
            row("no trend", "no clear trend", p=0.43, slope=0.1, slope_low=-0.2, slope_high=0.4)]
    cards = [card(r) for r in rows]
    assert cards[0]["lead"] == ("More reasoning makes it better: accuracy 0.0 % at budget 0, 55.0 % at budget 256 "
                                "(p = 0.005).")
    assert cards[1]["lead"].endswith("(p = 0.002).") and "65.0 % at budget 0" in cards[1]["lead"]
    labels = [[label for label, _ in c["fields"]] for c in cards]
    assert labels[0] == labels[1] == labels[2]
    assert {"power", "paper's rule (extreme budgets)", "trend test (items as clusters)"} <= set(labels[0])
    positive = dict(cards[0]["fields"])
    assert positive["power"].startswith("with 20 items this test finds a change of about 21.0 points")
    assert positive["paper's rule (extreme budgets)"].startswith("positive, +55.0 points")
    # the test's numbers (change with its CI, points per doubling) are in the details, not in the lead
    assert "points per doubling" in positive["trend test (items as clusters)"]
    assert "per doubling" not in cards[0]["lead"] and "95 % CI" not in cards[0]["lead"]


def test_new_verdict_columns_slot_in_and_the_lead_cites_the_adjusted_p():
    extra = {"p_holm": 0.01, "shape": "rises then falls", "equivalence": False}
    cards = [card(row("positive", "more reasoning makes it better", **extra)),
             card(row("no trend", "no clear trend", p_holm=math.nan, shape=None, equivalence=True))]
    assert cards[0]["lead"].endswith("(adjusted p = 0.010).")
    assert cards[1]["lead"].endswith("(p = 0.005).")  # no adjusted value on this row: the test's own p
    fields = [dict(c["fields"]) for c in cards]
    assert [f["adjusted p"] for f in fields] == ["0.010", "-"]
    assert [f["shape"] for f in fields] == ["rises then falls", "-"]
    assert [f["equivalence (within the margin)"] for f in fields] == ["no", "yes"]
    assert [label for label, _ in cards[0]["fields"]] == [label for label, _ in cards[1]["fields"]]


def test_the_card_template_escapes_and_shows_every_field():
    c = card(row("inverse", "worse", model='m"><script>alert(1)</script>'))
    html = _env().get_template("verdict_card.html.j2").render(c=c)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<dt>") == len(c["fields"]) and '<p class="lead">Worse: accuracy' in html
