"""User-facing errors. The CLI prints their message (no traceback) and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: a config field, a dataset line, an unknown model. Message names the culprit."""

    exit_code = 2


class ConfigError(UserError):
    pass


class DataError(UserError):
    pass


class ModelUnavailable(UserError):
    """A model spec that cannot be served: unknown provider, model not installed, missing key."""
