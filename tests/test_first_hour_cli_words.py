"""Smaller first-hour fixes (issue 31, item 9): `tasks list` gives download status its own column, `--help` shows
no type tags, a mistyped task or flag gets a "did you mean"."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from overthink.cli import app

runner = CliRunner()


def test_tasks_list_has_a_status_column_and_the_metric_stays_a_metric():
    done = runner.invoke(app, ["tasks", "list", "--json"])
    rows = {r["name"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert rows["gsm8k"]["status"] == "not downloaded: overthink data fetch gsm8k"
    assert rows["gsm8k"]["metric"] == "accuracy"
    assert rows["ai-risk"]["metric"] == "% answers matching the behaviour"
    assert rows["zebra"]["status"] == "ready" and rows["grades-regression"]["metric"] == "RMSE"
    table = runner.invoke(app, ["tasks", "list"], env={"COLUMNS": "220"}).stdout
    header = next(line for line in table.splitlines() if "name" in line and "metric" in line)
    assert header.index("metric") < header.index("status")


def test_help_shows_no_type_tags():
    for args in (["--help"], ["run", "--help"], ["tasks", "list", "--help"], ["report", "--help"],
                 ["estimate", "--help"]):
        out = runner.invoke(app, args, env={"COLUMNS": "160"}).stdout
        assert "--help" in out, args
        for tag in ("<bool>", "<int>", "<str>", "<float>", "<list[str]>", "<path>"):
            assert tag not in out, (args, tag)


def test_a_mistyped_task_or_flag_gets_a_did_you_mean():
    done = runner.invoke(app, ["run", "--model", "stub:oracle", "--task", "misleading-mat", "--budgets", "0"])
    assert done.exit_code == 2
    assert "unknown task 'misleading-mat' (did you mean 'misleading-math'?)" in done.output
    done = runner.invoke(app, ["tasks", "show", "zebar"])
    assert "(did you mean 'zebra'?)" in done.output
    done = runner.invoke(app, ["run", "--modle", "stub:oracle"])
    assert done.exit_code == 2 and "--model" in done.output.split("--modle", 1)[1]
