"""API keys from the environment or a `.env` file, and redaction so keys never reach stores, logs or reports.

Keys are read at model load time and held only in provider clients. A config may name the *variable* holding
a key (`model_options: {SPEC: {api_key_env: MY_KEY}}`) but never contain a key itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dotenv import dotenv_values

from .errors import ConfigError, ModelUnavailable

_SEEN: set[str] = set()  # every key handed out in this process, for redact()
_FORBIDDEN_OPTIONS = ("api_key", "key", "token", "secret", "password", "authorization")


def get_key(var: str, *, env_file: str | Path | None = ".env", what: str = "") -> str:
    """The value of `var` from the environment, else from `env_file`. Missing: a one-line ModelUnavailable."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var or ""):
        raise ConfigError(f"api_key_env {var!r} is not a valid environment variable name")
    value = os.environ.get(var)
    if not value and env_file is not None and Path(env_file).is_file():
        value = dotenv_values(env_file).get(var)  # read only; the process environment is not changed
    if not value:
        raise ModelUnavailable(f"{var} is not set{' (needed by ' + what + ')' if what else ''}: "
                               f"export it or put it in .env")
    _SEEN.add(value)
    return value


def check_options(spec: str, options: dict) -> None:
    """Refuse a key written into the config: configs are stored with the run."""
    for name in options:
        if name.lower() in _FORBIDDEN_OPTIONS:
            raise ConfigError(f"model_options for {spec}: {name!r} looks like a secret; configs are stored with "
                              f"the run. Put the key in the environment or .env and name its variable with "
                              f"api_key_env")


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """Replace every known key (and bearer/x-api-key header values) in `text`."""
    for secret in (*_SEEN, *extra):
        if secret and len(secret) >= 6:
            text = text.replace(secret, "[REDACTED]")
    return re.sub(r"(?i)(bearer\s+|x-api-key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9_\-.]{8,}", r"\1[REDACTED]", text)
