from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterable

from fastapi_expert.review.model.callgraph import CallSite
from fastapi_expert.review.model.module import (
    FunctionInfo,
    ModuleInfo,
    child_nodes,
    own_nodes,
    parameter_defaults,
    scope_nodes,
)
from fastapi_expert.review.model.project import Project, positional_parameters
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import (
    describe_iter,
    is_attempt_loop,
    is_cached,
    is_fixed_iteration,
    is_migration,
    loop_body_nodes,
    loop_iter,
    loop_targets,
    session_method,
)
from fastapi_expert.types import ChainLink, Severity

# Session methods that talk to the database right away.
_SESSION_QUERIES = frozenset(
    {"execute", "scalar", "scalars", "get", "get_one", "query", "refresh", "exec", "stream", "stream_scalars"}
)
# Core connections (typed receivers).
_CONNECTION_PREFIXES = (
    "sqlalchemy.engine.Connection.",
    "sqlalchemy.ext.asyncio.AsyncConnection.",
    "sqlalchemy.ext.asyncio.engine.AsyncConnection.",
)
_CONNECTION_QUERIES = frozenset({"execute", "scalar", "scalars", "exec_driver_sql"})
# Awaited driver fetches (`await conn.fetch(...)`), for receivers whose type is unknown.
_FETCHES = frozenset({"fetch", "fetchrow", "fetchval", "fetch_all", "fetch_one", "fetch_val"})
_DB_MODULES = ("asyncpg", "databases", "aiomysql", "aiopg", "psycopg", "aiosqlite", "asyncmy", "sqlalchemy")
_DB_PREFIXES = tuple(f"{m}." for m in _DB_MODULES)


def _query_label(project_target: str | None, call: ast.Call, awaited: bool, imports_db: bool) -> bool:
    """Does this call run a database query now?"""
    method = session_method(project_target)
    if method is not None:
        return method in _SESSION_QUERIES
    if project_target is not None and project_target.startswith(_CONNECTION_PREFIXES):
        return project_target.rsplit(".", 1)[-1] in _CONNECTION_QUERIES
    if awaited and isinstance(call.func, ast.Attribute) and call.func.attr in _FETCHES:
        if project_target is None:
            return imports_db or _sql_argument(call)
        return project_target.startswith(_DB_PREFIXES)
    return False


_SQL_START = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")


def _sql_argument(call: ast.Call) -> bool:
    """Is the first argument SQL text (`"SELECT ..."`, an f-string starting so)?"""
    if not call.args:
        return False
    first = call.args[0]
    text: object = None
    if isinstance(first, ast.Constant):
        text = first.value
    elif isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
        text = first.values[0].value
    return isinstance(text, str) and text.lstrip().upper().startswith(_SQL_START)


_DML = frozenset(
    f"{base}.{verb}"
    for base in ("sqlalchemy", "sqlalchemy.sql", "sqlalchemy.sql.expression", "sqlalchemy.sql.dml", "sqlmodel",
                 "sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.mysql")
    for verb in ("insert", "update", "delete")
)
_DML_VERBS = frozenset({"insert", "update", "delete"})
_TEXT = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text", "sqlmodel.text"})
_SQL_WRITE = ("INSERT", "UPDATE", "DELETE")


def _is_dml(project: Project, module: ModuleInfo, stmt: ast.expr) -> bool:
    """`insert(X).values(...)`, `update(X).where(...)`, `text("INSERT ...")`, `"UPDATE ..."`
    (names resolved in `module`, the one the statement is written in)."""
    if isinstance(stmt, ast.Constant) and isinstance(stmt.value, str):
        return stmt.value.lstrip().upper().startswith(_SQL_WRITE)
    if not isinstance(stmt, ast.Call):
        return False
    head = stmt
    while isinstance(head.func, ast.Attribute) and isinstance(head.func.value, ast.Call):
        head = head.func.value
    name = project.resolve(module, head.func) if isinstance(head.func, ast.Name | ast.Attribute) else None
    if name in _DML:
        return True
    if isinstance(head.func, ast.Attribute) and head.func.attr in _DML_VERBS:
        # Executed, `x.insert(Model)` is a statement: a dialect helper (`db.queries.insert(Model)`,
        # returning `postgresql.insert(Model)`) or a Core table's own (`users.delete()`).
        return True
    if name in _TEXT and head.args:
        first = head.args[0]
        return (
            isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and first.value.lstrip().upper().startswith(_SQL_WRITE)
        )
    return False


def _writes(project: Project, func: FunctionInfo, stmt: ast.expr) -> bool:
    """Is the statement `func` executes a write: written inline, or a local it
    assigned first (`query = update(X).where(...)`, then `session.execute(query)`)?"""
    if isinstance(stmt, ast.Name):
        return any(_is_dml(project, func.module, value) for value in _assigned(func, stmt.id))
    return _is_dml(project, func.module, stmt)


# Database lock functions: `SELECT pg_advisory_xact_lock(:key)`, MySQL's `GET_LOCK()`,
# SQL Server's `sp_getapplock`, and `LOCK TABLE`. Taking a lock per item reads no rows;
# no eager load or `IN` list can merge it, since each key is locked on its own.
_LOCK_SQL = re.compile(
    r"\b(pg_(try_)?advisory_(xact_)?(un)?lock(_shared|_all)?|get_lock|release_lock|sp_(get|release)applock)\s*\("
    r"|^\s*lock\s+tables?\b",
    re.IGNORECASE,
)
_LOCK_FUNC = re.compile(r"^pg_(try_)?advisory_(xact_)?(un)?lock(_shared|_all)?$|^(get|release)_lock$", re.IGNORECASE)


def _takes_lock(func: FunctionInfo, stmt: ast.expr, depth: int = 0) -> bool:
    """Is the statement a lock, not a query: SQL text calling a lock function
    (`text("SELECT pg_advisory_xact_lock(:key)")`), `select(func.pg_advisory_lock(key))`,
    or a local assigned one of those first?"""
    if isinstance(stmt, ast.Name):
        return depth < 2 and any(_takes_lock(func, value, depth + 1) for value in _assigned(func, stmt.id))
    for node in ast.walk(stmt):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _LOCK_SQL.search(node.value):
            return True
        if isinstance(node, ast.Attribute) and _LOCK_FUNC.match(node.attr):
            return True
    return False


def _awaited_calls(nodes: Iterable[ast.AST]) -> tuple[list[ast.AST], set[int]]:
    seq = list(nodes)
    awaited = {id(n.value) for n in seq if isinstance(n, ast.Await) and isinstance(n.value, ast.Call)}
    return seq, awaited


_BATCH_METHODS = frozenset({"in_", "any_"})


def _may_batch(loop: ast.AST) -> bool:
    """Is there an `.in_(...)`/`.any_(...)` call anywhere in the loop? Without one
    no call in it is `_batched`: one walk of the loop instead of one per call."""
    stack = [loop]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _BATCH_METHODS:
            return True
        stack.extend(child_nodes(node))
    return False


def _batched(call: ast.Call, names: set[str], assigns: list[ast.AST] | None = None) -> bool:
    """`select(X).where(X.id.in_(chunk))` with `chunk` the loop variable: a batch query;
    also when the statement is a local the loop body builds first
    (`stmt = base.where(X.project_id.in_(project_ids))`, then `session.stream(stmt)`)."""
    if assigns:
        passed = {a.id for a in call.args if isinstance(a, ast.Name)}
        for node in assigns:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in passed for t in node.targets)
                and isinstance(node.value, ast.Call)
                and _batched(node.value, names)
            ):
                return True
    for sub in ast.walk(call):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr in _BATCH_METHODS
            and any(isinstance(n, ast.Name) and n.id in names for a in sub.args for n in ast.walk(a))
        ):
            return True
    return False


_BATCH_WORDS = ("chunk", "batch")


