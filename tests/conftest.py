"""Fixtures every test shares: an isolated OVERTHINK_HOME, and the `tasks` CLI group for in-process calls."""

from pathlib import Path

import pytest
from servers.profile_api import ProfileAPI


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


@pytest.fixture
def serve():
    """start(profile, **kw) -> a running server-profile API (tests/servers/profile_api.py); all stop after
    the test. test_datasets.py has a `serve` of its own."""
    started = []

    def start(profile: str, **kw) -> ProfileAPI:
        api = ProfileAPI(profile, **kw).start()
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()
