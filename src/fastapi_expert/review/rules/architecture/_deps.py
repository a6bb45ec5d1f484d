"""Helpers shared by the architecture rules: dependency markers, database
resources and the shape of generator dependencies (no rule lives here)."""

from __future__ import annotations

import ast

from fastapi_expert.review.model.fastapi_model import DEPENDS, ROUTE_DECORATORS, SECURITY
from fastapi_expert.review.model.module import FunctionInfo, ModuleInfo, own_nodes, own_nodes_of
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

MARKERS = DEPENDS | SECURITY

# Calls whose result is an open session or connection the caller must close.
RESOURCE_CONSTRUCTORS = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.Session",
        "sqlalchemy.engine.Engine.connect",
        "sqlalchemy.ext.asyncio.AsyncEngine.connect",
        "psycopg2.connect",
        "psycopg.connect",
        "psycopg.AsyncConnection.connect",
        "pymysql.connect",
        "MySQLdb.connect",
        "sqlite3.connect",
        "aiosqlite.connect",
        "asyncpg.connect",
        "aiomysql.connect",
    }
)

# Factories whose *instances* create sessions when called (`SessionLocal()`).
SESSION_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.session.sessionmaker",
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker",
    }
)

ENGINE_FACTORIES = frozenset(
    {
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlmodel.create_engine",
    }
)

CLOSE_METHODS = frozenset({"close", "aclose", "dispose", "release", "disconnect", "shutdown", "quit", "terminate"})


def is_marker(ctx: FileContext, node: ast.AST) -> bool:
    """Is `node` a `Depends(...)` / `Security(...)` call (resolved to fastapi)?"""
    return isinstance(node, ast.Call) and ctx.resolve(node.func) in MARKERS


def _value_module(project: Project, module: ModuleInfo, expr: ast.expr) -> tuple[ModuleInfo, ast.expr] | None:
    if not isinstance(expr, ast.Name | ast.Attribute):
        return None
    symbol = project.lookup(module.resolve(expr))
    if isinstance(symbol, tuple):
        return symbol
    return None


def _names_result_of(project: Project, module: ModuleInfo, expr: ast.expr, factories: frozenset[str]) -> bool:
    """Does `expr` name a module-level variable bound to a call of one of `factories`?"""
    found = _value_module(project, module, expr)
    if found is None:
        return False
    value_module, value = found
    return isinstance(value, ast.Call) and project.resolve(value_module, value.func) in factories


def is_session_factory(project: Project, module: ModuleInfo, expr: ast.expr) -> bool:
    """Does `expr` name a module-level `sessionmaker(...)` (or similar) instance?"""
    return _names_result_of(project, module, expr, SESSION_FACTORIES)


def is_engine(project: Project, module: ModuleInfo, expr: ast.expr) -> bool:
    """Does `expr` name a module-level `create_engine(...)` result?"""
    return _names_result_of(project, module, expr, ENGINE_FACTORIES)


def is_state_session_factory(callee: ast.expr) -> bool:
    """`request.app.state.sessionmaker()`, `app.state.session_factory()`: the
    sessionmaker a lifespan handler stored on the app's state. Its type is not
    known statically, so the name decides: an attribute of a `.state` whose
    name says session (`sessionmaker`, `async_session`, `SessionLocal`)."""
    return (
        isinstance(callee, ast.Attribute)
        and "session" in callee.attr.lower()
        and isinstance(callee.value, ast.Attribute)
        and callee.value.attr == "state"
    )


def is_resource_call(ctx: FileContext, func: FunctionInfo | None, expr: ast.expr | None) -> bool:
    """Does `expr` open a session or connection (`SessionLocal()`, `Session(engine)`,
    `engine.connect()`, `psycopg2.connect(...)`, `await asyncpg.connect(...)`)?"""
    if isinstance(expr, ast.Await):
        expr = expr.value
    if not isinstance(expr, ast.Call):
        return False
    module = ctx.module
    target = ctx.project.call_target(module, func, expr)
    if target in RESOURCE_CONSTRUCTORS:
        return True
    if is_session_factory(ctx.project, module, expr.func) or is_state_session_factory(expr.func):
        return True
    callee = expr.func
    if isinstance(callee, ast.Attribute) and callee.attr == "connect":
        return is_engine(ctx.project, module, callee.value)
    return False


def resource_names(ctx: FileContext, func: FunctionInfo) -> set[str]:
    """Local names a function binds to an opened session or connection."""
    names: set[str] = set()
    for node in own_nodes(func.node):
        if isinstance(node, ast.Assign) and is_resource_call(ctx, func, node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and is_resource_call(ctx, func, node.value):
            names.add(node.target.id)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name) and is_resource_call(ctx, func, item.context_expr):
                    names.add(item.optional_vars.id)
    return names


def comes_after(node: ast.AST, mark: ast.AST) -> bool:
    """Does `node` start at or after the end of `mark` (in source order)?"""
    end = (getattr(mark, "end_lineno", 0) or 0, getattr(mark, "end_col_offset", 0) or 0)
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0)) >= end


def yields(module: ModuleInfo, func_node: FunctionNode) -> list[ast.Yield | ast.YieldFrom]:
    """The function's own `yield` expressions, in source order (`func_node` is
    defined in `module`)."""
    if not module.may_yield(func_node):
        return []
    found: list[ast.Yield | ast.YieldFrom] = [*own_nodes_of(func_node, ast.Yield), *own_nodes_of(func_node, ast.YieldFrom)]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def yielded_name(node: ast.Yield | ast.YieldFrom) -> str | None:
    return node.value.id if isinstance(node.value, ast.Name) else None


def is_generator_dependency(ctx: FileContext, func: FunctionInfo) -> bool:
    """A generator used as a dependency, or a `get_*` generator that yields an
    opened session or connection."""
    found = yields(func.module, func.node)
    if not found:
        return False
    if ctx.is_dependency(func.node):
        return True
    if not func.name.startswith("get_"):
        return False
    names = resource_names(ctx, func)
    for node in found:
        if isinstance(node, ast.Yield) and (yielded_name(node) in names or is_resource_call(ctx, func, node.value)):
            return True
    return False


def statement_path(func_node: FunctionNode, target: ast.AST) -> list[ast.AST] | None:
    """The chain of nodes from the function down to `target` (function excluded),
    without entering nested functions or classes."""

    def search(node: ast.AST, path: list[ast.AST]) -> list[ast.AST] | None:
        for child in ast.iter_child_nodes(node):
            if child is target:
                return [*path, child]
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                continue
            found = search(child, [*path, child])
            if found is not None:
                return found
        return None

    return search(func_node, [])


def is_route_owner_use(parent: ast.AST | None, name_node: ast.AST) -> bool:
    """`router` in `router.get(...)` / `router.add_api_route(...)`."""
    return (
        isinstance(parent, ast.Attribute)
        and parent.value is name_node
        and (parent.attr in ROUTE_DECORATORS or parent.attr in {"add_api_route", "add_api_websocket_route", "add_route", "add_websocket_route"})
    )