def _over_batches(ctx: FileContext, iterable: ast.expr | None) -> bool:
    """A loop over a chunking helper (`chunks(ids, 1000)`, `itertools.batched(...)`,
    `more_itertools.chunked(...)`, `session.scalars(...).partitions(...)`) or over
    the starts of slices (`range(0, len(ids), batch_size)`): each iteration is one
    batch, the batching the rule asks for."""
    if not isinstance(iterable, ast.Call):
        return False
    func = iterable.func
    names: list[str] = []
    if isinstance(func, ast.Name):
        names.append(func.id)
    elif isinstance(func, ast.Attribute):
        names.append(func.attr)
    if isinstance(func, ast.Name | ast.Attribute):
        resolved = ctx.resolve(func)
        if resolved:
            names.append(resolved.rsplit(".", 1)[-1])
    if isinstance(func, ast.Name) and len(iterable.args) == 3 and ctx.resolve(func) == "builtins.range":
        # `range(0, len(ids), batch_size)`: each iteration starts a slice of `batch_size` items.
        step = iterable.args[2]
        return not (isinstance(step, ast.Constant) and step.value in (1, -1))
    return any(word in name.lower() for name in names for word in _BATCH_WORDS) or (
        isinstance(func, ast.Attribute) and func.attr == "partitions"
    )


_SELECT = frozenset(
    f"{base}.select"
    for base in ("sqlalchemy", "sqlalchemy.sql", "sqlalchemy.sql.expression", "sqlalchemy.future", "sqlmodel")
)
# SQL text just before a hole that takes a table name: `FROM {t}`, `DROP TABLE IF EXISTS {t}`,
# `INSERT INTO "{t}"`, `UPDATE public.{t}`.
_TABLE_BEFORE = re.compile(r"\b(from|join|into|update|table|exists|truncate)\s+(\w+\.)?[\"`\[]?$", re.IGNORECASE)
_PERCENT_HOLE = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdifr]|%%")


def _mentions(expr: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(expr))


def _rooted_in(expr: ast.expr, names: set[str]) -> bool:
    """`model`, `config.orm_model`, `tables[name]` with `model` / `config` / `tables[name]`'s
    subscript a tracked name: an entity or table taken from the loop."""
    while isinstance(expr, ast.Attribute | ast.Subscript):
        if isinstance(expr, ast.Subscript) and _mentions(expr.slice, names):
            return True
        expr = expr.value
    return isinstance(expr, ast.Name) and expr.id in names


def _sql_parts(expr: ast.expr) -> list[str | ast.expr | None] | None:
    """SQL text as its literal parts and its holes (None for a hole whose value is
    unknown): an f-string, `+` concatenation, `.format()` or `%` formatting."""
    if isinstance(expr, ast.JoinedStr):
        pieces: list[str | ast.expr | None] = []
        for v in expr.values:
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                pieces.append(v.value)
            else:
                pieces.append(v.value if isinstance(v, ast.FormattedValue) else None)
        return pieces
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        left, right = _sql_parts(expr.left), _sql_parts(expr.right)
        return [*(left if left is not None else [expr.left]), *(right if right is not None else [expr.right])]
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "format"
        and isinstance(expr.func.value, ast.Constant)
        and isinstance(expr.func.value.value, str)
    ):
        keywords = {k.arg: k.value for k in expr.keywords if k.arg is not None}
        parts: list[str | ast.expr | None] = []
        auto = 0
        try:
            fields = list(string.Formatter().parse(expr.func.value.value))
        except ValueError:
            return None
        for literal, field, _spec, _conv in fields:
            parts.append(literal)
            if field is None:
                continue
            key = re.split(r"[.\[]", field, maxsplit=1)[0]
            if key == "":
                key, auto = str(auto), auto + 1
            if key.isdigit():
                parts.append(expr.args[int(key)] if int(key) < len(expr.args) else None)
            else:
                parts.append(keywords.get(key))
        return parts
    if (
        isinstance(expr, ast.BinOp)
        and isinstance(expr.op, ast.Mod)
        and isinstance(expr.left, ast.Constant)
        and isinstance(expr.left.value, str)
    ):
        text, values = expr.left.value, expr.right
        parts = []
        start, index = 0, 0
        for match in _PERCENT_HOLE.finditer(text):
            if match.group(0) == "%%":
                continue
            parts.append(text[start : match.start()])
            start = match.end()
            if match.group(1) is not None:
                found = None
                if isinstance(values, ast.Dict):
                    for key, value in zip(values.keys, values.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == match.group(1):
                            found = value
                parts.append(found)
            elif isinstance(values, ast.Tuple):
                parts.append(values.elts[index] if index < len(values.elts) else None)
                index += 1
            else:
                parts.append(values)
        parts.append(text[start:])
        return parts
    return None


def _table_holes(expr: ast.expr) -> list[ast.expr]:
    """The values formatted into SQL text where a table name goes."""
    parts = _sql_parts(expr)
    if parts is None:
        return []
    out: list[ast.expr] = []
    before = ""
    previous_table = False
    for part in parts:
        if isinstance(part, str):
            before += part
            continue
        # `{schema}.{table}`: the hole right after a table hole and a dot is the table.
        at_table = bool(_TABLE_BEFORE.search(before)) or (previous_table and before.strip('"`[]') == ".")
        if at_table and part is not None:
            out.append(part)
        previous_table = at_table
        before = ""
    return out


# SQL text just before a hole that takes a value: `id = {x}`, `IN ({ids})`, `LIKE '{p}`,
# `LIMIT {n}`, `VALUES ({a}, {b})`. A hole anywhere else takes part of the statement
# itself: a column (`SELECT DISTINCT {col}`), a clause (`WHERE {condition}`).
_VALUE_BEFORE = re.compile(r"(=|<|>|\(|,|\b(like|ilike|limit|offset|between|in|is|values|then|else|when))\s*['\"]?$", re.IGNORECASE)


def _statement_holes(expr: ast.expr) -> list[ast.expr]:
    """The values formatted into SQL text where they change the statement itself (a
    table, a column, a clause), not where a value goes: a loop filling them runs a
    different statement on each iteration (one per column of a table, one per
    foreign key), which no `IN (...)` list or eager load could merge."""
    parts = _sql_parts(expr)
    if parts is None:
        return []
    out: list[ast.expr] = []
    before = ""
    for part in parts:
        if isinstance(part, str):
            before += part
            continue
        if part is not None and not _VALUE_BEFORE.search(before):
            out.append(part)
        before = ""
    return out


def _assigned(func: FunctionInfo, name: str) -> list[ast.expr]:
    """The values a function assigns to a local name."""
    return [
        node.value
        for node in own_nodes(func.node)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    ]


def _statement_per_table(project: Project, func: FunctionInfo, stmt: ast.expr, names: set[str], depth: int = 0) -> bool:
    """Does the statement's table (or mapped class) come from `names`: `text(f"SELECT * FROM {t}")`,
    `delete(model).where(...)`, `select(func.count()).select_from(table)`, `table.delete()`?"""
    module = func.module
    if isinstance(stmt, ast.Name) and depth < 2:
        # `sql = f"DROP TABLE {name}"` then `session.execute(text(sql))`
        return any(_statement_per_table(project, func, value, names, depth + 1) for value in _assigned(func, stmt.id))
    if any(_mentions(hole, names) for hole in _table_holes(stmt)):
        return True
    if any(_mentions(hole, names) for hole in _statement_holes(stmt)):
        return True  # `SELECT DISTINCT {column} FROM ...` over a table's columns: one statement per column
    if not isinstance(stmt, ast.Call):
        return False
    # The call the statement starts from: `delete(model)` of `delete(model).where(...)`,
    # and every method applied on the way (`.select_from(table)`).
    head = stmt
    while isinstance(head.func, ast.Attribute) and isinstance(head.func.value, ast.Call):
        if head.func.attr == "select_from" and head.args and _rooted_in(head.args[0], names):
            return True
        head = head.func.value
    if not isinstance(head.func, ast.Name | ast.Attribute):
        return False
    name = project.resolve(module, head.func)
    if name in _TEXT and head.args:
        return depth < 2 and _statement_per_table(project, func, head.args[0], names, depth + 1)
    if name in _DML or name in _SELECT:
        return any(_rooted_in(arg, names) for arg in head.args)
    # `table.delete().where(...)`, `model.__table__.select()`: a statement method of the table itself.
    return (
        isinstance(head.func, ast.Attribute)
        and head.func.attr in {"select", "insert", "update", "delete"}
        and _rooted_in(head.func.value, names)
    )


def _query_per_table(project: Project, func: FunctionInfo, call: ast.Call, names: set[str]) -> bool:
    """Does the query `call` (in `func`) read or write a table that `names` choose, so that
    a loop over those names runs one query per *table*, not per row?"""
    if not call.args:
        return False
    if isinstance(call.func, ast.Attribute) and call.func.attr in {"query", "get", "get_one"}:
        return _rooted_in(call.args[0], names)  # `session.get(model, pk)`: the mapped class
    return _statement_per_table(project, func, call.args[0], names)


def _with_derived(nodes: Iterable[ast.AST], names: set[str]) -> set[str]:
    """`names` and the local names assigned from them (`table = config.table_name`)."""
    assigns = [n for n in nodes if isinstance(n, ast.Assign)]
    out = set(names)
    for _ in range(2):
        before = len(out)
        for node in assigns:
            if _mentions(node.value, out):
                out |= {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if len(out) == before:
            break
    return out


def _bound_parameters(
    project: Project, module: ModuleInfo, callee: FunctionInfo, call: ast.Call, names: set[str]
) -> set[str]:
    """The parameters of `callee` that the call (made in `module`) passes a value built
    from `names`: `obj.method(x)` and `Class.method(obj, x)` both bind `x` to the
    parameter after `self`."""
    positional = positional_parameters(project, module, callee, call)
    out: set[str] = set()
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            break
        if i < len(positional) and _mentions(arg, names):
            out.add(positional[i])
    for keyword in call.keywords:
        if keyword.arg is not None and _mentions(keyword.value, names):
            out.add(keyword.arg)
    return out


# Methods that change the object they are called on (`ids.append(x)`): a name
# so used in a loop has a new value on each iteration.
_MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "add",
        "update",
        "pop",
        "popleft",
        "remove",
        "discard",
        "clear",
        "setdefault",
        "popitem",
        "appendleft",
        "extendleft",
        "sort",
        "reverse",
    }
)


