from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class MissingResponseModel(Check):
    """Flags an HTTP route that FastAPI serves with no response model.

    ## What it does
    Reads `route.response_model` as FastAPI resolved it (from `response_model=`
    or the return annotation, through every router) and reports JSON routes
    that have neither and whose endpoint returns a value. 204/304 routes,
    redirects, non-JSON response classes, streaming endpoints and endpoints
    annotated to return a `Response` are left alone.

    ## Why is this bad?
    With a response model FastAPI validates and filters what the endpoint
    returns, and documents it. Without one, whatever the function returns is
    serialised as is: an ORM object or a dict can leak fields such as password
    hashes, and clients get no schema.

    ## References
    - https://fastapi.tiangolo.com/tutorial/response-model/
    - https://fastapi.tiangolo.com/tutorial/response-model/#return-type-and-data-filtering
    """

    code = "FX302"
    name = "missing-response-model"
    summary = "A route has no `response_model` and no typed return: output unvalidated, unfiltered, undocumented."
    severity = Severity.WARNING

    def run(self, data: AuditData) -> Iterable[Finding]:
        for route in data.app.user_routes:
            if route.kind != "http" or route.response_model is not None or route.has_return_annotation:
                continue
            status = route.status_code or 200
            if status in {204, 304} or 300 <= status < 400 or route.is_generator or not route.returns_value:
                continue
            if not route.response_class.endswith("JSONResponse"):
                continue
            yield self.finding(
                route.location,
                f"{route.title()} has no response model: declare `response_model=` or a return annotation so "
                "FastAPI validates, filters and documents the output.",
            )
