"""`--max-cost`: the limit's arithmetic. Before a send (one request, a shared trace of several budgets, a batch
entry) its worst case (input plus every output token each request allows) is reserved; the run stops before a
send whose worst case, added to what is spent and what sends in flight may still cost, would pass the limit.
Executors never call this directly: sweep/dispatch.py reserves, releases and records for all of them."""

from __future__ import annotations

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

    def reserve(self, worst: float) -> bool:
        """Reserve `worst` USD for a send, or refuse it (False) when it could pass the limit: the run is then
        marked stopped for cost."""
        if self.over_limit(worst):
            self.stats.stopped_for_cost = True
            return False
        self.reserved += worst
        return True

    def hold(self, worst: float) -> None:
        """Reserve `worst` USD for a send that is already out (a resumed run's open batch): never refused."""
        self.reserved += worst

    def release(self, amount: float) -> None:
        self.reserved = max(0.0, self.reserved - amount)
