from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from fastapi_expert.review.model.module import FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._web import constant_value
from fastapi_expert.types import Severity

_TEXT_FUNCS = frozenset(
    {
        "sqlalchemy.text",
        "sqlalchemy.sql.text",
        "sqlalchemy.sql.expression.text",
        "sqlmodel.text",
        "pandas.read_sql",
        "pandas.read_sql_query",
    }
)
# Methods of sessions, connections, cursors and async drivers that run SQL text.
_SQL_METHODS = frozenset(
    {
        "execute", "executemany", "executescript", "exec_driver_sql", "fetch", "fetchrow",
        "fetchval", "fetch_all", "fetch_one", "fetch_val", "iterate", "raw", "mogrify",
    }
)
_SQL_KEYWORDS = ("query", "sql", "statement", "operation")
_SQL = re.compile(
    r"\bselect\b[\s\S]*\bfrom\b|\binsert\s+into\b|\bupdate\b[\s\S]*\bset\b|\bdelete\s+from\b"
    r"|\bwhere\s+[\w.\"`?()]+\s*(=|<|>|!|\bin\b|\blike\b|\bis\b|\bbetween\b|\bnot\b)"
    r"|\border\s+by\b|\bgroup\s+by\b|\bvalues\s*\(|\b(drop|create|alter|truncate)\s+table\b",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"\?|%s|%\(\w+\)s|:\w+|\$\d+")
_SAFE_CALLS = frozenset({"builtins.int", "builtins.float", "builtins.len", "builtins.bool"})
_HOW = {
    "fstring": "an f-string",
    "percent": "`%` formatting",
    "format": "`.format()`",
    "concat": "`+` concatenation",
}


@dataclass
class _Built:
    how: str
    line: int


