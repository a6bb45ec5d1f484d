from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check, probe_exchanges
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class ProbeTimedOut(Check):
    """Reports a probe request the app did not answer within the timeout.

    ## What it does
    Every probe runs under a deadline (`--timeout`, 5 s by default). A request
    still unanswered then is cut and reported with the route it went to; the
    other probes still run.

    ## Why is this bad?
    The probes never run an endpoint, only the middleware and dependencies in
    front of it, so a hang there (a lock, a connection that is never released,
    a blocking call on the event loop) would stall real traffic the same way.

    ## References
    - https://www.starlette.io/middleware/
    - https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/
    """

    code = "FX011"
    name = "probe-timed-out"
    summary = "The app did not answer a probe request within the timeout."
    severity = Severity.ERROR
    needs_probes = True

    def run(self, data: AuditData) -> Iterable[Finding]:
        for exchange, location in probe_exchanges(data):
            if exchange.timed_out:
                yield self.finding(
                    location,
                    f"the {exchange.probe} probe `{exchange.request_line}` got no answer within the timeout; "
                    "look for a hang in the middleware or dependencies of that route.",
                )
