"""Shared test helpers (import as `from helpers import ...`)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    """Run the real console entry point in a subprocess (exit codes and stderr as a user sees them)."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "overthink", *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=timeout)
