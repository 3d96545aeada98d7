"""Failures that will not go away by retrying stop the run with one clear line, instead of being stored as an
error on every sample for minutes.

- unreachable: a request whose retries were exhausted without ever connecting (refused, DNS): "cannot reach URL".
- hung: `HANG_TIMEOUTS` (3) attempts in a row on one endpoint got no answer within the model's timeout_s, with no
  answer of any kind in between (providers/retry.py counts them and stops retrying): the server accepts connections
  but does not answer. API providers do not stream here, so a hang shows only as a timeout: with the default
  timeout_s of 600 the run stops after about ceil(3 / concurrency) x 600 s instead of 6 x 600 s per sample.
- authentication / permission / unknown model (HTTP 401, 403, 404): the same class on `REPEAT` samples of a model
  in a row.
- invalid request (HTTP 400, 422): on `REPEAT` samples in a row of a model that has not answered once this run (a
  request the provider rejects for one item only is that item's error, not the run's).
"""

from __future__ import annotations

from collections import Counter

from ..core import Completion
from ..providers.retry import HANG_TIMEOUTS

REPEAT = 3

CLASSES = {
    401: ("authentication failed", "check the API key (api_key_env / the provider's key variable)"),
    403: ("permission denied", "the key has no access to this model or endpoint"),
    404: ("unknown model or endpoint", "check the model name and the base URL"),
    400: ("invalid request", "the provider rejects the request itself; see the stored error"),
    422: ("invalid request", "the provider rejects the request itself; see the stored error"),
}
ALWAYS = {401, 403, 404}  # fatal after REPEAT in a row even after successes (a key revoked mid-run)


class FailureWatch:
    """Fed every result in completion order; `observe` returns the line that stops the run, once."""

    def __init__(self) -> None:
        self.streak: Counter[tuple[str, int]] = Counter()
        self.answered: set[str] = set()

    def observe(self, model: str, result: Completion | BaseException) -> str | None:
        if not isinstance(result, BaseException):
            self.answered.add(model)
            for key in [k for k in self.streak if k[0] == model]:
                del self.streak[key]
            return None
        url = getattr(result, "unreachable", None)
        if url:
            return (f"cannot reach {url}: {model} could not connect after its retries; is the server running "
                    f"and the base URL right? Stopped; `overthink resume` continues once it is reachable")
        hung = getattr(result, "hung", None)
        if hung:
            return (f"stopped: {model}: {HANG_TIMEOUTS} requests in a row got no answer within timeout_s {hung:g} s "
                    f"(the server accepts connections but does not answer); check the server, then `overthink "
                    f"resume` retries the samples that timed out")
        status = getattr(result, "status_code", None)
        if status not in CLASSES:
            return None
        for key in [k for k in self.streak if k[0] == model and k[1] != status]:
            del self.streak[key]
        self.streak[(model, status)] += 1
        if self.streak[(model, status)] < REPEAT or (status not in ALWAYS and model in self.answered):
            return None
        what, hint = CLASSES[status]
        return (f"stopped: {model} refused {REPEAT} requests in a row with HTTP {status} ({what}: {hint}); "
                f"fix it, then `overthink resume` retries the failed samples")
