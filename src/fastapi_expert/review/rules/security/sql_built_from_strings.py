from __future__ import annotations

import ast
import re
import weakref
from dataclasses import dataclass

from fastapi_expert.review.model.callgraph import CallSite
from fastapi_expert.review.model.module import FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project, positional_parameters
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import is_migration
from fastapi_expert.review.rules.security._web import constant_value, request_functions, words
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


_CALLERS: weakref.WeakKeyDictionary[Project, dict[ast.AST, list[CallSite]]] = weakref.WeakKeyDictionary()


def _callers(project: Project) -> dict[ast.AST, list[CallSite]]:
    """Call sites of each project function, keyed by the callee's node (once per project)."""
    found = _CALLERS.get(project)
    if found is None:
        found = {}
        for sites in project.calls.sites.values():
            for site in sites:
                if site.callee is not None:
                    found.setdefault(site.callee.node, []).append(site)
        _CALLERS[project] = found
    return found


def _is_migration(module: ModuleInfo) -> bool:
    """An Alembic revision (by its folder, its `alembic.op` import or its shape: see
    `is_migration`, shared with FX503 and FX509), or any module that imports `alembic`
    (one that runs the migrations is operator code too)."""
    return is_migration(module) or module.imports_module("alembic")


def _outside_requests(project: Project, func: FunctionInfo | None) -> bool:
    """Does this function run only outside requests? The project calls it (outside its
    tests) and no route, dependency or middleware reaches it: a CLI command, a
    start-up migration, a maintenance job. Its values come from the operator, the
    configuration or the database itself, not from a client. A function nothing in
    the project calls (a library API, a script's entry point) is still checked, and so
    is everything in a project without routes (a library that a service calls with
    whatever its clients sent)."""
    if func is None or not project.fastapi.routes or func.node in request_functions(project):
        return False
    return any(not site.caller.module.is_test for site in _callers(project).get(func.node, []))


def _unreached(project: Project, func: FunctionInfo | None) -> bool:
    """Is this a function of a project with routes that no route, dependency or
    middleware reaches (through the calls the project model can follow)? A plugin
    implementation called through a base class, a client SDK, a CLI helper."""
    return func is not None and bool(project.fastapi.routes) and func.node not in request_functions(project)


@dataclass
class _Built:
    how: str
    line: int
    names_only: bool  # every unsafe hole stands where a table or column name goes
    from_caller: bool  # a hole holds (text derived from) a parameter of the function


# SQL text just before a hole that takes a table or column name: `FROM {t}`, `DROP TABLE
# IF EXISTS {t}`, `ORDER BY {col}`, `{schema}.{t}`, also inside identifier quotes.
_NAME_BEFORE = re.compile(r"(\b(from|join|into|update|table|index|view|exists|by)\s+|\.)[\"`\[]?$", re.IGNORECASE)


# SQL text before a double quote that opens a value, not a name: MySQL reads
# `name = "{x}"` and `VALUES ("{x}")` as strings.
_VALUE_BEFORE = re.compile(r"([=<>]|\blike|\bvalues\s*\(.*)\s*$", re.IGNORECASE | re.DOTALL)


def _identifier_position(before: str) -> bool:
    """Does a hole after `before` stand where an identifier goes (not inside a
    string literal): after `FROM`, `JOIN`, `ORDER BY`..., or inside an open quoted
    identifier (`MAX("{column}")`, `` `{column}` ``)?"""
    if before.count("'") % 2:
        return False
    if _NAME_BEFORE.search(before) is not None:
        return True
    for quote in ('"', "`"):
        if before.count(quote) % 2:
            return _VALUE_BEFORE.search(before[: before.rfind(quote)]) is None
    return False


# `name.strip()`, `str(name)`: the same text as the value they are called on.
_SAME_TEXT_METHODS = frozenset({"strip", "lstrip", "rstrip", "lower", "upper", "casefold", "title", "replace"})


