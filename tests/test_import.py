"""`overthink tasks import`: paper schema, field mapping, line-numbered validation, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overthink.tasks import get_task


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_import_paper_schema(cli, tmp_path: Path, home: Path) -> None:
    src = write_jsonl(tmp_path / "mine.jsonl", [
        {"prompt": "2+2?", "answer": 4, "difficulty": "easy"},
        {"id": "q-b", "prompt": "3+4?", "answer": "7"},
    ])
    res = cli("import", src, "--name", "mine")
    assert res.exit_code == 0, res.output
    task = get_task("mine")
    items = {i.id: i for i in task.items()}
    assert set(items) == {"mine-1", "q-b"}
    assert items["mine-1"].metadata == {"difficulty": "easy"}
    assert task.scoring.value == "numeric"
    assert task.grade(items["q-b"], "<answer>7</answer>").correct is True
    assert cli("import", src, "--name", "mine").exit_code == 2  # exists: needs --force
    assert cli("import", src, "--name", "mine", "--force").exit_code == 0


def test_import_choice_csv_with_list_strings(cli, tmp_path: Path) -> None:
    src = tmp_path / "mc.csv"
    src.write_text('prompt,classes,answer_index,round\n"Pick, then ""go""","[\' yes\', \' no\']",1,2\n')
    assert cli("import", src, "--name", "mc").exit_code == 0
    (item,) = get_task("mc").items()
    assert item.choices == (" yes", " no") and item.expected == "B" and item.metadata == {"round": 2}
    assert item.prompt == 'Pick, then "go"'


def test_import_with_field_mapping(cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "other.jsonl", [{"question": "Capital of France?", "target": "Paris", "uid": 7}])
    res = cli("import", src, "--name", "caps", "--map", "prompt=question,answer=target", "--map", "id=uid")
    assert res.exit_code == 0, res.output
    (item,) = get_task("caps").items()
    assert (item.id, item.prompt, item.answer) == ("7", "Capital of France?", "Paris")
    assert get_task("caps").scoring.value == "exact"
    res = cli("import", src, "--name", "caps2", "--map", "prompt=nope")
    assert res.exit_code == 2 and "other.jsonl:1: mapped field 'nope'" in res.output
    assert cli("import", src, "--name", "caps3", "--map", "question").exit_code == 2


@pytest.mark.parametrize(("line", "message"), [
    ('{"prompt": "a", "answer": 1', "not valid JSON"),
    ('["prompt", "answer"]', "expected a JSON object"),
    ('{"answer": 1}', "missing field `prompt`"),
    ('{"prompt": "a"}', "missing field `answer`"),
    ('{"prompt": 5, "answer": 1}', "`prompt` must be a non-empty string"),
    ('{"prompt": "a", "answer": [1]}', "`answer` must be a string or number"),
    ('{"prompt": "a", "answer": true}', "`answer` must be a string or number"),
    ('{"prompt": "a", "classes": ["x", "y"]}', "missing field `answer_index`"),
    ('{"prompt": "a", "classes": ["x", "y"], "answer_index": "one"}', "`answer_index` must be an integer"),
    ('{"prompt": "a", "classes": ["x", "y"], "answer_index": 2}', "out of range"),
    ('{"prompt": "a", "classes": "not a list", "answer_index": 0}', "not a Python/JSON list literal"),
    ('{"prompt": "a", "classes": {"x": 1}, "answer_index": 0}', "must be a list"),
    ('{"prompt": "a", "classes": ["x"], "answer_index": 0}', "at least 2"),
    ('{"id": "ok-1", "prompt": "dup", "answer": 1}', "duplicate id 'ok-1'"),
])
def test_bad_line_exit_2_with_line_number_and_nothing_imported(cli, tmp_path: Path, home: Path,
                                                                 line: str, message: str) -> None:
    src = write_jsonl(tmp_path / "bad.jsonl", [{"id": "ok-1", "prompt": "fine", "answer": 1},
                                               {"prompt": "fine too", "answer": 2}, line])
    res = cli("import", src, "--name", "bad")
    assert res.exit_code == 2
    assert "bad.jsonl:3: " in res.output and message in res.output
    assert "Traceback" not in res.output
    assert not list((home / "tasks").glob("bad*"))


