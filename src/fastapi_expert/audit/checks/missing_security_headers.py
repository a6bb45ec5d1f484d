from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class MissingSecurityHeaders(Check):
    """Flags responses that lack the basic security headers.

    ## What it does
    Looks at the headers of the app's responses to the probes: it expects
    `X-Content-Type-Options: nosniff` and protection against framing
    (`X-Frame-Options` or a `Content-Security-Policy` with `frame-ancestors`).

    ## Why is this bad?
    Without `nosniff` a browser may run an uploaded or reflected file as a
    script; without framing protection the API's pages (the docs, any HTML) can
    be framed for clickjacking. Both cost one pure-ASGI middleware.

    ## References
    - https://owasp.org/www-project-secure-headers/
    - https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-Content-Type-Options
    """

    code = "FX423"
    name = "missing-security-headers"
    summary = "Responses lack `X-Content-Type-Options: nosniff` or framing protection."
    severity = Severity.WARNING
    needs_probes = True

    def run(self, data: AuditData) -> Iterable[Finding]:
        if data.probes is None:
            return
        answered = [e for e in data.probes.exchanges if e.status is not None and e.probe == "not-found"]
        answered = answered or [e for e in data.probes.exchanges if e.status is not None]
        if not answered:
            return
        headers = answered[0].headers
        missing = []
        if headers.get("x-content-type-options", "").lower() != "nosniff":
            missing.append("X-Content-Type-Options: nosniff")
        if "x-frame-options" not in headers and "frame-ancestors" not in headers.get("content-security-policy", ""):
            missing.append("X-Frame-Options (or CSP frame-ancestors)")
        if missing:
            yield self.finding(
                data.app.location,
                f"responses lack {' and '.join(missing)}; add them in a pure ASGI middleware.",
            )
