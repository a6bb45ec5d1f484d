from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData, RouteInfo
from fastapi_expert.types import Finding, Location, Severity

_CONVERTOR = re.compile(r"{([a-zA-Z_]\w*):[^}]*}")
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class DuplicateOperationId(Check):
    """Flags two operations of the OpenAPI document that share an `operationId`.

    ## What it does
    Reads the OpenAPI document FastAPI generates and reports each operation
    whose `operationId` an earlier operation already uses: an explicit
    `operation_id=` repeated, a custom `generate_unique_id_function` that
    returns the same id for two routes (the route name only, for example), or
    one route serving several methods with a fixed id. Each mounted FastAPI
    app's own document is read the same way (ids need only be unique within a
    document).

    ## Why is this bad?
    The OpenAPI specification requires unique operation ids. Client generators
    (openapi-generator, orval, openapi-ts) name methods after them: the second
    operation overwrites the first or the build fails. FastAPI only emits a
    `UserWarning` at start-up, which nobody reads.

    ## References
    - https://spec.openapis.org/oas/v3.1.0#operation-object
    - https://fastapi.tiangolo.com/advanced/generate-clients/#custom-generate-unique-id-function
    """

    code = "FX113"
    name = "duplicate-operation-id"
    summary = "Two operations share an OpenAPI `operationId`, which breaks generated clients."
    severity = Severity.WARNING

    def run(self, data: AuditData) -> Iterable[Finding]:
        app = data.app
        # Each FastAPI app generates its own document: ids must be unique within
        # one (a mounted app's operations are not in the parent's).
        yield from self._duplicates(app.openapi, "", [r for r in app.user_routes if not r.parents], app.location)
        for sub in app.sub_apps:
            if sub.is_fastapi:
                yield from self._duplicates(sub.openapi, sub.path, [r for r in sub.routes if not r.framework], sub.location)

    def _duplicates(
        self, document: dict[str, Any] | None, prefix: str, routes: list[RouteInfo], fallback: Location
    ) -> Iterable[Finding]:
        """Operation ids used twice in one document; paths shown in full (`prefix` + the document's)."""
        by_path: dict[str, RouteInfo] = {}
        for route in routes:
            if route.kind == "http":
                by_path.setdefault(_CONVERTOR.sub(r"{\1}", route.path), route)
        seen: dict[str, tuple[str, str]] = {}
        for operation_id, method, path in _operations(document, prefix, routes):
            if operation_id in seen:
                first_method, first_path = seen[operation_id]
                owner = by_path.get(path)
                location = owner.location if owner is not None else fallback
                yield self.finding(
                    location,
                    f"`{method} {path}` has operationId '{operation_id}', already used by `{first_method} {first_path}`; "
                    "give each operation a unique `operation_id`.",
                )
            else:
                seen[operation_id] = (method, path)


def _operations(document: dict[str, Any] | None, prefix: str, routes: list[RouteInfo]) -> list[tuple[str, str, str]]:
    """(operationId, METHOD, full path) of each operation, from the document when it
    was generated, else from the routes that would be in it."""
    operations: list[tuple[str, str, str]] = []
    if document is not None:
        for path, item in (document.get("paths") or {}).items():
            for method, operation in (item or {}).items():
                if method in _HTTP_METHODS and isinstance(operation, dict) and operation.get("operationId"):
                    operations.append((str(operation["operationId"]), method.upper(), prefix + path))
        return operations
    for route in routes:
        if route.kind == "http" and route.include_in_schema and route.operation_id:
            operations += [(route.operation_id, m, _CONVERTOR.sub(r"{\1}", route.path)) for m in route.methods]
    return operations
