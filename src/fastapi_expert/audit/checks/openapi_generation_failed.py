from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class OpenapiGenerationFailed(Check):
    """Reports that FastAPI could not generate the app's OpenAPI document, and which route breaks it.

    ## What it does
    Calls `app.openapi()` as `/openapi.json` would. When it raises, generates
    the document route by route to find the first one that breaks it, and
    reports the error there.

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
        if app.openapi_error is None:
            return
        route = app.openapi_error_route
        where = f" at {route.title()}" if route is not None else ""
        yield self.finding(
            route.location if route is not None else app.location,
            f"OpenAPI generation fails{where}: {app.openapi_error}; /docs and /openapi.json answer 500.",
        )
