from __future__ import annotations

import ast

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import keyword, keyword_value
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import describe_route, http_routes, model_class
from fastapi_expert.types import Severity

_JSON_RESPONSES = frozenset(
    {
        "fastapi.responses.JSONResponse",
        "fastapi.responses.ORJSONResponse",
        "fastapi.responses.UJSONResponse",
        "fastapi.JSONResponse",
        "starlette.responses.JSONResponse",
    }
)
_RESPONSE_MODULES = ("fastapi.responses.", "starlette.responses.", "fastapi.Response", "starlette.templating.")
_NO_BODY = frozenset({204, 304})
_STATUS_PREFIXES = ("fastapi.status.HTTP_", "starlette.status.HTTP_")
_UNTYPED = frozenset({"builtins.dict", "typing.Dict", "typing.Any", "typing_extensions.Any", "builtins.object"})
_ANY = frozenset({"typing.Any", "typing_extensions.Any", "builtins.object"})


def _untyped_return(project: Project, module: ModuleInfo, returns: ast.expr) -> bool:
    """`-> dict`, `-> Dict[str, Any]`, `-> dict[str, Any]`, `-> Any`."""
    if isinstance(returns, ast.Name | ast.Attribute):
        return project.resolve(module, returns) in _UNTYPED
    if isinstance(returns, ast.Subscript) and isinstance(returns.value, ast.Name | ast.Attribute):
        head = project.resolve(module, returns.value)
        if head not in {"builtins.dict", "typing.Dict"}:
            return False
        parts = returns.slice.elts if isinstance(returns.slice, ast.Tuple) else [returns.slice]
        value = parts[-1]
        return len(parts) == 2 and isinstance(value, ast.Name | ast.Attribute) and project.resolve(module, value) in _ANY
    return False


def _status(project: Project, module: ModuleInfo, expr: ast.expr | None) -> int | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int):
        return expr.value
    if isinstance(expr, ast.Name | ast.Attribute):
        qual = project.resolve(module, expr) or ""
        for prefix in _STATUS_PREFIXES:
            if qual.startswith(prefix):
                digits = qual[len(prefix) :].split("_", 1)[0]
                return int(digits) if digits.isdigit() else None
    return None