class _Analysis:
    """Is an expression SQL text built from non-literal values?"""

    def __init__(self, project: Project, module: ModuleInfo, func: FunctionInfo | None) -> None:
        self.project = project
        self.module = module
        self.func = func

    # -- safe values ---------------------------------------------------------

    def safe(self, expr: ast.expr, depth: int = 0) -> bool:
        """A value that cannot carry attacker text: literals, module constants,
        lookups in constant tables, numbers, placeholder lists."""
        if depth > 4:
            return False
        if isinstance(expr, ast.Constant):
            return True
        if isinstance(expr, ast.IfExp):
            return self.safe(expr.body, depth + 1) and self.safe(expr.orelse, depth + 1)
        if isinstance(expr, ast.Name | ast.Attribute):
            value = constant_value(self.project, self.module, expr)
            if value is not expr:
                return isinstance(value, ast.Constant)
            if isinstance(expr, ast.Name) and self.func is not None:
                values = self._assigned(expr.id)
                return bool(values) and all(self.safe(v, depth + 1) for v, _ in values)
            return False
        if isinstance(expr, ast.Subscript):
            table = constant_value(self.project, self.module, expr.value)
            if isinstance(table, ast.Dict):
                return all(isinstance(v, ast.Constant) for v in table.values)
            if isinstance(table, ast.List | ast.Tuple):
                return all(isinstance(v, ast.Constant) for v in table.elts)
            return False
        if isinstance(expr, ast.Call):
            if self.project.resolve(self.module, expr.func) in _SAFE_CALLS:
                return True
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr == "join" and isinstance(func.value, ast.Constant):
                # ", ".join(f":id{i}" for i in ...) / ",".join("?" * n): placeholders.
                return any(
                    isinstance(n, ast.Constant) and isinstance(n.value, str) and _PLACEHOLDER.search(n.value)
                    for arg in expr.args
                    for n in ast.walk(arg)
                )
            return False
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
            return isinstance(expr.left, ast.Constant) or isinstance(expr.right, ast.Constant)
        if isinstance(expr, ast.JoinedStr):
            return all(
                self.safe(v.value, depth + 1) for v in expr.values if isinstance(v, ast.FormattedValue)
            )
        return False

    def _assigned(self, name: str) -> list[tuple[ast.expr, bool]]:
        """Values assigned to a local name in the current function (value, is `+=`)."""
        if self.func is None:
            return []
        out: list[tuple[ast.expr, bool]] = []
        for node in own_nodes(self.func.node):
            if isinstance(node, ast.Assign):
                if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                    out.append((node.value, False))
            elif isinstance(node, ast.AnnAssign):
                if isinstance(node.target, ast.Name) and node.target.id == name and node.value is not None:
                    out.append((node.value, False))
            elif (
                isinstance(node, ast.AugAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id == name
                and isinstance(node.op, ast.Add)
            ):
                out.append((node.value, True))
        return sorted(out, key=lambda item: (item[0].lineno, item[0].col_offset))

    def _reaching(self, use: ast.Name) -> list[tuple[ast.expr, bool]]:
        """Assignments that can reach `use`: the last plain one before it and the
        `+=` after that (straight-line approximation; all of them when none precedes)."""
        where = (use.lineno, use.col_offset)
        before = [(v, aug) for v, aug in self._assigned(use.id) if (v.lineno, v.col_offset) < where]
        plain = [i for i, (_, aug) in enumerate(before) if not aug]
        if not plain:
            return self._assigned(use.id)
        return before[plain[-1] :]

    # -- built SQL -----------------------------------------------------------

    def template(self, expr: ast.expr) -> tuple[str, bool]:
        """The literal text of a string expression with `?` for holes, and whether
        a hole holds a value that is not provably safe."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value, False
        if isinstance(expr, ast.JoinedStr):
            text, unsafe = [], False
            for part in expr.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    text.append(part.value)
                elif isinstance(part, ast.FormattedValue):
                    text.append("?")
                    unsafe = unsafe or not self.safe(part.value)
            return "".join(text), unsafe
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left, lu = self.template(expr.left)
            right, ru = self.template(expr.right)
            return left + right, lu or ru
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
            left, lu = self.template(expr.left)
            return left, lu or not self.safe(expr.right)
        if (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "format"
            and isinstance(expr.func.value, ast.Constant)
            and isinstance(expr.func.value.value, str)
        ):
            values = [*expr.args, *(k.value for k in expr.keywords)]
            return expr.func.value.value, not all(self.safe(v) for v in values)
        value = constant_value(self.project, self.module, expr)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value, False
        return "?", not self.safe(expr)

    def built(self, expr: ast.expr) -> _Built | None:
        """How `expr` builds SQL from unsafe values, or None."""
        how = self._how(expr)
        if how is not None:
            text, unsafe = self.template(expr)
            if unsafe and _SQL.search(text):
                return _Built(how, expr.lineno)
            return None
        if isinstance(expr, ast.Name) and self.func is not None:
            texts: list[str] = []
            first: tuple[ast.expr, str] | None = None
            for value, aug in self._reaching(expr):
                text, unsafe = self.template(value)
                texts.append(text)
                kind = self._how(value)
                if unsafe and first is None and (kind is not None or aug):
                    first = (value, kind or "concat")
            if first is not None and _SQL.search(" ".join(texts)):
                return _Built(first[1], first[0].lineno)
        return None

    @staticmethod
    def _how(expr: ast.expr) -> str | None:
        if isinstance(expr, ast.JoinedStr):
            return "fstring"
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
            return "percent"
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return "concat"
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format":
            return "format"
        return None


class SqlBuiltFromStrings(Rule):
    """Flags SQL text built with f-strings, `%`, `.format()` or `+` and then executed.

    ## What it does
    Finds SQL passed to `sqlalchemy.text()`, `pandas.read_sql()` or to the
    `execute` family of sessions, connections, cursors and async drivers
    (`execute`, `executemany`, `exec_driver_sql`, asyncpg `fetch` / `fetchrow`
    / `fetchval`, `databases` `fetch_all` / `fetch_one`...), when the text is
    built with an f-string, `%` formatting, `.format()` or `+` from values that
    are not literals, directly or through a local variable of the same
    function (including `query += f"..."`). Interpolating only literals,
    module-level string constants, entries of a constant table
    (`SORT_COLUMNS[key]`), numbers (`int(...)`, `len(...)`) or lists of
    placeholders (`", ".join(f":id{i}" ...)`) is not flagged.

    ## Why is this bad?
    A request value formatted into SQL becomes part of the statement: a quote
    in it ends the string literal and the rest is executed as SQL (read other
    users' rows, bypass a `WHERE`, drop tables). Bound parameters send values
    separately from the statement, so they can never change its structure:
    `text("SELECT * FROM users WHERE email = :email")` with `{"email": email}`,
    or `cursor.execute("... WHERE id = %s", (user_id,))`. Column or table names
    that must vary should come from a fixed allow-list.

    ## References
    - https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.text
    - https://docs.sqlalchemy.org/en/20/tutorial/dbapi_transactions.html#sending-parameters
    - https://owasp.org/www-community/attacks/SQL_Injection
    - https://cheatsheetseries.owasp.org/cheatsheets/Query_Parameterization_Cheat_Sheet.html
    - https://peps.python.org/pep-0249/#paramstyle
    """

    code = "FX409"
    name = "sql-built-from-strings"
    summary = "SQL text is formatted from request values instead of using bound parameters."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import text
            from sqlalchemy.orm import Session

            from app.db import get_db

            app = FastAPI()
            SORT_COLUMNS = {"name": "name", "created": "created_at"}

            @app.get("/users")
            def search_users(email: str, sort: str = "name", db: Session = Depends(get_db)):
                column = SORT_COLUMNS[sort]
                query = text(f"SELECT id, email FROM users WHERE email = :email ORDER BY {column}")
                return db.execute(query, {"email": email}).mappings().all()
            """,
            filename="app/main.py",
            files={"app/db.py": "def get_db():\n    yield None\n"},
        ),
        Valid(
            """
            import sqlite3

            def find_orders(customer_id: int, statuses: list[str]):
                conn = sqlite3.connect("shop.db")
                cursor = conn.cursor()
                marks = ", ".join("?" for _ in statuses)
                cursor.execute(
                    f"SELECT id FROM orders WHERE customer_id = ? AND status IN ({marks})",
                    (customer_id, *statuses),
                )
                return cursor.fetchall()
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI
            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.get("/users/search")
            async def search(name: str, session: AsyncSession):
                stmt = text(f"SELECT id, name FROM users WHERE name = '{name}'")
                result = await session.execute(stmt)
                return result.mappings().all()
            """,
            lines=(9,),
        ),
        Invalid(
            """
            import asyncpg

            async def list_orders(pool: asyncpg.Pool, status: str, sort: str):
                query = "SELECT id, total FROM orders WHERE 1 = 1"
                if status:
                    query += " AND status = '%s'" % status
                query += " ORDER BY " + sort
                async with pool.acquire() as conn:
                    return await conn.fetch(query)
            """,
            lines=(9,),
        ),
        Invalid(
            """
            def delete_user(cursor, user_id):
                cursor.execute("DELETE FROM users WHERE id = {}".format(user_id))
            """,
            lines=(2,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        func = node.func
        sink: str | None = None
        sql: ast.expr | None = None
        if isinstance(func, ast.Name | ast.Attribute) and ctx.resolve(func) in _TEXT_FUNCS:
            sink = f"{ast.unparse(func)}()"
        elif isinstance(func, ast.Attribute) and func.attr in _SQL_METHODS:
            sink = f".{func.attr}()"
        if sink is None:
            return
        if node.args:
            sql = node.args[0]
        else:
            sql = next((k.value for k in node.keywords if k.arg in _SQL_KEYWORDS), None)
        if sql is None or isinstance(sql, ast.Constant):
            return
        analysis = _Analysis(ctx.project, ctx.module, ctx.function())
        built = analysis.built(sql)
        if built is None:
            return
        how = _HOW[built.how]
        where = "" if built.line == sql.lineno else f" (line {built.line})"
        if isinstance(sql, ast.Name):
            subject = f"`{sql.id}` is SQL built with {how}{where} and"
        else:
            subject = f"SQL built with {how}"
        if sink.startswith("."):
            advice = "pass the values as parameters (`execute(sql, params)` with placeholders)"
        else:
            advice = 'use bound parameters (`text("... WHERE id = :id")` with `{"id": value}`)'
        ctx.report(
            sql,
            f"{subject} is passed to `{sink}`, so a value inside it can rewrite the query (SQL "
            f"injection); {advice}.",
        )
