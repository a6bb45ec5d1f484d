from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterator

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import keyword_value, literal_str
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import chain_root, session_method
from fastapi_expert.types import Severity

_LIST_TYPES = frozenset(
    {
        "builtins.list",
        "list",
        "typing.List",
        "typing.Sequence",
        "typing_extensions.Sequence",
        "collections.abc.Sequence",
    }
)
# Words that name a pagination parameter (`limit`, `page_size`, `cursor`, `per_page`, ...).
_PAGINATION_WORDS = frozenset(
    {"limit", "offset", "cursor", "page", "pagination", "paginate", "size", "skip", "take", "after", "before", "top"}
)
_BOUNDING_METHODS = frozenset({"limit", "offset", "slice", "paginate", "fetchmany", "partitions"})
_SQL_LIMIT = re.compile(r"\b(limit|fetch\s+first|top)\b", re.IGNORECASE)
_SQL_START = ("SELECT", "WITH")


_FACTORY_PREFIXES: weakref.WeakKeyDictionary[Project, dict[str, str]] = weakref.WeakKeyDictionary()


def _factory_prefixes(project: Project) -> dict[str, str]:
    """Router factory qualname -> the prefix it is included under:
    `app.include_router(init_scope_router(repo), prefix="/scopes")`. Computed
    once per project, and only when a route's path is otherwise empty."""
    cached = _FACTORY_PREFIXES.get(project)
    if cached is not None:
        return cached
    out: dict[str, str] = {}
    for module in project.modules:
        for node in ast.walk(module.tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "include_router"
                and node.args
                and isinstance(node.args[0], ast.Call)
                and isinstance(node.args[0].func, ast.Name | ast.Attribute)
            ):
                continue
            factory = project.resolve(module, node.args[0].func)
            prefix = literal_str(keyword_value(node, "prefix"))
            if factory and prefix:
                out.setdefault(factory, prefix)
    _FACTORY_PREFIXES[project] = out
    return out


def route_path(project: Project, route: Route) -> str:
    """The path a client calls: the route's full path (with the prefixes of the
    routers it is included in), else its router's prefix + its path, else the
    prefix a router factory enclosing the endpoint is included under."""
    path = route.path or ""
    full = next((p for p in route.full_paths if p), None)
    if full is not None:
        return full
    obj = project.fastapi.objects.get(route.router)
    if obj is not None and obj.prefix + path:
        return obj.prefix + path
    if path:
        return path
    func = route.endpoint.parent if route.endpoint is not None else None
    while func is not None:
        prefix = _factory_prefixes(project).get(func.qualname)
        if prefix:
            return prefix + path
        func = func.parent
    return ""


def _words(name: str) -> set[str]:
    return {w for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name.lower()) if w}


def _is_pagination_name(name: str) -> bool:
    return bool(_words(name) & _PAGINATION_WORDS)


