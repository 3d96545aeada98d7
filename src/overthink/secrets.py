"""API keys from the environment or a `.env` file, and redaction so keys never reach stores, logs or reports.

Keys are read at model load time and held only in provider clients. A config may name the *variable* holding
a key (`model_options: {SPEC: {api_key_env: MY_KEY}}`) but never contain a key itself: `check_options` refuses
secret-looking option names at any depth (`extra_body.api_key`), a key given as `api_key_env`, and credentials in
a base URL (`http://user:key@host/v1`).

`redact` removes every key handed out in this process (and any extra ones) from a text: the key itself in any
letter case, any fragment of it of FRAGMENT characters or more (a message cut mid-key), and its base64 forms
(a Basic auth header echoed back). Redact before truncating; the store redacts every text field it writes again.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .errors import ConfigError, ModelUnavailable

_SEEN: set[str] = set()  # every key handed out in this process, for redact()
_FORBIDDEN_OPTIONS = ("api_key", "apikey", "key", "token", "access_token", "secret", "password", "authorization",
                      "x-api-key", "api-key", "x-goog-api-key")
MIN_KEY = 6  # shorter values are not redacted (they would match ordinary words)
FRAGMENT = 8  # a run of this many characters of a key is redacted wherever it appears
MARK = "[REDACTED]"
_VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADERS = re.compile(r"(?i)(bearer\s+|basic\s+|x-api-key[\"']?\s*[:=]\s*[\"']?|api[_-]?key[\"']?\s*[:=]\s*[\"']?)"
                      r"[A-Za-z0-9_\-.+/=]{8,}")
_patterns: dict[frozenset[str], tuple[frozenset[str], tuple[str, ...]]] = {}
_RUN = re.compile(r"[a-z0-9_\-+/=.~]{%d,}" % FRAGMENT)


def get_key(var: str, *, env_file: str | Path | None = ".env", what: str = "") -> str:
    """The value of `var` from the environment, else from `env_file`. Missing: a one-line ModelUnavailable."""
    check_key_var(var, "api_key_env")
    value = os.environ.get(var)
    if not value and env_file is not None and Path(env_file).is_file():
        value = dotenv_values(env_file).get(var)  # read only; the process environment is not changed
    if not value:
        raise ModelUnavailable(f"{var} is not set{' (needed by ' + what + ')' if what else ''}: "
                               f"export it or put it in .env")
    remember(value)
    return value


def remember(secret: str) -> None:
    """Add a key to those every later redact() removes."""
    if secret and len(secret) >= MIN_KEY:
        _SEEN.add(secret)


def check_key_var(var: Any, where: str) -> None:
    """`var` must name an environment variable; a key given there is refused without being echoed."""
    if not isinstance(var, str) or not _VAR_RE.fullmatch(var):
        raise ConfigError(f"{where} must be the NAME of an environment variable (like OPENAI_API_KEY), not a key "
                          f"or other text (the value given is not shown); put the key in the environment or .env")


def check_url(url: Any, where: str) -> None:
    """A base URL must be http(s)://host[:port][/path] without credentials (the config is stored with the run)."""
    if not isinstance(url, str):
        raise ConfigError(f"{where}: expected a URL like http://127.0.0.1:8000/v1, got {type(url).__name__}")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"{where}: not a valid URL (expected http://HOST[:PORT]/PATH)") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConfigError(f"{where}: credentials in a URL (user:key@host) are refused: configs are stored with "
                          f"the run. Put the key in the environment or .env and name its variable with api_key_env")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: {url!r} is not an http(s) URL (expected http://HOST[:PORT]/PATH)")


def check_options(spec: str, options: Mapping[str, Any]) -> None:
    """Refuse a key written into the config (at any depth), a key given as api_key_env, credentials in a URL."""
    _check_tree(spec, options, "")


def _check_tree(spec: str, value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for name, sub in value.items():
            where = f"{path}.{name}" if path else str(name)
            lowered = str(name).lower()
            if lowered in _FORBIDDEN_OPTIONS or lowered.endswith(("_api_key", "-api-key", "_secret", "_token")):
                raise ConfigError(f"model_options for {spec}: {where!r} looks like a secret; configs are stored "
                                  f"with the run. Put the key in the environment or .env and name its variable "
                                  f"with api_key_env")
            if lowered == "api_key_env" and not path:
                check_key_var(sub, f"model_options for {spec}: api_key_env")
            elif lowered in ("base_url", "url", "endpoint", "api_base") and sub is not None:
                check_url(sub, f"model_options for {spec}: {where}")
            else:
                _check_tree(spec, sub, where)
    elif isinstance(value, (list, tuple)):
        for i, sub in enumerate(value):
            _check_tree(spec, sub, f"{path}[{i}]")
    elif isinstance(value, str) and "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0]:
        raise ConfigError(f"model_options for {spec}: {path!r} holds a URL with credentials (user:key@host); "
                          f"refused: configs are stored with the run")


def _forms(secret: str) -> Iterable[str]:
    """What to look for: the key, and each base64 form it can take inside a longer encoded text."""
    yield secret
    raw = secret.encode()
    for shift in range(3):  # the key at each byte offset modulo 3 inside an encoded text
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + raw).decode()
            # drop the characters that mix in the neighbouring bytes: the rest is fixed by the key alone
            start = (shift * 4 + 2) // 3
            core = encoded[start:].rstrip("=")
            core = core[: len(core) - (1 if (shift + len(raw)) % 3 else 0)]
            if len(core) >= MIN_KEY:
                yield core


def _windows(secrets: frozenset[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Every window of FRAGMENT characters of every form of every key (lower-cased), and the forms themselves
    (a match is grown along them)."""
    if secrets not in _patterns:
        forms = tuple({f.lower() for s in secrets for f in _forms(s)})
        windows = frozenset(f[i:i + min(FRAGMENT, len(f))] for f in forms
                            for i in range(max(1, len(f) - FRAGMENT + 1)))
        _patterns[secrets] = (windows, forms)
        if len(_patterns) > 64:  # keys come and go in tests; keep the cache small
            _patterns.pop(next(iter(_patterns)))
    return _patterns[secrets]


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """Replace every known key (any case, any fragment of FRAGMENT+ characters, base64 forms) and bearer /
    basic / x-api-key header values in `text`."""
    secrets = frozenset(s for s in (*_SEEN, *extra) if s and len(s) >= MIN_KEY)
    if secrets:
        text = _cut(text, *_windows(secrets))
    return _HEADERS.sub(lambda m: m[1] + MARK, text)


def _cut(text: str, windows: frozenset[str], forms: tuple[str, ...]) -> str:
    """Find key windows inside runs of key-like characters (cheap on prose: few runs are long), grow each match
    both ways while it is still part of a key's form, then replace the merged spans."""
    lowered = text.lower()
    spans: list[list[int]] = []
    size = min(len(w) for w in windows)
    run_re = _RUN if all(_RUN.fullmatch(f) for f in forms) else re.compile(f".{{{size},}}", re.DOTALL)
    for run in run_re.finditer(lowered):
        i, stop = run.start(), run.end()
        while i + size <= stop:
            if lowered[i:i + size] not in windows:
                i += 1
                continue
            start, end = i, i + size
            while end < len(text) and any(lowered[start:end + 1] in f for f in forms):
                end += 1
            while start > 0 and any(lowered[start - 1:end] in f for f in forms):
                start -= 1
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
            i = end
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], MARK]
        last = end
    return "".join(out) + text[last:]


def redact_stored(value: Any) -> Any:
    """A value about to be stored, with every key handed out in this process removed (fast when there is none)."""
    if not _SEEN or not isinstance(value, str):
        return value
    return redact(value)
