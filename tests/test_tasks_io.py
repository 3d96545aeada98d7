"""Export / read back in the paper's public schema, and the `overthink tasks` CLI group."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from overthink.cli.tasks import app
from overthink.core import Item
from overthink.errors import DataError
from overthink.tasks import get_task
from overthink.tasks.files import item_to_record, read_items, write_items

SUITE = [("misleading-math", {}), ("misleading-python", {}), ("famous-paradoxes", {}),
         ("grades-regression", {}), ("zebra", {"grids": "3x3,4x4"})]


@pytest.mark.parametrize("name,opts", SUITE)
def test_round_trip_gives_identical_items(tmp_path, name: str, opts: dict) -> None:
    items = get_task(name, **opts).items(6, seed=3)
    path = tmp_path / f"{name}.jsonl"
    assert write_items(items, path) == 6
    assert read_items(path) == items
    record = json.loads(path.read_text().splitlines()[0])
    assert record["id"] == items[0].id and record["prompt"] == items[0].prompt and "answer" in record
    assert all(k in record for k in items[0].metadata)  # metadata at top level


def test_multiple_choice_schema_and_csv(tmp_path) -> None:
    item = Item(id="q1", prompt="Pick one.", choices=("yes", "no"), answer_index=1, metadata={"subset": "x"})
    record = item_to_record(item)
    assert record == {"id": "q1", "prompt": "Pick one.", "classes": ["yes", "no"], "answer_index": 1, "subset": "x"}
    write_items([item], tmp_path / "mc.jsonl")
    assert read_items(tmp_path / "mc.jsonl") == [item]
    csv_path = tmp_path / "items.csv"
    csv_path.write_text('id,prompt,answer,classes,answer_index,level\n'
                        'a,"How many, really?",2,,,3\n'
                        'b,Choose.,,"[""A thing"", ""B thing""]",0,"{""k"": 1}"\n')
    a, b = read_items(csv_path)
    assert a == Item(id="a", prompt="How many, really?", answer=2, metadata={"level": 3})
    assert b.choices == ("A thing", "B thing") and b.answer_index == 0 and b.metadata["level"] == {"k": 1}


def test_ids_default_when_absent(tmp_path) -> None:
    path = tmp_path / "paper.jsonl"
    path.write_text('{"prompt": "You have an apple and an orange. How many fruits?", "answer": "2"}\n'
                    '{"prompt": "Q2", "answer": 3, "num_distractors": 1}\n')
    items = read_items(path)
    assert [i.id for i in items] == ["paper-1", "paper-2"]  # <file stem>-<line>
    assert items[1].metadata == {"num_distractors": 1}


@pytest.mark.parametrize("line,message", [
    ("not json", "2: not valid JSON"),
    ('{"answer": 2}', "2: missing field `prompt`"),
    ('{"prompt": "x"}', "2: missing field `answer`"),
    ('{"prompt": "x", "classes": ["a", "b"], "answer_index": 5}', "2: `answer_index` 5 is out of range"),
    ('{"prompt": "x", "classes": "ab", "answer_index": 0}', "2: `classes` is a string but not"),
    ('[1, 2]', "2: expected a JSON object"),
])
def test_bad_lines_name_file_and_line(tmp_path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "ok", "answer": 1}\n' + line + "\n")
    with pytest.raises(DataError, match=f"bad.jsonl:{message}"):
        read_items(path)


def test_bad_csv_line(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("prompt,answer\nfine,1\n,2\n")
    with pytest.raises(DataError, match="bad.csv:3: `prompt` must be a non-empty string"):
        read_items(path)
    with pytest.raises(DataError, match="no such file"):
        read_items(tmp_path / "nope.jsonl")


def test_cli_list_show_export(tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["list", "--json"])
    assert res.exit_code == 0, res.output
    rows = {json.loads(line)["name"]: json.loads(line) for line in res.output.splitlines()}
    assert rows["grades-regression"]["metric"] == "RMSE" and rows["zebra"]["paper_size"] == 200
    res = runner.invoke(app, ["show", "famous-paradoxes", "--n", "2", "--task-args", "distractors=3"])
    assert res.exit_code == 0 and res.output.count("=== fp-0-") == 2 and "3 distractor(s)" in res.output
    out = tmp_path / "mm.jsonl"
    res = runner.invoke(app, ["export", "misleading-math", "--out", str(out), "--n", "10", "--seed", "4",
                              "--task-args", '{"distractors": "0,5"}'])
    assert res.exit_code == 0, res.output
    assert read_items(out) == get_task("misleading-math", distractors="0,5").items(10, 4)
    res = runner.invoke(app, ["show", "zebra", "--task-args", "grids=9x9"])
    assert res.exit_code != 0 and "grids" in str(res.exception)
