"""The terminal console every command prints through (light: commands that print no report import it)."""

from __future__ import annotations

from rich.console import Console


def wide_console() -> Console:
    """The terminal's console, or a wide one when output goes to a file or pipe (tables are not cut at 80)."""
    console = Console()
    return console if console.is_terminal else Console(width=160)