def _quotes(call: ast.Call) -> bool:
    """A call that quotes or escapes its argument for SQL (`_quote_id(name)`,
    `quote_ident(col)`, `preparer.quote(table)`, `conn.escape(value)`): the author
    made the text safe for where it goes."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return bool(call.args) and any(w in ("quote", "escape") for w in words(name))


class _Analysis:
    """Is an expression SQL text built from non-literal values?"""

    def __init__(self, project: Project, module: ModuleInfo, func: FunctionInfo | None) -> None:
        self.project = project
        self.module = module
        self.func = func
        # One entry per unsafe hole seen by `template`: does it stand where a table or
        # column name goes (True) or where a value goes (False)?
        self.holes: list[bool] = []
        # The expressions in those holes.
        self.values: list[ast.expr] = []

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
                if not values:
                    return self._constant_parameter(expr.id, depth)
                return all(self.safe(v, depth + 1) for v, _ in values)
            return False
        if isinstance(expr, ast.Subscript):
            table = constant_value(self.project, self.module, expr.value)
            if isinstance(table, ast.Dict):
                return all(isinstance(v, ast.Constant) for v in table.values)
            if isinstance(table, ast.List | ast.Tuple):
                return all(isinstance(v, ast.Constant) for v in table.elts)
            return False
        if isinstance(expr, ast.Call):
            if _quotes(expr) or self.project.resolve(self.module, expr.func) in _SAFE_CALLS:
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

    def _constant_parameter(self, name: str, depth: int) -> bool:
        """A parameter of a project helper that every call in the project passes a
        safe value (`_drop("dag_run", "dag_run_dag_id_key")`); not a route or a
        dependency, whose parameters come from the request."""
        func = self.func
        if func is None:
            return False
        args = func.node.args
        positional = [a.arg for a in [*args.posonlyargs, *args.args]]
        if name not in positional and name not in [a.arg for a in args.kwonlyargs]:
            return False
        fastapi = self.project.fastapi
        if fastapi.routes_for(func.node) or func.node in fastapi.dependency_functions:
            return False
        sites = _callers(self.project).get(func.node, [])
        if not sites:
            return False
        for site in sites:
            # Per call: `obj.method(x)` passes `self` implicitly, `Class.method(obj, x)` does not.
            filled = positional_parameters(self.project, site.caller.module, func, site.node)
            value = _argument(site.node, name, filled.index(name) if name in filled else None)
            if value is None:
                return False
            if not _Analysis(self.project, site.caller.module, site.caller).safe(value, depth + 1):
                return False
        return True

    def from_caller(self, expr: ast.expr, depth: int = 0) -> bool:
        """Is `expr` built from a value the caller passed in: a parameter of this
        function other than `self` / `cls`, through local assignments, attributes,
        items, and calls that keep its text (`name.strip()`)? Any other call computes
        something of its own (`_table_id(project, view)`, a filter translator)."""
        if depth > 4 or self.func is None:
            return False
        if isinstance(expr, ast.Name):
            if expr.id in _parameters(self.func):
                return True
            return any(self.from_caller(value, depth + 1) for value, _ in self._assigned(expr.id))
        if isinstance(expr, ast.Attribute | ast.Subscript | ast.Starred | ast.FormattedValue):
            return self.from_caller(expr.value, depth + 1)
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in _SAME_TEXT_METHODS:
                return self.from_caller(func.value, depth + 1)
            if isinstance(func, ast.Name) and func.id == "str":
                return any(self.from_caller(arg, depth + 1) for arg in expr.args)
            return False
        if isinstance(expr, ast.BinOp):
            return self.from_caller(expr.left, depth + 1) or self.from_caller(expr.right, depth + 1)
        if isinstance(expr, ast.IfExp):
            return self.from_caller(expr.body, depth + 1) or self.from_caller(expr.orelse, depth + 1)
        if isinstance(expr, ast.JoinedStr | ast.Tuple | ast.List):
            parts = expr.values if isinstance(expr, ast.JoinedStr) else expr.elts
            return any(self.from_caller(part, depth + 1) for part in parts)
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

    def template(self, expr: ast.expr, before: str = "") -> tuple[str, bool]:
        """The literal text of a string expression with `?` for holes, and whether
        a hole holds a value that is not provably safe (`before`: the SQL text that
        precedes the expression, to tell where each unsafe hole stands)."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value, False
        if isinstance(expr, ast.JoinedStr):
            text, unsafe = [], False
            for part in expr.values:
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    text.append(part.value)
                elif isinstance(part, ast.FormattedValue):
                    if not self.safe(part.value):
                        self._hole(_identifier_position(before + "".join(text)), part.value)
                        unsafe = True
                    text.append("?")
            return "".join(text), unsafe
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left, lu = self.template(expr.left, before)
            right, ru = self.template(expr.right, before + left)
            return left + right, lu or ru
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
            left, lu = self.template(expr.left, before)
            if not self.safe(expr.right):
                self._hole(False, expr.right)  # where the `%s` stand is not followed
                return left, True
            return left, lu
        if (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "format"
            and isinstance(expr.func.value, ast.Constant)
            and isinstance(expr.func.value.value, str)
        ):
            values = [*expr.args, *(k.value for k in expr.keywords)]
            if not all(self.safe(v) for v in values):
                self._hole(False, ast.Tuple(elts=values))  # where the `{}` stand is not followed
                return expr.func.value.value, True
            return expr.func.value.value, False
        value = constant_value(self.project, self.module, expr)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value, False
        if self.safe(expr):
            return "?", False
        self._hole(_identifier_position(before), expr)
        return "?", True

    def _hole(self, identifier: bool, value: ast.expr) -> None:
        self.holes.append(identifier)
        self.values.append(value)

    def built(self, expr: ast.expr) -> _Built | None:
        """How `expr` builds SQL from unsafe values, or None."""
        self.holes = []
        self.values = []
        how = self._how(expr)
        if how is not None:
            text, unsafe = self.template(expr)
            if unsafe and _SQL.search(text):
                return _Built(how, expr.lineno, self._names_only(), self._from_caller())
            return None
        if isinstance(expr, ast.Name) and self.func is not None:
            texts: list[str] = []
            first: tuple[ast.expr, str] | None = None
            for value, aug in self._reaching(expr):
                text, unsafe = self.template(value, "".join(texts) if aug else "")
                texts.append(text)
                kind = self._how(value)
                if unsafe and first is None and (kind is not None or aug):
                    first = (value, kind or "concat")
            if first is not None and _SQL.search(" ".join(texts)):
                return _Built(first[1], first[0].lineno, self._names_only(), self._from_caller())
        return None

    def _names_only(self) -> bool:
        return bool(self.holes) and all(self.holes)

    def _from_caller(self) -> bool:
        """Does a value hole (not a name hole) hold what the caller passed in?"""
        return any(not name and self.from_caller(value) for name, value in zip(self.holes, self.values, strict=True))

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


