"""An overthink task plugin in one file: capital cities, optionally with a misleading hint."""

from __future__ import annotations

import random

from overthink.core import Item
from overthink.tasks import Scoring, Task

CAPITALS = {
    "France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima", "Canada": "Ottawa",
    "Australia": "Canberra", "Norway": "Oslo", "Egypt": "Cairo", "Chile": "Santiago", "Vietnam": "Hanoi",
}


class Capitals(Task):
    family = "capitals"
    scoring = Scoring.EXACT  # the answer text must match, ignoring case, spaces and a final period
    default_size = len(CAPITALS)
    known_options = ("hint",)  # --task-args names any other option: refused as a typo (exit 2)

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        hint = bool(self.options.get("hint", False))  # --task-args capitals.hint=true
        countries = sorted(CAPITALS)
        random.Random(seed).shuffle(countries)
        out = []
        for country in countries[: self.default_size if n is None else n]:
            prompt = f"What is the capital of {country}?"
            if hint:
                prompt = f"Many people think the largest city is the capital. {prompt}"
            out.append(Item(id=f"capital-{country.lower()}", prompt=prompt, answer=CAPITALS[country],
                            metadata={"country": country, "hint": hint}))
        return out
