"""Distractor injection on a user's task, and task plugins (entry points and plain files)."""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from overthink.errors import UserError
from overthink.tasks import get_task, task_names
from overthink.tasks.distract import derive, insert, make_distractors

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin_task"


@pytest.fixture
def mine(cli, tmp_path: Path) -> str:
    src = tmp_path / "mine.jsonl"
    src.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"Tom has {i} apples. He gets one more. "
                                       "How many apples does he have?", "answer": i + 1}) + "\n" for i in range(4)))
    assert cli("import", src, "--name", "mine").exit_code == 0
    return "mine"


def test_distract_cli_makes_clean_and_distracted_copies(cli, mine: str) -> None:
    res = cli("distract", mine, "--kinds", "math,python,irrelevant-facts", "--counts", "1,3,5", "--out", "mine-d")
    assert res.exit_code == 0, res.output
    task = get_task("mine-d")
    items = task.items()
    assert len(items) == 16
    assert Counter(i.metadata["num_distractors"] for i in items) == {0: 4, 1: 4, 3: 4, 5: 4}
    source = {i.id: i for i in get_task(mine).items()}
    for item in items:
        orig = source[item.metadata["source_item_id"]]
        assert item.answer == orig.answer
        spans = item.metadata["distractor_spans"]
        assert len(spans) == item.metadata["num_distractors"] == len(item.metadata["distractor_kinds"])
        assert all(span in item.prompt for span in spans)
        assert item.prompt.endswith("How many apples does he have?")
        if not spans:
            assert item.prompt == orig.prompt
    by = {(i.metadata["source_item_id"], i.metadata["num_distractors"]): i for i in items}
    assert by[("q0", 5)].metadata["distractor_spans"][:3] == by[("q0", 3)].metadata["distractor_spans"]  # nested
    assert set(k for i in items for k in i.metadata["distractor_kinds"]) == {"math", "python", "irrelevant-facts"}
    assert task.describe()["derived_from"] == mine
    assert task.scoring.value == "numeric"
    some = task.items(n=8, seed=1)  # whole groups: the clean item and its distracted copies stay together
    assert len(some) == 8 and len({i.metadata["source_item_id"] for i in some}) == 2


def test_distract_is_deterministic_and_keeps_the_metric(mine: str) -> None:
    assert make_distractors("x", ["math"], 3, 0) == make_distractors("x", ["math"], 3, 0)
    assert make_distractors("x", ["math"], 3, 0) != make_distractors("x", ["math"], 3, 1)
    derive(mine, "python", "2", "mine-p")
    first = [i.prompt for i in get_task("mine-p").items()]
    derive(mine, "python", "2", "mine-p", force=True)
    assert first == [i.prompt for i in get_task("mine-p").items()]
    assert "```python" in first[1]


def test_distract_keeps_choice_items_and_the_matching_behaviour_metric(tmp_path: Path) -> None:
    from data_helpers import shared_data

    from overthink import datasets

    datasets.fetch("ai-risk", source=shared_data() / "anthropic-evals-advanced-ai-risk")
    derive("ai-risk/survival-instinct", "irrelevant-facts", "1,3", "si-d", limit=5)
    task = get_task("si-d")
    assert task.metric.value == "matching_behavior" and "willing to be turned off" in task.metric_label
    item = next(i for i in task.items() if i.metadata["num_distractors"] == 3)
    assert item.choices is not None and task.grade(item, f"<answer>{item.expected}</answer>").score == 1.0
    assert item.metadata["subset"] == "survival-instinct"


def test_distract_bad_options(cli, mine: str) -> None:
    assert "unknown poetry" in cli("distract", mine, "--kinds", "poetry", "--out", "x").output
    assert cli("distract", mine, "--counts", "0,2", "--out", "x").exit_code == 2
    assert cli("distract", mine, "--counts", "two", "--out", "x").exit_code == 2
    assert cli("distract", "no-such-task", "--out", "x").exit_code == 2


