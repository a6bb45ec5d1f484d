from __future__ import annotations

import ast
import http
import re

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import keyword_value
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

HTTP_EXCEPTIONS = frozenset(
    {"fastapi.HTTPException", "fastapi.exceptions.HTTPException", "starlette.exceptions.HTTPException"}
)
_STATUS_MODULES = ("fastapi.status.", "starlette.status.")
_STATUS_NAME = re.compile(r"^(?:WS_|HTTP_)(\d{3})(?:_|$)")
_EXEMPT = frozenset({422})  # FastAPI documents request-validation errors itself

# A route's documented statuses: exact codes, and classes covered by "4XX" /
# "default" keys. None means "cannot tell" (a computed `responses=`).
Documented = tuple[frozenset[int], frozenset[str]]


def status_value(project: Project, module: ModuleInfo, expr: ast.expr | None) -> int | None:
    """The integer a status expression denotes: `404`, `status.HTTP_404_NOT_FOUND`,
    `HTTPStatus.NOT_FOUND` (with or without `.value`), through import aliases."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int) and not isinstance(expr.value, bool):
        return expr.value
    if isinstance(expr, ast.Attribute) and expr.attr == "value":
        expr = expr.value
    if not isinstance(expr, ast.Name | ast.Attribute):
        return None
    name = project.resolve(module, expr)
    if name is None:
        return None
    symbol = project.lookup(name)
    if isinstance(symbol, tuple) and isinstance(symbol[1], ast.Constant):  # NOT_FOUND = 404
        value = symbol[1].value
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if name.startswith(_STATUS_MODULES):
        match = _STATUS_NAME.match(name.rsplit(".", 1)[-1])
        return int(match.group(1)) if match else None
    if name.startswith("http.HTTPStatus."):
        member = name.rsplit(".", 1)[-1]
        found = http.HTTPStatus.__members__.get(member)
        return int(found) if found is not None else None
    return None


def _documented(project: Project, module: ModuleInfo, expr: ast.expr, depth: int = 0) -> Documented | None:
    """The status keys of a `responses=` value, through names and `**` spreads."""
    if depth > 8:
        return None
    if isinstance(expr, ast.Name | ast.Attribute):
        symbol = project.lookup(project.resolve(module, expr))
        if isinstance(symbol, tuple):
            return _documented(project, symbol[0], symbol[1], depth + 1)
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        left = _documented(project, module, expr.left, depth + 1)
        right = _documented(project, module, expr.right, depth + 1)
        if left is None or right is None:
            return None
        return left[0] | right[0], left[1] | right[1]
    if not isinstance(expr, ast.Dict):
        return None
    codes: set[int] = set()
    ranges: set[str] = set()
    for key, value in zip(expr.keys, expr.values, strict=True):
        if key is None:  # {**COMMON, 404: ...}
            inner = _documented(project, module, value, depth + 1)
            if inner is None:
                return None
            codes |= inner[0]
            ranges |= inner[1]
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            text = key.value.strip().upper()
            if text.isdigit():
                codes.add(int(text))
            elif text == "DEFAULT" or (len(text) == 3 and text.endswith("XX")):
                ranges.add(text[0] if text != "DEFAULT" else "*")
            continue
        code = status_value(project, module, key)
        if code is None:
            return None
        codes.add(code)
    return frozenset(codes), frozenset(ranges)


def route_documented(project: Project, route: Route) -> Documented | None:
    """Statuses declared for a route: its own `responses=`, its router's, and
    those of every `include_router(...)` / app on the way up."""
    model = project.fastapi
    sources: list[tuple[ModuleInfo, ast.expr | None]] = [(route.module, route.keyword("responses"))]
    owner = model.objects.get(route.router)
    if owner is not None:
        sources.append((owner.module, owner.keyword("responses")))
    for inc in model.include_chain(route.router):
        sources.append((inc.module, keyword_value(inc.node, "responses")))
        parent = model.objects.get(inc.parent)
        if parent is not None:
            sources.append((parent.module, parent.keyword("responses")))
    codes: set[int] = set()
    ranges: set[str] = set()
    for module, expr in sources:
        if expr is None:
            continue
        found = _documented(project, module, expr)
        if found is None:
            return None
        codes |= found[0]
        ranges |= found[1]
    return frozenset(codes), frozenset(ranges)


def _covers(documented: Documented, code: int) -> bool:
    codes, ranges = documented
    return code in codes or "*" in ranges or str(code)[0] in ranges


class UndocumentedHttpException(Rule):
    """Flags an `HTTPException` status raised by an endpoint but missing from its `responses=`.

    ## What it does
    For every route endpoint that raises `HTTPException(status_code=N)` directly
    in its body (N a literal or a `status.HTTP_...` / `HTTPStatus` constant),
    checks that N is declared in `responses={N: ...}` on the route decorator,
    its `APIRouter(...)`, an `include_router(...)` or the app (integer, string
    or `status` keys; `"4XX"` and `"default"` cover a range). 422 is exempt
    (FastAPI documents validation errors itself), and so are statuses raised
    only by dependencies or helpers. One finding per route and status, at the
    first `raise`.

    ## Why is this bad?
    FastAPI puts only the success response (and 422) in the OpenAPI document.
    A 404 or 409 the endpoint raises is invisible to the docs, to contract tests
    and to generated clients, which then treat it as an unexpected error instead
    of a typed one. Declaring it costs one line:
    `responses={404: {"description": "Item not found"}}` (with a `model` for the
    error body if you have one).

    ## References
    - https://fastapi.tiangolo.com/advanced/additional-responses/
    - https://fastapi.tiangolo.com/tutorial/handling-errors/
    - https://fastapi.tiangolo.com/tutorial/bigger-applications/#add-some-custom-tags-responses-and-dependencies
    """

    code = "FX701"
    name = "undocumented-http-exception"
    summary = "An endpoint raises an `HTTPException` status that its `responses=` does not declare."
    severity = Severity.INFO
    default_enabled = False

    valid = (
        Valid(
            """
            from fastapi import APIRouter, Depends, FastAPI, HTTPException, status

            NOT_FOUND = {404: {"description": "Item not found"}}
            router = APIRouter(prefix="/items", responses={403: {"description": "Not your item"}})

            def owned_item(item_id: int):
                item = ITEMS.get(item_id)
                if item is None:
                    raise HTTPException(status_code=409)  # raised by a dependency: not this rule's business
                return item

            @router.get("/{item_id}", responses={**NOT_FOUND, 422: {"description": "Bad id"}})
            def read_item(item_id: int, user=Depends(current_user)):
                if item_id not in ITEMS:
                    raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")
                if ITEMS[item_id].owner != user.id:
                    raise HTTPException(403)
                if item_id < 0:
                    raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY)
                return ITEMS[item_id]

            app = FastAPI()
            app.include_router(router)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI, HTTPException

            app = FastAPI()

            @app.delete("/sessions/{sid}", status_code=204, responses={"4XX": {"model": Problem}})
            async def end_session(sid: str):
                if sid not in SESSIONS:
                    raise HTTPException(status_code=404)
                if SESSIONS[sid].locked:
                    raise HTTPException(status_code=423)
                del SESSIONS[sid]
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI, HTTPException, status

            app = FastAPI()

            @app.get("/items/{item_id}", response_model=ItemOut)
            async def read_item(item_id: int):
                item = await load_item(item_id)
                if item is None:
                    raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")
                if item.archived:
                    raise HTTPException(status_code=404, detail="Item archived")
                return item
            """,
            lines=(9,),
        ),
        Invalid(
            """
            import fastapi as f
            from http import HTTPStatus

            router = f.APIRouter()

            @router.post("/orders", status_code=201, responses={409: {"description": "Duplicate order"}})
            def create_order(order: OrderIn):
                if order.sku not in CATALOGUE:
                    raise f.HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail="Unknown SKU")
                if order.id in ORDERS:
                    raise f.HTTPException(status_code=409)
                if order.quantity > STOCK[order.sku]:
                    raise f.HTTPException(status_code=HTTPStatus.CONFLICT.value)
                if not order.payment_ok:
                    raise f.HTTPException(402, "Payment required")
                return save(order)
            """,
            lines=(15,),
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        routes = [r for r in ctx.routes_of(node) if not r.is_websocket]
        if not routes:
            return
        raises: list[tuple[int, ast.Raise]] = []
        for sub in own_nodes(node):
            if not isinstance(sub, ast.Raise) or not isinstance(sub.exc, ast.Call):
                continue
            exc = sub.exc
            if not isinstance(exc.func, ast.Name | ast.Attribute) or ctx.resolve(exc.func) not in HTTP_EXCEPTIONS:
                continue
            expr = exc.args[0] if exc.args else keyword_value(exc, "status_code")
            code = status_value(ctx.project, ctx.module, expr)
            if code is not None and code not in _EXEMPT:
                raises.append((code, sub))
        if not raises:
            return
        raises.sort(key=lambda item: (item[1].lineno, item[1].col_offset))
        documented = [(r, route_documented(ctx.project, r)) for r in routes]
        reported: set[int] = set()
        for code, raise_node in raises:
            if code in reported:
                continue
            missing = next((r for r, docs in documented if docs is not None and not _covers(docs, code)), None)
            if missing is None:
                continue
            reported.add(code)
            method = missing.methods[0] if missing.methods else "route"
            ctx.report(
                raise_node,
                f"`{node.name}` ({method} `{missing.display_path}`) raises `HTTPException` {code}, which its "
                f"`responses=` does not declare; add `responses={{{code}: {{\"description\": ...}}}}` so the "
                "OpenAPI document and generated clients know this error.",
            )
