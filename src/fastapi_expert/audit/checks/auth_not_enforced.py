from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData, Exchange, RouteInfo
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
    401), and a route that crashes (5xx) instead of refusing. Routes of mounted
    apps are probed too, through the audited app at their full path.

    A WebSocket whose credentials are checked before its handler (a security
    scheme, an authentication dependency, a token-like parameter a dependency
    reads) gets a handshake without credentials, its handler swapped for a stub
    that accepts: the check reports a handshake the stub accepted, or one
    answered with a 500. Closing before accepting (a server sends 403) or a
    denial response is a refusal; a handshake a dependency accepts itself is
    left alone, since it may authenticate on the first message.

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
            if route.kind == "websocket":
                finding = self._websocket(route, exchange)
            else:
                finding = self._http(route, exchange)
            if finding is not None:
                yield finding

    def _http(self, route: RouteInfo, exchange: Exchange) -> Finding | None:
        status = exchange.status or 0
        if exchange.reached_endpoint:
            return self.finding(
                route.location,
                f"{route.title()} requires {route.auth_label} but a request without credentials reached the "
                "endpoint; make the security dependency raise 401 when the credential is missing.",
            )
        if status >= 500:
            return self.finding(
                route.location,
                f"{route.title()} answered {status} to a request without credentials instead of 401/403; "
                "raise `HTTPException(401)` when the credential is missing.",
            )
        if 200 <= status < 300:
            return self.finding(
                route.location,
                f"{route.title()} answered {status} to a request without credentials; it must refuse with 401/403.",
            )
        return None

    def _websocket(self, route: RouteInfo, exchange: Exchange) -> Finding | None:
        """A handshake is refused by closing before accepting (a server's 403) or by
        a denial response (401/403). One that reaches the handler (its stub accepted)
        passed every dependency: anyone gets in. One a dependency accepted itself is
        no finding: it may authenticate on the first message, which never came."""
        status = exchange.status or 0
        if exchange.reached_endpoint:
            return self.finding(
                route.location,
                f"{route.title()} requires {route.auth_label} but a WebSocket handshake without credentials passed "
                "its dependencies and was accepted; make the dependency refuse it "
                "(`raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)`).",
            )
        if status >= 500:
            why = f" ({exchange.error})" if exchange.error else ""
            return self.finding(
                route.location,
                f"{route.title()} answered a WebSocket handshake without credentials with {status}{why} instead of "
                "refusing it; raise `WebSocketException(code=status.WS_1008_POLICY_VIOLATION)` when the credential is missing.",
            )
        return None
