from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class UndeclaredPathParameter(Check):
    """Flags a `{parameter}` in a route's full path that no function in its dependency tree declares.

    ## What it does
    Compares the parameters of each route's full path (router prefixes
    included, so `APIRouter(prefix="/teams/{team_id}")` counts) with the path
    parameters FastAPI found in the endpoint and all its dependencies.

    ## Why is this bad?
    FastAPI matches the segment and throws the value away: the endpoint cannot
    use it, nothing validates it, and the OpenAPI document lists a parameter
    the code ignores. It usually means a typo (`{item_id}` against `itemid`) or
    a prefix parameter that a dependency was meant to check (`team_id` for
    access control) and does not.

    ## References
    - https://fastapi.tiangolo.com/tutorial/path-params/
    - https://docs.astral.sh/ruff/rules/fast-api-unused-path-parameter/
    """

    code = "FX709"
    name = "undeclared-path-parameter"
    summary = "A path parameter of the route is declared by neither the endpoint nor its dependencies."
    severity = Severity.WARNING

    def run(self, data: AuditData) -> Iterable[Finding]:
        for route in data.app.user_routes:
            if route.kind not in {"http", "websocket"}:
                continue
            missing = [p for p in route.path_param_names if p not in route.declared_path_params]
            for name in missing:
                yield self.finding(
                    route.location,
                    f"{route.title()} has path parameter `{name}` that neither `{route.name}` nor its dependencies "
                    f"declare; add `{name}` to the signature (or a dependency) or drop it from the path.",
                )
