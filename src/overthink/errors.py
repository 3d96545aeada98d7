"""User-facing errors. The CLI prints their message (no traceback) and exits with code 2."""

from __future__ import annotations

# Exit codes of run / resume / quickstart (README "Exit codes"; overthink.api.RunResult.exit_code): done, some
# samples ended with an error, stopped by a failure, stopped by a signal (128 + its number). Bad input is 2.
EXIT_OK, EXIT_ERRORS, EXIT_STOPPED, EXIT_SIGNAL = 0, 3, 4, 128


def install_hint(extra: str) -> str:
    """How to add an optional extra. overthink is installed from its repository (it is not on a package index,
    so `pip install overthink[...]` would fetch nothing, or someone else's package)."""
    return (f"install the '{extra}' extra from your clone of the repository: make dev (every extra) or "
            f".venv/bin/pip install -e '.[{extra}]'")


class UserError(Exception):
    """Bad input from the user: a config field, a dataset line, an unknown model. Message names the culprit."""

    exit_code = 2


class ConfigError(UserError):
    pass


class DataError(UserError):
    pass


class ModelUnavailable(UserError):
    """A model spec that cannot be served: unknown provider, model not installed, missing key."""