def _class_fields(cls: ClassInfo) -> list[str]:
    names = [s.target.id for s in cls.node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
    return names


def _arg_names(project: Project, func: FunctionInfo) -> list[str]:
    """Parameter names of a function, plus the fields of parameter models
    (`params: Annotated[Page, Query()]`, `Depends()` on a class)."""
    args = func.node.args
    names: list[str] = []
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        names.append(arg.arg)
        type_name = project.annotation_type(func.module, arg.annotation)
        if type_name and type_name.startswith("fastapi_pagination."):
            names.append("pagination")
        sym = project.lookup(type_name) if type_name else None
        if isinstance(sym, ClassInfo):
            names += _class_fields(sym)
    return names


def _pagination_names(project: Project, func: FunctionInfo, routes: list[Route]) -> list[str]:
    names = _arg_names(project, func)
    for route in routes:
        for dep in route.all_dependencies():
            sym = project.lookup(dep.target)
            if isinstance(sym, FunctionInfo):
                names += _arg_names(project, sym)
            elif isinstance(sym, ClassInfo):
                names += _class_fields(sym)
                init = project.find_method(sym, "__init__")
                if init is not None:
                    names += _arg_names(project, init)
    return names


def _is_list_type(project: Project, module: ModuleInfo, expr: ast.expr | None) -> bool:
    if expr is None:
        return False
    _m, inner, _meta = project.annotated_parts(module, expr)
    if not isinstance(inner, ast.Subscript):
        return False
    return project.annotation_type(module, expr) in _LIST_TYPES


def _sql_text(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.JoinedStr):
        return "".join(v.value for v in expr.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _by_primary_key(node: ast.Call) -> bool:
    """`.where(Item.id == item_id)`, `.filter_by(id=...)`, `.where(Item.id.in_(ids))`."""
    if not isinstance(node.func, ast.Attribute) or node.func.attr not in {"where", "filter", "filter_by"}:
        return False
    if any(k.arg == "id" for k in node.keywords):
        return True
    for arg in node.args:
        for sub in ast.walk(arg):
            if (
                isinstance(sub, ast.Compare)
                and isinstance(sub.left, ast.Attribute)
                and sub.left.attr == "id"
                and isinstance(sub.left.value, ast.Name)
                and all(isinstance(op, ast.Eq | ast.In) for op in sub.ops)
            ):
                return True
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "in_"
                and isinstance(sub.func.value, ast.Attribute)
                and sub.func.value.attr == "id"
            ):
                return True
    return False


def _assignments(nodes: list[ast.AST]) -> dict[str, list[ast.expr]]:
    out: dict[str, list[ast.expr]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name) and node.value:
            out.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    out.setdefault(item.optional_vars.id, []).append(item.context_expr)
    return out


def _closure(expr: ast.expr, assigns: dict[str, list[ast.expr]]) -> list[ast.AST]:
    """The nodes of `expr` and of the values assigned to the names that hold the
    query: the root of a method chain (`result` in `result.scalars().all()`) and
    names passed straight to a call (`stmt` in `session.execute(stmt)`), followed
    through their assignments (`stmt = select(X).limit(n)`)."""
    out: list[ast.AST] = []
    seen: set[str] = set()
    todo: list[ast.expr] = [expr]
    while todo and len(out) < 5000:
        current = todo.pop()
        holders: list[ast.expr] = [chain_root(current)]
        for sub in ast.walk(current):
            out.append(sub)
            if isinstance(sub, ast.Call):
                holders += [chain_root(a) for a in sub.args]
        for holder in holders:
            if isinstance(holder, ast.Name) and holder.id not in seen and holder.id in assigns:
                seen.add(holder.id)
                todo.extend(assigns[holder.id])
    return out


def _bounding(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in _BOUNDING_METHODS or _by_primary_key(node)
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Slice)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_SQL_LIMIT.search(node.value)) and node.value.lstrip().upper().startswith(_SQL_START)
    return False


def _bounded(nodes: list[ast.AST]) -> bool:
    """Does the query behind a fetch limit what it loads (`.limit()`, a slice, `LIMIT` in SQL)?"""
    return any(_bounding(node) for node in nodes)


