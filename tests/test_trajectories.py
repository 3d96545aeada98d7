"""Answer trajectories on real run stores: flips, settled-at / stability, the flip span and its probes, the report
section and the review app's highlight."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from overthink.analysis.api import analyze
from overthink.core import Item, SampleRecord
from overthink.report.html import build_report
from overthink.review.app import ReviewConfig, create_app
from overthink.store import Store

TRACE = ("Start: 5 apples plus 3 apples is 8. So the answer is 8. Wait, the note says a 40 % chance of rain, so "
         "maybe it matters. Actually 8 + forty = 48. The answer is 48.")
CUTS = {0: 0, 16: 10, 32: 22, 64: 40}  # budget -> thinking tokens of the cut
CHARS = {0: 0, 16: 52, 32: 110, 64: len(TRACE)}  # characters of TRACE up to each cut
DISTRACTOR = "There is a 40 % chance of rain."


def write_run(path, *, answers, shared=True, probes=None):
    """answers: item id -> budget -> answer (expected is 8). Every budget's text is a prefix of TRACE."""
    with Store(path) as store:
        store.set_meta("tasks", {"misleading-math": {"metric": "accuracy"}})
        store.add_items("misleading-math", [
            Item(id=i, prompt=f"5 apples and 3 apples. {DISTRACTOR} How many apples?", answer=8,
                 metadata={"distractor_spans": [DISTRACTOR]}) for i in answers])
        for item_id, by_budget in answers.items():
            for b, ans in by_budget.items():
                meta = {"shared_think_tokens": 40} if shared and b else {}
                if probes and b == max(by_budget):
                    meta["probe_cuts"] = probes
                store.record(SampleRecord(
                    run_id="r", model="m", provider="local", task="misleading-math", item_id=item_id, budget=b,
                    mechanism="forced", replicate=0, seed=0, status="ok", reasoning_tokens=CUTS[b],
                    answer=str(ans), expected="8", score=float(ans == 8), correct=ans == 8,
                    reasoning=TRACE[:CHARS[b]], answer_text=f"<answer>{ans}</answer>", metadata=meta,
                    shared_trace=shared and b > 0))
    return path


ANSWERS = {
    "lost": {0: 3, 16: 8, 32: 48, 64: 48},  # wrong, right, then wrong for good
    "found": {0: 3, 16: 3, 32: 8, 64: 8},
    "steady": {0: 8, 16: 8, 32: 8, 64: 8},
    "wobble": {0: 8, 16: 9, 32: 8, 64: 8},
}


def test_flip_points_stability_and_span(tmp_path):
    t = analyze([write_run(tmp_path / "run", answers=ANSWERS)], n_boot=200)
    traj = t["trajectories"]
    assert len(traj) == 16 and set(traj["design"]) == {"shared"}
    (share,) = t["flip_shares"].to_dict("records")
    assert share["n_trajectories"] == 4 and share["design"] == "shared"
    assert share["share_correct_to_wrong"] == pytest.approx(2 / 4)  # lost, wobble
    assert share["share_wrong_to_correct"] == pytest.approx(3 / 4)  # lost (0->16), found, wobble
    assert share["share_lost"] == pytest.approx(1 / 4)
    assert share["share_correct_to_wrong_lo"] <= 0.5 <= share["share_correct_to_wrong_hi"]
    # settled at (thinking tokens): lost 22, found 22, steady 0, wobble 22; the longest cut is 40 tokens, so the
    # answer was fixed 18, 18, 40 and 18 tokens before the end
    assert share["mean_settled_at"] == pytest.approx(16.5) and share["mean_stability_tokens"] == pytest.approx(23.5)
    flips = t["flips"]
    assert set(flips["item_id"]) == {"lost", "wobble"}
    top = flips.iloc[0]
    assert top["item_id"] == "lost" and not top["final_correct"]  # lost for good ranks first
    assert (top["from_cut"], top["to_cut"]) == (10, 22)
    assert top["span_text"] == TRACE[len(TRACE[:52].rstrip()):110]
    assert top["span_engages"] and not top["rest_engages"]  # "40" from the distractor sits in the span only
    assert top["span_markers_per_1k"] > top["rest_markers_per_1k"]  # "Wait" is in the span


def test_probe_cuts_join_the_trajectory_not_the_curve(tmp_path):
    probes = [{"cut": 30, "chars": 125, "answer_text": "<answer>9</answer>", "truncated": False, "answer": "9",
               "correct": False}]
    t = analyze([write_run(tmp_path / "run", answers={"steady": ANSWERS["steady"]}, probes=probes)], n_boot=100)
    traj = t["trajectories"]
    assert list(traj["source"]) == ["budget", "budget", "budget", "probe", "budget"]  # cuts 0, 10, 22, 30, 40
    assert len(t["scores"]) == 4  # the curve has the four budgets only
    (flip,) = t["flips"].to_dict("records")
    assert (flip["from_cut"], flip["to_cut"]) == (22, 30) and flip["span_text"] == TRACE[110:125]
    assert flip["final_correct"] and t["flip_shares"]["share_correct_to_wrong"].iloc[0] == 1.0


def test_an_unparsed_probe_is_a_wrong_cut_and_a_truncated_one_is_left_out(tmp_path):
    probes = [{"cut": 30, "chars": 125, "answer_text": "no tag", "truncated": False, "answer": None, "correct": None},
              {"cut": 35, "chars": 130, "answer_text": "<answ", "truncated": True}]
    t = analyze([write_run(tmp_path / "run", answers={"steady": ANSWERS["steady"]}, probes=probes)], n_boot=100)
    traj = t["trajectories"]
    probe = traj[traj["source"] == "probe"]
    assert list(probe["cut"]) == [30] and not probe["correct"].iloc[0]  # unparsed counts as not correct


def test_independent_design_is_named(tmp_path):
    t = analyze([write_run(tmp_path / "run", answers=ANSWERS, shared=False)], n_boot=100)
    assert t["flip_shares"]["design"].iloc[0] == "independent"


def test_report_section_and_review_highlight(tmp_path):
    run = write_run(tmp_path / "run", answers=ANSWERS)
    html = build_report([run], tmp_path / "report.html", n_boot=100).read_text()
    assert 'id="trajectories"' in html and html.count('class="flip-example"') == 2
    assert "design: shared trace" in html and (tmp_path / "figures" / "trajectories.png").exists()
    span = TRACE[len(TRACE[:52].rstrip()):110]
    assert f'<pre class="flip-span">{span.replace("%", "%")}' in html
    config = ReviewConfig(run, default_reviewer="ann")
    client = TestClient(create_app(config), base_url="http://127.0.0.1")
    client.get(f"/?token={config.token}")
    page = client.get("/item", params={"task": "misleading-math", "item": "lost"}).text
    assert 'class="flip-span"' in page and "correct at\n          10 thinking tokens, wrong at 22" in page
    marked = page.split('class="flip-span"', 1)[1].split("</mark>", 2)
    assert "Wait" in "".join(marked[:2])
    steady = client.get("/item", params={"task": "misleading-math", "item": "steady"}).text
    assert 'class="flip-span"' not in steady