def _varying_names(loop: ast.AST) -> set[str]:
    """Names whose value can differ from one iteration of `loop` to the next: its
    targets, every name bound anywhere in it (nested loops, `with ... as`, `:=`,
    `x += 1`), the root of an attribute or item it assigns (`self.cursor = ...`),
    and a name it mutates in place (`ids.append(...)`)."""
    return _loop_names(loop)[0]


def _mutated_only(loop: ast.AST) -> set[str]:
    """The names of `_varying_names` that the loop only mutates in place
    (`session.add(row)`, `ids.append(x)`): each still names the same object."""
    return _loop_names(loop)[1]


def _loop_names(loop: ast.AST) -> tuple[set[str], set[str]]:
    cached: tuple[set[str], set[str]] | None = getattr(loop, "_fx_varying_names", None)
    if cached is not None:
        return cached
    rebound = set(loop_targets(loop))
    mutated: set[str] = set()
    roots: list[ast.AST] = []
    if isinstance(loop, ast.For | ast.AsyncFor):
        roots = list(loop.body)
    elif isinstance(loop, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        roots = [loop]
    for root in roots:
        for node in ast.walk(root):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                rebound.add(node.id)
            elif isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
                base: ast.expr = node
                while isinstance(base, ast.Attribute | ast.Subscript):
                    base = base.value
                if isinstance(base, ast.Name):
                    rebound.add(base.id)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
                and isinstance(node.func.value, ast.Name)
            ):
                mutated.add(node.func.value.id)
    out = (rebound | mutated, mutated - rebound)
    loop._fx_varying_names = out  # type: ignore[attr-defined]
    return out


def _same_key(call: ast.Call, loop: ast.AST) -> bool:
    """Does a cached function get the same cache key on every iteration? As
    `_same_every_time` with the receiver, except that a name the loop only mutates
    in place, passed whole (`session=session` with `session.add(row)` in the loop),
    is the same object each time: the same key (a cache hashes it by identity, or
    a `key=` function leaves it out)."""
    varying = _varying_names(loop)
    mutated = _mutated_only(loop)
    parts: list[ast.expr] = [*call.args, *(k.value for k in call.keywords)]
    if isinstance(call.func, ast.Attribute):
        parts.append(call.func.value)
    for part in parts:
        if isinstance(part, ast.Name) and part.id in mutated:
            continue
        if any(isinstance(n, ast.Name) and n.id in varying for n in ast.walk(part)):
            return False
    return True


def _same_every_time(call: ast.Call, varying: set[str], *, with_receiver: bool) -> bool:
    """Does the call get the same arguments on every iteration (no name in them
    varies with the loop)? The receiver counts only when asked: a session or a
    connection is the same object whatever it did in the loop, while
    `row.load_children()` on a loop variable is one call per row."""
    parts: list[ast.AST] = [*call.args, *(k.value for k in call.keywords)]
    if with_receiver and isinstance(call.func, ast.Attribute):
        parts.append(call.func.value)
    return not any(isinstance(n, ast.Name) and n.id in varying for part in parts for n in ast.walk(part))


# `try:` and, from Python 3.11, `try: ... except* ...:`.
_TRY: tuple[type[ast.stmt], ...] = tuple(t for t in (ast.Try, getattr(ast, "TryStar", None)) if t is not None)


def _isolated_calls(loop: ast.AST) -> set[int]:
    """The calls (by id) that use, as receiver or argument, a session or connection
    the iteration opens itself (`async with sessions() as session:` in the loop body)
    and that run inside a `try` of that iteration, around or within the `with`: each
    item in a transaction of its own, kept apart from the others' failures and
    locks (as FX509 reads a commit in a `try`). Kept on the loop node."""
    cached: set[int] | None = getattr(loop, "_fx_isolated_calls", None)
    if cached is not None:
        return cached
    out: set[int] = set()

    def uses(call: ast.Call, names: frozenset[str]) -> bool:
        parts: list[ast.expr] = [*call.args, *(k.value for k in call.keywords)]
        if isinstance(call.func, ast.Attribute):
            parts.append(call.func.value)
        return any(isinstance(p, ast.Name) and p.id in names for p in parts)

    def visit(stmts: list[ast.stmt], opened: frozenset[str], in_try: bool) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            inner = opened
            if isinstance(stmt, ast.With | ast.AsyncWith):
                inner = opened | {
                    item.optional_vars.id for item in stmt.items if isinstance(item.optional_vars, ast.Name)
                }
            blocks: list[tuple[list[ast.stmt], bool]] = []
            if isinstance(stmt, _TRY):
                blocks = [(stmt.body, True), (stmt.orelse, True), (stmt.finalbody, True)]  # type: ignore[attr-defined]
                blocks += [(h.body, True) for h in stmt.handlers]  # type: ignore[attr-defined]
            else:
                for field in ("body", "orelse"):
                    block = getattr(stmt, field, None)
                    if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                        blocks.append((block, in_try))
                blocks += [(c.body, in_try) for c in getattr(stmt, "cases", ())]
            if in_try and opened:
                # The statement's own expressions (not those of its blocks).
                for field, value in ast.iter_fields(stmt):
                    if field in {"body", "orelse", "finalbody", "handlers", "cases"}:
                        continue
                    for part in value if isinstance(value, list) else [value]:
                        if isinstance(part, ast.AST):
                            for node in ast.walk(part):
                                if isinstance(node, ast.Call) and uses(node, opened):
                                    out.add(id(node))
            for block, block_in_try in blocks:
                visit(block, inner, block_in_try)

    if isinstance(loop, ast.For | ast.AsyncFor):
        visit(loop.body, frozenset(), False)
    loop._fx_isolated_calls = out  # type: ignore[attr-defined]
    return out


