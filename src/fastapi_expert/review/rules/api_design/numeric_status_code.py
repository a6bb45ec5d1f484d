from __future__ import annotations

import ast

from fastapi_expert.review.model.module import own_nodes
from fastapi_expert.review.rules._util import add_import_edit
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Edit, Fix, Severity

# `fastapi.status` (= `starlette.status`) constants whose names are the same in every
# Starlette release: checked against starlette/status.py before and after the RFC 9110
# renames. 413, 414, 416 and 422 were renamed (`HTTP_422_UNPROCESSABLE_ENTITY` ->
# `HTTP_422_UNPROCESSABLE_CONTENT`, the old names deprecated), so they get no fix.
STATUS_NAMES: dict[int, str] = {
    100: "HTTP_100_CONTINUE",
    101: "HTTP_101_SWITCHING_PROTOCOLS",
    102: "HTTP_102_PROCESSING",
    103: "HTTP_103_EARLY_HINTS",
    200: "HTTP_200_OK",
    201: "HTTP_201_CREATED",
    202: "HTTP_202_ACCEPTED",
    203: "HTTP_203_NON_AUTHORITATIVE_INFORMATION",
    204: "HTTP_204_NO_CONTENT",
    205: "HTTP_205_RESET_CONTENT",
    206: "HTTP_206_PARTIAL_CONTENT",
    207: "HTTP_207_MULTI_STATUS",
    208: "HTTP_208_ALREADY_REPORTED",
    226: "HTTP_226_IM_USED",
    300: "HTTP_300_MULTIPLE_CHOICES",
    301: "HTTP_301_MOVED_PERMANENTLY",
    302: "HTTP_302_FOUND",
    303: "HTTP_303_SEE_OTHER",
    304: "HTTP_304_NOT_MODIFIED",
    305: "HTTP_305_USE_PROXY",
    306: "HTTP_306_RESERVED",
    307: "HTTP_307_TEMPORARY_REDIRECT",
    308: "HTTP_308_PERMANENT_REDIRECT",
    400: "HTTP_400_BAD_REQUEST",
    401: "HTTP_401_UNAUTHORIZED",
    402: "HTTP_402_PAYMENT_REQUIRED",
    403: "HTTP_403_FORBIDDEN",
    404: "HTTP_404_NOT_FOUND",
    405: "HTTP_405_METHOD_NOT_ALLOWED",
    406: "HTTP_406_NOT_ACCEPTABLE",
    407: "HTTP_407_PROXY_AUTHENTICATION_REQUIRED",
    408: "HTTP_408_REQUEST_TIMEOUT",
    409: "HTTP_409_CONFLICT",
    410: "HTTP_410_GONE",
    411: "HTTP_411_LENGTH_REQUIRED",
    412: "HTTP_412_PRECONDITION_FAILED",
    415: "HTTP_415_UNSUPPORTED_MEDIA_TYPE",
    417: "HTTP_417_EXPECTATION_FAILED",
    418: "HTTP_418_IM_A_TEAPOT",
    421: "HTTP_421_MISDIRECTED_REQUEST",
    423: "HTTP_423_LOCKED",
    424: "HTTP_424_FAILED_DEPENDENCY",
    425: "HTTP_425_TOO_EARLY",
    426: "HTTP_426_UPGRADE_REQUIRED",
    428: "HTTP_428_PRECONDITION_REQUIRED",
    429: "HTTP_429_TOO_MANY_REQUESTS",
    431: "HTTP_431_REQUEST_HEADER_FIELDS_TOO_LARGE",
    451: "HTTP_451_UNAVAILABLE_FOR_LEGAL_REASONS",
    500: "HTTP_500_INTERNAL_SERVER_ERROR",
    501: "HTTP_501_NOT_IMPLEMENTED",
    502: "HTTP_502_BAD_GATEWAY",
    503: "HTTP_503_SERVICE_UNAVAILABLE",
    504: "HTTP_504_GATEWAY_TIMEOUT",
    505: "HTTP_505_HTTP_VERSION_NOT_SUPPORTED",
    506: "HTTP_506_VARIANT_ALSO_NEGOTIATES",
    507: "HTTP_507_INSUFFICIENT_STORAGE",
    508: "HTTP_508_LOOP_DETECTED",
    510: "HTTP_510_NOT_EXTENDED",
    511: "HTTP_511_NETWORK_AUTHENTICATION_REQUIRED",
}
# Renamed across Starlette versions: the message names both spellings, no fix.
RENAMED_STATUS: dict[int, str] = {
    413: "HTTP_413_CONTENT_TOO_LARGE` (`HTTP_413_REQUEST_ENTITY_TOO_LARGE` in older Starlette",
    414: "HTTP_414_URI_TOO_LONG` (`HTTP_414_REQUEST_URI_TOO_LONG` in older Starlette",
    416: "HTTP_416_RANGE_NOT_SATISFIABLE` (`HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE` in older Starlette",
    422: "HTTP_422_UNPROCESSABLE_CONTENT` (`HTTP_422_UNPROCESSABLE_ENTITY` in older Starlette",
}
STATUS_MODULES = frozenset({"fastapi.status", "starlette.status"})
HTTP_EXCEPTIONS = frozenset(
    {"fastapi.HTTPException", "fastapi.exceptions.HTTPException", "starlette.exceptions.HTTPException"}
)
_RESPONSE_MODULES = ("fastapi.responses.", "starlette.responses.")


