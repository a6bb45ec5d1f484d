from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData, RouteInfo
from fastapi_expert.types import Finding, Location, Severity


class OpenapiGenerationFailed(Check):
    """Reports that FastAPI could not generate the app's OpenAPI document, and which route breaks it.

    ## What it does
    Calls `app.openapi()` as `/openapi.json` would. When it raises, generates
    the document route by route to find the first one that breaks it, and
    reports the error there. A mounted FastAPI app's own document is generated
    and reported the same way.

    ## Why is this bad?
    `/docs` and `/openapi.json` answer 500, client generation fails, and the
    error appears only when someone opens the docs. Usual causes: a model that
    Pydantic cannot turn into a JSON schema, a type with no schema in a
    response model, or conflicting model names.

    ## References
    - https://fastapi.tiangolo.com/how-to/extending-openapi/
    - https://docs.pydantic.dev/latest/concepts/json_schema/
    """

    code = "FX010"
    name = "openapi-generation-failed"
    summary = "FastAPI raises while generating the OpenAPI document."
    severity = Severity.ERROR

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        if app.openapi_error is not None:
            yield self._failure(app.openapi_error, app.openapi_error_route, app.location, "/docs and /openapi.json")
        for sub in app.sub_apps:  # a mounted FastAPI app generates its own document
            if sub.openapi_error is not None:
                urls = ", ".join(sub.docs_urls) or f"{sub.path}/openapi.json"
                yield self._failure(sub.openapi_error, sub.openapi_error_route, sub.location, urls, sub.label)

    def _failure(
        self, error: str, route: RouteInfo | None, fallback: Location, urls: str, app_label: str | None = None
    ) -> Finding:
        where = f" at {route.title()}" if route is not None else ""
        whose = f" for {app_label}" if app_label else ""
        return self.finding(
            route.location if route is not None else fallback,
            f"OpenAPI generation fails{whose}{where}: {error}; {urls} answer 500.",
        )
