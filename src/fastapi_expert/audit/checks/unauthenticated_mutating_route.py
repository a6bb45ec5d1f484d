from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData, RouteInfo
from fastapi_expert.review.rules.security.unauthenticated_mutating_route import (
    EXEMPT_PHRASES,
    EXEMPT_WORDS,
)
from fastapi_expert.types import Finding, Severity

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def exempt(route: RouteInfo) -> bool:
    """A route unauthenticated by nature (login, sign-up, webhooks, health), by the
    words of the static FX408, so review and audit agree on what is exempt."""
    for text in (route.path, route.name):
        low = text.lower()
        if any(p in low for p in EXEMPT_PHRASES):
            return True
        found = {w.lower() for w in _WORD.findall(text)} | {p.lower() for p in re.split(r"[^A-Za-z0-9]+", text)}
        if found & EXEMPT_WORDS:
            return True
    return False


class UnauthenticatedMutatingRoute(Check):
    """Flags a state-changing route or a WebSocket with no authentication in an app that authenticates others.

    ## What it does
    Reads each route's dependency tree as FastAPI built it (route, router,
    `include_router` and app dependencies, flattened). When some route of the
    app requires authentication (a `fastapi.security` scheme, `Security(...)`
    with or without scopes, or a dependency named like `get_current_user`), it
    flags every POST, PUT, PATCH or DELETE route and every WebSocket that has
    none. Routes unauthenticated by nature (login, token, register, password
    reset, webhooks, health) are left alone, and so is an app that authenticates
    nowhere (a public API) or in an authentication middleware.

    ## Why is this bad?
    FastAPI has no "deny by default": every route asks for a user itself. In an
    app where most routes do, a mutating route without it is almost always a
    forgotten dependency, and anyone who reaches the API can change data. The
    static rule with the same code guesses the tree from the source; the audit
    reads the real one.

    ## References
    - https://fastapi.tiangolo.com/tutorial/security/get-current-user/
    - https://fastapi.tiangolo.com/tutorial/bigger-applications/#another-module-with-apirouter
    - https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/
    """

    code = "FX408"
    name = "unauthenticated-mutating-route"
    summary = "A state-changing route has no authentication while the rest of the app requires it."
    severity = Severity.WARNING

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        # As the static FX408: no app-wide authentication to compare with, or one
        # that a middleware does for every route, so no route needs its own.
        if not app.authenticates or app.authenticates_in_middleware:
            return
        protected = sum(1 for r in app.user_routes if r.authenticated)
        for route in app.user_routes:
            if route.kind not in {"http", "websocket"} or route.authenticated or not route.is_mutating:
                continue
            if exempt(route):
                continue
            what = "accepts WebSocket connections" if route.kind == "websocket" else "changes state"
            yield self.finding(
                route.location,
                f"{route.title()} {what} with no authentication while {protected} other route(s) require it; "
                "add the app's security dependency to the route or its router.",
            )
