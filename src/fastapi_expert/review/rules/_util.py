"""Small helpers that several rules share (no rule lives here)."""

from __future__ import annotations

import ast

from fastapi_expert.review.rules.base import FileContext
from fastapi_expert.types import Edit

HTTP_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# ORM sessions, keyed by the qualname prefix of their methods.
SESSION_PREFIXES = (
    "sqlalchemy.orm.Session.",
    "sqlalchemy.orm.session.Session.",
    "sqlalchemy.ext.asyncio.AsyncSession.",
    "sqlalchemy.ext.asyncio.session.AsyncSession.",
    "sqlmodel.Session.",
    "sqlmodel.orm.session.Session.",
    "sqlmodel.ext.asyncio.session.AsyncSession.",
)


def method_under(target: str | None, prefixes: tuple[str, ...]) -> str | None:
    """The method a qualified name calls on a class named by one of `prefixes`:
    `execute` for `sqlalchemy.orm.Session.execute`; else None."""
    if target is None:
        return None
    for prefix in prefixes:
        if target.startswith(prefix):
            rest = target[len(prefix) :]
            return rest if rest and "." not in rest else None
    return None


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    return next((k for k in call.keywords if k.arg == name), None)


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    kw = keyword(call, name)
    return kw.value if kw else None


def is_main_guard(node: ast.AST) -> bool:
    """Is the node `if __name__ == "__main__":`?"""
    test = node.test if isinstance(node, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def is_true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def literal_str(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


def add_import_edit(ctx: FileContext, statement: str) -> Edit | None:
    """An edit adding `statement` (e.g. `import asyncio`) after the file's imports,
    or None when the file already has it."""
    tree = ctx.module.tree
    text = statement.strip()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and ctx.source.segment(node) == text:
            return None
    last_import: ast.stmt | None = None
    insert_line = 1
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            last_import = node
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str) and last_import is None and node is tree.body[0]:
            insert_line = (node.end_lineno or node.lineno) + 1
        else:
            break
    if last_import is not None:
        insert_line = (last_import.end_lineno or last_import.lineno) + 1
    return Edit(insert_line, 1, insert_line, 1, text + "\n")


def module_imports(ctx: FileContext, name: str) -> bool:
    """Is module `name` bound at module level (so `name.attr` resolves)?"""
    return ctx.module.imports.get(name) == name


