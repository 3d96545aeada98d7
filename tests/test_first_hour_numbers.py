"""Numbers a person reads (issue 31, item 9): counts as integers ("texts read 20", not 20.00), token means as
whole tokens ("settled at 236", not 235.75); the review list explains its U / T / E marks on the page."""

from __future__ import annotations

import pandas as pd
from review_fixtures import stub_run
from starlette.testclient import TestClient

from overthink.report.html import _rows
from overthink.review.app import ReviewConfig, create_app


def test_a_whole_float_is_shown_as_an_integer():
    table = _rows(pd.DataFrame({"n_text": [20.0, 3.5]}), {"texts read": "n_text"})
    assert [r[0] for r in table["rows"]] == ["20", "3.50"]


def test_trajectory_token_means_are_whole_tokens(monkeypatch):
    import overthink.report.trajectories as traj_module

    shares = pd.DataFrame([{"task": "t", "model": "m", "design": "shared trace", "n_trajectories": 4, "n_items": 4,
                            **{f"{k}{s}": 0.25 for k in ("share_correct_to_wrong", "share_wrong_to_correct",
                                                          "share_lost") for s in ("", "_lo", "_hi")},
                            "mean_settled_at": 235.75, "mean_stability_tokens": 20.25}])
    monkeypatch.setattr(traj_module, "cut_curve", lambda traj: traj)
    monkeypatch.setattr(traj_module, "trajectory_figure", lambda curve: None)
    out = traj_module.trajectory_context({"trajectories": pd.DataFrame({"x": [1]}), "flip_shares": shares,
                                          "flips": None}, lambda *_: None)
    assert out["trajectories"]["table"]["rows"][0][-2:] == ["236", "20"]


def test_the_review_list_explains_its_marks(tmp_path):
    config = ReviewConfig(stub_run(tmp_path / "run", limit=2, budgets="0,64"), default_reviewer="ann")
    client = TestClient(create_app(config), base_url="http://127.0.0.1")
    page = client.get(f"/?token={config.token}").text
    legend = page[page.index('id="legend"'):]
    legend = legend[:legend.index("</p>")]
    for words in ("correct", "wrong", "error", "truncated", "U</span> unparsed (no answer could be read)"):
        assert words in legend
