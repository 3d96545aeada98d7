"""`--max-cost`: one guard for every executor. Before a request is sent, its worst case (input plus every output
token it allows) is reserved; the run stops before a request whose worst case, added to what is spent and what
requests in flight may still cost, would pass the limit."""

from __future__ import annotations

from ..models import GenerateRequest, ModelBase
from .record import RunStats


class CostGuard:
    def __init__(self, limit: float | None, stats: RunStats) -> None:
        self.limit = limit
        self.stats = stats  # spent = stats.cost_usd, kept by the recorder
        self.reserved = 0.0

    @property
    def stopped(self) -> bool:
        """No new request: the cost limit, a non-retryable failure or a signal stopped the run."""
        return self.stats.stopped

    def over_limit(self, worst: float = 0.0) -> bool:
        spent = self.stats.cost_usd
        return self.limit is not None and (spent >= self.limit or spent + self.reserved + worst > self.limit)

    def reserve(self, model: ModelBase, request: GenerateRequest) -> float | None:
        """The amount reserved for `request` (release it when the request is done), or None when sending it
        could pass the limit: the run is then marked stopped."""
        if self.limit is None:
            return 0.0
        worst = model.worst_case_cost(request) or 0.0
        if self.over_limit(worst):
            self.stats.stopped_for_cost = True
            return None
        self.reserved += worst
        return worst

    def release(self, amount: float) -> None:
        self.reserved -= amount

    def release_all(self) -> None:
        self.reserved = 0.0