def _bound_locally(ctx: FileContext, name: str) -> bool:
    """Is `name` a parameter or local variable of a function around the current node?"""
    func = ctx.function()
    while func is not None:
        args = func.node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        if any(a is not None and a.arg == name for a in every):
            return True
        for node in own_nodes(func.node):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
                return True
            if isinstance(node, ast.alias) and (node.asname or node.name) == name:
                return True
        func = func.parent
    return False


def status_module_name(ctx: FileContext) -> tuple[str, Edit | None] | None:
    """How code at the current node can name `fastapi.status`, and the import edit
    needed for it (None when it cannot be named safely)."""
    for stmt in ctx.module.tree.body:
        if isinstance(stmt, ast.ImportFrom) and not stmt.level and stmt.module in {"fastapi", "starlette"}:
            for alias in stmt.names:
                if alias.name == "status":
                    local = alias.asname or "status"
                    return None if _bound_locally(ctx, local) else (local, None)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name in STATUS_MODULES and alias.asname:
                    return None if _bound_locally(ctx, alias.asname) else (alias.asname, None)
    module = ctx.module
    taken = "status" in module.imports or "status" in module.functions or "status" in module.classes or "status" in module.assignments
    if taken or _bound_locally(ctx, "status"):
        return None
    return "status", add_import_edit(ctx, "from fastapi import status")


def _int_literal(expr: ast.expr | None) -> int | None:
    if isinstance(expr, ast.Constant) and type(expr.value) is int and 100 <= expr.value <= 599:
        return expr.value
    return None


