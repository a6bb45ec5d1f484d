from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData, MiddlewareInfo
from fastapi_expert.types import Finding, Severity

_ANY_ORIGIN_REGEX = frozenset({".*", "^.*$", ".+", "^.+$", "https?://.*", "^https?://.*$"})


class CorsWildcardWithCredentials(Check):
    """Flags CORS that lets any origin send credentialed requests.

    ## What it does
    Reads the options `CORSMiddleware` was added with (`allow_origins=["*"]` or
    an `allow_origin_regex` matching everything, together with
    `allow_credentials=True`), in the app and in each app mounted in it, and,
    unless `--no-probe`, sends a CORS preflight from an origin no one trusts:
    the app must not answer it with `Access-Control-Allow-Origin` for that
    origin (or `*`) and `Access-Control-Allow-Credentials: true`.

    ## Why is this bad?
    Browsers refuse `*` with credentials, so Starlette echoes the caller's
    origin instead: every website a logged-in user visits can then call the API
    with the user's cookies and read the answers.

    ## References
    - https://fastapi.tiangolo.com/tutorial/cors/
    - https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS#requests_with_credentials
    - https://portswigger.net/web-security/cors
    """

    code = "FX406"
    name = "cors-wildcard-with-credentials"
    summary = "CORS allows any origin together with credentials, so any site can act as the user."
    severity = Severity.ERROR

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        confirmed = None
        if data.probes is not None:
            for exchange in data.probes.of("preflight"):
                allow = exchange.headers.get("access-control-allow-origin")
                credentials = exchange.headers.get("access-control-allow-credentials", "").lower() == "true"
                if allow in {exchange.origin, "*"} and credentials:
                    confirmed = exchange
        reported_top = False
        for sub, stack in app.middleware_stacks():
            middleware = next((m for m in stack if m.name == "CORSMiddleware" and _any_origin_with_credentials(m)), None)
            if middleware is None:
                continue
            # The preflight goes to the app's own routes: it confirms the top stack only.
            proof = (
                f" (a preflight from {confirmed.origin} was allowed with credentials)"
                if confirmed is not None and sub is None
                else ""
            )
            where = f" in {sub.label}" if sub is not None else ""
            reported_top |= sub is None
            yield self.finding(
                middleware.location,
                f"CORSMiddleware{where} allows any origin with credentials{proof}; list the trusted origins in `allow_origins`.",
            )
        if confirmed is not None and not reported_top:
            yield self.finding(
                app.location,
                f"a CORS preflight from the untrusted origin {confirmed.origin} was allowed with credentials; "
                "allow only trusted origins.",
            )


def _any_origin_with_credentials(middleware: MiddlewareInfo) -> bool:
    options = middleware.options
    origins = options.get("allow_origins") or ()
    regex = options.get("allow_origin_regex")
    wildcard = "*" in origins or (isinstance(regex, str) and regex in _ANY_ORIGIN_REGEX)
    return bool(wildcard and options.get("allow_credentials"))
