from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.module import ClassInfo
from fastapi_expert.review.rules.architecture._deps import is_marker
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class InlineDependencyInstance(Rule):
    """Flags `Depends(SomeClass(...))`: a dependency instance built inline.

    ## What it does
    Finds a `Depends(...)` / `Security(...)` marker whose dependency is the
    instance of a class built in place (`Depends(RoleChecker("admin"))`,
    `Security(HTTPBearer())`), in a route signature, an `Annotated[...]` alias
    or a `dependencies=[...]` list. Passing the class itself
    (`Depends(Pagination)`) or a module-level instance (`Depends(require_admin)`)
    is fine. Calls to project *functions* (dependency factories such as
    `Depends(limit_by_ip("login"))`) are left alone: tests usually override the
    dependencies those factories close over, and a cached factory returns the
    same object every time.

    ## Why is this bad?
    `app.dependency_overrides` is keyed by the dependency object. An instance
    created inside the decorator or signature has no name a test can import, so
    the test cannot override it (it would need that very instance), and the
    test suite ends up calling the real auth or the real service. Each inline
    call also builds a separate object, so two routes that look alike do not
    share one override.

    ## References
    - https://fastapi.tiangolo.com/advanced/testing-dependencies/
    - https://fastapi.tiangolo.com/advanced/advanced-dependencies/
    """

    code = "FX105"
    name = "inline-dependency-instance"
    summary = "`Depends(SomeClass(...))` built inline cannot be overridden in tests."
    severity = Severity.INFO

    valid = (
        Valid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends

            from app.auth import RoleChecker, User

            router = APIRouter()
            require_admin = RoleChecker("admin")

            @router.delete("/users/{user_id}")
            def delete_user(user_id: int, admin: Annotated[User, Depends(require_admin)]):
                return {"deleted": user_id}
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends

            from app.pagination import Pagination

            router = APIRouter()

            @router.get("/items")
            def list_items(page: Pagination = Depends(Pagination)):
                return {"offset": page.offset}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends

            from app.auth import RoleChecker, User

            router = APIRouter()

            @router.delete("/users/{user_id}")
            def delete_user(user_id: int, admin: Annotated[User, Depends(RoleChecker("admin"))]):
                return {"deleted": user_id}

            @router.post("/reports", dependencies=[Depends(RoleChecker("analyst"))])
            def create_report():
                return {"ok": True}
            """,
            lines=(10, 13),
        ),
        Invalid(
            """
            import fastapi
            from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

            app = fastapi.FastAPI()

            @app.get("/me")
            def me(credentials: HTTPAuthorizationCredentials = fastapi.Security(HTTPBearer())):
                return {"token": credentials.credentials}
            """,
            lines=(7,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if not is_marker(ctx, node):
            return
        arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "dependency"), None)
        if not isinstance(arg, ast.Call):
            return
        if ctx.functions and not self._in_signature_position(ctx):
            return  # a marker in a body is FX101's concern
        if not self._instantiates_class(arg, ctx):
            return
        callee = ctx.source.segment(arg.func) or "..."
        suggested = _snake(callee.rsplit(".", 1)[-1])
        ctx.report(
            node,
            f"`{ctx.source.segment(node)}` builds the dependency inline, so tests cannot replace it in "
            f"`app.dependency_overrides`; bind it to a module-level name (`{suggested} = "
            f"{ctx.source.segment(arg)}`) and use `Depends({suggested})`.",
        )

    @staticmethod
    def _instantiates_class(call: ast.Call, ctx: FileContext) -> bool:
        """Is `call` a class instantiation (a project class, or an external CapWords name)?"""
        target = ctx.resolve(call.func)
        if target is None:
            return False
        symbol = ctx.project.lookup(target)
        if isinstance(symbol, ClassInfo):
            return True
        if symbol is not None:
            return False  # a project function: a dependency factory, often cached
        return target.rsplit(".", 1)[-1][:1].isupper()

    @staticmethod
    def _in_signature_position(ctx: FileContext) -> bool:
        inner = ctx.functions[-1]
        for anc in reversed(ctx.ancestors):
            if anc is inner:
                return False
            if isinstance(anc, ast.arguments | ast.Subscript):
                return True
            if isinstance(anc, ast.keyword) and anc.arg == "dependencies":
                return True
        return False
