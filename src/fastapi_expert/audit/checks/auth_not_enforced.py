from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class AuthNotEnforced(Check):
    """Flags a protected route that does not answer 401/403 to a request without credentials.

    ## What it does
    Sends each route that requires authentication a request with no
    credentials, in process, with the endpoint function replaced by a stub (so
    no handler runs and nothing changes). A protected route must answer 401 or
    403. The check reports a route whose dependencies let the request through to
    the endpoint (typically `OAuth2PasswordBearer(auto_error=False)` or
    `APIKeyHeader(auto_error=False)` whose `None` no dependency turns into a
    401), and a route that crashes (5xx) instead of refusing.

    ## Why is this bad?
    The route looks protected in the code and in the OpenAPI document (the lock
    icon), but anyone can call it. A 500 instead of a 401 means the dependency
    dereferences a missing user: clients cannot tell "log in" from "bug".

    ## References
    - https://fastapi.tiangolo.com/reference/security/#fastapi.security.OAuth2PasswordBearer
    - https://fastapi.tiangolo.com/tutorial/security/get-current-user/
    - https://owasp.org/API-Security/editions/2023/en/0xa2-broken-authentication/
    """

    code = "FX426"
    name = "auth-not-enforced"
    summary = "A protected route answers a request without credentials with something other than 401/403."
    severity = Severity.ERROR
    needs_probes = True

    def run(self, data: AuditData) -> Iterable[Finding]:
        if data.probes is None:
            return
        for exchange in data.probes.of("unauthenticated"):
            route = exchange.route
            if route is None or exchange.timed_out or exchange.status is None:
                continue
            if exchange.reached_endpoint:
                yield self.finding(
                    route.location,
                    f"{route.title()} requires {route.auth_label} but a request without credentials reached the "
                    "endpoint; make the security dependency raise 401 when the credential is missing.",
                )
            elif exchange.status >= 500:
                yield self.finding(
                    route.location,
                    f"{route.title()} answered {exchange.status} to a request without credentials instead of 401/403; "
                    "raise `HTTPException(401)` when the credential is missing.",
                )
            elif 200 <= exchange.status < 300:
                yield self.finding(
                    route.location,
                    f"{route.title()} answered {exchange.status} to a request without credentials; it must refuse with 401/403.",
                )
