"""Server profiles for `openai-compatible:` (vLLM, SGLang, llama.cpp, Ollama, DeepSeek, xAI): which request fields
carry a server's thinking controls and where its reasoning comes back. The profiles are data
(data/server_profiles.yaml, read into `ServerProfile`); this module loads them, detects a running server and
builds the nested body fragments.

A profile is named (`server` option / `--server`) or detected once per base URL: the URL's host for hosted APIs
(no request), else GET /v1/models `owned_by`, else each profile's identifying GET endpoint (/version, /props,
/api/version, ...). Nothing found is the `generic` profile (the behaviour before profiles).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError
from ..providers.base import ServerControls
from ..yaml_text import parse_yaml

FILE = "server_profiles.yaml"
GENERIC = "generic"
PROBE_TIMEOUT_S = 3.0


class Probe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    key: str  # a top-level key the JSON answer must have


class Detect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    hosts: tuple[str, ...] = ()
    owned_by: tuple[str, ...] = ()
    probe: Probe | None = None


class ModelRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    match: str
    efforts: tuple[str, ...]


class ServerProfile(BaseModel):
    """One server's thinking controls; the fields are documented in data/server_profiles.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    title: str
    budget_field: str | None = None
    thinking_off: dict[str, Any] | None = None
    thinking_on: dict[str, Any] | None = None
    effort_field: str | None = None
    efforts: tuple[str, ...] = ()
    reasoning_fields: tuple[str, ...] = Field(default=("reasoning_content", "reasoning"), min_length=1)
    forcing: bool = True
    cache_prompt: bool = False
    token_pieces: bool = True
    key_env: str | None = None
    note: str = ""
    detect: Detect = Detect()
    models: tuple[ModelRow, ...] = ()

    def efforts_for(self, model: str) -> tuple[str, ...]:
        """The levels `model` takes: the first matching `models` row, else the profile's own list."""
        row = next((r for r in self.models if fnmatch.fnmatchcase(model, r.match)), None)
        return row.efforts if row else self.efforts


def _parse(data: Any, source: str) -> dict[str, ServerProfile]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must map profile names to profiles")
    out = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: profile {name!r} must be a mapping of fields")
        try:
            out[str(name)] = ServerProfile.model_validate({**entry, "name": str(name)})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "(profile)"
            raise ConfigError(f"{source}: profile {name!r}: field '{field}': {err['msg']}") from None
    return out


