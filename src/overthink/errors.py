"""User-facing errors. The CLI prints their message (no traceback) and exits with code 2."""

from __future__ import annotations


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
