from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class TrustedHostMissing(Check):
    """Flags an app that says it runs in production without `TrustedHostMiddleware`.

    ## What it does
    When the app says it is in production (an `ENVIRONMENT`/`ENV`/`APP_ENV`
    variable set to `production`, `app.state.settings.environment ==
    "production"`, or `--production`), checks that `TrustedHostMiddleware` is
    installed with a real host list (not `["*"]`).

    ## Why is this bad?
    Without it the app trusts whatever `Host` header arrives: absolute URLs it
    builds (password-reset links, `url_for`, redirects) can point at an
    attacker's host, and caches can be poisoned.

    ## References
    - https://fastapi.tiangolo.com/advanced/middleware/#trustedhostmiddleware
    - https://portswigger.net/web-security/host-header
    """

    code = "FX424"
    name = "trusted-host-missing"
    summary = "A production app accepts any `Host` header: no `TrustedHostMiddleware`."
    severity = Severity.WARNING

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        if not app.production:
            return
        for middleware in app.middleware:
            if middleware.name == "TrustedHostMiddleware":
                hosts = middleware.options.get("allowed_hosts") or ["*"]
                if "*" not in hosts:
                    return
        yield self.finding(
            app.location,
            f"the app runs in production ({app.production_reason}) but accepts any Host header; add "
            "`TrustedHostMiddleware(allowed_hosts=[...])`.",
        )
