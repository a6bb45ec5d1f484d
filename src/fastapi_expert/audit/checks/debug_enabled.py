from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class DebugEnabled(Check):
    """Flags an app whose `debug` flag is on.

    ## What it does
    Reads `app.debug` on the app as built (from `FastAPI(debug=True)`, a
    setting, or an assignment after construction), and on each app mounted in
    it, whose own exception middleware answers its errors.

    ## Why is this bad?
    In debug mode Starlette answers every unhandled exception with the full
    traceback, local source lines included, to any client.

    ## References
    - https://www.starlette.io/applications/#instantiating-the-application
    - https://owasp.org/www-project-top-ten/2017/A6_2017-Security_Misconfiguration
    """

    code = "FX413"
    name = "debug-enabled"
    summary = "Debug mode or auto-reload is switched on in application code."
    severity = Severity.ERROR

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        if app.debug:
            yield self.finding(
                app.location,
                "`app.debug` is True: unhandled errors send tracebacks to clients; turn it off outside local development.",
            )
        for sub in app.sub_apps:  # a mounted app's own error middleware answers its routes' errors
            if sub.debug:
                yield self.finding(
                    sub.location,
                    f"`debug` is True on {sub.label}: unhandled errors in its routes send tracebacks to clients; "
                    "turn it off outside local development.",
                )
