"""The provider registry: one typed ProviderInfo per provider, everything the engine knows about a provider before
it is created (no SDK import): its factory, the pip extra and SDK distributions it needs, what `--mechanism auto`
means on it, its default answer margin and natural cap, and whether it records `enforced_by` itself.

Built-in providers are the table below; a third-party package adds one through the `overthink.providers` entry
point group (each entry point loads a ProviderInfo), the way task plugins add tasks. providers/__init__.py exposes
the merged table as PROVIDERS; mechanism.py, the estimate and ModelBase read it, and no other module branches on a
provider's name (tests/test_provider_registry.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ..budget import NATURAL_MAX_TOKENS
from ..core import Mechanism
from ..errors import ConfigError

# The paper's 10,000 answer tokens for APIs and 16,384 for open-weight servers; the embedded model needs far less.
DEFAULT_ANSWER_MARGIN = 10_000
# Thinking tokens of a natural (unbudgeted) sample when the config sets no natural_cap: the paper's 16,384, but a
# 0.5B model on a laptop CPU stops at 2,048 (it can otherwise think for minutes per sample).
DEFAULT_NATURAL_CAP = NATURAL_MAX_TOKENS
API_SDKS = ("anthropic>=0.69", "openai>=1.50", "google-genai>=1.51")


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    factory: str  # "module:callable" taking (ModelSpec, options) and returning a ModelBase
    extra: str = "api"  # pip install 'overthink[EXTRA]' brings its SDK
    sdks: tuple[str, ...] = ()  # the SDK distributions (with minimum versions) its module imports
    mechanism: Mechanism | None = Mechanism.NATIVE  # what `auto` means; None: decided by the server's controls
    answer_margin: int = DEFAULT_ANSWER_MARGIN  # output tokens after thinking when the config sets none
    natural_cap: int = DEFAULT_NATURAL_CAP  # thinking tokens of a natural sample when the config sets none
    records_enforced_by: bool = False  # its completions say what enforced the budget; else providers/enforcement.py
    # how a numeric native budget is enforced when the provider does not record it (providers/enforcement.py):
    # provider_budget | effort (levels) | anthropic-thinking (budget_tokens or adaptive effort per the capability
    # table; budget 0 switches thinking off)
    enforcement: str = "provider_budget"
    server: bool = False  # an OpenAI-compatible server: takes a server profile (`--server`)
    embedded: bool = False  # runs a local model file: prepared before a run, takes the run's natural_cap
    greedy_default: bool = False  # samples greedily (temperature 0) unless the config sets a temperature
    listed: bool = True  # shown among the known providers (the test stub is not)


BUILTIN: tuple[ProviderInfo, ...] = (
    ProviderInfo("local", "overthink.local.model:create", extra="local", sdks=("llama-cpp-python",),
                 mechanism=Mechanism.FORCED, answer_margin=128, natural_cap=2048, embedded=True,
                 greedy_default=True),
    ProviderInfo("anthropic", "overthink.providers.anthropic:create", sdks=("anthropic>=0.69",),
                 enforcement="anthropic-thinking"),
    ProviderInfo("openai", "overthink.providers.openai:create", sdks=("openai>=1.50",), enforcement="effort"),
    ProviderInfo("openai-compatible", "overthink.providers.openai_compatible:create", sdks=("openai>=1.50",),
                 mechanism=None, answer_margin=16_384, records_enforced_by=True, server=True),
    ProviderInfo("gemini", "overthink.providers.gemini:create", sdks=("google-genai>=1.51",), records_enforced_by=True),
    ProviderInfo("openrouter", "overthink.providers.openrouter:create", sdks=("openai>=1.50",),
                 records_enforced_by=True),
    ProviderInfo("anthropic-bedrock", "overthink.providers.anthropic_cloud:create_bedrock",
                 sdks=("anthropic[bedrock]>=0.69",), enforcement="anthropic-thinking"),
    ProviderInfo("anthropic-vertex", "overthink.providers.anthropic_cloud:create_vertex",
                 sdks=("anthropic[vertex]>=0.69",), enforcement="anthropic-thinking"),
    ProviderInfo("stub", "overthink.providers.stub:create", extra="", mechanism=Mechanism.FORCED, listed=False),
)
GROUP = "overthink.providers"


BUILTIN_TABLE: dict[str, ProviderInfo] = {p.name: p for p in BUILTIN}


@cache
def plugins() -> dict[str, ProviderInfo]:
    """Providers of installed plugins. Scanned only when a name is not built in (the scan costs 0.2-2 s)."""
    from importlib.metadata import entry_points  # here: importing it costs every start ~25 ms

    table: dict[str, ProviderInfo] = {}
    for ep in entry_points(group=GROUP):
        info = ep.load()
        if not isinstance(info, ProviderInfo):
            raise ConfigError(f"entry point {ep.name!r} in {GROUP} ({ep.value}) is not a ProviderInfo")
        if info.name in BUILTIN_TABLE:
            raise ConfigError(f"entry point {ep.name!r} in {GROUP}: provider {info.name!r} is built in")
        table[info.name] = info
    return table


def registry() -> dict[str, ProviderInfo]:
    """Every provider: built in, then those of installed plugins."""
    return {**BUILTIN_TABLE, **plugins()}


def info_for(provider: str) -> ProviderInfo | None:
    return BUILTIN_TABLE.get(provider) or plugins().get(provider)


def info_of_spec(spec: str) -> ProviderInfo | None:
    """The provider of a spec text PROVIDER:MODEL[@URL] (None when unknown or not a spec)."""
    return info_for(spec.split(":", 1)[0].strip().lower()) if ":" in spec else None


def answer_margin_for(provider: str) -> int:
    info = info_for(provider)
    return info.answer_margin if info else DEFAULT_ANSWER_MARGIN


def natural_cap_for(provider: str) -> int:
    info = info_for(provider)
    return info.natural_cap if info else DEFAULT_NATURAL_CAP