class NumericStatusCode(Rule):
    """Flags integer status codes where a `fastapi.status` constant says what they mean.

    ## What it does
    Finds integer literals used as HTTP status codes in `status_code=` of a route
    decorator or `add_api_route(...)`, in `HTTPException(404, ...)` /
    `HTTPException(status_code=404)`, and in `Response(...)` / `JSONResponse(...)`
    and the other response classes (`status_code=` or the second positional
    argument). Keys of `responses={...}` and test assertions are left alone.

    ## Why is this bad?
    `status.HTTP_409_CONFLICT` says what the code means where `409` makes the
    reader remember it, and a typo in a name fails at import time while `490`
    passes silently. It is a readability convention FastAPI's documentation
    follows; off by default (enable with `--select FX705`).

    ## Fix safety
    The fix replaces the literal with the constant of the same value and adds
    `from fastapi import status` when the module does not already import it; it
    is safe. Codes whose constant was renamed between Starlette versions (413,
    414, 416, 422) are reported without a fix, as is a module where `status`
    already names something else.

    ## References
    - https://fastapi.tiangolo.com/tutorial/response-status-code/#shortcut-to-remember-the-names
    - https://fastapi.tiangolo.com/reference/status/
    - https://www.starlette.io/responses/
    """

    code = "FX705"
    name = "numeric-status-code"
    summary = "Integer literal status code; use the named constant from `fastapi.status`."
    severity = Severity.INFO
    default_enabled = False

    valid = (
        Valid(
            """
            from fastapi import FastAPI, HTTPException, status

            app = FastAPI()
            ITEMS = {1: "hammer"}


            @app.post("/items", status_code=status.HTTP_201_CREATED, responses={409: {"description": "Exists"}})
            def create_item(name: str):
                if name in ITEMS.values():
                    raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="Item exists")
                ITEMS[len(ITEMS) + 1] = name
                return {"name": name}
            """
        ),
        Valid(
            """
            from fastapi.testclient import TestClient

            from app.main import app


            def test_missing_item():
                with TestClient(app) as client:
                    assert client.get("/items/999").status_code == 404
            """,
            filename="tests/test_items.py",
            files={"app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n"},
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import APIRouter, HTTPException
            from fastapi.responses import JSONResponse

            router = APIRouter()
            ITEMS = {1: "hammer"}


            @router.delete("/items/{item_id}", status_code=204)
            def delete_item(item_id: int):
                if item_id not in ITEMS:
                    raise HTTPException(404, detail="Item not found")
                del ITEMS[item_id]


            @router.post("/items/import")
            def import_items():
                return JSONResponse({"queued": True}, status_code=202)
            """,
            lines=(8, 11, 17),
            fixed="""
            from fastapi import APIRouter, HTTPException
            from fastapi.responses import JSONResponse
            from fastapi import status

            router = APIRouter()
            ITEMS = {1: "hammer"}


            @router.delete("/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
            def delete_item(item_id: int):
                if item_id not in ITEMS:
                    raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Item not found")
                del ITEMS[item_id]


            @router.post("/items/import")
            def import_items():
                return JSONResponse({"queued": True}, status_code=status.HTTP_202_ACCEPTED)
            """,
        ),
        Invalid(
            """
            import fastapi as fa
            from starlette import status as http_status

            app = fa.FastAPI()


            @app.put("/profiles/{user_id}")
            def update_profile(user_id: int, payload: dict):
                if not payload:
                    raise fa.HTTPException(status_code=422, detail="Empty update")
                if user_id == 0:
                    raise fa.HTTPException(status_code=403, detail="Read-only profile")
                return payload
            """,
            lines=(10, 12),
            fixed="""
            import fastapi as fa
            from starlette import status as http_status

            app = fa.FastAPI()


            @app.put("/profiles/{user_id}")
            def update_profile(user_id: int, payload: dict):
                if not payload:
                    raise fa.HTTPException(status_code=422, detail="Empty update")
                if user_id == 0:
                    raise fa.HTTPException(status_code=http_status.HTTP_403_FORBIDDEN, detail="Read-only profile")
                return payload
            """,
        ),
    )

    def __init__(self) -> None:
        self._route_nodes: dict[str, set[int]] = {}

    def _is_route_call(self, node: ast.Call, ctx: FileContext) -> bool:
        nodes = self._route_nodes.get(ctx.module.path)
        if nodes is None:
            nodes = {id(r.node) for r in ctx.project.fastapi.routes if r.module is ctx.module}
            self._route_nodes[ctx.module.path] = nodes
        return id(node) in nodes

    def _status_expr(self, node: ast.Call, ctx: FileContext) -> ast.expr | None:
        kw = next((k.value for k in node.keywords if k.arg == "status_code"), None)
        if self._is_route_call(node, ctx):
            return kw
        target = ctx.resolve(node.func)
        if target is None:
            return None
        if target in HTTP_EXCEPTIONS:
            return kw if kw is not None else (node.args[0] if node.args else None)
        if target == "fastapi.Response" or (target.startswith(_RESPONSE_MODULES) and target.endswith("Response")):
            return kw if kw is not None else (node.args[1] if len(node.args) > 1 else None)
        return None

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        expr = self._status_expr(node, ctx)
        code = _int_literal(expr)
        if expr is None or code is None:
            return
        name = STATUS_NAMES.get(code)
        if name is None:
            renamed = RENAMED_STATUS.get(code)
            hint = f"`status.{renamed})" if renamed else "the named constant"
            ctx.report(expr, f"Status code `{code}` is a bare number; use {hint} from `fastapi.status`.")
            return
        fix = None
        ref = status_module_name(ctx)
        local = "status"
        if ref is not None:
            local, import_edit = ref
            edits = [ctx.source.replace(expr, f"{local}.{name}")]
            if import_edit is not None:
                edits.append(import_edit)
            fix = Fix(f"Use `{local}.{name}`", tuple(edits))
        ctx.report(expr, f"Status code `{code}` is a bare number; use `{local}.{name}` from `fastapi.status`.", fix=fix)