def test_every_bad_line_is_listed(cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "many.jsonl", [{"prompt": "a"}, {"prompt": "b", "answer": 1}, {"answer": 2}])
    res = cli("import", src, "--name", "many")
    assert res.exit_code == 2 and "2 bad line(s)" in res.output
    assert "many.jsonl:1:" in res.output and "many.jsonl:3:" in res.output


def test_csv_errors_name_the_record_line(cli, tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text('prompt,answer\n"multi\nline",1\nshort\n')
    res = cli("import", src, "--name", "badcsv")
    assert res.exit_code == 2 and "bad.csv:4: fewer cells" in res.output


def test_mixed_and_bad_names(cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "mixed.jsonl", [{"prompt": "a", "answer": 1},
                                                 {"prompt": "b", "classes": ["x", "y"], "answer_index": 0}])
    assert "mixes multiple-choice" in cli("import", src, "--name", "mixed").output
    ok = write_jsonl(tmp_path / "ok.jsonl", [{"prompt": "a", "answer": 1}])
    for bad in ("gsm8k", "a/b", ""):
        assert cli("import", ok, "--name", bad).exit_code == 2
    assert cli("import", tmp_path / "missing.jsonl", "--name", "x").exit_code == 2
    odd = tmp_path / "data.txt"
    odd.write_text("prompt\n")
    assert "unsupported file type" in cli("import", odd, "--name", "x").output


def test_csv_as_tasks_export_writes_it(cli, tmp_path: Path) -> None:
    """`tasks export` CSV: classes as a JSON array, empty cells for the other kind, JSON metadata cells."""
    src = tmp_path / "exported.csv"
    src.write_text('id,prompt,answer,classes,answer_index,distractor_spans,hard\n'
                   'a,"How many?",2,,,"[""x is 3."", ""y is 4.""]",true\n'
                   'b,"How many more?",5,,,[],false\n')
    assert cli("import", src, "--name", "exported").exit_code == 0
    items = {i.id: i for i in get_task("exported").items()}
    assert items["a"].metadata == {"distractor_spans": ["x is 3.", "y is 4."], "hard": True}
    assert items["b"].answer == 5 and get_task("exported").scoring.value == "numeric"
    choice = tmp_path / "choice.csv"
    choice.write_text('id,prompt,classes,answer_index\nc,"Pick","[""yes"", ""no""]",0\n')
    assert cli("import", choice, "--name", "choice").exit_code == 0
    assert get_task("choice").items()[0].choices == ("yes", "no")


def test_every_bad_line_is_reported_including_invalid_json(cli, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "bad.jsonl", [
        {"prompt": "ok", "answer": 1},
        "not json at all",
        {"prompt": "x", "classes": ["a", "b"], "answer_index": 5},
        {"answer": 3},
        {"prompt": "", "answer": 3},
    ])
    res = cli("import", src, "--name", "bad")
    assert res.exit_code == 2
    for line, needle in ((2, "not valid JSON"), (3, "out of range"), (4, "missing field `prompt`"),
                         (5, "got an empty string")):
        assert f"bad.jsonl:{line}: " in res.output and needle in res.output


def test_imported_and_derived_tasks_are_listed(cli, tmp_path: Path) -> None:
    from overthink.tasks import task_names

    src = write_jsonl(tmp_path / "mine.jsonl", [{"prompt": "2+2?", "answer": 4}, {"prompt": "3+4?", "answer": 7}])
    assert cli("import", src, "--name", "mine").exit_code == 0
    assert cli("distract", "mine", "--kinds", "math", "--counts", "1", "--out", "mine-d").exit_code == 0
    assert {"mine", "mine-d"} <= set(task_names())
