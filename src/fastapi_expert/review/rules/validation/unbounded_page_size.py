from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo, own_nodes
from fastapi_expert.review.model.project import Project, positional_parameters
from fastapi_expert.review.rules._util import add_import_edit
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    PARAM_FUNCTIONS,
    PYDANTIC_FIELD,
    Param,
    http_routes,
    local_name_for,
    name_is_free,
    parameters,
    routes_path_names,
)
from fastapi_expert.types import Edit, Fix, Severity

PAGE_SIZE_NAMES = frozenset(
    {"limit", "page_size", "pagesize", "per_page", "perpage", "size", "take", "count", "max_results", "page_limit"}
)
_CONINT = frozenset({"pydantic.conint", "pydantic.types.conint"})
_ANNOTATED_TYPES = frozenset({"annotated_types.Le", "annotated_types.Lt", "annotated_types.Interval"})
_ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
_QUERY = frozenset(q for q, kind in PARAM_FUNCTIONS.items() if kind == "query")
_UPPER = frozenset({"le", "lt"})


def _int_literal(expr: ast.expr | None) -> int | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int) and not isinstance(expr.value, bool):
        return expr.value
    return None


def _is_ceiling(expr: ast.expr) -> bool:
    """A value a page size is compared against to cap it (not `0` or `1`)."""
    value = _int_literal(expr)
    return value is None or value > 1


def _is_maximum(expr: ast.expr) -> bool:
    """A fixed maximum a value is checked to stay under: a number above 1, or a
    constant's name (`MAX_PAGE_SIZE`, `settings.MAX_LIMIT`), not another variable
    (`len(rows) > limit` asks whether there is a next page)."""
    value = _int_literal(expr)
    if value is not None:
        return value > 1
    name = expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ""
    return bool(name) and name.isupper()


def _clamped_operand(expr: ast.expr) -> list[str]:
    """The names an argument of `min(...)` caps: `limit`, and through `max(limit, 1)`
    or `int(limit)` around it."""
    if isinstance(expr, ast.Name):
        return [expr.id]
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in {"max", "int"}:
        return [name for a in expr.args for name in _clamped_operand(a)]
    return []


def _parents(func: FunctionInfo) -> dict[ast.AST, ast.AST]:
    out: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(func.node):
        for child in ast.iter_child_nodes(node):
            out[child] = node
    return out


def _callee_parameter(
    project: Project, func: FunctionInfo, call: ast.Call, arg: ast.expr
) -> tuple[FunctionInfo, str] | None:
    """The project function `call` calls and the name of its parameter `arg` fills."""
    callee = project.lookup(project.call_target(func.module, func, call))
    if not isinstance(callee, FunctionInfo):
        return None
    # `obj.method(x)` fills from the parameter after `self`; `Class.method(obj, x)` from `self`.
    positional = positional_parameters(project, func.module, callee, call)
    for i, value in enumerate(call.args):
        if value is arg:
            return (callee, positional[i]) if i < len(positional) else None
    for kw in call.keywords:
        if kw.value is arg and kw.arg is not None:
            return callee, kw.arg
    return None


def only_slices(project: Project, func: FunctionInfo, name: str, depth: int = 0) -> bool:
    """Does `name` only ever bound a slice of a sequence already in memory
    (`records[-limit:]`), here or in the project functions it is passed to, apart
    from tests of whether it was given (`if limit:`, `limit is None`)? Then it
    does not size any query: the sequence is read whatever the client asks."""
    if depth > 3:
        return False
    parents = _parents(func)
    sliced = False
    for node in ast.walk(func.node):
        if not (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)):
            continue
        use: ast.AST = node
        parent = parents.get(use)
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
            use, parent = parent, parents.get(parent)
        if isinstance(parent, ast.Slice):
            sliced = True
            continue
        if isinstance(parent, ast.BoolOp):
            use, parent = parent, parents.get(parent)
        if isinstance(parent, ast.If | ast.IfExp | ast.While) and parent.test is use:
            continue
        if (
            isinstance(parent, ast.Compare)
            and len(parent.ops) == 1
            and isinstance(parent.ops[0], ast.Is | ast.IsNot)
            and isinstance(parent.comparators[0], ast.Constant)
            and parent.comparators[0].value is None
        ):
            continue
        if isinstance(parent, ast.keyword):
            use, parent = parent.value, parents.get(parent)
        if isinstance(parent, ast.Call) and isinstance(use, ast.expr):
            target = _callee_parameter(project, func, parent, use)
            if target is not None and only_slices(project, target[0], target[1], depth + 1):
                sliced = True
                continue
        return False
    return sliced