def _builds_model(ctx: FileContext, call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in {"model_validate", "model_construct", "parse_obj", "from_orm"}:
        func = func.value
    return isinstance(func, ast.Name | ast.Attribute) and model_class(ctx.project, ctx.resolve(func)) is not None


def _model_variables(ctx: FileContext, node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Local names that hold a model instance (annotated, or built from a model)."""
    func = ctx.module.function_of_node.get(node)
    out = set()
    if func is not None:
        out = {name for name, qual in ctx.project.variable_types(func).items() if model_class(ctx.project, qual)}
    for n in own_nodes(node):
        if (
            isinstance(n, ast.Assign)
            and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name)
            and isinstance(n.value, ast.Call)
            and _builds_model(ctx, n.value)
        ):
            out.add(n.targets[0].id)
    return out


def _def_header(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
    """A node spanning `def name` / `async def name`, to report on the header only."""
    keyword_len = len("async def ") if isinstance(node, ast.AsyncFunctionDef) else len("def ")
    return ast.Name(
        id=node.name,
        lineno=node.lineno,
        col_offset=node.col_offset,
        end_lineno=node.lineno,
        end_col_offset=node.col_offset + keyword_len + len(node.name.encode("utf-8")),
    )


class MissingResponseModel(Rule):
    """Flags an HTTP route with neither `response_model=` nor a typed return annotation.

    ## What it does
    Finds path operations whose decorator has no `response_model=` and whose
    endpoint has no return annotation, or only `-> dict`, `-> dict[str, Any]` or
    `-> Any`. Routes that do not answer with a JSON model are left alone: a
    non-JSON `response_class=` (HTML, redirect, streaming, file, plain
    `Response`, also as the router's `default_response_class`), `status_code=204`, `include_in_schema=False`, endpoints that
    return a `Response` object, and endpoints that return no value.

    ## Why is this bad?
    With a response model FastAPI validates what the endpoint returns and,
    above all, filters it: only the declared fields are sent. Without one
    whatever the function returns is serialised as is, so an ORM object or a
    dict built from one can leak columns such as `hashed_password` or internal
    flags, a bug fails silently instead of with a clear error, and the OpenAPI
    document has no schema for client generators.

    ## References
    - https://fastapi.tiangolo.com/tutorial/response-model/
    - https://fastapi.tiangolo.com/tutorial/response-model/#return-type-and-data-filtering
    - https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/
    """

    code = "FX302"
    name = "missing-response-model"
    summary = "A route has no `response_model` and no typed return: output unvalidated, unfiltered, undocumented."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import FastAPI, status
            from fastapi.responses import HTMLResponse, RedirectResponse
            from pydantic import BaseModel

            app = FastAPI()

            class UserOut(BaseModel):
                id: int
                email: str

            @app.get("/users/{user_id}", response_model=UserOut)
            def get_user(user_id: int):
                return {"id": user_id, "email": "a@example.com", "hashed_password": "x"}

            @app.get("/me")
            def me() -> UserOut:
                return UserOut(id=1, email="a@example.com")

            @app.get("/", response_class=HTMLResponse)
            def home():
                return "<h1>Hello</h1>"

            @app.get("/docs-old")
            def old_docs():
                return RedirectResponse("/docs")

            @app.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
            def delete_user(user_id: int):
                return None
            """
        ),
        Valid(
            """
            from fastapi import APIRouter

            from app.metrics import collect_metrics

            router = APIRouter()

            @router.get("/internal/metrics", include_in_schema=False)
            def metrics():
                return collect_metrics()

            @router.post("/import")
            def import_rows(rows: list[int]):
                return {"imported": len(rows)}

            @router.websocket("/ws")
            async def ws(websocket):
                await websocket.accept()
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Any

            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import get_db
            from app.models import User

            app = FastAPI()

            @app.get("/users/{user_id}")
            def get_user(user_id: int, db: Session = Depends(get_db)):
                return db.get(User, user_id)

            @app.get("/users/{user_id}/profile")
            def get_profile(user_id: int, db: Session = Depends(get_db)) -> dict[str, Any]:
                user = db.get(User, user_id)
                return user.__dict__
            """,
            lines=(12, 16),
        ),
        Invalid(
            """
            import fastapi

            router = fastapi.APIRouter(prefix="/items")

            @router.post("/", status_code=201)
            async def create_item(name: str):
                item = await save_item(name)
                return item

            async def save_item(name: str):
                ...
            """,
            lines=(6,),
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        routes = http_routes(ctx.project, node)
        if not routes or ctx.module.is_test:
            return
        if node.returns is not None and not _untyped_return(ctx.project, ctx.module, node.returns):
            return
        if not self._returns_json_value(node, ctx):
            return
        for route in routes:
            call = route.node
            if isinstance(call.func, ast.Attribute) and call.func.attr in {"route", "add_route"}:
                continue  # Starlette-style routes take no response model
            if keyword(call, "response_model") is not None:
                continue  # set, or explicitly None
            in_schema = keyword_value(call, "include_in_schema")
            if isinstance(in_schema, ast.Constant) and in_schema.value is False:
                continue
            if _status(ctx.project, route.module, keyword_value(call, "status_code")) in _NO_BODY:
                continue
            if not self._json_route(ctx, route):
                continue
            if node.returns is None:
                what = "has no `response_model` and no return annotation"
            else:
                what = f"returns `{ast.unparse(node.returns)}` with no `response_model`"
            ctx.report(
                _def_header(node),
                f"`{describe_route(route)}` {what}, so its output is neither validated nor filtered and "
                "has no OpenAPI schema; declare a Pydantic model as the return type or `response_model=`.",
            )

    @staticmethod
    def _json_route(ctx: FileContext, route: Route) -> bool:
        """Does the route answer with JSON (no non-JSON `response_class` on it or its router)?"""
        fastapi = ctx.project.fastapi
        candidates: list[tuple[ModuleInfo, ast.expr | None]] = [(route.module, route.keyword("response_class"))]
        owner = fastapi.objects.get(route.router)
        if owner is not None:
            candidates.append((owner.module, owner.keyword("default_response_class")))
        for inc in reversed(fastapi.include_chain(route.router)):
            candidates.append((inc.module, keyword_value(inc.node, "default_response_class")))
        for module, expr in candidates:
            if expr is not None:
                return ctx.project.resolve(module, expr) in _JSON_RESPONSES
        return True

    @staticmethod
    def _returns_json_value(node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> bool:
        """Does the endpoint return a value FastAPI will serialise as JSON, other
        than a dict literal with explicit keys?"""
        returns_value = False
        models = _model_variables(ctx, node)
        for n in own_nodes(node):
            if isinstance(n, ast.Yield | ast.YieldFrom):
                return False
            if not isinstance(n, ast.Return) or n.value is None:
                continue
            value = n.value
            if isinstance(value, ast.Constant) and value.value is None:
                continue
            if isinstance(value, ast.Dict) and None not in value.keys:
                continue  # a dict literal lists its keys: nothing leaks by accident
            if isinstance(value, ast.Call) and _builds_model(ctx, value):
                continue  # `UserOut(...)`, `UserOut.model_validate(row)`: already a model
            if isinstance(value, ast.Name) and value.id in models:
                continue
            returns_value = True
            if isinstance(value, ast.Call):
                func = value.func
                target = ctx.call_target(value) or (ctx.resolve(func) if isinstance(func, ast.Name | ast.Attribute) else None) or ""
                name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if target.startswith(_RESPONSE_MODULES) or name.endswith("Response"):
                    return False
        return returns_value
