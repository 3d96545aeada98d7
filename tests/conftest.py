"""Fixtures every test shares: an isolated OVERTHINK_HOME, and the `tasks` CLI group for in-process calls."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own OVERTHINK_HOME (models, data, imported tasks) inside its tmp_path."""
    monkeypatch.setenv("OVERTHINK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def cli():
    """`overthink tasks ...` in process, with the same UserError -> exit 2 handling as the real CLI."""
    import typer
    from typer.testing import CliRunner

    from overthink.cli.common import ErrorGroup
    from overthink.cli.tasks_import import register

    tasks_app = typer.Typer(cls=ErrorGroup)
    register(tasks_app)
    runner = CliRunner()
    return lambda *args: runner.invoke(tasks_app, [str(a) for a in args])
