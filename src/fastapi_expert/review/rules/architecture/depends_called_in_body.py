from __future__ import annotations

import ast

from fastapi_expert.review.rules.architecture._deps import is_marker
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _used_as_value(parent: ast.AST | None, node: ast.AST) -> bool:
    """Is `node` consumed as if it were the dependency's value (`x.attr`, `x[k]`, `x()`, `await x`)?"""
    if isinstance(parent, ast.Attribute | ast.Subscript) and parent.value is node:
        return True
    if isinstance(parent, ast.Call) and parent.func is node:
        return True
    return isinstance(parent, ast.Await)


def _name_used_as_value(func: ast.AST, name: str, after: int) -> bool:
    for child in ast.walk(func):
        for sub in ast.iter_child_nodes(child):
            if isinstance(sub, ast.Name) and sub.id == name and sub.lineno >= after and _used_as_value(child, sub):
                return True
    return False


class DependsCalledInBody(Rule):
    """Flags `Depends(...)` / `Security(...)` called inside a function body.

    ## What it does
    Finds a `Depends(...)` or `Security(...)` marker (under any import alias)
    created in the body of a function, where FastAPI never looks: inside a
    route or a dependency anywhere but a parameter default, `Annotated[...]` or a
    `dependencies=[...]` argument; in any other function, when the marker is
    then used as if it were the value (`db = Depends(get_db); db.query(...)`).
    Module-level aliases (`SessionDep = Annotated[Session, Depends(get_db)]`),
    factories that `return Depends(...)` for use as a parameter default, and
    dependency lists built for `APIRouter(dependencies=...)` stay silent.

    ## Why is this bad?
    FastAPI reads markers from the *signature* when the route is registered.
    A marker created while the function runs is a plain `fastapi.params.Depends`
    object: the dependency never runs, and the code gets the marker instead of a
    session or a user, failing with `AttributeError` (or, worse, an
    authentication check that silently does nothing).

    ## References
    - https://fastapi.tiangolo.com/tutorial/dependencies/
    - https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-in-path-operation-decorators/
    """

    code = "FX101"
    name = "depends-called-in-body"
    summary = "`Depends()` created inside a function body is never injected."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import get_db
            from app.models import Item

            app = FastAPI()
            SessionDep = Annotated[Session, Depends(get_db)]

            @app.get("/items")
            def list_items(db: SessionDep):
                return db.query(Item).all()

            @app.get("/items/{item_id}")
            def read_item(item_id: int, db: Session = Depends(get_db)):
                return db.get(Item, item_id)
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends, Security

            from app.auth import get_current_user, verify_api_key

            def require_scopes(*scopes: str):
                return Security(get_current_user, scopes=list(scopes))

            def build_router() -> APIRouter:
                router = APIRouter(dependencies=[Depends(verify_api_key)])

                @router.get("/admin/stats")
                def stats(user=require_scopes("admin")):
                    return {"user": user.id}

                return router
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import get_db
            from app.models import Item

            app = FastAPI()

            @app.get("/items")
            def list_items():
                db: Session = Depends(get_db)
                return db.query(Item).all()
            """,
            lines=(11,),
        ),
        Invalid(
            """
            import fastapi as f

            from app.auth import get_current_user

            def current_user_id() -> int:
                user = f.Depends(get_current_user)
                return user.id
            """,
            lines=(6,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if not ctx.functions or ctx.function() is None:
            return
        if not is_marker(ctx, node):
            return
        func_node = ctx.functions[-1]
        if not isinstance(func_node, _FUNCS):
            return
        parent = ctx.parent
        for anc in reversed(ctx.ancestors):
            if anc is func_node:
                break
            if isinstance(anc, ast.arguments | ast.Subscript | ast.Lambda):
                return  # a nested def's default, `Annotated[...]`, a lambda
            if isinstance(anc, ast.keyword) and anc.arg == "dependencies":
                return
        is_endpoint = bool(ctx.routes_of(func_node)) or ctx.is_dependency(func_node)
        if not is_endpoint:
            if isinstance(parent, ast.Return | ast.List | ast.Tuple | ast.Set | ast.keyword):
                return
            if not self._consumed(node, parent, func_node):
                return
        text = ctx.source.segment(node.func) or "Depends"
        ctx.report(
            node,
            f"`{text}(...)` in the body of `{func_node.name}` is never injected: FastAPI resolves "
            f"dependencies only from parameter defaults or `Annotated[...]`, so this is a marker "
            f"object, not the value; declare it as a parameter of `{func_node.name}`.",
        )

    @staticmethod
    def _consumed(node: ast.Call, parent: ast.AST | None, func_node: ast.AST) -> bool:
        if _used_as_value(parent, node):
            return True
        target: ast.expr | None = None
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            target = parent.targets[0]
        elif isinstance(parent, ast.AnnAssign):
            target = parent.target
        if isinstance(target, ast.Name):
            return _name_used_as_value(func_node, target.id, node.lineno)
        return False
