"""API keys from the environment or a `.env` file, and redaction so keys never reach stores, logs or reports.

Keys are read at model load time and held only in provider clients. A config may name the *variable* holding
a key (`model_options: {SPEC: {api_key_env: MY_KEY}}`) but never contain a key itself. Before any request:
  - `check_options` refuses secret-looking option names at any depth (`extra_body.api_key`, `auth`,
    `accessToken`, `Ocp-Apim-Subscription-Key`, `headers.X-Custom-Auth`, ...: see `secret_name`), a key given as
    `api_key_env`, and in any URL credentials (`http://user:key@host/v1`), a secret-looking query parameter
    (`?api_key=`, `?key=`, `?token=`) or whitespace;
  - `refuse_keys` refuses any text of a config (a value, a name, a URL's path or query) that holds a configured
    key: the value of a key variable in the environment or `.env` (`configured_keys`) or a key handed out in this
    process. Errors name the field and the variable, never the value.

`redact` removes every key handed out in this process (and any extra ones) from a text: the key itself in any
letter case, any fragment of it of FRAGMENT characters or more (a message cut mid-key), and its base64 forms
(a Basic auth header echoed back). Redact before truncating; the store redacts every text field it writes again,
and `redact_tree` every string of a stored config.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dotenv import dotenv_values

from .errors import ConfigError, ModelUnavailable

_SEEN: set[str] = set()  # every key handed out in this process, for redact()
# Words that make a name secret-looking wherever they stand in it (after splitting on - _ . and camelCase).
_SECRET_WORDS = frozenset({"apikey", "auth", "authorization", "authentication", "bearer", "credential", "credentials",
                           "password", "passwd", "passphrase", "pwd", "secret", "secrets", "session", "cookie",
                           "cookies", "privatekey", "signature", "jwt"})
# "key" and "token" are secret-looking too, except in names that are about something else
_HARMLESS_BEFORE = {"key": frozenset({"cache", "idempotency", "sort", "partition", "dedup", "routing", "prefix"}),
                    "token": frozenset({"bos", "eos", "pad", "stop", "unk", "sep", "cls", "mask", "start", "end",
                                        "think", "thinking", "image", "audio", "video"})}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_ENV_WORDS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "credential", "credentials"})
_URL_FIELDS = ("base_url", "url", "endpoint", "api_base")
MAX_WALK = 100_000  # values a config scan visits (a config holds a few hundred; a shared subtree counts once)
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


def secret_name(name: str) -> bool:
    """Whether an option, header or query-parameter name looks like it holds a secret: it has a word of
    _SECRET_WORDS (`auth`, `credentials`, `session`, `passwd`, ...), or `key` / `token` not about something else
    (`private_key`, `apiKeyValue`, `accessToken`, `Ocp-Apim-Subscription-Key`; not `prompt_cache_key`,
    `thinking_token_budget` or `max_tokens`). A name ending in `_env` names a variable, not a value."""
    words = [w.lower() for w in _WORD.findall(name)]
    if not words or words[-1] == "env":
        return False
    for i, word in enumerate(words):
        if word in _SECRET_WORDS:
            return True
        if word in _HARMLESS_BEFORE and not (i and words[i - 1] in _HARMLESS_BEFORE[word]):
            if word == "key" or i == len(words) - 1 or words[i + 1] in ("value", "secret"):
                return True
    return False


def _refuse_name(where: str) -> ConfigError:
    return ConfigError(f"{where} looks like a secret; configs are stored with the run. Put the key in the "
                       f"environment or .env and name its variable with api_key_env")


def check_url(url: Any, where: str) -> None:
    """A base URL must be http(s)://host[:port][/path] without credentials, a secret-looking query parameter or
    whitespace (the config and the model spec are stored with the run)."""
    if not isinstance(url, str):
        raise ConfigError(f"{where}: expected a URL like http://127.0.0.1:8000/v1, got {type(url).__name__}")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ConfigError(f"{where}: a URL holds no spaces or control characters (write a space as %20)")
    _check_url_secrets(url.strip(), where)
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"{where}: not a valid URL (expected http://HOST[:PORT]/PATH)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: {url!r} is not an http(s) URL (expected http://HOST[:PORT]/PATH)")


def _check_url_secrets(url: str, where: str) -> None:
    """Credentials (user:key@host) or a secret-looking query parameter in any URL; the value is never shown."""
    rest = url.split("://", 1)[1] if "://" in url else url
    if "@" in rest.split("/", 1)[0].split("?", 1)[0]:
        raise ConfigError(f"{where}: credentials in a URL (user:key@host) are refused: configs are stored with "
                          f"the run. Put the key in the environment or .env and name its variable with api_key_env")
    query = "&".join(part.split("#", 1)[0] for part in url.split("?")[1:])
    for name, _ in parse_qsl(query, keep_blank_values=True):
        if secret_name(name):
            raise ConfigError(f"{where}: the URL's query parameter {name[:40]!r} looks like a key (the value is not "
                              f"shown); configs and model specs are stored with the run. Put the key in the "
                              f"environment or .env and name its variable with api_key_env")


def check_options(spec: str, options: Mapping[str, Any]) -> None:
    """Refuse a key written into the config (a secret-looking name at any depth), a key given as api_key_env,
    credentials or a secret-looking query parameter in a URL."""
    _check_tree(spec, options, "", set())


def _check_tree(spec: str, value: Any, path: str, seen: set[int]) -> None:
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in seen:  # a subtree shared by aliases is checked once
            return
        seen.add(id(value))
        if len(seen) > MAX_WALK:
            raise ConfigError(f"model_options for {spec}: more than {MAX_WALK:,} values; refused")
    if isinstance(value, Mapping):
        for name, sub in value.items():
            where = f"{path}.{name}" if path else str(name)
            lowered = str(name).lower()
            if lowered == "api_key_env" and not path:
                check_key_var(sub, f"model_options for {spec}: api_key_env")
            elif secret_name(str(name)):
                raise _refuse_name(f"model_options for {spec}: {where!r}")
            elif lowered in _URL_FIELDS and sub is not None:
                check_url(sub, f"model_options for {spec}: {where}")
            else:
                _check_tree(spec, sub, where, seen)
    elif isinstance(value, (list, tuple)):
        for i, sub in enumerate(value):
            _check_tree(spec, sub, f"{path}[{i}]", seen)
    elif isinstance(value, str) and "://" in value:  # each URL in a text (a template holds other '?' and '=')
        for word in value.split():
            if "://" in word:
                _check_url_secrets(word, f"model_options for {spec}: {path!r}")


def configured_keys(names: Iterable[str] = (), env_files: Iterable[str | Path] = (".env",)) -> dict[str, str]:
    """Every key this process could send, value -> where it comes from: the variables named (api_key_env) and
    every secret-looking variable (`*_API_KEY`, `*_TOKEN`, `*_SECRET`, ...) of the environment and the `.env`
    files, and every key handed out so far. Values shorter than FRAGMENT characters are left out (they would
    match ordinary words)."""
    wanted = set(names)
    sources: list[tuple[str, Mapping[str, str | None]]] = [("the environment", os.environ)]
    for file in dict.fromkeys(str(f) for f in env_files):
        if Path(file).is_file():
            try:
                sources.append((file, dotenv_values(file)))
            except (OSError, UnicodeDecodeError):
                continue  # an unreadable .env is get_key's to report, when a model needs it
    keys: dict[str, str] = {}
    for origin, values in sources:
        for var, value in values.items():
            if value and len(value) >= FRAGMENT and (var in wanted or _key_variable(var)):
                keys.setdefault(value, f"{var} ({origin})")
    for value in _SEEN:
        keys.setdefault(value, "a key loaded for a model")
    return keys


def _key_variable(var: str) -> bool:
    """`OPENAI_API_KEY`, `GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `DB_PASSWORD`; not `PWD`, `SSH_AUTH_SOCK` or
    `DESKTOP_SESSION`, whose values (paths, names) are no keys and could well appear in a config."""
    return bool(_ENV_WORDS & {w.lower() for w in _WORD.findall(var)})


def refuse_keys(data: Any, keys: Mapping[str, str], where: str = "") -> None:
    """Refuse (ConfigError naming the field and the variable, never the value) any text of `data` - a value, a
    mapping's name, a URL's path or query - that holds one of `keys`, in any letter case."""
    lowered = {k.lower(): origin for k, origin in keys.items()}
    if not lowered:
        return
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(data, where)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, (Mapping, list, tuple)):
            if id(value) in seen:
                continue
            seen.add(id(value))
            if len(seen) > MAX_WALK:
                raise ConfigError(f"{where or 'the config'}: more than {MAX_WALK:,} values; refused")
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for name, sub in items:
                sub_path = f"{path}[{name}]" if not isinstance(value, Mapping) else \
                    f"{path}.{name}" if path else str(name)
                if isinstance(name, str):
                    stack.append((name, f"a name in {path or 'the config'}"))
                stack.append((sub, sub_path))
        elif isinstance(value, str) and len(value) >= MIN_KEY:
            text = value.lower()
            origin = next((o for k, o in lowered.items() if k in text), None)
            if origin is not None:
                raise ConfigError(f"{path or 'the config'} holds the key of {origin} (the value is not shown); "
                                  f"configs and model specs are stored with the run: name the key's variable "
                                  f"with api_key_env instead")


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


def redact_tree(value: Any) -> Any:
    """A JSON-like value (a config, a model description) with every string, names included, redacted."""
    if isinstance(value, Mapping):
        return {redact(k) if isinstance(k, str) else k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return redact(value) if isinstance(value, str) else value
