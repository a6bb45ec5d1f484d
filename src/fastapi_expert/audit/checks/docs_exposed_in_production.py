from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class DocsExposedInProduction(Check):
    """Flags `/docs`, `/redoc` or `/openapi.json` served by an app that says it runs in production.

    ## What it does
    When the app says it is in production, reports that FastAPI still serves
    its interactive documentation or its OpenAPI document (`docs_url`,
    `redoc_url`, `openapi_url` not set to `None`), the audited app's or a
    mounted FastAPI app's.

    ## Why is this bad?
    The document maps every route, parameter and error of an internal or
    partner API for whoever finds it, and the Swagger UI is an attack console.
    Public APIs may publish their schema on purpose; others switch it off per
    environment: `FastAPI(openapi_url=None if production else "/openapi.json")`.

    ## References
    - https://fastapi.tiangolo.com/how-to/conditional-openapi/
    """

    code = "FX420"
    name = "docs-exposed-in-production"
    summary = "The interactive docs and the OpenAPI document are served in production."
    severity = Severity.WARNING

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        if not app.production:
            return
        if app.docs_urls:
            yield self.finding(
                app.location,
                f"the app runs in production ({app.production_reason}) and serves {', '.join(app.docs_urls)}; "
                "set `docs_url`, `redoc_url` and `openapi_url` to None in production.",
            )
        for sub in app.sub_apps:  # a mounted FastAPI app serves its own docs under its prefix
            if sub.docs_urls:
                yield self.finding(
                    sub.location,
                    f"the app runs in production ({app.production_reason}) and {sub.label} serves "
                    f"{', '.join(sub.docs_urls)}; set its `docs_url`, `redoc_url` and `openapi_url` to None in production.",
                )
