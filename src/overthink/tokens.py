"""The one token estimate from characters, for text no tokenizer or usage report has counted.

A leaf module (no overthink imports) so providers and the cost estimate share it without importing each other.
"""

from __future__ import annotations

import math


def estimate_tokens(text: str, *, generous: bool = False) -> int:
    """Tokens in `text` from its length: about 4 characters per token, the labelled estimate stored with source
    `estimate`. `generous` over-counts instead (about 3 characters per token, plus 16 for message framing), for
    text not sent yet whose cost must not be underestimated (worst-case cost, `overthink estimate`)."""
    if generous:
        return len(text) // 3 + 16
    return math.ceil(len(text) / 4) if text else 0
