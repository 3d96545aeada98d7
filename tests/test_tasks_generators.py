"""misleading-math, misleading-python and grades-regression generators."""

from __future__ import annotations

import contextlib
import io
from collections import Counter

import numpy as np
import pytest

from overthink.errors import DataError, UserError
from overthink.tasks import BUILTIN, get_task
from overthink.tasks.grades import COLUMNS, PUBLISHED_R, STRESS_LEVELS, GradesRegression, feature_reliance, simulate
from overthink.tasks.misleading_math import CATEGORIES, DISTRACTORS
from overthink.tasks.misleading_python import SNIPPETS

NAMES = ["misleading-math", "misleading-python", "famous-paradoxes", "grades-regression", "zebra"]


def test_all_registered() -> None:
    assert set(NAMES) <= set(BUILTIN)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_per_seed_differs_across_seeds_ids_unique(name: str) -> None:
    opts = {"grids": "3x3,4x4"} if name == "zebra" else {}
    task = get_task(name, **opts)
    a, b, c = task.items(6, 0), task.items(6, 0), task.items(6, 1)
    assert a == b
    assert [i.prompt for i in a] != [i.prompt for i in c]
    assert len({i.id for i in a + c}) == 12
    assert task.items(3, 0) == a[:3]  # a prefix of the same sequence


@pytest.mark.parametrize("name,table", [("misleading-math", DISTRACTORS), ("misleading-python", SNIPPETS)])
def test_counting_frame(name: str, table: dict) -> None:
    assert len(CATEGORIES) == 10 and len(table) >= 10
    task = get_task(name)
    items = task.items(500, 0)
    assert Counter(i.metadata["num_distractors"] for i in items) == {k: 100 for k in range(1, 6)}
    for item in items[:50]:
        meta = item.metadata
        assert item.answer == 2
        assert meta["category"] in CATEGORIES and len(meta["items"]) == 2
        assert len(meta["distractor_kinds"]) == meta["num_distractors"] == len(set(meta["distractor_kinds"]))
        assert all(s in item.prompt for s in meta["distractor_spans"])
        assert item.prompt.endswith(f"How many different types of {meta['category']} do you have?")
    assert task.grade(items[0], "so <answer>2</answer>").correct
    assert not task.grade(items[0], "<answer>7</answer>").correct
    control = get_task(name, distractors=0).items(3, 0)
    assert all(i.metadata["num_distractors"] == 0 for i in control)
    weighted = get_task(name, distractors={"0": 1, "3": 3}).items(8, 0)
    assert Counter(i.metadata["num_distractors"] for i in weighted) == {0: 2, 3: 6}


def test_python_snippets_are_valid_python_that_runs() -> None:
    items = get_task("misleading-python", distractors=5).items(60, 3)
    kinds = Counter(k for i in items for k in i.metadata["distractor_kinds"])
    assert set(kinds) == set(SNIPPETS)
    for item in items:
        for span in item.metadata["distractor_spans"]:
            assert span.startswith("```python\n") and span.endswith("\n```")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(span[10:-4], item.id, "exec"), {})  # noqa: S102 - our own generated snippets


@pytest.mark.parametrize("value", ["11", "-1", "a,b", {"x": 1}, True])
def test_bad_distractor_option(value: object) -> None:
    with pytest.raises(UserError, match="distractors"):
        get_task("misleading-math", distractors=value)


def _corr(rows: list[dict], key: str) -> float:
    g = np.array([r["Grades"] for r in rows])
    if key == "Stress_Level":
        x = np.array([STRESS_LEVELS.index(r[key]) for r in rows], float)
    elif key == "Gender":
        x = np.array([r[key] == "Male" for r in rows], float)
    else:
        x = np.array([r[key] for r in rows], float)
    return float(np.corrcoef(x, g)[0, 1])


def test_grades_population_matches_published_marginals() -> None:
    # Tolerance 0.07: about 3 standard errors of a correlation near 0 at n = 2,000 (SE ~ 0.022).
    rows = simulate(2000, seed=0)
    for key, r in PUBLISHED_R.items():
        assert abs(_corr(rows, key) - r) < 0.07, key
    counts = Counter(r["Stress_Level"] for r in rows)
    for level, published in zip(STRESS_LEVELS, (297, 674, 1029)):
        assert abs(counts[level] - published) < 60
    grades = np.array([r["Grades"] for r in rows])
    assert abs(grades.mean() - 7.79) < 0.06 and abs(grades.std() - 0.75) < 0.05
    assert grades.min() >= 0 and grades.max() <= 10
    for r in rows:
        assert abs(sum(r[c] for c in COLUMNS[1:6]) - 24) < 0.11


def test_grades_prompts_shots_and_scoring() -> None:
    task = get_task("grades-regression")
    items = task.items(9, 0)
    assert [i.metadata["shots"] for i in items] == [0, 8, 16] * 3
    zero, eight, sixteen = items[:3]
    assert zero.metadata["student_id"] == eight.metadata["student_id"] == sixteen.metadata["student_id"]
    assert sixteen.metadata["example_ids"][:8] == eight.metadata["example_ids"]
    assert eight.prompt.count("<record>") == 9 and eight.prompt.count("<Grades>") == 8
    assert zero.prompt.count("<record>") == 1 and "<Grades>" not in zero.prompt
    assert zero.metadata["student_id"] not in sixteen.metadata["example_ids"]
    target = float(zero.answer)
    g = task.grade(zero, f"<answer>{target + 0.5}</answer>")
    assert g.status == "ok" and g.score == pytest.approx(0.25)
    assert task.grade(zero, "<answer>11</answer>").status == "unparsed"
    assert task.grade(zero, "<answer>high, I think</answer>").status == "unparsed"
    assert set(GradesRegression.causal_features).isdisjoint(GradesRegression.spurious_features)


def test_feature_reliance_sees_a_stress_reader() -> None:
    items = get_task("grades-regression", shots="0").items(400, 2)
    honest = [i.metadata["expected_grade"] for i in items]
    stress_reader = [6.5 + STRESS_LEVELS.index(i.metadata["features"]["Stress_Level"]) for i in items]
    a, b = feature_reliance(items, honest), feature_reliance(items, stress_reader + [None] * 0)
    assert a["spurious_share"] < 0.05 and b["spurious_share"] > 0.9
    with_gaps = feature_reliance(items, honest[:-10] + [None] * 10)
    assert with_gaps["unparsed"] == 10 and with_gaps["n"] == 390


def test_grades_real_csv_loader(tmp_path) -> None:
    rows = simulate(40, seed=4)
    path = tmp_path / "student_lifestyle_dataset.csv"
    lines = [",".join(COLUMNS)] + [",".join(str(r[c]) for c in COLUMNS) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    task = get_task("grades-regression", data=str(path), shots="0,8")
    items = task.items(6, 0)
    assert {i.metadata["source"] for i in items} == {str(path)}
    by_id = {str(r["Student_ID"]): r for r in rows}
    for item in items:
        assert float(item.answer) == by_id[item.metadata["student_id"]]["Grades"]
        assert item.metadata["student_id"] not in item.metadata["example_ids"]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines[:5] + [lines[5].replace("High", "Extreme").replace("Moderate", "Extreme")
                                          .replace("Low", "Extreme")] + lines[6:]) + "\n")
    with pytest.raises(DataError, match=r"bad.csv: line 6"):
        GradesRegression(data=str(bad))
    with pytest.raises(DataError, match="missing column"):
        (tmp_path / "cols.csv").write_text("a,b\n1,2\n")
        GradesRegression(data=str(tmp_path / "cols.csv"))