def _parameters(func: FunctionInfo) -> set[str]:
    """The parameters of a function a caller fills (not `self` / `cls`)."""
    args = func.node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in every if a is not None and a.arg not in ("self", "cls")}


def _argument(call: ast.Call, name: str, index: int | None) -> ast.expr | None:
    """The value a call passes for a parameter (None when it cannot be told:
    `*args`, `**kwargs`, or left to its default)."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if index is not None and index < len(call.args):
        return call.args[index]
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
    (`SORT_COLUMNS[key]`), numbers (`int(...)`, `len(...)`), lists of
    placeholders (`", ".join(f":id{i}" ...)`), identifiers passed through a
    quoting function (`_quote_id(table)`, `quote_ident(col)`), or a parameter of
    a helper (not a route or dependency) that every call in the project passes
    such a value (`_truncate(db, "audit_log")`) is not flagged. Alembic
    migrations are skipped (files under `migrations/versions/` or
    `alembic/versions/`, and modules that import `alembic`): they format their
    own table and index names, which cannot be bound parameters, and no request
    reaches them. So is a function the project calls only from code no route,
    dependency or middleware reaches (a CLI command, a start-up migration, a
    maintenance job): its values come from the operator, the configuration or
    the database itself. A function nothing in the project calls is still
    checked, and so is every function of a project with no route (a library a
    service calls with what its clients sent). But in a project with routes,
    such a function (a storage plugin called through its base class, a client
    SDK) is flagged only for a value its caller passed in, formatted where a
    value goes: a table or column name formatted there (`FROM
    {self.table_name}`), or a fragment it computes itself (a quoted column list,
    a `WHERE` clause a filter translator returned with its own parameters),
    comes from the code and its configuration, not from a client.

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
        Valid(
            """
            \"\"\"Drop the unique index on dag_run.dag_id.

            Revision ID: 0017
            Revises: 0016
            \"\"\"
            import sqlalchemy as sa
            from alembic import op

            revision = "0017"
            down_revision = "0016"

            def _drop_index(table: str, index_name: str) -> None:
                conn = op.get_bind()
                if conn.dialect.name == "mysql":
                    conn.execute(sa.text(f"ALTER TABLE {table} DROP INDEX {index_name}"))
                else:
                    conn.execute(sa.text(f"DROP INDEX IF EXISTS {index_name}"))

            def upgrade() -> None:
                _drop_index("dag_run", "dag_run_dag_id_key")
                for table in ("task_instance", "task_reschedule"):
                    op.execute(f"ALTER TABLE {table} ALTER COLUMN map_index SET DEFAULT -1")

            def downgrade() -> None:
                op.create_index("dag_run_dag_id_key", "dag_run", ["dag_id"], unique=True)
            """,
            filename="migrations/versions/0017_drop_dag_run_dag_id_key.py",
        ),
        Valid(
            """
            from sqlalchemy import text
            from sqlalchemy.orm import Session

            AUDIT_TABLE = "audit_log"

            def _truncate(db: Session, table: str) -> None:
                db.execute(text(f"TRUNCATE TABLE {table}"))

            def reset_demo_data(db: Session) -> None:
                _truncate(db, AUDIT_TABLE)
                _truncate(db, table="demo_orders")
            """,
            filename="app/maintenance.py",
        ),
        Valid(
            # A method called through its class passes `self` itself: `table` is the
            # third argument there, the second through an instance.
            """
            from sqlalchemy import text
            from sqlalchemy.orm import Session

            class Maintenance:
                def _truncate(self, db: Session, table: str) -> None:
                    db.execute(text(f"TRUNCATE TABLE {table}"))

            def reset_demo_data(maintenance: Maintenance, db: Session) -> None:
                Maintenance._truncate(maintenance, db, "demo_orders")
                maintenance._truncate(db, "audit_log")
            """,
            filename="app/maintenance.py",
        ),
        Valid(
            """
            import argparse

            from sqlalchemy import Engine, create_engine, inspect, text

            ARCHIVE_PREFIX = "_archive__"

            def archived_tables(engine: Engine) -> list[str]:
                return [t for t in inspect(engine).get_table_names() if t.startswith(ARCHIVE_PREFIX)]

            def drop_archives(engine: Engine) -> int:
                dropped = 0
                with engine.begin() as conn:
                    for table_name in archived_tables(engine):
                        # A table name the database reported: identifiers cannot be bound parameters.
                        conn.execute(text(f"DROP TABLE {table_name}"))
                        dropped += 1
                return dropped

            def main() -> None:
                parser = argparse.ArgumentParser(prog="db-clean")
                parser.add_argument("--url", required=True)
                print(drop_archives(create_engine(parser.parse_args().url)))
            """,
            filename="app/cli/clean.py",
            files={
                "app/main.py": """
                    from fastapi import FastAPI

                    app = FastAPI()

                    @app.get("/health")
                    def health() -> dict[str, str]:
                        return {"status": "ok"}
                """,
            },
        ),
        Valid(
            # A library with no route is checked throughout: the identifier is quoted, its
            # quotes doubled, so it cannot end the name.
            """
            import sqlite3

            def _quote_id(identifier: str) -> str:
                return '"' + identifier.replace('"', '""') + '"'

            def drop_table(conn: sqlite3.Connection, table: str) -> None:
                conn.execute(f"DROP TABLE IF EXISTS {_quote_id(table)}")
            """
        ),
        Valid(
            # A store plugin the routes reach only through its base class: its table name
            # is its configuration, its filter clause comes with its own parameters.
            """
            import sqlite3

            from app.stores.base import OnlineStore
            from app.stores.filters import translate

            class SqliteStore(OnlineStore):
                def __init__(self, path: str, table_name: str) -> None:
                    self.conn = sqlite3.connect(path)
                    self.table_name = table_name

                def read(self, keys: list[str], filters: dict[str, str]) -> list[tuple[object, ...]]:
                    clause, params = translate(filters)
                    where_sql = " AND ".join(["key IN (%s)" % ", ".join("?" for _ in keys), clause])
                    return self.conn.execute(
                        f"SELECT key, value FROM {self.table_name} WHERE {where_sql}", [*keys, *params]
                    ).fetchall()

                def drop(self) -> None:
                    self.conn.execute(f"DROP TABLE IF EXISTS {self.table_name}")
            """,
            filename="app/stores/sqlite_store.py",
            files={
                "app/stores/base.py": """
                    class OnlineStore:
                        def read(self, keys: list[str], filters: dict[str, str]) -> list[tuple[object, ...]]:
                            raise NotImplementedError
                """,
                "app/stores/filters.py": """
                    def translate(filters: dict[str, str]) -> tuple[str, list[str]]:
                        clause = " AND ".join(f"{name} = ?" for name in filters if name.isidentifier())
                        return clause or "1 = 1", list(filters.values())
                """,
                "app/main.py": """
                    from fastapi import FastAPI

                    from app.stores.base import OnlineStore

                    app = FastAPI()
                    store = OnlineStore()

                    @app.get("/features")
                    def features(key: str) -> list[tuple[object, ...]]:
                        return store.read([key], {})
                """,
            },
        ),
    )
    invalid = (
        Invalid(
            # The same kind of plugin formatting a value its caller passed in: the caller
            # may be a route handing over what the client sent.
            """
            import sqlite3

            from app.stores.base import OnlineStore

            class SqliteStore(OnlineStore):
                def __init__(self, path: str, table_name: str) -> None:
                    self.conn = sqlite3.connect(path)
                    self.table_name = table_name

                def by_owner(self, owner: str) -> list[tuple[object, ...]]:
                    sql = f"SELECT key, value FROM {self.table_name} WHERE owner = '{owner.strip()}'"
                    return self.conn.execute(sql).fetchall()
            """,
            lines=(12,),
            filename="app/stores/sqlite_store.py",
            files={
                "app/stores/base.py": """
                    class OnlineStore:
                        def by_owner(self, owner: str) -> list[tuple[object, ...]]:
                            raise NotImplementedError
                """,
                "app/main.py": """
                    from fastapi import FastAPI

                    from app.stores.base import OnlineStore

                    app = FastAPI()
                    store = OnlineStore()

                    @app.get("/features")
                    def features(owner: str) -> list[tuple[object, ...]]:
                        return store.by_owner(owner)
                """,
            },
        ),
        Invalid(
            # A library with no route: whoever imports it may pass what a client sent,
            # so a helper its own code calls is still checked.
            """
            import sqlite3

            def _rows(conn: sqlite3.Connection, table: str, owner: str) -> list[tuple[object, ...]]:
                return conn.execute(f"SELECT * FROM {table} WHERE owner = '{owner}'").fetchall()

            def notes_of(conn: sqlite3.Connection, owner: str) -> list[tuple[object, ...]]:
                return _rows(conn, "notes", owner)
            """,
            lines=(4,),
        ),
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
        Invalid(
            """
            import argparse

            from fastapi import Depends, FastAPI
            from sqlalchemy import text
            from sqlalchemy.orm import Session

            from app.db import get_db

            app = FastAPI()

            def find_by_name(db: Session, name: str) -> list[int]:
                return list(db.execute(text(f"SELECT id FROM users WHERE name = '{name}'")).scalars())

            @app.get("/users")
            def users(name: str, db: Session = Depends(get_db)) -> list[int]:
                return find_by_name(db, name)

            def main(db: Session) -> None:
                parser = argparse.ArgumentParser()
                parser.add_argument("name")
                print(find_by_name(db, parser.parse_args().name))
            """,
            lines=(12,),
            filename="app/main.py",
            files={"app/db.py": "def get_db():\n    yield None\n"},
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import text
            from sqlalchemy.orm import Session

            from app.db import get_db

            app = FastAPI()

            @app.get("/stats/{table}")
            def row_count(table: str, order: str = "id", db: Session = Depends(get_db)) -> int:
                return db.execute(text(f'SELECT count(*) FROM "{table}" GROUP BY {order}')).scalar_one()

            @app.delete("/archives/{table}", status_code=204)
            def drop_archive(table: str, db: Session = Depends(get_db)) -> None:
                db.execute(text("DROP TABLE IF EXISTS " + table))

            @app.get("/search")
            def search(table: str, name: str, db: Session = Depends(get_db)) -> list[int]:
                return list(db.execute(text(f"SELECT id FROM {table} WHERE name = '{name}'")).scalars())
            """,
            lines=(11, 15, 19),
            filename="app/main.py",
            files={"app/db.py": "def get_db():\n    yield None\n"},
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
        if sink is None or _is_migration(ctx.module):
            return
        if node.args:
            sql = node.args[0]
        else:
            sql = next((k.value for k in node.keywords if k.arg in _SQL_KEYWORDS), None)
        if sql is None or isinstance(sql, ast.Constant):
            return
        analysis = _Analysis(ctx.project, ctx.module, ctx.function())
        built = analysis.built(sql)
        if built is None or _outside_requests(ctx.project, ctx.function()):
            return
        if _unreached(ctx.project, ctx.function()) and (built.names_only or not built.from_caller):
            # Code no request reaches, in a service: a table or column name formatted
            # there, or text computed there (a quoted-identifier list, a clause a filter
            # translator returned with its own parameters), comes from the code and its
            # configuration; only a value its caller passed in can carry client text.
            return
        how = _HOW[built.how]
        where = "" if built.line == sql.lineno else f" (line {built.line})"
        if isinstance(sql, ast.Name):
            subject = f"`{sql.id}` is SQL built with {how}{where} and"
        else:
            subject = f"SQL built with {how}"
        if built.names_only:
            # A placeholder can only stand for a value: names need an allow-list.
            advice = (
                "a table or column name cannot be a bound parameter, so check it against a fixed "
                "allow-list (e.g. the table names of your `MetaData`) before formatting it in"
            )
        elif sink.startswith("."):
            advice = "pass the values as parameters (`execute(sql, params)` with placeholders)"
        else:
            advice = 'use bound parameters (`text("... WHERE id = :id")` with `{"id": value}`)'
        ctx.report(
            sql,
            f"{subject} is passed to `{sink}`, so a value inside it can rewrite the query (SQL "
            f"injection); {advice}.",
        )
