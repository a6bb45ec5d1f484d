from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class UndocumentedOperation(Check):
    """Flags an operation of the OpenAPI document with neither a summary nor a description.

    ## What it does
    Reports each route in the schema whose `summary=` is not set and whose
    description is empty (FastAPI takes it from `description=` or the
    endpoint's docstring). FastAPI then shows only a title made from the
    function name ("Create Order"). A mounted FastAPI app's operations are
    looked up in that app's own document; a mounted `Router` or Starlette app
    has no document, so its routes are left alone.

    ## Why is this bad?
    The OpenAPI document is the API's contract and its documentation: without
    a summary or a description, the people and the generated clients using it
    learn nothing about what the operation does, its side effects or its
    errors.

    ## References
    - https://fastapi.tiangolo.com/tutorial/path-operation-configuration/#summary-and-description
    - https://fastapi.tiangolo.com/tutorial/path-operation-configuration/#description-from-docstring
    """

    code = "FX702"
    name = "undocumented-operation"
    summary = "An API operation has no summary and no description in the OpenAPI document."
    severity = Severity.INFO

    def run(self, data: AuditData) -> Iterable[Finding]:
        for route in data.app.user_routes:
            # A route that no OpenAPI document lists (a mounted Router's, or one the
            # sub-app's own document leaves out) has no operation to document.
            if route.kind != "http" or not route.include_in_schema or not route.in_openapi:
                continue
            if (route.summary or "").strip() or route.description.strip():
                continue
            yield self.finding(
                route.location,
                f"{route.title()} has no summary or description; add `summary=` and a docstring (or `description=`).",
            )
