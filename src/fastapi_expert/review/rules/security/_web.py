"""Helpers shared by the web-surface security rules (CORS, cookies, debug, HTTP
clients, tokens). No rule lives here."""

from __future__ import annotations

import ast
import re
import weakref
from collections import deque
from collections.abc import Iterable, Sequence

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import is_main_guard
from fastapi_expert.review.rules.base import FileContext
from fastapi_expert.types import Edit, Finding, Fix, Severity

CORS_CLASSES = frozenset(
    {
        "fastapi.middleware.cors.CORSMiddleware",
        "starlette.middleware.cors.CORSMiddleware",
    }
)
MIDDLEWARE_WRAPPERS = frozenset(
    {
        "starlette.middleware.Middleware",
        "fastapi.middleware.Middleware",
    }
)

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def words(identifier: str) -> list[str]:
    """Lower-case words of a snake_case or CamelCase identifier."""
    return [w.lower() for w in _WORD.findall(identifier)]


def constant_value(project: Project, module: ModuleInfo, expr: ast.expr, depth: int = 0) -> ast.expr:
    """The module-level value a name stands for (`ORIGINS` -> `["*"]`), through
    imports; the expression itself when it is not such a name."""
    if depth > 5 or not isinstance(expr, ast.Name | ast.Attribute):
        return expr
    symbol = project.lookup(module.resolve(expr))
    if isinstance(symbol, tuple):
        target_module, value = symbol
        if isinstance(value, ast.Name | ast.Attribute):
            return constant_value(project, target_module, value, depth + 1)
        return value
    return expr


def in_main_guard(ancestors: Sequence[ast.AST]) -> bool:
    """Is the node inside `if __name__ == "__main__":`?"""
    return any(is_main_guard(node) for node in ancestors)


def emit(
    ctx: FileContext,
    severity: Severity,
    node: ast.AST,
    message: str,
    fix: Fix | None = None,
) -> None:
    """Like `ctx.report`, with a severity of its own for this finding (for rules
    whose patterns differ in gravity)."""
    rule = ctx.rule
    assert rule is not None, "emit() outside a rule"
    ctx._emit(Finding(rule.code, rule.name, severity, ctx.location(node), message, fix))


def _arguments(call: ast.Call) -> list[ast.AST]:
    items: list[ast.AST] = [*call.args, *call.keywords]
    return sorted(items, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))


def append_arguments_edit(ctx: FileContext, call: ast.Call, text: str) -> Edit | None:
    """An edit adding `text` (e.g. `timeout=10`) as the last argument of `call`."""
    items = _arguments(call)
    if items:
        last = ctx.location(items[-1])
        call_end = ctx.location(call).end_line
        if call_end > last.end_line and last.line == last.end_line:
            # One argument per line: keep the layout.
            indent = ctx.source.indent_of(last.line)
            return Edit(last.end_line, last.end_column, last.end_line, last.end_column, f",\n{indent}{text}")
        return Edit(last.end_line, last.end_column, last.end_line, last.end_column, f", {text}")
    loc = ctx.location(call)
    if not ctx.source.segment(call).endswith("()"):
        return None
    return Edit(loc.end_line, loc.end_column - 1, loc.end_line, loc.end_column - 1, text)


def delete_argument_edit(ctx: FileContext, call: ast.Call, arg: ast.AST) -> Edit | None:
    """An edit removing one argument of `call` with its comma, or None when a
    comment sits in the text it would remove."""
    items = _arguments(call)
    index = next((i for i, item in enumerate(items) if item is arg), None)
    if index is None:
        return None
    here = ctx.location(arg)
    if index + 1 < len(items):
        after = ctx.location(items[index + 1])
        edit = Edit(here.line, here.column, after.line, after.column, "")
    elif index > 0:
        before = ctx.location(items[index - 1])
        edit = Edit(before.end_line, before.end_column, here.end_line, here.end_column, "")
    else:
        edit = Edit(here.line, here.column, here.end_line, here.end_column, "")
    if "#" in _text_between(ctx, edit):
        return None
    return edit


def _text_between(ctx: FileContext, edit: Edit) -> str:
    lines = ctx.source.lines
    if edit.line == edit.end_line:
        return ctx.source.line_text(edit.line)[edit.column - 1 : edit.end_column - 1]
    parts = [ctx.source.line_text(edit.line)[edit.column - 1 :]]
    parts += lines[edit.line : edit.end_line - 1]
    parts.append(ctx.source.line_text(edit.end_line)[: edit.end_column - 1])
    return "\n".join(parts)


def has_star_kwargs(call: ast.Call) -> bool:
    return any(k.arg is None for k in call.keywords)


def name_hint(expr: ast.expr | None) -> str | None:
    """The identifier an expression ends with (`settings.SESSION_COOKIE` ->
    `SESSION_COOKIE`), for naming heuristics."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def any_word(identifier: str, wanted: Iterable[str]) -> bool:
    found = set(words(identifier))
    return any(w in found for w in wanted)


_REQUEST_CODE: weakref.WeakKeyDictionary[Project, frozenset[ast.AST]] = weakref.WeakKeyDictionary()


def request_functions(project: Project) -> frozenset[ast.AST]:
    """Nodes of the functions that can run for a request: route endpoints,
    dependencies (functions, classes and callable instances), middleware, and the
    project functions they call, at any depth. Computed once per project."""
    found = _REQUEST_CODE.get(project)
    if found is not None:
        return found
    model = project.fastapi
    roots: list[FunctionInfo] = [r.endpoint for r in model.routes if r.endpoint is not None]
    targets = [dep.target for route in model.routes for dep in route.all_dependencies()]
    targets += [mw.target for mw in model.middleware]
    for target in targets:
        symbol = project.lookup(target)
        if isinstance(symbol, tuple):  # `Depends(checker)` with `checker = RoleChecker(...)`
            module, value = symbol
            cls = project.resolve(module, value.func) if isinstance(value, ast.Call) else None
            symbol = project.lookup(cls)
        if isinstance(symbol, FunctionInfo):
            roots.append(symbol)
        elif isinstance(symbol, ClassInfo):
            roots.extend(symbol.methods.values())
    by_node = {f.node: f for f in project.all_functions()}
    roots.extend(by_node[n] for n in model.dependency_functions if n in by_node)
    graph = project.calls
    seen: set[ast.AST] = set()
    queue: deque[FunctionInfo] = deque()
    for func in roots:
        if func.node not in seen:
            seen.add(func.node)
            queue.append(func)
    while queue:
        for site in graph.sites_of(queue.popleft()):
            callee = site.callee
            if callee is not None and callee.node not in seen:
                seen.add(callee.node)
                queue.append(callee)
    found = _REQUEST_CODE[project] = frozenset(seen)
    return found
