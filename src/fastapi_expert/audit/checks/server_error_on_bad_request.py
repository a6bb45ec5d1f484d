from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check, describe_probe, probe_exchanges
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class ServerErrorOnBadRequest(Check):
    """Flags a 5xx answer to a request the app should refuse with a 4xx.

    ## What it does
    Sends, in process, requests every API receives from broken clients and
    scanners: a malformed JSON body and a body with the wrong content type to
    routes that take a JSON body, a path that does not exist, and a method a
    route does not allow. The endpoints never run. Each must be answered with a
    4xx; the check reports a 5xx.

    ## Why is this bad?
    A 500 for the client's mistake hides the real error from the client, pages
    the on-call engineer, and often comes from an exception handler that
    itself crashes (a custom `RequestValidationError` or 404 handler).

    ## References
    - https://fastapi.tiangolo.com/tutorial/handling-errors/
    - https://www.rfc-editor.org/rfc/rfc9110#name-client-error-4xx
    """

    code = "FX712"
    name = "server-error-on-bad-request"
    summary = "A malformed body, an unknown path or a wrong method is answered with a 5xx instead of a 4xx."
    severity = Severity.ERROR
    needs_probes = True

    def run(self, data: AuditData) -> Iterable[Finding]:
        for exchange, location in probe_exchanges(data):
            if exchange.probe == "unauthenticated" or exchange.status is None or exchange.status < 500:
                continue
            yield self.finding(
                location,
                f"`{exchange.request_line}` with {describe_probe(exchange.probe)} answered "
                f"{exchange.status}; the client's mistake must get a 4xx.",
            )
