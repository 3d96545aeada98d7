"""Cost from a price table (data/prices.yaml; user file $OVERTHINK_HOME/prices.yaml and per-model overrides).

Costs are per sample (input + output tokens, reasoning billed as output) with the provider's batch discount when
the run goes through a batch API. A model with no price gives cost None, and `--max-cost` refuses to start
rather than guess. A leaf module: it knows price tables, not providers (the run estimate is sweep/estimate.py).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import ConfigError
from .paths import user_table
from .tokens import estimate_tokens
from .yaml_text import parse_yaml


@dataclass(frozen=True)
class Price:
    input: float  # USD per million tokens
    output: float
    batch_discount: float = 1.0
    source: str = "table"

    def cost(self, input_tokens: int | None, output_tokens: int | None, *, batch: bool = False) -> float:
        usd = ((input_tokens or 0) * self.input + (output_tokens or 0) * self.output) / 1e6
        return usd * (self.batch_discount if batch else 1.0)


FREE = Price(0.0, 0.0, source="free")  # the embedded model and the test stub


@lru_cache(maxsize=1)
def _packaged() -> dict[str, Any]:
    return parse_yaml(resources.files("overthink").joinpath("data", "prices.yaml").read_text())


def _user() -> dict[str, Any]:
    return user_table("prices.yaml", "provider names to price tables")


def price_for(provider: str, model: str, override: dict[str, Any] | None = None) -> Price | None:
    """The price of a model, or None when no table row matches and no override is given."""
    packaged, user = _packaged().get(provider, {}) or {}, _user().get(provider, {}) or {}
    discount = float(user.get("batch_discount", packaged.get("batch_discount", 1.0)))
    if override:
        try:
            return Price(float(override["input"]), float(override["output"]),
                         float(override.get("batch_discount", discount)), "model_options")
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"model_options price for {provider}:{model}: give numbers 'input' and 'output' "
                              f"(USD per million tokens)") from None
    for source, table in (("user", user), ("table", packaged)):
        for row in table.get("models", []) or []:
            if fnmatch.fnmatchcase(model, str(row.get("match", ""))):
                return Price(float(row["input"]), float(row["output"]), discount, source)
    return None


def estimate_input_tokens(text: str) -> int:
    """A deliberately generous token count for text we have not sent yet (tokens.estimate_tokens, generous)."""
    return estimate_tokens(text, generous=True)


def worst_case_cost(price: Price | None, prompt_chars: int, max_tokens: int, *, batch: bool = False) -> float | None:
    """The most one request can cost: its input plus every output token the request allows."""
    if price is None:
        return None
    return price.cost(prompt_chars // 3 + 16, max_tokens, batch=batch)
