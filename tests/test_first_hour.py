"""A new user's first hour (issue 12): missing SDKs, estimate before download, tasks list / export, read-only
commands, --version, flag help, `run` without a model, the --task-args grammar, and the docs check's planner."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

from overthink.config import build_config
from overthink.sweep.estimate import estimate_run, registry_guess

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin_task" / "overthink_capitals.py"

# Makes `import NAME` fail as it does when NAME is not installed, then runs the real CLI in this process.
BLOCKER = """
import runpy, sys
blocked = set(sys.argv[1].split(","))
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
sys.argv = ["overthink", *sys.argv[2:]]
runpy.run_module("overthink", run_name="__main__")
"""


def overthink(*args: str, cwd: Path, block: str | None = None, env: dict[str, str] | None = None):
    """The real CLI: in this process (helpers.run_cli), or in a subprocess whose imports of `block` fail."""
    if block is None:
        return run_cli(*args, cwd=cwd, env=env)
    return subprocess.run([sys.executable, "-c", BLOCKER, block, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.mark.parametrize(("block", "args", "extra"), [
    ("anthropic", ["run", "--model", "anthropic:claude-sonnet-4-20250514", "--task", "misleading-math",
                   "--budgets", "0", "--mechanism", "native", "--limit", "1"], "api"),
    ("openai", ["run", "--model", "openai:o4-mini", "--task", "misleading-math", "--budgets", "low",
                "--mechanism", "native", "--limit", "1"], "api"),
    ("google", ["run", "--model", "gemini:gemini-2.5-flash", "--task", "misleading-math", "--budgets", "0",
                "--mechanism", "native", "--limit", "1"], "api"),
])
def test_a_missing_sdk_is_one_line_with_the_pip_install(tmp_path: Path, block: str, args: list[str],
                                                         extra: str) -> None:
    keys = {"ANTHROPIC_API_KEY": "sk-ant-test", "OPENAI_API_KEY": "sk-test", "GEMINI_API_KEY": "g-test"}
    done = overthink(*args, "--run-dir", str(tmp_path / "r"), cwd=tmp_path, block=block, env=keys)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and f"-e '.[{extra}]'" in lines[-1], done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r").exists()


def test_parquet_without_pyarrow_names_the_extra(tmp_path: Path) -> None:
    run = tmp_path / "r"
    done = overthink("run", "--model", "stub:oracle", "--task", "misleading-math", "--budgets", "0", "--limit", "2",
                     "--run-dir", str(run), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = overthink("export", str(run), "--format", "parquet", "--out", str(tmp_path / "x.parquet"),
                     cwd=tmp_path, block="pyarrow")
    assert done.returncode == 2 and "-e '.[parquet]'" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.parquet").exists()


def test_an_unrelated_missing_module_still_fails_loudly() -> None:
    from overthink.cli.common import missing_extra_message

    assert missing_extra_message(ModuleNotFoundError("x", name="numpyy")) is None
    assert "-e '.[inspect]'" in missing_extra_message(ModuleNotFoundError("x", name="inspect_ai.log"))


@pytest.mark.parametrize("preset", sorted((ROOT / "presets").glob("*.yaml")), ids=lambda p: p.stem)
def test_estimate_works_on_every_preset_before_any_download(preset: Path, home: Path) -> None:
    assert not (home / "data").exists() or not any((home / "data").iterdir())
    # Three items per task: building the presets' 50 zebra puzzles took most of this test's time, and the full-size
    # estimate of a preset is the CLI test below.
    cfg = build_config(preset).model_copy(update={"limit": 3})
    rows = estimate_run(cfg, guesses := [])
    assert rows and all(r.requests > 0 and r.input_tokens > 0 for r in rows)
    if any(t.startswith("ai-risk") for t in cfg.tasks):
        assert [g.task for g in guesses] == ["ai-risk/survival-instinct"]


def test_estimate_cli_says_which_figures_come_from_the_registry(tmp_path: Path) -> None:
    done = overthink("estimate", str(ROOT / "presets" / "paper-claude.yaml"), cwd=tmp_path,
                     env={"OVERTHINK_HOME": str(tmp_path / "home"), "COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    assert "ai-risk/survival-instinct: not downloaded" in done.stdout and "953 items" in done.stdout


def test_registry_guess_matches_the_pinned_rows() -> None:
    guess = registry_guess("ai-risk/survival-instinct", None)
    assert guess is not None and guess.items == 953 and guess.prompt_chars == 332009 // 953
    assert registry_guess("ai-risk/survival-instinct", 40).items == 40
    assert registry_guess("bbeh-zebra", None).items == 200
    from overthink.datasets import get_dataset

    assert registry_guess("ai-risk", None).items == sum(f.rows for f in get_dataset("ai-risk").files)
    assert registry_guess("misleading-math", None) is None


def test_tasks_list_dataset_cells(tmp_path: Path) -> None:
    done = overthink("tasks", "list", "--json", cwd=tmp_path, env={"OVERTHINK_HOME": str(tmp_path / "home")})
    rows = {r["name"]: r for r in map(json.loads, done.stdout.splitlines())}
    for name in ("ai-risk", "bbeh-zebra", "gsm8k"):
        assert rows[name]["family"] == name
        assert rows[name]["status"] == f"not downloaded: overthink data fetch {name}"
        assert rows[name]["metric"] in ("accuracy", "% answers matching the behaviour")  # its own column
    assert rows["bbeh-zebra"]["default_size"] == 200
    table = overthink("tasks", "list", cwd=tmp_path, env={"OVERTHINK_HOME": str(tmp_path / "home"),
                                                          "COLUMNS": "200"})
    line = next(ln for ln in table.stdout.splitlines() if ln.startswith("│ gsm8k"))
    assert "not downloaded: overthink data fetch gsm8k" in line  # one cell on one line


def test_tasks_export_refuses_a_name_that_is_not_jsonl(tmp_path: Path) -> None:
    done = overthink("tasks", "export", "misleading-math", "--out", "mm.csv", cwd=tmp_path)
    assert done.returncode == 2 and "mm.jsonl" in done.stderr and not (tmp_path / "mm.csv").exists()
    done = overthink("tasks", "export", "misleading-math", "--n", "2", "--out", "mm.jsonl", cwd=tmp_path)
    assert done.returncode == 0 and len((tmp_path / "mm.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("args", [["report", "runs/nope"], ["summary", "runs/nope"], ["export", "runs/nope"],
                                  ["review", "runs/nope"], ["check", "runs/nope"]])
def test_read_only_commands_leave_no_run_dir(tmp_path: Path, args: list[str]) -> None:
    done = overthink(*args, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


def test_version_and_help(tmp_path: Path) -> None:
    from importlib.metadata import version

    done = overthink("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"overthink {version('overthink')}"


def test_every_flag_of_every_command_has_help() -> None:
    import click
    import typer.main

    from overthink.cli import app

    missing = []

    def walk(cmd: click.Command, path: str) -> None:
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"{path} {param.opts[0]}")
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "overthink")
    assert missing == []


def test_run_help_shows_every_default() -> None:
    import click
    import typer.main

    from overthink.cli import app

    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    for param in run.params:
        if isinstance(param, click.Option) and param.name not in ("model", "task", "quiet"):
            assert "default" in (param.help or "") or param.show_default, param.name


def test_run_without_a_model_names_the_flag(tmp_path: Path) -> None:
    done = overthink("run", "--task", "misleading-math", cwd=tmp_path)
    assert done.returncode == 2 and "--model" in done.stderr and "field 'models'" not in done.stderr


def test_task_args_grammar_in_tasks_show(tmp_path: Path) -> None:
    name = f"{EXAMPLE}:Capitals"
    done = overthink("tasks", "show", name, "--n", "1", "--task-args", f"{name}.hint=true", cwd=tmp_path)
    assert done.returncode == 0 and "largest city" in done.stdout, done.stderr
    done = overthink("tasks", "show", "misleading-math", "--n", "1", "--task-args", "misleading-math.distractors=0",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = overthink("tasks", "show", "misleading-math", "--task-args", "misleading-math.distractorz=0",
                     cwd=tmp_path)
    assert done.returncode == 2 and "distractorz" in done.stderr


def test_a_misspelled_plugin_option_is_one_line_in_run_and_tasks_show(tmp_path: Path) -> None:
    name = f"{EXAMPLE}:Capitals"
    expected = f"error: task {name}: unknown option(s) 'hnt'; known: hint"
    show = overthink("tasks", "show", name, "--task-args", "hnt=true", cwd=tmp_path)
    run = overthink("run", "--model", "stub:inverse", "--task", name, "--budgets", "0", "--task-args",
                    f"{name}.hnt=true", "--run-dir", str(tmp_path / "r"), cwd=tmp_path)
    for done in (show, run):
        assert done.returncode == 2 and done.stderr.strip().splitlines() == [expected], done.stderr
    assert not (tmp_path / "r").exists()


def _check_docs():
    spec = importlib.util.spec_from_file_location("check_docs", ROOT / "scripts" / "check_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_docs"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_docs_check_plans_every_shown_command() -> None:
    docs = _check_docs()
    shown = docs.shown_commands(ROOT)
    assert any(s.text.startswith("overthink tasks list") for s in shown)
    planner = docs.Planner(ROOT)
    steps = [s for item in shown for s in planner.plan(item)]
    for step in steps:
        if step.command is None:  # skipped: only a key or an illustrative command, with the reason
            assert step.reason.startswith(("needs a real API key", "illustrative", "CI's own", "needs the internet"))
        elif step.command.startswith("overthink run"):
            assert "--limit" in step.command and "--run-dir" in step.command
    assert docs.expand("x --format a|b [--labels]") == ["x --format a", "x --format b", "x --format a --labels",
                                                       "x --format b --labels"]


def test_docs_check_fails_when_a_documented_command_fails(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "README.md").write_text("```console\novertink --version\n```\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_docs.py"), "--source", str(repo),
                           "--python", sys.executable, "--no-prepare"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "FAIL README.md:2" in done.stdout, done.stdout + done.stderr


def test_progress_total_counts_expected_tokens_not_samples() -> None:
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from overthink.progress import SweepProgress, sample_weight

    units = [SimpleNamespace(budgets=[0, 1024]) for _ in range(10)]
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    with SweepProgress(units, console=console) as bar:
        for _ in range(10):  # every cheap sample done: a sample count would say half way
            bar.advance(SimpleNamespace(budget=0, reasoning_tokens=0, status="ok"))
        total = bar._progress.tasks[bar._total]
        expected = sample_weight(0) / (sample_weight(0) + sample_weight(1024))
        assert total.completed / total.total == pytest.approx(expected)
        assert total.completed / total.total < 0.1
        assert bar._progress.tasks[bar._ids[0]].completed == 10
    assert "10/20" in console.file.getvalue()


def test_reading_commands_create_nothing_in_a_fresh_home(tmp_path: Path) -> None:
    """Commands that only read never create directories: not in OVERTHINK_HOME (models/, data/, tasks/), not in
    the working directory."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {"OVERTHINK_HOME": str(home)}
    presets = tmp_path / "presets"  # the presets at 3 items per task: building 50 zebra puzzles creates nothing
    presets.mkdir()
    for name in ("paper-open-weights.yaml", "paper-claude.yaml"):
        (presets / name).write_text((ROOT / "presets" / name).read_text() + "\nlimit: 3\n")
    for args in (["tasks", "list"], ["tasks", "list", "--json"], ["models"], ["tasks", "show", "misleading-math"],
                 ["estimate", str(presets / "paper-open-weights.yaml")],
                 ["estimate", str(presets / "paper-claude.yaml")]):
        done = overthink(*args, cwd=work, env=env)
        assert done.returncode == 0, (args, done.stderr)
        assert not list(home.iterdir()) and not list(work.iterdir()), args
    done = overthink("report", "runs/nope", cwd=work, env=env)
    assert done.returncode == 2 and not list(home.iterdir()) and not list(work.iterdir())