def _calls_in_try(loop: ast.AST) -> set[int]:
    """The calls (by id) of the loop's body that run inside a `try` of the iteration (its
    body, handlers, `else` or `finally`). Kept on the loop node."""
    cached: set[int] | None = getattr(loop, "_fx_calls_in_try", None)
    if cached is not None:
        return cached
    out: set[int] = set()
    if isinstance(loop, ast.For | ast.AsyncFor):
        for node in scope_nodes(loop.body):
            if isinstance(node, _TRY):
                out.update(id(sub) for sub in scope_nodes([node]) if sub.__class__ is ast.Call)
    loop._fx_calls_in_try = out  # type: ignore[attr-defined]
    return out


def _opens_savepoint(call: ast.Call) -> bool:
    """`session.begin_nested()`: a savepoint. Opened on every iteration, it keeps each
    item's statements apart, so that one item failing rolls back that item alone; one
    bulk statement for all the items would give that up (as `_isolated_calls`)."""
    return isinstance(call.func, ast.Attribute) and call.func.attr == "begin_nested" and not call.args


def _with_bound(nodes: Iterable[ast.AST]) -> set[str]:
    """The names bound by the `with` / `async with` statements among `nodes`
    (`with create_session() as session:`)."""
    return {
        item.optional_vars.id
        for node in nodes
        if isinstance(node, ast.With | ast.AsyncWith)
        for item in node.items
        if isinstance(item.optional_vars, ast.Name)
    }


def _supplied_by_decorator(decorator: FunctionInfo) -> frozenset[str]:
    """The keyword arguments a decorator passes the function it wraps from a `with`
    it opens around the call: `with create_session() as session: return
    func(*args, session=session, **kwargs)` supplies `session`, a new one per call
    (Airflow's `@provide_session`). Kept on the decorator's node."""
    cached: frozenset[str] | None = getattr(decorator.node, "_fx_supplied_by_decorator", None)
    if cached is not None:
        return cached
    params = [*decorator.node.args.posonlyargs, *decorator.node.args.args]
    supplied: set[str] = set()
    if params:
        wrapped = params[0].arg
        for node in ast.walk(decorator.node):
            if not isinstance(node, ast.With | ast.AsyncWith):
                continue
            opened = _with_bound([node])
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == wrapped:
                    supplied.update(
                        k.arg
                        for k in sub.keywords
                        if k.arg is not None and isinstance(k.value, ast.Name) and k.value.id in opened
                    )
    out = frozenset(supplied)
    decorator.node._fx_supplied_by_decorator = out  # type: ignore[union-attr]
    return out


def _leaves_default(project: Project, module: ModuleInfo, callee: FunctionInfo, call: ast.Call, param: str) -> bool:
    """Does `call` (made in `module`) leave `callee`'s parameter `param` to its default,
    knowingly (no `*args` / `**kwargs` that could pass it)?"""
    if param not in parameter_defaults(callee.node):
        return False
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return False
    filled = positional_parameters(project, module, callee, call)[: len(call.args)]
    return param not in filled and all(k.arg != param for k in call.keywords)


def _opens_own_session(project: Project, module: ModuleInfo, callee: FunctionInfo, call: ast.Call, inner: ast.Call) -> bool:
    """Does `callee`, called as `call` (in `module`), run its statement `inner` on a
    session opened for this call alone: one it binds itself with a `with`
    (`with Session() as session:`), or a parameter the call leaves to its default that a
    project decorator fills from a `with` of its own (`@provide_session`)? Each call is
    then a transaction of its own."""
    if not (isinstance(inner.func, ast.Attribute) and isinstance(inner.func.value, ast.Name)):
        return False
    receiver = inner.func.value.id
    if receiver in _with_bound(own_nodes(callee.node)):
        return True
    if not callee.node.decorator_list or not _leaves_default(project, module, callee, call, receiver):
        return False
    for decorator in callee.node.decorator_list:
        head = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not isinstance(head, ast.Name | ast.Attribute):
            continue
        wrapper = project.lookup(project.resolve(callee.module, head))
        if isinstance(wrapper, FunctionInfo) and receiver in _supplied_by_decorator(wrapper):
            return True
    return False


def _label(callee: FunctionInfo) -> str:
    """How a message names a called project function: a method with its class
    (`SerializedDagModel.get`, not a bare `get` that many classes have)."""
    if callee.class_name:
        return f"{callee.class_name.rsplit('.', 1)[-1]}.{callee.name}"
    return callee.name


def _call_text(ctx_segment: str) -> str:
    text = ctx_segment if len(ctx_segment) <= 40 and "\n" not in ctx_segment else ctx_segment.rsplit(".", 1)[-1]
    return f"{text}()"


_PROVIDE_SESSION = """
import contextlib
from functools import wraps

from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
NEW_SESSION: Session = None  # type: ignore[assignment]


@contextlib.contextmanager
def create_session():
    session = SessionLocal()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def provide_session(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        if "session" in kwargs:
            return func(*args, **kwargs)
        with create_session() as session:
            return func(*args, session=session, **kwargs)

    return wrapper
"""


