from __future__ import annotations

import ast

from fastapi_expert.review.model.module import ClassInfo, own_nodes
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

_NO_CONTENT_NAMES = frozenset(
    {
        "fastapi.status.HTTP_204_NO_CONTENT",
        "starlette.status.HTTP_204_NO_CONTENT",
        "http.HTTPStatus.NO_CONTENT",
    }
)
_RESPONSE_PREFIXES = ("fastapi.responses.", "starlette.responses.")
_NO_BODY_TYPES = frozenset(
    {"typing.NoReturn", "typing.Never", "typing_extensions.Never", "typing_extensions.NoReturn"}
)
_RESPONSE_NAMES = frozenset({"fastapi.Response", "fastapi.responses.Response", "starlette.responses.Response"})

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _is_none(expr: ast.expr | None) -> bool:
    return expr is None or (isinstance(expr, ast.Constant) and expr.value is None)


class NoContentRouteReturnsBody(Rule):
    """Flags a `status_code=204` route that returns a value or declares a `response_model`.

    ## What it does
    For each route declared with `status_code=204` (the literal, or
    `status.HTTP_204_NO_CONTENT` / `HTTPStatus.NO_CONTENT` under any import),
    flags a `return <value>` of something other than `None` or an empty
    `Response(...)`, a `response_model=` other than `None`, and (when
    `response_model=` is absent) a return annotation such as `-> dict` or
    `-> Item` that FastAPI would take as the response model.

    ## Why is this bad?
    A 204 response has no content (RFC 9110, section 15.3.5). A `response_model`
    (explicit or inferred from the return annotation) on a 204 route makes
    FastAPI stop at startup with `AssertionError: Status
    code 204 must not have a response body`. A returned value is serialized and
    then dropped by FastAPI because the status allows no body, so the data the
    handler carefully built never reaches the client; returning a `Response`
    object with content sends a body that HTTP clients and proxies reject or
    misread as the start of the next response. Either the route should answer
    `200` with the body, or it should return nothing.

    ## References
    - https://www.rfc-editor.org/rfc/rfc9110#name-204-no-content
    - https://fastapi.tiangolo.com/advanced/response-change-status-code/
    - https://fastapi.tiangolo.com/tutorial/response-status-code/
    """

    code = "FX704"
    name = "no-content-route-returns-body"
    summary = "A 204 route returns a body or declares a `response_model`."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import APIRouter, Response, status

            router = APIRouter()

            @router.delete("/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
            def delete_item(item_id: int):
                if item_id < 0:
                    return Response(status_code=status.HTTP_204_NO_CONTENT)
                return None

            @router.put("/items/{item_id}/archive", status_code=204, response_model=None)
            async def archive_item(item_id: int) -> None:
                return
            """
        ),
        Valid(
            """
            from fastapi import FastAPI

            app = FastAPI()

            @app.post("/items", status_code=201)
            def create_item(item: dict):
                return item
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI
            from fastapi import status as st

            app = FastAPI()

            @app.delete("/items/{item_id}", status_code=st.HTTP_204_NO_CONTENT)
            def delete_item(item_id: int):
                return {"deleted": item_id}
            """,
            lines=(8,),
        ),
        Invalid(
            """
            from http import HTTPStatus

            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()

            class Ack(BaseModel):
                ok: bool

            @router.post("/jobs/{job_id}/cancel", status_code=HTTPStatus.NO_CONTENT, response_model=Ack)
            async def cancel_job(job_id: int):
                return None
            """,
            lines=(11,),
        ),
        Invalid(
            """
            from fastapi import APIRouter

            router = APIRouter()

            @router.delete("/sessions/current", status_code=204)
            async def logout() -> dict[str, bool]:
                return None
            """,
            lines=(6,),
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _is_204(self, expr: ast.expr | None, ctx: FileContext) -> bool:
        if isinstance(expr, ast.Constant):
            return expr.value == 204 and not isinstance(expr.value, bool)
        if isinstance(expr, ast.Name | ast.Attribute):
            return ctx.resolve(expr) in _NO_CONTENT_NAMES
        return False

    def _is_response(self, expr: ast.expr, ctx: FileContext) -> bool:
        target = ctx.resolve(expr)
        return target is not None and (target in _RESPONSE_NAMES or target.startswith(_RESPONSE_PREFIXES))

    def _empty_response(self, expr: ast.expr, node: FunctionNode, ctx: FileContext) -> bool:
        """`Response(status_code=204)` with no content, or a `Response`-typed variable."""
        if isinstance(expr, ast.Call) and self._is_response(expr.func, ctx):
            content = expr.args[0] if expr.args else next((k.value for k in expr.keywords if k.arg == "content"), None)
            return _is_none(content) or (isinstance(content, ast.Constant) and content.value in ("", b""))
        if isinstance(expr, ast.Name):
            func = ctx.module.function_of_node.get(node)
            if func is None:
                return False
            kind = ctx.project.variable_types(func).get(expr.id, "")
            return kind in _RESPONSE_NAMES or kind.startswith(_RESPONSE_PREFIXES)
        return False

    def _body_annotation(self, node: FunctionNode, ctx: FileContext) -> bool:
        """Does the return annotation make FastAPI infer a response model?"""
        returns = node.returns
        if returns is None or isinstance(returns, ast.Constant | ast.BinOp):
            return False  # absent, `-> None`, a string resolved later, or a union
        head = returns.value if isinstance(returns, ast.Subscript) else returns
        if not isinstance(head, ast.Name | ast.Attribute):
            return False
        target = ctx.resolve(head)
        if target is None or target in _NO_BODY_TYPES or self._is_response(head, ctx):
            return False
        symbol = ctx.project.lookup(target)
        if isinstance(symbol, ClassInfo):
            bases = ctx.project.class_bases(symbol)
            return not any(b in _RESPONSE_NAMES or b.startswith(_RESPONSE_PREFIXES) for b in bases)
        return True

    def _check(self, node: FunctionNode, ctx: FileContext) -> None:
        routes = [r for r in ctx.routes_of(node) if r.module is ctx.module and self._is_204(r.keyword("status_code"), ctx)]
        if not routes:
            return
        for route in routes:
            model = route.keyword("response_model")
            if model is None and self._body_annotation(node, ctx):
                ctx.report(
                    node.returns or node,
                    f"`{node.name}` answers 204 No Content but is annotated `-> "
                    f"{ctx.source.segment(node.returns) if node.returns else ''}`, which FastAPI takes as the response model and "
                    f"rejects at startup (a 204 has no body); annotate `-> None` or pass `response_model=None`.",
                )
            elif model is not None and not _is_none(model):
                ctx.report(
                    model,
                    f"`{node.name}` answers 204 No Content but declares `response_model="
                    f"{ctx.source.segment(model)}`, which FastAPI rejects at startup (a 204 has no body); "
                    f"drop the model or answer 200 with the body.",
                )
        for child in own_nodes(node):
            if not isinstance(child, ast.Return):
                continue
            value = child.value
            if value is None or _is_none(value) or self._empty_response(value, node, ctx):
                continue
            if isinstance(value, ast.Call) and self._is_response(value.func, ctx):
                effect = "a response with content, which HTTP clients and proxies misread after a 204"
            else:
                effect = "a body FastAPI serializes and then drops, so the client never receives it"
            ctx.report(
                child,
                f"`{node.name}` answers 204 No Content but returns `{ctx.source.segment(value)}`, "
                f"{effect}; return `None` or answer 200 with the body.",
            )
