from __future__ import annotations

import ast

from fastapi_expert.review.model.fastapi_model import HTTP_VERBS
from fastapi_expert.review.rules._util import literal_str
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Edit, Fix, Severity

_OWNERS = ("fastapi.FastAPI", "fastapi.applications.FastAPI", "fastapi.APIRouter", "fastapi.routing.APIRouter")
_TARGETS = frozenset(f"{owner}.{method}" for owner in _OWNERS for method in ("route", "api_route"))


class GenericRouteDecorator(Rule):
    """Flags `@app.route(...)` and single-method `@app.api_route(...)`: use `@app.get` & co.

    ## What it does
    Finds, on a FastAPI app or `APIRouter`, the Starlette-style `@app.route(...)`
    decorator, and `@app.api_route(path, methods=["GET"])` declaring exactly one
    method.

    ## Why is this bad?
    `@app.route` registers a plain Starlette route: the handler receives the raw
    `Request`, FastAPI validates nothing, injects no dependencies and leaves the
    endpoint out of the OpenAPI schema; it is also deprecated in Starlette.
    `api_route` with one method is just a longer, less searchable spelling of
    the verb decorator (`@app.get`), and it hides the method from readers
    scanning for `@router.post`.

    ## Fix safety
    For `api_route` with exactly one literal method the fix renames the
    decorator to the verb (`@app.get(...)`) and drops `methods=`; FastAPI's verb
    decorators call `api_route` with that single method, so behaviour is
    unchanged (safe). `@app.route` gets no fix: its handler takes a `Request`
    and returns a `Response`, so the signature must be rewritten by hand.

    ## References
    - https://fastapi.tiangolo.com/tutorial/first-steps/#define-a-path-operation-decorator
    - https://fastapi.tiangolo.com/reference/apirouter/#fastapi.APIRouter.api_route
    - https://www.starlette.io/routing/
    """

    code = "FX110"
    name = "generic-route-decorator"
    summary = "`@app.route` / single-method `@app.api_route` instead of `@app.get` & co."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import APIRouter

            router = APIRouter()

            @router.get("/items/{item_id}")
            def read_item(item_id: int):
                return {"id": item_id}

            @router.api_route("/items/{item_id}", methods=["PUT", "PATCH"])
            def upsert_item(item_id: int, item: dict):
                return {"id": item_id, **item}
            """
        ),
        Valid(
            """
            from starlette.applications import Starlette
            from starlette.responses import PlainTextResponse

            app = Starlette()

            @app.route("/health")
            async def health(request):
                return PlainTextResponse("ok")
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI

            app = FastAPI()

            @app.api_route("/items/{item_id}", methods=["GET"], response_model=dict)
            def read_item(item_id: int):
                return {"id": item_id}

            @app.api_route(
                "/items",
                methods=["post"],
                status_code=201,
            )
            def create_item(item: dict):
                return item
            """,
            lines=(5, 9),
            fixed="""
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/items/{item_id}", response_model=dict)
            def read_item(item_id: int):
                return {"id": item_id}

            @app.post(
                "/items",
                status_code=201,
            )
            def create_item(item: dict):
                return item
            """,
        ),
        Invalid(
            """
            from fastapi import APIRouter
            from starlette.requests import Request
            from starlette.responses import JSONResponse

            router = APIRouter()

            @router.route("/legacy/items", methods=["GET"])
            async def legacy_items(request: Request):
                return JSONResponse({"items": []})
            """,
            lines=(7,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in {"route", "api_route"}:
            return
        parent = ctx.parent
        if not isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef) or not any(d is node for d in parent.decorator_list):
            return
        ref = ctx.project.fastapi.object_ref(ctx.module, ctx.function(), func.value)
        if ref is None and ctx.call_target(node) not in _TARGETS:
            return
        owner = ctx.source.segment(func.value) or "app"
        if func.attr == "route":
            ctx.report(
                node,
                f"`@{owner}.route(...)` registers a bare Starlette route (no validation, no dependencies, "
                f"not in OpenAPI); use `@{owner}.get(...)` / `@{owner}.post(...)` with typed parameters.",
            )
            return
        methods_kw = next((k for k in node.keywords if k.arg == "methods"), None)
        if methods_kw is None or not isinstance(methods_kw.value, ast.List | ast.Tuple | ast.Set):
            return
        elts = methods_kw.value.elts
        if len(elts) != 1:
            return
        method = literal_str(elts[0])
        if method is None:
            return
        verb = method.lower()
        fix = None
        if verb in HTTP_VERBS:
            fix = self._fix(node, methods_kw, f"{owner}.{verb}", ctx)
        ctx.report(
            node,
            f"`@{owner}.api_route(..., methods=[{ctx.source.segment(elts[0])}])` declares a single method; "
            f"use `@{owner}.{verb}(...)`.",
            fix=fix,
        )

    @staticmethod
    def _fix(node: ast.Call, methods_kw: ast.keyword, new_func: str, ctx: FileContext) -> Fix | None:
        args: list[ast.expr | ast.keyword] = [*node.args, *node.keywords]
        args.sort(key=lambda a: (a.lineno, a.col_offset))
        index = next(i for i, a in enumerate(args) if a is methods_kw)
        src = ctx.source
        kw_loc = src.location(methods_kw)
        if index > 0:
            prev = src.location(args[index - 1])
            removal = Edit(prev.end_line, prev.end_column, kw_loc.end_line, kw_loc.end_column, "")
        elif index + 1 < len(args):
            nxt = src.location(args[index + 1])
            removal = Edit(kw_loc.line, kw_loc.column, nxt.line, nxt.column, "")
        else:
            removal = Edit(kw_loc.line, kw_loc.column, kw_loc.end_line, kw_loc.end_column, "")
        return Fix(
            f"Use `@{new_func}(...)`",
            (src.replace(node.func, new_func), removal),
            safe=True,
        )