class QueryInLoop(Rule):
    """Flags a database query run once per iteration of a loop (the N+1 pattern).

    ## What it does
    Inside a `for` / `async for` loop or a comprehension, finds calls that query
    the database on each iteration: `execute`, `scalar(s)`, `get`, `query`,
    `refresh` (and SQLModel's `exec`) on a `Session` / `AsyncSession` (the
    receiver's type comes from its annotation or constructor), `execute` on a
    SQLAlchemy `Connection`, `await conn.fetch(...)` / `fetchrow` / `fetchval`
    on a driver connection, and calls to a project function whose own body runs
    such a query. An `INSERT` / `UPDATE` / `DELETE` executed per iteration, directly
    or as the first statement of the called function, is reported as a write per
    row (use one executemany call instead); so is a statement built in a local
    first (`query = update(X)...`, then `execute(query)`), and one built by a
    helper's or a table's own `insert`/`update`/`delete` method
    (`db.queries.insert(X)`, `users.delete()`). A read whose
    arguments do not change in the loop (no loop variable, nothing the loop
    assigns or mutates) is the same query repeated, not N+1: the message says
    to run it once before the loop. Not flagged: a function memoised with a
    cache decorator (`functools.cache`, `lru_cache`, `cachetools.cached`, ...)
    called with such unchanging arguments (it queries once; a session the loop
    only adds rows to, passed whole as `session=session`, is still the same
    object, so the same key); called with an
    argument that changes in the loop it still queries once per value not yet
    in its cache, which the message says (N+1 while the cache is cold),
    loops over a literal collection or `range(<constant>)`, `for _ in range(n)`,
    loops that `break` or `return` (retries, searches, paging), retry loops over
    attempts (`for attempt in Retrying(...): with attempt: ...`, tenacity or
    stamina: the body runs again only after a failure), batch queries
    that filter with `.in_(<loop variable>)` (in the call, or in the statement the
    loop builds in a local first), loops over a chunking helper
    (`chunks(ids, 1000)`, `itertools.batched(...)`, `more_itertools.chunked(...)`,
    any call whose name contains `chunk` or `batch`, and `range(0, len(ids), size)`,
    the starts of fixed-size slices: one query per batch is the
    batching this rule recommends), loops over tables or mapped classes, where
    the loop chooses the statement's table (`text(f"DROP TABLE {name}")`,
    `delete(model).where(...)`, `table.delete()`, or a called function that
    formats its table parameter into `FROM {table}`, called as `obj.method(...)`
    or through its class as `Class.method(obj, ...)`: one query per table, which
    no eager load or `IN` list can merge; likewise SQL text whose column or clause
    the loop fills in, `text(f'SELECT DISTINCT {column} FROM t')` over a table's
    columns, as opposed to a value, `= {x}`), loops that open a savepoint per
    iteration (`session.begin_nested()`: each item's statements are rolled back alone
    when it fails, which one bulk statement would give up), `session.add(obj)` in a loop (no
    I/O until the flush), a lock taken per item (`SELECT pg_advisory_xact_lock(:key)`,
    MySQL's `GET_LOCK()`, `LOCK TABLE`: it reads no rows, directly or as what a
    called function runs; its later queries still count), a write on a
    session the iteration opens itself (`async with sessions() as session:` in
    the loop) inside a `try` of that iteration: each item in a transaction of
    its own, kept apart from the others' locks and failures, which one
    executemany would merge (as FX509 leaves a commit in a `try` alone; without
    the `try` it is still a write per row); likewise a call, inside a `try` of the
    iteration, to a project function that writes on a session opened for that call
    alone: one it binds with its own `with`, or a session parameter the call leaves
    to its default for a decorator that opens one around each call
    (`with create_session() as session: return func(*args, session=session, **kwargs)`,
    Airflow's `@provide_session`); passing the loop's session makes it a write per
    row again. And Alembic revisions
    (files under `migrations/versions/` or `alembic/versions/`, importing
    `alembic.op`, or shaped like a revision: `revision = "..."`, `down_revision`
    and `def upgrade()` at module level): a one-off data migration rewrites
    rows one by one, often each in its own savepoint so that a bad row is
    reported, and no request waits on it.

    ## Why is this bad?
    One query per row turns a page of 100 items into 101 round trips to the
    database; latency grows linearly with the data and the pool is held for the
    whole loop. Load related rows together: eager loading (`selectinload()`,
    `joinedload()`) for relationships, or one `WHERE id IN (...)` query and a
    dictionary lookup inside the loop.

    ## References
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html#selectin-eager-loading
    - https://docs.sqlalchemy.org/en/20/core/sqlelement.html#sqlalchemy.sql.expression.ColumnOperators.in_
    - https://docs.sqlalchemy.org/en/20/tutorial/dbapi_transactions.html#sending-multiple-parameters
    """

    code = "FX503"
    name = "query-in-loop"
    summary = "A database query runs once per loop iteration (N+1 queries)."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.orm import Session, selectinload

            app = FastAPI()

            @app.post("/orders/import")
            def import_orders(payload: list[OrderIn], db: Session = Depends(get_db)):
                for item in payload:
                    db.add(Order(**item.model_dump()))  # no I/O until the flush
                db.commit()
                customers = db.scalars(select(Customer).options(selectinload(Customer.orders))).all()
                return [{"id": c.id, "orders": len(c.orders)} for c in customers]
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.post("/users/lookup")
            async def lookup(ids: list[int], session: AsyncSession = Depends(get_session)):
                found = []
                for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
                    rows = await session.scalars(select(User).where(User.id.in_(chunk)))
                    found.extend(rows)
                for model in (User, Team):
                    await session.execute(select(model).limit(1))
                return found
            """
        ),
        Valid(
            """
            from itertools import batched

            from sqlalchemy import delete, select
            from sqlalchemy.orm import Session

            from app.models import DagRun, TaskInstance

            def chunks(items: list[str], size: int):
                for i in range(0, len(items), size):
                    yield items[i : i + size]

            def clear_task_instances(tis: list[TaskInstance], session: Session) -> None:
                for row in session.scalars(select(TaskInstance).where(TaskInstance.id.in_([t.id for t in tis]))):
                    session.delete(row)

            def clear_runs(session: Session, run_ids: list[str]) -> int:
                cleared = 0
                for chunk in chunks(run_ids, 1000):
                    tis = session.scalars(select(TaskInstance).where(TaskInstance.run_id.in_(chunk))).all()
                    clear_task_instances(list(tis), session=session)
                    cleared += len(tis)
                for group in batched(run_ids, 500):
                    session.execute(delete(DagRun).where(DagRun.run_id.in_(group)))
                return cleared
            """,
            filename="app/service.py",
            files={
                "app/models.py": """
                    class TaskInstance:
                        id = 0
                        run_id = ""

                    class DagRun:
                        run_id = ""
                """
            },
        ),
        Valid(
            """
            from sqlalchemy import update
            from sqlalchemy.ext.asyncio import AsyncSession
            from sqlalchemy.orm import Session
            from tenacity import AsyncRetrying, Retrying, stop_after_attempt

            from app.models import Job

            def with_db_retries() -> Retrying:
                return Retrying(stop=stop_after_attempt(3), reraise=True)

            def release_stale_jobs(session: Session) -> None:
                for attempt in with_db_retries():
                    with attempt:
                        session.execute(update(Job).where(Job.state == "stale").values(owner=None))

            async def requeue_failed(session: AsyncSession) -> None:
                async for attempt in AsyncRetrying(stop=stop_after_attempt(5)):
                    with attempt:
                        await session.execute(update(Job).where(Job.state == "failed").values(state="queued"))
            """,
            filename="app/maintenance.py",
            files={
                "app/models.py": """
                    class Job:
                        state = ""
                        owner = None
                """
            },
        ),
        Valid(
            """
            import csv

            from sqlalchemy import delete, text
            from sqlalchemy.orm import Session

            from app.models import AuditEntry, LoginAttempt, metadata

            def export_table(session: Session, table: str, path: str) -> None:
                result = session.execute(text(f"SELECT * FROM {table}"))
                with open(path, "w", newline="") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(result.keys())
                    writer.writerows(result.fetchall())

            def archive_tables(session: Session, tables: list[str], out_dir: str) -> None:
                for name in tables:
                    export_table(session, name, f"{out_dir}/{name}.csv")
                    drop = "DROP TABLE IF EXISTS {}".format(name)
                    session.execute(text(drop))

            def forget_user(session: Session, user_id: int) -> None:
                owned = [AuditEntry, LoginAttempt]
                for model in owned:
                    session.execute(delete(model).where(model.user_id == user_id))

            def wipe(session: Session) -> None:
                for table in reversed(metadata.sorted_tables):
                    session.execute(table.delete())
            """,
            filename="app/maintenance.py",
            files={
                "app/models.py": """
                    from sqlalchemy import MetaData

                    metadata = MetaData()

                    class AuditEntry:
                        user_id = 0

                    class LoginAttempt:
                        user_id = 0
                """
            },
        ),
        Valid(
            # A memoised lookup called with the same key on every iteration queries once.
            """
            from cachetools import TTLCache, cached
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Project, Team

            _team_names: TTLCache = TTLCache(maxsize=512, ttl=60)

            @cached(_team_names, key=lambda project_id, **_: project_id)
            def team_name(project_id: int, *, session: Session) -> str | None:
                return session.scalar(select(Team.name).join(Project).where(Project.id == project_id))

            def run_hooks(hooks: list, project_id: int, session: Session) -> list[str | None]:
                failed = []
                for hook in hooks:
                    try:
                        hook(project_id)
                    except Exception:
                        failed.append(team_name(project_id, session=session))
                return failed
            """,
            filename="app/hooks.py",
            files={
                "app/models.py": """
                    class Project:
                        id = 0

                    class Team:
                        name = ""
                """
            },
        ),
        Valid(
            # An Alembic revision: a one-off data migration that rewrites each row in
            # Python, with no request waiting on it.
            """
            import json

            import sqlalchemy as sa
            from alembic import op
            from sqlalchemy.engine import Connection

            revision = "0042"
            down_revision = "0041"

            def _split_tags(conn: Connection) -> None:
                rows = conn.execute(sa.text("SELECT id, tags FROM item")).fetchall()
                for item_id, tags in rows:
                    conn.execute(
                        sa.text("UPDATE item SET tag_list = :tags WHERE id = :id"),
                        {"tags": json.dumps((tags or "").split(",")), "id": item_id},
                    )

            def upgrade() -> None:
                op.add_column("item", sa.Column("tag_list", sa.JSON()))
                _split_tags(op.get_bind())
            """,
            filename="migrations/versions/0042_split_item_tags.py",
        ),
        Valid(
            # Each item in its own transaction, serialised with a lock on its key: a lock
            # per item reads no rows, and no `IN` list can take them all at once.
            """
            import hashlib

            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            from app.models import Counter

            async def lock_bucket(session: AsyncSession, bucket: str) -> None:
                key = int.from_bytes(hashlib.blake2b(bucket.encode(), digest_size=8).digest(), "big", signed=True)
                await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

            async def count_events(sessions: async_sessionmaker[AsyncSession], buckets: list[str]) -> None:
                for bucket in buckets:
                    async with sessions.begin() as session:
                        await lock_bucket(session, bucket)
                        session.add(Counter(bucket=bucket))
            """,
            filename="app/counters.py",
            files={
                "app/models.py": """
                    class Counter:
                        def __init__(self, bucket: str) -> None:
                            self.bucket = bucket
                """
            },
        ),
        Valid(
            # A cached lookup keyed by a value the loop does not change: the loop adds rows
            # to the session, but the session is the same object (and not in the key).
            """
            from cachetools import TTLCache, cached
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Alert, Deadline, Team

            _team_names: TTLCache = TTLCache(maxsize=512, ttl=60)

            @cached(_team_names, key=lambda dag_id, **_: dag_id)
            def team_name(dag_id: str, *, session: Session) -> str | None:
                return session.scalar(select(Team.name).where(Team.dag_id == dag_id))

            class Dag:
                dag_id = ""

                def add_deadlines(self, alerts: list[Alert], session: Session) -> list[str | None]:
                    teams = []
                    for alert in alerts:
                        session.add(Deadline(alert_id=alert.id, dag_id=self.dag_id))
                        teams.append(team_name(self.dag_id, session=session))
                    return teams
            """,
            filename="app/deadlines.py",
            files={
                "app/models.py": """
                    class Alert:
                        id = 0

                    class Deadline:
                        def __init__(self, alert_id: int, dag_id: str) -> None:
                            self.alert_id = alert_id
                            self.dag_id = dag_id

                    class Team:
                        name = ""
                        dag_id = ""
                """
            },
        ),
        Valid(
            # Each rule's bucket is written in a transaction of its own, opened by the
            # iteration and used in a `try`: one executemany would merge what the code
            # keeps apart (locks, failures).
            """
            from sqlalchemy.dialects.postgresql import insert
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            from app.models import Bucket

            async def ensure_bucket(session: AsyncSession, rule_id: int, key: str) -> None:
                await session.execute(insert(Bucket).values(rule_id=rule_id, key=key).on_conflict_do_nothing())

            async def react(sessions: async_sessionmaker[AsyncSession], rule_ids: list[int], key: str) -> None:
                for rule_id in rule_ids:
                    async with sessions() as session:
                        try:
                            await ensure_bucket(session, rule_id, key)
                        finally:
                            await session.commit()
            """,
            filename="app/buckets.py",
            files={"app/models.py": "class Bucket:\n    rule_id = 0\n"},
        ),
        Valid(
            # A method called through its class (`Exporter.dump_table(self, ...)`) passes
            # `self` itself: the loop's table name is still its `table` parameter.
            """
            from sqlalchemy import text
            from sqlalchemy.orm import Session

            class Exporter:
                def dump_table(self, session: Session, table: str) -> list:
                    return list(session.execute(text(f"SELECT * FROM {table}")).fetchall())

            class AuditExporter(Exporter):
                def dump_all(self, session: Session, tables: list[str]) -> dict[str, list]:
                    out = {}
                    for name in tables:
                        out[name] = Exporter.dump_table(self, session, name)
                    return out
            """,
            filename="app/export.py",
        ),
        Valid(
            # `@provide_session` opens and commits a session around each call that passes
            # none: every bundle's state is committed on its own, right after its refresh,
            # and a failure is logged and skipped. One executemany would merge them.
            """
            import logging

            from sqlalchemy import update
            from sqlalchemy.orm import Session

            from app.db import NEW_SESSION, provide_session
            from app.models import Bundle

            logger = logging.getLogger(__name__)

            class BundleRefresher:
                def __init__(self, bundles: list) -> None:
                    self.bundles = bundles

                @provide_session
                def save_state(self, name: str, *, version: str, session: Session = NEW_SESSION) -> None:
                    session.execute(update(Bundle).where(Bundle.name == name).values(version=version))

                def refresh_all(self) -> None:
                    for bundle in self.bundles:
                        bundle.refresh()
                        try:
                            self.save_state(bundle.name, version=bundle.version)
                        except Exception:
                            logger.exception("could not save the state of bundle %s", bundle.name)
            """,
            filename="app/refresh.py",
            files={"app/db.py": _PROVIDE_SESSION, "app/models.py": "class Bundle:\n    name = ''\n"},
        ),
        Valid(
            # The writer opens its own session for each call: a transaction per bundle,
            # in a `try` that logs a failure and goes on with the next one.
            """
            import logging

            from sqlalchemy import update

            from app.db import SessionLocal
            from app.models import Bundle

            logger = logging.getLogger(__name__)

            def save_state(name: str, version: str) -> None:
                with SessionLocal() as session:
                    session.execute(update(Bundle).where(Bundle.name == name).values(version=version))
                    session.commit()

            def refresh_all(bundles: list) -> None:
                for bundle in bundles:
                    bundle.refresh()
                    try:
                        save_state(bundle.name, bundle.version)
                    except Exception:
                        logger.exception("could not save the state of bundle %s", bundle.name)
            """,
            filename="app/refresh.py",
            files={"app/db.py": _PROVIDE_SESSION, "app/models.py": "class Bundle:\n    name = ''\n"},
        ),
        Valid(
            # One query per distinct probability, for all of its projects at once: the
            # statement built first in the loop filters with `.in_()` on the loop's list.
            """
            from collections import defaultdict

            from sqlalchemy import func, select
            from sqlalchemy.ext.asyncio import AsyncSession

            async def quantiles(session: AsyncSession, keys: list[tuple[int, float]]) -> dict:
                projects_per_prob: defaultdict[float, list[int]] = defaultdict(list)
                for project_id, probability in keys:
                    projects_per_prob[probability].append(project_id)
                out = {}
                for probability, project_ids in projects_per_prob.items():
                    stmt = select(Trace.project_id, func.percentile(Trace.latency, probability))
                    stmt = stmt.where(Trace.project_id.in_(project_ids)).group_by(Trace.project_id)
                    for project_id, value in (await session.execute(stmt)).all():
                        out[(project_id, probability)] = value
                return out
            """
        ),
        Valid(
            # One INSERT per slice of 500 rows: the batching itself, not a statement per row.
            """
            from sqlalchemy import insert
            from sqlalchemy.ext.asyncio import AsyncSession

            async def insert_examples(session: AsyncSession, rows: list[dict], batch_size: int = 500) -> None:
                for start in range(0, len(rows), batch_size):
                    await session.execute(insert(Example).values(rows[start : start + batch_size]))
            """
        ),
        Valid(
            # A savepoint per span: a bad span is rolled back alone and the batch goes on.
            """
            from sqlalchemy import insert
            from sqlalchemy.exc import IntegrityError
            from sqlalchemy.ext.asyncio import AsyncSession

            async def insert_spans(session: AsyncSession, spans: list[dict]) -> int:
                inserted = 0
                for span in spans:
                    savepoint = await session.begin_nested()
                    try:
                        await session.execute(insert(Span).values(**span))
                    except IntegrityError:
                        await savepoint.rollback()
                        continue
                    inserted += 1
                return inserted
            """
        ),
        Valid(
            # One statement per enum column of the table (its text names the column): not per row.
            """
            import sqlalchemy as sa

            def bad_enum_values(conn: sa.Connection, table: sa.Table) -> dict[str, list[str]]:
                found = {}
                for column in table.columns:
                    quoted = f'"{column.name}"'
                    values = conn.execute(sa.text(f'SELECT DISTINCT {quoted} FROM "{table.name}"')).scalars()
                    found[column.name] = sorted(values)
                return found
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

            @app.get("/authors")
            async def authors(session: AsyncSession = Depends(get_session)):
                result = []
                for author in (await session.scalars(select(Author).limit(50))).all():
                    books = await session.scalars(select(Book).where(Book.author_id == author.id))
                    result.append({"name": author.name, "books": [b.title for b in books]})
                return result
            """,
            lines=(11,),
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            def owner_of(db: Session, item):
                return db.get(User, item.owner_id)

            @app.get("/items")
            def items(db: Session = Depends(get_db)):
                rows = db.query(Item).limit(100).all()
                owners = [db.get(User, row.owner_id) for row in rows]
                for row in rows:
                    row.owner = owner_of(db, row)
                return rows
            """,
            lines=(12, 14),
        ),
        Invalid(
            """
            from fastapi import FastAPI, Request

            app = FastAPI()

            @app.get("/teams/{team_id}/members")
            async def members(team_id: int, request: Request):
                async with request.app.state.pool.acquire() as conn:
                    ids = await conn.fetch("SELECT user_id FROM members WHERE team_id = $1", team_id)
                    return [await conn.fetchrow("SELECT * FROM users WHERE id = $1", r["user_id"]) for r in ids]
            """,
            lines=(9,),
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import update
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            async def rename_tag(session: AsyncSession, tag_id: int, name: str) -> None:
                await session.execute(update(Tag).where(Tag.id == tag_id).values(name=name))

            @app.patch("/tags", status_code=204)
            async def rename_tags(changes: list[TagRename], session: AsyncSession = Depends(get_session)) -> None:
                for change in changes:
                    await rename_tag(session, change.id, change.name)
                await session.commit()
            """,
            lines=(13,),
        ),
        Invalid(
            # The same query on every iteration (nothing in it changes in the loop).
            """
            from fastapi import Depends, FastAPI, HTTPException
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            app = FastAPI()

            def label_quota(db: Session, project_id: int) -> int:
                return db.scalar(select(Quota.labels).where(Quota.project_id == project_id))

            @app.post("/projects/{project_id}/labels", status_code=201)
            def add_labels(project_id: int, labels: list[str], db: Session = Depends(get_db)) -> dict[str, int]:
                added = []
                for label in labels:
                    project = db.scalar(select(Project).where(Project.id == project_id))
                    if len(project.labels) + len(added) >= label_quota(db, project_id):
                        raise HTTPException(409, "label quota reached")
                    added.append(Label(project_id=project.id, name=label))
                db.add_all(added)
                db.commit()
                return {"added": len(added)}
            """,
            lines=(14, 15),
        ),
        Invalid(
            # A write built in a local first, run once per item with the same arguments: still a write per row.
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import update
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            async def take_slot(session: AsyncSession, limit_id: int) -> bool:
                stmt = update(Limit).where(Limit.id == limit_id, Limit.used < Limit.size).values(used=Limit.used + 1)
                result = await session.execute(stmt)
                return result.rowcount == 1

            @app.post("/limits/{limit_id}/holders", status_code=201)
            async def add_holders(limit_id: int, holders: list[str], session: AsyncSession = Depends(get_session)) -> None:
                for holder in holders:
                    await take_slot(session, limit_id)
                await session.commit()
            """,
            lines=(15,),
        ),
        Invalid(
            # A cached lookup called with the loop's own value: every value not yet in the
            # cache is one more query.
            """
            from cachetools import TTLCache, cached
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.models import Project, Team

            _team_names: TTLCache = TTLCache(maxsize=512, ttl=60)

            @cached(_team_names, key=lambda project_id, **_: project_id)
            def team_name(project_id: int, *, session: Session) -> str | None:
                return session.scalar(select(Team.name).join(Project).where(Project.id == project_id))

            def owners(projects: list[Project], session: Session) -> list[str | None]:
                return [team_name(p.id, session=session) for p in projects]
            """,
            lines=(14,),
            filename="app/owners.py",
            files={
                "app/models.py": """
                    class Project:
                        id = 0

                    class Team:
                        name = ""
                """
            },
        ),
        Invalid(
            # The insert is built by a dialect helper (`db.queries.insert(...)`): a write per item.
            """
            from sqlalchemy.dialects import postgresql
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import Label

            class Queries:
                def insert(self, model: type) -> postgresql.Insert:
                    return postgresql.insert(model)

            class Database:
                queries = Queries()

            async def create_label(db: Database, session: AsyncSession, name: str) -> None:
                stmt = db.queries.insert(Label).values(name=name)
                await session.execute(stmt)

            async def create_labels(db: Database, session: AsyncSession, names: list[str]) -> None:
                for name in names:
                    await create_label(db, session, name)
            """,
            lines=(19,),
            filename="app/labels.py",
            files={"app/models.py": "class Label:\n    name = ''\n"},
        ),
        Invalid(
            # A transaction per item with no `try` around the write: one more commit per
            # row, not isolation; the rows could go in one statement.
            """
            from sqlalchemy.dialects.postgresql import insert
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

            from app.models import Bucket

            async def ensure_bucket(session: AsyncSession, rule_id: int, key: str) -> None:
                await session.execute(insert(Bucket).values(rule_id=rule_id, key=key).on_conflict_do_nothing())

            async def react(sessions: async_sessionmaker[AsyncSession], rule_ids: list[int], key: str) -> None:
                for rule_id in rule_ids:
                    async with sessions.begin() as session:
                        await ensure_bucket(session, rule_id, key)
            """,
            lines=(12,),
            filename="app/buckets.py",
            files={"app/models.py": "class Bucket:\n    rule_id = 0\n"},
        ),
        Invalid(
            # The same decorated writer, handed the loop's session (one transaction for all
            # the rows), or left to open its own with no `try` to keep the items apart.
            """
            import logging

            from sqlalchemy import update
            from sqlalchemy.orm import Session

            from app.db import NEW_SESSION, create_session, provide_session
            from app.models import Bundle

            logger = logging.getLogger(__name__)

            @provide_session
            def save_state(name: str, *, version: str, session: Session = NEW_SESSION) -> None:
                session.execute(update(Bundle).where(Bundle.name == name).values(version=version))

            def save_all(bundles: list) -> None:
                with create_session() as session:
                    for bundle in bundles:
                        try:
                            save_state(bundle.name, version=bundle.version, session=session)
                        except Exception:
                            logger.exception("could not save the state of bundle %s", bundle.name)

            def save_each(bundles: list) -> None:
                for bundle in bundles:
                    save_state(bundle.name, version=bundle.version)
            """,
            lines=(19, 25),
            filename="app/refresh.py",
            files={"app/db.py": _PROVIDE_SESSION, "app/models.py": "class Bundle:\n    name = ''\n"},
        ),
    )

    def visit_For(self, node: ast.For, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFor(self, node: ast.AsyncFor, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_ListComp(self, node: ast.ListComp, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_SetComp(self, node: ast.SetComp, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_DictComp(self, node: ast.DictComp, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_GeneratorExp(self, node: ast.GeneratorExp, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, loop: ast.AST, ctx: FileContext) -> None:
        func = ctx.function()
        if func is None or ctx.module.is_test or is_migration(ctx.module):
            return  # an Alembic revision transforms rows one by one, once, with no request waiting
        iterable = loop_iter(loop)
        if is_fixed_iteration(ctx, iterable) or _over_batches(ctx, iterable) or is_attempt_loop(loop):
            return
        names = loop_targets(loop)
        if (
            names <= {"_"}
            and isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and ctx.resolve(iterable.func) == "builtins.range"
        ):
            return  # `for _ in range(n)`: repetition or retries, not items
        calls: list[ast.Call] = []
        awaited: set[int] = set()
        assigns: list[ast.AST] = []
        # One pass over the body: its calls, the awaited ones, its assignments, and an early stop.
        for node in loop_body_nodes(loop):
            cls = node.__class__
            if cls is ast.Assign:
                assigns.append(node)
            elif cls is ast.Call:
                calls.append(node)  # type: ignore[arg-type]
            elif cls is ast.Await:
                if node.value.__class__ is ast.Call:  # type: ignore[attr-defined]
                    awaited.add(id(node.value))  # type: ignore[attr-defined]
            elif cls is ast.Break or cls is ast.Return:
                return  # a retry, search or paging loop that stops early
        if not calls or any(_opens_savepoint(call) for call in calls):
            return
        imports_db = any(ctx.module.imports_module(m) for m in _DB_MODULES)
        sites: dict[int, CallSite] | None = None
        may_batch: bool | None = None
        tracked: set[str] | None = None  # the loop's names and the locals built from them
        # The loop is described (`describe_iter`) only in a finding's message;
        # a batch query (`_batched`) is looked for only for a call that would
        # be reported (the costly part, rarely needed).
        for node in calls:
            target = ctx.call_target(node)
            if _query_label(target, node, id(node) in awaited, imports_db):
                if node.args and _takes_lock(func, node.args[0]):
                    continue  # a lock per item (its own transaction's), not a read
                if may_batch is None:
                    may_batch = _may_batch(loop)
                if may_batch and _batched(node, names, assigns):
                    continue
                if tracked is None:
                    tracked = _with_derived(assigns, names)
                if _query_per_table(ctx.project, func, node, tracked):
                    continue  # one query per table (`DROP TABLE {name}`), not per row
                call = _call_text(ctx.source.segment(node.func))
                if node.args and _writes(ctx.project, func, node.args[0]):
                    if id(node) in _isolated_calls(loop):
                        continue  # each item written in its own transaction, on purpose
                    ctx.report(
                        node,
                        f"`{call}` runs one write statement per iteration of {describe_iter(ctx, iterable)}; pass all the rows to a "
                        "single `execute(stmt, [params, ...])` (executemany) or build one bulk statement.",
                    )
                    continue
                if _same_every_time(node, _varying_names(loop), with_receiver=False):
                    # Not N+1: one query repeated, which no eager load or `IN` list is about.
                    ctx.report(
                        node,
                        f"`{call}` runs the same query on every iteration of {describe_iter(ctx, iterable)} (nothing in "
                        "it changes in the loop); run it once before the loop and reuse the result.",
                    )
                    continue
                if isinstance(node.func, ast.Attribute) and node.func.attr == "refresh":
                    # No relationship to eager-load: the objects are reloaded one SELECT at a time.
                    ctx.report(
                        node,
                        f"`{call}` reloads one object per iteration of {describe_iter(ctx, iterable)} (a SELECT "
                        "each); reload them together with one `WHERE id IN (...)` query, or keep their values "
                        "loaded (`expire_on_commit=False`).",
                    )
                    continue
                ctx.report(
                    node,
                    f"`{call}` queries the database on every iteration of {describe_iter(ctx, iterable)} (N+1 queries); "
                    "load the rows up front with `selectinload()`/`joinedload()` or one `WHERE id IN (...)` query.",
                )
                continue
            if sites is None:
                sites = {id(s.node): s for s in ctx.project.calls.sites_of(func)}
            site = sites.get(id(node))
            callee = site.callee if site is not None else None
            if callee is None or callee is func:
                continue
            inner = _query_in(ctx.project, callee)
            if inner is None:
                continue
            same = _same_every_time(node, _varying_names(loop), with_receiver=True)
            if is_cached(callee) and _same_key(node, loop):
                continue  # a memoised function called with the same arguments queries once
            if may_batch is None:
                may_batch = _may_batch(loop)
            if may_batch and _batched(node, names):
                continue
            if tracked is None:
                tracked = _with_derived(assigns, names)
            bound = _bound_parameters(ctx.project, ctx.module, callee, node, tracked)
            if bound and _query_per_table(ctx.project, callee, inner, _with_derived(own_nodes(callee.node), bound)):
                continue  # `dump_table(name)` over table names: one query per table
            inner_text = _call_text(callee.module.source.segment(inner.func))
            if inner.args and _writes(ctx.project, callee, inner.args[0]):
                if id(node) in _isolated_calls(loop) or (
                    id(node) in _calls_in_try(loop) and _opens_own_session(ctx.project, ctx.module, callee, node, inner)
                ):
                    continue  # each item written in its own transaction, on purpose
                # A write per row: eager loading would not help, batching the writes does.
                ctx.report(
                    node,
                    f"`{_label(callee)}()` runs one write statement (`{inner_text}`) per iteration of "
                    f"{describe_iter(ctx, iterable)}; pass all the rows to a single `execute(stmt, [params, ...])` "
                    "(executemany) or build one bulk statement.",
                    chain=[
                        ChainLink(
                            callee.module.source.location(inner),
                            f"`{_label(callee)}` writes to the database with `{inner_text}`",
                        )
                    ],
                )
                continue
            if is_cached(callee):
                # A miss per value not yet cached: one query per distinct item on a cold cache.
                ctx.report(
                    node,
                    f"`{_label(callee)}()` is cached, but runs its query (`{inner_text}`) for every argument not yet "
                    f"in its cache: up to one per item of {describe_iter(ctx, iterable)} (N+1 queries while the "
                    "cache is cold); load the values the loop needs with one `WHERE id IN (...)` query before it.",
                    chain=[
                        ChainLink(
                            callee.module.source.location(inner),
                            f"`{_label(callee)}` queries the database with `{inner_text}`",
                        )
                    ],
                )
                continue
            if same:
                ctx.report(
                    node,
                    f"`{_label(callee)}()` runs the same query (`{inner_text}`) on every iteration of "
                    f"{describe_iter(ctx, iterable)} (its arguments do not change in the loop); call it once before "
                    "the loop and reuse the result.",
                    chain=[
                        ChainLink(
                            callee.module.source.location(inner),
                            f"`{_label(callee)}` queries the database with `{inner_text}`",
                        )
                    ],
                )
                continue
            advice = (
                # The callee reloads an object it was handed or has just written: nothing to eager-load.
                "handle the rows together: flush once and reload them with one `WHERE id IN (...)` query."
                if isinstance(inner.func, ast.Attribute) and inner.func.attr == "refresh"
                else "load the rows up front with `selectinload()`/`joinedload()` or one `WHERE id IN (...)` query."
            )
            ctx.report(
                node,
                f"`{_label(callee)}()` runs a query (`{inner_text}`) on every iteration of {describe_iter(ctx, iterable)} (N+1 queries); "
                f"{advice}",
                chain=[
                    ChainLink(
                        callee.module.source.location(inner),
                        f"`{_label(callee)}` queries the database with `{inner_text}`",
                    )
                ],
            )


def _query_in(project: Project, func: FunctionInfo) -> ast.Call | None:
    """The first query a project function runs in its own body (kept on the
    node: asked for every call of it in a loop)."""
    cached: tuple[ast.Call | None] | None = getattr(func.node, "_fx_query_in", None)
    if cached is None:
        cached = (_first_query(project, func),)
        func.node._fx_query_in = cached  # type: ignore[union-attr]
    return cached[0]


def _first_query(project: Project, func: FunctionInfo) -> ast.Call | None:
    module = func.module
    imports_db = any(module.imports_module(m) for m in _DB_MODULES)
    nodes, awaited = _awaited_calls(own_nodes(func.node))
    calls = sorted((n for n in nodes if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    for node in calls:
        target = project.call_target(module, func, node)
        if _query_label(target, node, id(node) in awaited, imports_db):
            if node.args and _takes_lock(func, node.args[0]):
                continue  # `pg_advisory_xact_lock(...)` takes a lock, reads nothing
            return node
    return None

