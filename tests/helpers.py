"""Shared test helpers (import as `from helpers import ...`)."""

import contextlib
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CliResult:
    """What a shell sees of one `overthink` command: its exit code and its stdout and stderr apart."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> CliResult:
    """`overthink ARGS` in this process: the real app (overthink.cli.app, the one `python -m overthink` runs) through
    click's CliRunner, with `env` set in os.environ and `cwd` the working directory while it runs. An exception
    that escapes the app is printed to stderr as a traceback with exit code 1, as Python does for a real process.

    Saves the ~1-2 s of interpreter start and imports a subprocess pays per command. Exit codes after a signal,
    the lock held by a second process, start-up behaviour and import side effects need a real process:
    `run_process` (`timeout` applies only there). Where an event loop runs in this thread (playwright's sync API
    keeps one while a browser fixture lives), a command's asyncio.run() cannot start: there it is `run_process`."""
    import asyncio

    if asyncio._get_running_loop() is not None:
        return run_process(*args, cwd=cwd, env=env, timeout=timeout)
    from typer.testing import CliRunner

    from overthink.cli import app

    runner = CliRunner()  # click >= 8.2: stdout and stderr are captured apart
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = runner.invoke(app, [str(a) for a in args], env=env, prog_name="python -m overthink")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return CliResult([str(a) for a in args], result.exit_code, result.stdout, stderr)


def run_process(*args: str, cwd: Path | None = None, env: dict | None = None,
                timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess (exit codes and stderr as a user sees them), with this
    checkout's src/ first on its path."""
    src = str(ROOT / "src")
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, full_env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "overthink", *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=timeout)