class UnboundedPageSize(Rule):
    """Flags a page-size query parameter (`limit`, `page_size`, ...) with no upper bound.

    ## What it does
    Finds `int` query parameters of routes and of their dependencies named like
    a page size (`limit`, `page_size`, `per_page`, `size`, `take`, `count`,
    `max_results`) that have no `le=`/`lt=` bound: not in `Query(...)`, not in
    `Annotated[int, Query(...)]` / `Field(...)` / `annotated_types.Le`, not a
    `conint(le=...)`, and not clamped in the body (`min(limit, 100)`,
    `min(max(limit, 1), 200)`, or a comparison that rejects large values or
    keeps it under a fixed maximum, `1 <= limit <= MAX_LIMIT`), here or in a
    project function it is passed to (`validate_list_limit(limit)`). A page size whose default is a
    dependency (`Depends(...)`, a module-level alias of one, or a call to a
    project function that returns one, like `limit: int = LimitBody()`) is
    bounded in that dependency's code and is not flagged. Nor is a page size
    that only slices a sequence already in memory (`records[-limit:]`, here or
    in the project functions it is passed to, apart from `if limit:` tests):
    the sequence is read whatever the client asks, and it cannot return more
    than it holds. A page size that defaults to `None` is told to take a
    number as default as well: `le=` alone still lets a client that leaves it
    out get whatever `None` means, often every row.

    ## Why is this bad?
    The client chooses the value: `?limit=10000000` makes the database read,
    and the server serialise, every row of the table in one response. That is
    an easy denial of service and, with enough rows, an out-of-memory crash
    (OWASP API4:2023, unrestricted resource consumption). A bound in the
    signature rejects it with a 422 and documents the maximum in OpenAPI.

    ## Fix safety
    The fix adds `le=` to an existing `Query(...)`, or rewrites
    `limit: int = 100` to `limit: Annotated[int, Query(ge=1, le=100)] = 100`
    (importing `Annotated` and `Query` when needed). The bound is the larger
    of 100 and the default. It is unsafe: requests above the bound (and, for
    the rewrite, below the lower bound) that were served are now rejected.

    ## References
    - https://fastapi.tiangolo.com/tutorial/query-params-str-validations/
    - https://fastapi.tiangolo.com/tutorial/query-params-str-validations/#number-validations-greater-than-and-less-than-or-equal
    - https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/
    """

    code = "FX314"
    name = "unbounded-page-size"
    summary = "A `limit`/`page_size` query parameter has no upper bound (`le=`)."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from typing import Annotated

            from fastapi import FastAPI, Query
            from pydantic import conint

            app = FastAPI()

            @app.get("/items")
            def list_items(
                skip: int = 0,
                limit: Annotated[int, Query(ge=1, le=100)] = 20,
            ):
                return []

            @app.get("/orders")
            def list_orders(page_size: int = Query(20, le=100), size: conint(ge=1, le=50) = 10):
                return []
            """
        ),
        Valid(
            """
            from fastapi import FastAPI

            app = FastAPI()
            MAX_PAGE = 200

            @app.get("/events")
            def list_events(limit: int = 50):
                limit = min(limit, MAX_PAGE)
                return {"limit": limit}

            @app.get("/carts/{cart_id}/items/{count}")
            def items_by_count(cart_id: int, count: int):
                return {"count": count}
            """
        ),
        Valid(
            """
            from fastapi import Body, FastAPI

            from app import dependencies

            app = FastAPI()

            @app.post("/flow_runs/filter")
            async def read_flow_runs(limit: int = dependencies.LimitBody(), offset: int = Body(0, ge=0)) -> list[int]:
                return []
            """,
            filename="app/main.py",
            files={
                "app/dependencies.py": """
                    from fastapi import Body, Depends, HTTPException

                    DEFAULT_LIMIT = 200

                    def LimitBody():
                        def get_limit(limit: int = Body(None, description="page size")) -> int:
                            if limit is None:
                                return DEFAULT_LIMIT
                            if limit > DEFAULT_LIMIT or limit < 0:
                                raise HTTPException(422, f"Invalid limit: must be between 0 and {DEFAULT_LIMIT}")
                            return limit

                        return Depends(get_limit)
                """
            },
        ),
        Valid(
            """
            from typing import Any

            from fastapi import APIRouter

            from app.diagnostics import Diagnostics

            router = APIRouter()

            @router.get("/logs")
            def logs(limit: int | None = None) -> dict[str, Any]:
                return Diagnostics.recent_logs(limit)
            """,
            filename="app/main.py",
            files={
                "app/diagnostics.py": """
                    from collections import deque
                    from typing import Any

                    RECORDS: deque[dict[str, Any]] = deque(maxlen=1000)

                    class Diagnostics:
                        @staticmethod
                        def recent_logs(limit: int | None) -> dict[str, Any]:
                            records = list(RECORDS)
                            if limit:
                                records = records[-limit:]
                            return {"count": len(records), "logs": records}
                """
            },
        ),
        Valid(
            # The same, through an instance method called on its class with the
            # instance passed first: `limit` fills the parameter after `self`.
            """
            from typing import Any

            from fastapi import APIRouter

            from app.diagnostics import Diagnostics, diagnostics

            router = APIRouter()

            @router.get("/logs")
            def logs(limit: int | None = None) -> dict[str, Any]:
                return Diagnostics.recent_logs(diagnostics, limit)
            """,
            filename="app/main.py",
            files={
                "app/diagnostics.py": """
                    from collections import deque
                    from typing import Any

                    class Diagnostics:
                        def __init__(self) -> None:
                            self.records: deque[dict[str, Any]] = deque(maxlen=1000)

                        def recent_logs(self, limit: int | None) -> dict[str, Any]:
                            records = list(self.records)
                            if limit:
                                records = records[-limit:]
                            return {"count": len(records), "logs": records}

                    diagnostics = Diagnostics()
                """
            },
        ),
        Valid(
            # Clamped with a floor inside (`min(max(n, 1), 200)`), or checked by a helper that
            # rejects values above a maximum (`1 <= limit <= MAX`) before the query runs.
            """
            from fastapi import FastAPI, HTTPException

            app = FastAPI()
            MAX_LIST_LIMIT = 100

            def fetch_runs(max_results: int) -> list[dict]:
                return []

            def validate_list_limit(limit: int | None) -> None:
                if limit is None or 1 <= limit <= MAX_LIST_LIMIT:
                    return
                raise HTTPException(400, f"limit must be at most {MAX_LIST_LIMIT}")

            @app.get("/runs")
            def list_runs(max_results: int = 50) -> list[dict]:
                max_results = min(max(max_results, 1), 200)
                return fetch_runs(max_results)

            @app.get("/files")
            def list_files(limit: int | None = None) -> list[dict]:
                validate_list_limit(limit)
                return fetch_runs(limit or 20)
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/items")
            def list_items(skip: int = 0, limit: int = 100):
                return []
            """,
            lines=(6,),
            fixed="""
            from fastapi import FastAPI
            from typing import Annotated
            from fastapi import Query

            app = FastAPI()

            @app.get("/items")
            def list_items(skip: int = 0, limit: Annotated[int, Query(ge=1, le=100)] = 100):
                return []
            """,
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends, Query

            router = APIRouter()

            def pagination(page: int = 1, per_page: int = Query(25, ge=1)):
                return {"page": page, "per_page": per_page}

            @router.get("/users")
            def list_users(paging: Annotated[dict, Depends(pagination)], page_size: Annotated[int, Query()] = 500):
                return []
            """,
            lines=(7, 11),
            fixed="""
            from typing import Annotated

            from fastapi import APIRouter, Depends, Query

            router = APIRouter()

            def pagination(page: int = 1, per_page: int = Query(25, ge=1, le=100)):
                return {"page": page, "per_page": per_page}

            @router.get("/users")
            def list_users(paging: Annotated[dict, Depends(pagination)], page_size: Annotated[int, Query(le=500)] = 500):
                return []
            """,
        ),
        Invalid(
            """
            from fastapi import APIRouter, Query
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Trade

            router = APIRouter()

            def recent_trades(session: Session, limit: int) -> list[Trade]:
                rows = session.scalars(select(Trade).limit(limit)).all()
                return list(rows)[:limit]

            @router.get("/trades")
            def trades(limit: int = Query(500, ge=1)) -> list[int]:
                return [t.id for t in recent_trades(Session(), limit)]
            """,
            lines=(14,),
            fixed="""
            from fastapi import APIRouter, Query
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Trade

            router = APIRouter()

            def recent_trades(session: Session, limit: int) -> list[Trade]:
                rows = session.scalars(select(Trade).limit(limit)).all()
                return list(rows)[:limit]

            @router.get("/trades")
            def trades(limit: int = Query(500, ge=1, le=500)) -> list[int]:
                return [t.id for t in recent_trades(Session(), limit)]
            """,
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Query
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Event

            router = APIRouter()

            @router.get("/events")
            def list_events(limit: Annotated[int | None, Query(description="at most this many")] = None) -> list[int]:
                stmt = select(Event.id).order_by(Event.id)
                if limit:
                    stmt = stmt.limit(limit)
                return list(Session().scalars(stmt))
            """,
            lines=(12,),
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        if ctx.module.is_test:
            return
        routes = http_routes(ctx.project, node)
        if not routes and not ctx.is_dependency(node):
            return
        func = ctx.module.function_of_node.get(node)
        if func is None:
            return
        in_path = routes_path_names(routes)
        clamped: set[str] | None = None
        for p in parameters(ctx.project, func):
            name = p.arg.arg
            if name.lower() not in PAGE_SIZE_NAMES or name in in_path or p.kind not in {None, "query"}:
                continue
            if not self._is_int(ctx, p) or self._bounded(ctx, p):
                continue
            if clamped is None:
                clamped = self._checked_names(ctx.project, func)
            if name in clamped or only_slices(ctx.project, func, name):
                continue
            default = self._default(p)
            bound = max(100, default) if default is not None else 100
            if self._defaults_to_none(p):
                # `le=` alone would leave the default: a client that sends no page
                # size still gets whatever `None` means, often every row
                message = (
                    f"`{name}` defaults to `None` and has no upper bound, so a client can ask for any number of "
                    f"rows, and one that leaves it out may get all of them; give it a number as default and bound "
                    f"it, e.g. `{name}: Annotated[int, Query(ge=1, le={bound})] = {bound}`."
                )
            else:
                message = (
                    f"`{name}` has no upper bound, so a client can ask for any number of rows; "
                    f"bound it, e.g. `Query(le={bound})`."
                )
            ctx.report(p.arg, message, fix=self._fix(ctx, p, bound, default))

    # -- analysis -----------------------------------------------------------

    @staticmethod
    def _is_int(ctx: FileContext, p: Param) -> bool:
        inner = p.inner
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name | ast.Attribute):
            return ctx.project.resolve(p.module, inner.func) in _CONINT
        return ctx.project.annotation_type(p.module, inner) == "builtins.int"

    @staticmethod
    def _bounded(ctx: FileContext, p: Param) -> bool:
        calls: list[ast.expr] = [*p.meta]
        if p.marker is not None:
            calls.append(p.marker)
        if p.inner is not None:
            calls.append(p.inner)
        for call in calls:
            if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name | ast.Attribute):
                continue
            target = ctx.project.resolve(p.module, call.func) or ""
            if target in _ANNOTATED_TYPES:
                if not target.endswith("Interval") or any(k.arg in _UPPER for k in call.keywords):
                    return True
            elif target in PARAM_FUNCTIONS or target in PYDANTIC_FIELD or target in _CONINT:
                if any(k.arg in _UPPER for k in call.keywords):
                    return True
            elif any(k.arg in _UPPER for k in call.keywords):
                return True  # an unknown constraint helper with an upper bound
        return False

    @staticmethod
    def _clamped_names(func: FunctionInfo) -> set[str]:
        """Names the body clamps (`min(limit, N)`, `min(max(limit, 1), N)`) or compares
        against an upper value (`limit > N`, `1 <= limit <= N`)."""
        out: set[str] = set()
        for n in own_nodes(func.node):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "min":
                out |= {name for a in n.args for name in _clamped_operand(a)}
            elif isinstance(n, ast.Compare):
                operands = [n.left, *n.comparators]
                for left, op, right in zip(operands, n.ops, operands[1:], strict=False):
                    if isinstance(op, ast.Lt | ast.LtE) and isinstance(left, ast.Name) and _is_maximum(right):
                        out.add(left.id)  # `limit <= MAX`, `1 <= limit <= 100`: the accepted range
                    elif isinstance(op, ast.Gt | ast.GtE) and isinstance(right, ast.Name) and _is_maximum(left):
                        out.add(right.id)
                    elif isinstance(op, ast.Gt | ast.GtE) and isinstance(left, ast.Name) and _is_ceiling(right):
                        out.add(left.id)  # `limit > N`: rejects or caps large values
                    elif isinstance(op, ast.Lt | ast.LtE) and isinstance(right, ast.Name) and _is_ceiling(left):
                        out.add(right.id)
        return out

    @classmethod
    def _checked_names(cls, project: Project, func: FunctionInfo, depth: int = 0) -> set[str]:
        """Names the body clamps, or passes to a project function that clamps or checks
        the parameter it fills (`validate_list_limit(limit)`, raising above a maximum)."""
        out = cls._clamped_names(func)
        if depth >= 2:
            return out
        for n in own_nodes(func.node):
            if not isinstance(n, ast.Call):
                continue
            for arg in [*n.args, *(k.value for k in n.keywords)]:
                if not isinstance(arg, ast.Name) or arg.id in out:
                    continue
                target = _callee_parameter(project, func, n, arg)
                if target is not None and target[1] in cls._checked_names(project, target[0], depth + 1):
                    out.add(arg.id)
        return out

    @staticmethod
    def _defaults_to_none(p: Param) -> bool:
        """Is the parameter's default `None` (`= None`, `Query(None)`, `Query(default=None)`)?"""
        if p.marker is not None and p.marker_in_default:
            marker = p.marker
            value = (
                marker.args[0] if marker.args else next((k.value for k in marker.keywords if k.arg == "default"), None)
            )
        else:
            value = p.default
        return isinstance(value, ast.Constant) and value.value is None

    @staticmethod
    def _default(p: Param) -> int | None:
        if p.marker is not None and p.marker_in_default:
            marker = p.marker
            if marker.args:
                return _int_literal(marker.args[0])
            return _int_literal(next((k.value for k in marker.keywords if k.arg == "default"), None))
        return _int_literal(p.default)

    # -- fix ----------------------------------------------------------------

    def _fix(self, ctx: FileContext, p: Param, bound: int, default: int | None) -> Fix | None:
        if p.marker is not None:
            if p.module is not ctx.module:
                # The marker is in an alias another file defines (`Limit = Annotated[int,
                # Query()]` in app/types.py): its positions are not this file's.
                return None
            return self._add_keyword(ctx, p.marker, f"le={bound}")
        annotation = p.arg.annotation
        if annotation is None or p.meta or annotation is not p.inner:
            return None
        lower = 0 if default == 0 else 1
        edits: list[Edit] = []
        imports: list[str] = []
        annotated = self._name(ctx, _ANNOTATED, "typing", "Annotated", imports)
        query = self._name(ctx, _QUERY, "fastapi", "Query", imports)
        if annotated is None or query is None:
            return None
        text = ctx.source.segment(annotation)
        if not text or "\n" in text:
            return None
        edits.append(ctx.source.replace(annotation, f"{annotated}[{text}, {query}(ge={lower}, le={bound})]"))
        for statement in imports:
            extra = add_import_edit(ctx, statement)
            if extra is None:
                continue
            if len(edits) > 1 and (edits[-1].line, edits[-1].column) == (extra.line, extra.column):
                last = edits.pop()
                extra = Edit(last.line, last.column, last.end_line, last.end_column, last.content + extra.content)
            edits.append(extra)
        return Fix(f"Bound it with `{query}(le={bound})`", tuple(edits), safe=False)

    @staticmethod
    def _name(ctx: FileContext, qualnames: frozenset[str], module_name: str, bare: str, imports: list[str]) -> str | None:
        local = local_name_for(ctx.module, qualnames)
        if local is not None:
            return local
        alias = next((k for k, v in ctx.module.imports.items() if v == module_name), None)
        if alias is not None:
            return f"{alias}.{bare}"
        if name_is_free(ctx.module, bare):
            imports.append(f"from {module_name} import {bare}")
            return bare
        return None

    @staticmethod
    def _add_keyword(ctx: FileContext, call: ast.Call, text: str) -> Fix | None:
        last: ast.AST | None = None
        for item in [*call.args, *call.keywords]:
            if last is None or (getattr(item, "end_lineno", 0), getattr(item, "end_col_offset", 0)) > (
                getattr(last, "end_lineno", 0),
                getattr(last, "end_col_offset", 0),
            ):
                last = item
        if last is None:
            end_line, end_col = call.end_lineno, call.end_col_offset
            if end_line is None or end_col is None:
                return None
            col = ctx.source.column(end_line, end_col) - 1  # before ")"
            if ctx.source.line_text(end_line)[col - 1 : col] != ")":
                return None
            return Fix(f"Add `{text}`", (Edit(end_line, col, end_line, col, text),), safe=False)
        end_line = getattr(last, "end_lineno", None)
        end_col = getattr(last, "end_col_offset", None)
        if end_line is None or end_col is None:
            return None
        col = ctx.source.column(end_line, end_col)
        return Fix(f"Add `{text}`", (Edit(end_line, col, end_line, col, f", {text}"),), safe=False)