class UnpaginatedListEndpoint(Rule):
    """Flags a GET endpoint that returns every row of a query with no pagination.

    ## What it does
    Looks at GET routes whose response is a list (return annotation `list[...]`,
    `List[...]`, `Sequence[...]`, or `response_model=list[...]`) and whose
    endpoint loads all rows: `.all()` / `.fetchall()` on a query or result, or
    `await conn.fetch("SELECT ...")`, with no `.limit()` / `.offset()` /
    `.slice()`, no slice, no primary-key filter and no `LIMIT` in SQL anywhere in
    the endpoint, while neither the endpoint nor its dependencies take a
    pagination parameter (`limit`, `offset`, `cursor`, `page`, `size`, ...).
    The message names the route by the path a client calls, with the prefixes
    of `include_router` (also for a router built in a factory function and
    included as `include_router(init_router(...), prefix="/scopes")`).

    ## Why is this bad?
    The response grows with the table: fine with 50 rows in development, a
    multi-megabyte response, seconds of serialisation and a memory spike in
    production. Any client (or attacker) can make the server load the whole
    table per request. Take `limit`/`offset` (or a cursor) query parameters with
    an upper bound (`Query(50, le=100)`) and apply them to the query.

    ## References
    - https://fastapi.tiangolo.com/tutorial/sql-databases/#read-heroes
    - https://fastapi.tiangolo.com/tutorial/query-params-str-validations/
    - https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/
    - https://docs.sqlalchemy.org/en/20/core/selectable.html#sqlalchemy.sql.expression.Select.limit
    """

    code = "FX504"
    name = "unpaginated-list-endpoint"
    summary = "A GET list endpoint loads and returns every row, with no limit or pagination."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI, Query
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.get("/items", response_model=list[ItemOut])
            async def list_items(
                session: Annotated[AsyncSession, Depends(get_session)],
                offset: int = 0,
                limit: Annotated[int, Query(le=100)] = 20,
            ):
                result = await session.scalars(select(Item).order_by(Item.id).offset(offset).limit(limit))
                return result.all()
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.get("/countries")
            def countries(db: Session = Depends(get_db)) -> list[CountryOut]:
                return db.query(Country).order_by(Country.name).limit(300).all()

            @app.get("/stats")
            def stats(db: Session = Depends(get_db)) -> dict[str, int]:
                return {"users": len(db.query(User).all())}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.get("/users", response_model=list[UserOut])
            async def list_users(session: AsyncSession = Depends(get_session)):
                result = await session.execute(select(User).order_by(User.created_at.desc()))
                return result.scalars().all()
            """,
            lines=(10,),
        ),
        Invalid(
            """
            from typing import List

            from fastapi import APIRouter, Depends
            from sqlalchemy.orm import Session

            router = APIRouter(prefix="/orders")

            @router.get("/")
            def list_orders(db: Session = Depends(get_db), status: str = "open") -> List[OrderOut]:
                return db.query(Order).filter(Order.status == status).all()
            """,
            lines=(10,),
        ),
        Invalid(
            """
            from fastapi import APIRouter, FastAPI
            from pydantic import BaseModel

            class Scope(BaseModel):
                scope_id: str

            class ScopeRepository:
                async def all(self) -> list[Scope]:
                    return []

            def init_scope_router(scopes: ScopeRepository) -> APIRouter:
                router = APIRouter()

                @router.get("", response_model=list[Scope])
                async def get_all_scopes() -> list[Scope]:
                    return await scopes.all()

                return router

            app = FastAPI()
            app.include_router(init_scope_router(ScopeRepository()), prefix="/scopes", tags=["Scopes"])
            """,
            lines=(16,),
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        routes = [r for r in ctx.routes_of(node) if not r.is_websocket and "GET" in r.methods]
        func = ctx.module.function_of_node.get(node)
        if not routes or func is None:
            return
        project = ctx.project
        returns_list = _is_list_type(project, ctx.module, node.returns) or any(
            _is_list_type(project, r.module, r.keyword("response_model")) for r in routes
        )
        if not returns_list:
            return
        if any(_is_pagination_name(n) for n in _pagination_names(project, func, routes)):
            return
        nodes = list(own_nodes(node))
        assigns = _assignments(nodes)
        fetch = next((f for f in _fetches_all(ctx, func, nodes) if not _bounded(_closure(f[0], assigns))), None)
        if fetch is None:
            return
        call, what = fetch
        path = route_path(project, routes[0])
        shown = f"`{path}`" if path else 'the root path (`""`) of its router'
        ctx.report(
            call,
            f"GET {shown} returns every row ({what} with no limit) and has no "
            "`limit`/`offset`/`cursor` parameter; add bounded pagination parameters "
            "(e.g. `limit: int = Query(50, le=100)`) and apply them to the query.",
        )


def _fetches_all(ctx: FileContext, func: FunctionInfo, nodes: list[ast.AST]) -> Iterator[tuple[ast.Call, str]]:
    awaited = {id(n.value) for n in nodes if isinstance(n, ast.Await)}
    calls = sorted((n for n in nodes if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        fn = call.func
        if isinstance(fn, ast.Attribute) and not call.args and not call.keywords and fn.attr in {"all", "fetchall"}:
            yield call, f"`.{fn.attr}()`"
        if isinstance(fn, ast.Attribute) and fn.attr in {"fetch", "fetch_all"} and id(call) in awaited and call.args:
            text = _sql_text(call.args[0])
            if text is not None and text.lstrip().upper().startswith(_SQL_START):
                yield call, f"`{fn.attr}()`"
        if isinstance(fn, ast.Name) and ctx.resolve(fn) == "builtins.list" and len(call.args) == 1:
            inner = call.args[0]
            if isinstance(inner, ast.Await):
                inner = inner.value
            if isinstance(inner, ast.Call) and session_method(ctx.project.call_target(ctx.module, func, inner)) in {
                "scalars",
                "execute",
                "exec",
            }:
                yield call, "`list()` over a query result"
