from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData, RouteInfo
from fastapi_expert.types import Finding, Location, Severity


def _matches_token_route(url: str, routes: list[RouteInfo]) -> bool:
    path = url.split("?", 1)[0]
    path = path if path.startswith("/") else "/" + path  # Swagger UI resolves it from the root
    for route in routes:
        regex = route.path_regex
        if regex is None or not regex.match(path):
            continue
        if route.kind == "mount" or "POST" in route.methods:
            return True
    return False


class DanglingSecurityScheme(Check):
    """Flags security declarations that protect nothing: a dead `tokenUrl`, unused schemes, unchecked scopes.

    ## What it does
    Compares the security schemes FastAPI knows with the route table:
    an OAuth2 scheme whose `tokenUrl` matches no POST route of the app (the
    "Authorize" button of `/docs` and every generated client post to it); a
    scheme object (`OAuth2PasswordBearer`, `APIKeyHeader`, `HTTPBearer`...)
    created in the project but required by no route; and `Security(...,
    scopes=[...])` on a route whose dependency tree never reads
    `SecurityScopes`, so the scopes are documented but never checked.
    URLs on another host (an external identity provider) are not checked.

    ## Why is this bad?
    Each one is security that exists on paper only: logins from the docs fail
    (often after a prefix was added to the router), a scheme meant for some
    routes guards none, and a token without the `admin` scope passes a route
    that lists `admin` in its OpenAPI entry.

    ## References
    - https://fastapi.tiangolo.com/tutorial/security/first-steps/#fastapis-oauth2passwordbearer
    - https://fastapi.tiangolo.com/advanced/security/oauth2-scopes/
    """

    code = "FX416"
    name = "dangling-security-scheme"
    summary = "An OAuth2 `tokenUrl` matches no route, a security scheme is never required, or scopes are never checked."
    severity = Severity.WARNING

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        routes = app.routes
        declared = {d.token_url: d for d in app.schemes if d.token_url}
        reported: set[str] = set()
        urls: dict[str, Location] = {}
        for route in app.user_routes:
            for use in route.security:
                if use.token_url and use.token_url not in urls:
                    where = declared.get(use.token_url)
                    urls[use.token_url] = where.location if where else route.location
        for declaration in app.schemes:
            if declaration.token_url and declaration.token_url not in urls:
                urls[declaration.token_url] = declaration.location
        for url, location in urls.items():
            if url.startswith(("http://", "https://")) or _matches_token_route(url, routes):
                continue
            reported.add(url)
            yield self.finding(
                location,
                f"OAuth2 `tokenUrl` '{url}' matches no POST route of the app, so logins from /docs and generated "
                "clients fail; point it at the token route's full path (router prefixes included).",
            )
        for declaration in app.schemes:
            if not declaration.used:
                yield self.finding(
                    declaration.location,
                    f"security scheme `{declaration.variable}` ({declaration.scheme_class}) is required by no route; "
                    "add it to the routes it should protect, or delete it.",
                )
        for route in app.user_routes:
            scoped = [use for use in route.security if use.scopes]
            if scoped and not route.reads_security_scopes:
                scopes = sorted({s for use in scoped for s in use.scopes})
                yield self.finding(
                    route.location,
                    f"{route.title()} requires scopes {scopes} but no dependency in its tree takes `SecurityScopes`, "
                    "so they are never checked; compare `security_scopes.scopes` with the token's scopes.",
                )