@lru_cache(maxsize=1)
def profiles() -> dict[str, ServerProfile]:
    """Every packaged profile by name."""
    source = resources.files("overthink").joinpath("data", FILE)
    try:
        data = parse_yaml(source.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML ({exc})") from None
    return _parse(data, str(source))


def get_profile(name: str, where: str = "server") -> ServerProfile:
    known = profiles()
    if name not in known:
        raise ConfigError(f"{where}: unknown server profile {name!r}; known: {', '.join(sorted(known))} "
                          f"(or auto to detect it)")
    return known[name]


def nested(path: str, value: Any) -> dict[str, Any]:
    """'custom_params.thinking_budget', 512 -> {'custom_params': {'thinking_budget': 512}}."""
    out: Any = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


def merge(body: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """`fragment` laid into `body` (nested mappings merged, so two fragments can share a parent field)."""
    out = dict(body)
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Detection:
    profile: str
    how: str  # "option", "host api.x.ai", "GET /v1/models owned_by vllm", "GET /props", "nothing identified"


def by_host(base_url: str) -> Detection | None:
    host = (urlsplit(base_url).hostname or "").lower()
    for name, profile in profiles().items():
        if host and host in profile.detect.hosts:
            return Detection(name, f"host {host}")
    return None


_DETECTED: dict[tuple[str, bool], Detection] = {}


def detect(base_url: str, headers: dict[str, str] | None = None) -> Detection:
    """Which profile a server at `base_url` (ending in /v1) is; asked once per URL per process."""
    found = by_host(base_url)
    if found:
        return found
    cache_key = (base_url, bool(headers))
    if cache_key not in _DETECTED:
        _DETECTED[cache_key] = _ask(base_url.rstrip("/"), headers or {})
    return _DETECTED[cache_key]


class _Unreachable(Exception):
    pass


def _get_json(client: httpx.Client, url: str) -> Any:
    try:
        resp = client.get(url)
    except httpx.TransportError:
        raise _Unreachable from None
    try:
        return resp.json() if resp.status_code == 200 else None
    except ValueError:
        return None


def _ask(base_url: str, headers: dict[str, str]) -> Detection:
    root = base_url.removesuffix("/v1")
    timeout = httpx.Timeout(PROBE_TIMEOUT_S, connect=PROBE_TIMEOUT_S)
    with httpx.Client(timeout=timeout, headers=headers) as client:
        try:
            return _identify(client, base_url, root)
        except _Unreachable:  # the run's first request reports an unreachable server in its own words
            return Detection(GENERIC, "server not reachable")


def _identify(client: httpx.Client, base_url: str, root: str) -> Detection:
    listing = _get_json(client, base_url + "/models")
    data = listing.get("data") if isinstance(listing, dict) else None
    owners = {str(m.get("owned_by", "")).lower() for m in data or [] if isinstance(m, dict)}
    for name, profile in profiles().items():
        hit = owners & set(profile.detect.owned_by)
        if hit:
            return Detection(name, f"GET /v1/models owned_by {sorted(hit)[0]}")
    for name, profile in profiles().items():
        probe = profile.detect.probe
        if probe is not None:
            answer = _get_json(client, root + probe.path)
            if isinstance(answer, dict) and probe.key in answer:
                return Detection(name, f"GET {probe.path}")
    return Detection(GENERIC, "nothing identified")


def choose(spec: Any, options: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[ServerProfile, str]:
    """The profile of a model: `server` from its options (a name, or auto = detect), and how it was chosen."""
    name = options.get("server", "auto")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"model_options for {spec}: server must be a profile name or auto, got {name!r}")
    if name != "auto":
        return get_profile(name, f"model_options for {spec}: server"), "option"
    found = detect(str(spec.base_url), headers)
    return get_profile(found.profile), found.how


def detected_as(profile: ServerProfile, how: str) -> str:
    """'server profile X (how it was chosen)', in words a user who did not pick a profile understands."""
    if how == "option":
        return f"server profile {profile.name!r} (named with --server / model option server)"
    if profile.name == GENERIC:
        known = ", ".join(n for n, p in profiles().items() if p.detect.probe or p.detect.owned_by)
        return f"server profile {GENERIC!r} (detected: {how}; it answered as none of {known})"
    return f"server profile {profile.name!r} (detected by {how})"


def forcing_without_template(spec: Any, profile: ServerProfile, how: str, answered: str) -> str:
    """Why client-side forcing could not start on this server, and the ways out (one line)."""
    forcible = [n for n, p in profiles().items() if p.budget_field and p.forcing]
    titles = [profiles()[n].title.split(" (")[0] for n in forcible]
    named = (f"if it is {', '.join(titles[:-1])} or {titles[-1]} behind a proxy or "
             f"renamed, name it (--server {'|'.join(forcible)}); " if profile.name == GENERIC else "")
    return (f"{spec}: cannot force a thinking budget: {detected_as(profile, how)} has no budget field of its own, "
            f"so budgets are forced client-side, which needs the model's chat template, and {answered}. "
            f"{named[:1].upper() + named[1:] if named else ''}"
            f"{'else g' if named else 'G'}ive the model's Jinja chat template as model option chat_template "
            f"(check: --option chat_template=...), or use --mechanism prompted")


def controls_for_options(options: dict[str, Any]) -> ServerControls:
    """A server's controls from its options alone (no detection: for estimates, which send nothing)."""
    name = options.get("server", "auto")
    profile = profiles().get(name) if isinstance(name, str) else None
    field = (options.get("capabilities") or {}).get("budget_field") if isinstance(options.get("capabilities"),
                                                                                  dict) else None
    if profile is None:
        return ServerControls(field or None, True)
    return ServerControls(field or profile.budget_field, profile.forcing)