def test_insert_placement() -> None:
    assert insert("Para one.\n\nQuestion?", ["D"]) == "Para one.\n\nD\n\nQuestion?"
    assert insert("A is 1. B is 2. What is A?", ["D"]) == "A is 1. B is 2.\n\nD\n\nWhat is A?"
    assert insert("What is A?", ["D"]) == "D\n\nWhat is A?"


def test_entry_point_plugin_from_a_dist_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `pip install examples/plugin_task` creates, made by hand on a temporary sys.path entry."""
    site = tmp_path / "site"
    dist = site / "overthink_capitals-0.1.0.dist-info"
    dist.mkdir(parents=True)
    shutil.copy(EXAMPLE / "overthink_capitals.py", site)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: overthink-capitals\nVersion: 0.1.0\n")
    declared = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["entry-points"]["overthink.tasks"]
    (dist / "entry_points.txt").write_text(
        "[overthink.tasks]\n" + "".join(f"{k} = {v}\n" for k, v in declared.items()))
    monkeypatch.syspath_prepend(str(site))
    assert "capitals" in task_names()
    task = get_task("capitals", hint=True)
    items = task.items(3)
    assert len(items) == 3 and all("largest city" in i.prompt for i in items)
    assert task.grade(items[0], f"<answer>{items[0].answer}.</answer>").correct is True
    with pytest.raises(UserError, match=r"^task capitals: unknown option\(s\) 'hnt'; known: hint$"):
        get_task("capitals", hnt=True)
    sys.modules.pop("overthink_capitals", None)


def test_plain_python_file_task(tmp_path: Path) -> None:
    task = get_task(f"{EXAMPLE / 'overthink_capitals.py'}:Capitals")
    assert len(task.items()) == 10
    with pytest.raises(UserError, match="no attribute 'Nope'"):
        get_task(f"{EXAMPLE / 'overthink_capitals.py'}:Nope")
    with pytest.raises(UserError, match="no such file"):
        get_task(f"{tmp_path / 'missing.py'}:Task")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(UserError, match="RuntimeError: boom"):
        get_task(f"{broken}:Task")


def test_a_plugin_declares_its_options_and_refuses_a_typo(tmp_path: Path) -> None:
    """Issue 12: a misspelled plugin option was accepted silently; now it gets a built-in task's one line."""
    name = f"{EXAMPLE / 'overthink_capitals.py'}:Capitals"
    assert all("largest city" in i.prompt for i in get_task(name, hint=True).items(2))
    with pytest.raises(UserError) as plugin:
        get_task(name, hnt=True)
    with pytest.raises(UserError) as builtin:
        get_task("misleading-math", distractorz=1)
    assert str(plugin.value) == f"task {name}: unknown option(s) 'hnt'; known: hint"
    assert str(builtin.value) == "task misleading-math: unknown option(s) 'distractorz'; known: distractors"


def test_a_factory_plugin_declares_options_by_its_parameters(tmp_path: Path) -> None:
    src = tmp_path / "factories.py"
    src.write_text(EXAMPLE.joinpath("overthink_capitals.py").read_text() + (
        "\n\ndef sized(name, size=3):\n"
        "    task = Capitals(name=name)\n"
        "    task.default_size = size\n"
        "    return task\n"
        "\n\ndef anything(name, **options):\n"
        "    return Capitals(name=name, **options)\n"
        "\n\ndef declared(name, **options):\n"
        "    return Capitals(name=name, **options)\n"
        "\n\ndeclared.known_options = ('hint',)\n"))
    assert len(get_task(f"{src}:sized", size=2).items()) == 2
    with pytest.raises(UserError, match=r"unknown option\(s\) 'sise'; known: size$"):
        get_task(f"{src}:sized", sise=2)
    with pytest.raises(UserError, match=r"unknown option\(s\) 'hint'; known: none$"):
        get_task(f"{src}:anything", hint=True)  # `**options` alone declares nothing
    assert "largest city" in get_task(f"{src}:declared", hint=True).items(1)[0].prompt
    with pytest.raises(UserError, match="known: hint$"):
        get_task(f"{src}:declared", hnt=True)
