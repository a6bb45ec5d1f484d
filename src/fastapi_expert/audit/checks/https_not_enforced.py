from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class HttpsNotEnforced(Check):
    """Flags a production app that neither redirects to HTTPS nor sends `Strict-Transport-Security`.

    ## What it does
    When the app says it is in production, looks for `HTTPSRedirectMiddleware`
    and, with probes, for a `Strict-Transport-Security` header on the app's
    responses. Either one is enough (HSTS is usual when TLS ends at a proxy).
    Without probes only the middleware can be seen, so the check stays silent.

    ## Why is this bad?
    A first request over plain HTTP can be read and changed on the way:
    tokens, cookies and the redirect itself. HSTS tells browsers never to try
    plain HTTP again.

    ## References
    - https://fastapi.tiangolo.com/advanced/middleware/#httpsredirectmiddleware
    - https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Strict_Transport_Security_Cheat_Sheet.html
    """

    code = "FX425"
    name = "https-not-enforced"
    summary = "A production app neither redirects to HTTPS nor sends `Strict-Transport-Security`."
    severity = Severity.WARNING
    needs_probes = True

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        if not app.production or data.probes is None:
            return
        if any(m.name == "HTTPSRedirectMiddleware" for m in app.middleware):
            return
        if any("strict-transport-security" in e.headers for e in data.probes.exchanges):
            return
        yield self.finding(
            app.location,
            f"the app runs in production ({app.production_reason}) with no HTTPSRedirectMiddleware and no "
            "Strict-Transport-Security header; send HSTS (or redirect to HTTPS).",
        )
