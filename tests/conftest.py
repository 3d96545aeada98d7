"""Fixtures every test shares: an isolated OVERTHINK_HOME, the `tasks` CLI group for in-process calls, inspect_ai logs
made once; and how `make test` spreads the suite over pytest-xdist workers (one per core and one more,
`--dist loadgroup`)."""

import os
import sys
import weakref
from pathlib import Path

import pytest
import typer.main
import typer.testing
from import_fixtures import make_inspect_logs
from llama_server import llama_server_url  # noqa: F401 - one real llama.cpp server for the llama.cpp unit
from servers.profile_api import ProfileAPI

_COMMANDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _command_once(app: typer.Typer):
    """The click command tree of a Typer app, built once per app and worker: typer's CliRunner rebuilds it on every
    invoke (~70 ms: it evaluates every option's annotations), which a real process does once at start."""
    if app not in _COMMANDS:
        _COMMANDS[app] = typer.main.get_command(app)
    return _COMMANDS[app]


typer.testing._get_command = _command_once  # CliRunner.invoke reads this module global

# SDKs no test module imports at collection: every xdist worker collects every file, so a module-level import costs
# each worker its CPU (anthropic ~3 s, inspect_ai ~2.5 s, openai ~1 s) though one worker runs the file's tests.
# test_architecture.py asserts the list stays empty.
SDKS = ("anthropic", "openai", "inspect_ai", "google.genai")
SDKS_AT_COLLECTION: list[str] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    SDKS_AT_COLLECTION[:] = [name for name in SDKS if name in sys.modules]


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


@pytest.fixture(scope="session")
def inspect_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real inspect_ai eval logs at three efforts (tests/import_fixtures.py), made once: test_import_results.py and
    test_summary_cost.py read them (one xdist unit, below)."""
    pytest.importorskip("inspect_ai")  # the test extra has it; only these tests need it
    return make_inspect_logs(tmp_path_factory.mktemp("inspect_logs"))



# pytest-xdist (`make test`: -n CORES+1 --dist loadgroup). Each test file is one work unit, so a file's module-scoped
# fixtures (a started server, a loaded model, a run built once) are built once, on one worker. The real llama.cpp
# files are one unit together: two model servers on a 2-core machine would each stall the other's threads. The
# calibration files' tests share no fixture and are spread one by one (their simulations are the longest tests).
# The units are made here rather than with xdist_group marks: xdist 3.8 marks a group by renaming the test's
# node id, which pytest >= 9.1 no longer reads (every marked test would be spread one by one).
LLAMA_CPP = {"test_local_model.py", "test_local_long_runs.py", "test_provider_openai_compatible.py",
             "test_server_sweep.py", "test_server_sweep_runs.py", "test_check.py"}
# The files that use inspect_ai in process are one unit: importing it costs a worker ~2.5 s of CPU and its first
# eval ~7 s more (its SDKs), later evals well under 1 s; two of them share the session's `inspect_logs`.
INSPECT_AI = {"test_ecosystem.py", "test_import_results.py", "test_summary_cost.py"}
SPREAD = {"test_calibration.py", "test_analysis_calibration.py", "test_sequential_calibration.py",
          "test_sweetspot_calibration.py"}


def work_unit(nodeid: str) -> str:
    """The xdist work unit of a test: its file, the llama.cpp or inspect_ai unit, or the test alone."""
    path = nodeid.split("::", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if name in SPREAD:
        return nodeid
    return "llama.cpp" if name in LLAMA_CPP else "inspect_ai" if name in INSPECT_AI else path


def _rank(nodeid: str) -> int:
    unit = work_unit(nodeid)
    return 0 if unit == "llama.cpp" else 2 if unit == nodeid else 1


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # hand the units out in the order below, not by their number of tests
    return FileUnits(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Work units are handed out in collection order: the longest unit (llama.cpp) first, the short spread-out tests
    # last, where they fill the gap while the other worker finishes its unit. Only on xdist workers; a stable sort
    # (each file's tests keep their order).
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: _rank(item.nodeid))
