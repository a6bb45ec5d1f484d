from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.rules.architecture._deps import FunctionNode
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

_MUTABLE_CALLS = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.Counter",
        "collections.deque",
    }
)
_MUTATORS = frozenset(
    {
        "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
        "add", "discard", "appendleft", "popleft", "extendleft", "sort", "reverse",
        "difference_update", "intersection_update", "symmetric_difference_update", "__setitem__",
        "__delitem__",
    }
)


def _is_mutable(module: ModuleInfo, value: ast.expr) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        return module.resolve(value.func) in _MUTABLE_CALLS
    return False


def _is_number(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and isinstance(value.value, int | float) and not isinstance(value.value, bool)


def _bound_locally(func: FunctionNode) -> tuple[set[str], set[str]]:
    """(names declared `global`, names bound locally without `global`)."""
    declared: set[str] = set()
    local: set[str] = set()
    args = func.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            local.add(arg.arg)
    for node in own_nodes(func):
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            local.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            local.update((a.asname or a.name).split(".")[0] for a in node.names)
    return declared, local - declared


def _key(expr: ast.expr) -> str:
    return ast.dump(expr, annotate_fields=False)


# A local name bound to a lookup (`config = X.get("config")`) -> that (container, key).
_Aliases = dict[str, tuple[str, str]]


def _missing_keys(test: ast.expr, aliases: _Aliases) -> set[tuple[str, str]]:
    """(container, key) pairs a test checks to be absent: `k not in X`,
    `X.get(k) is None`, `X[k] is None`, `not X.get(k)` (also inside `and`/`or`),
    or the same of a local bound to `X.get(k)` (`if config is None:`)."""
    out: set[tuple[str, str]] = set()
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            out |= _missing_keys(value, aliases)
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        found = _lookup(test.operand, aliases)
        if found is not None:
            out.add(found)
    elif isinstance(test, ast.Compare) and len(test.ops) == 1:
        op, right = test.ops[0], test.comparators[0]
        if isinstance(op, ast.NotIn) and isinstance(right, ast.Name):
            out.add((right.id, _key(test.left)))
        elif isinstance(op, ast.Is | ast.Eq) and isinstance(right, ast.Constant) and right.value is None:
            found = _lookup(test.left, aliases)
            if found is not None:
                out.add(found)
    return out


def _present_keys(test: ast.expr, aliases: _Aliases) -> set[tuple[str, str]]:
    """(container, key) pairs a test checks to be present: `k in X`,
    `X.get(k) is not None`, `X.get(k)` (or a local bound to `X.get(k)`)."""
    out: set[tuple[str, str]] = set()
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        for value in test.values:
            out |= _present_keys(value, aliases)
    elif isinstance(test, ast.Compare) and len(test.ops) == 1:
        op, right = test.ops[0], test.comparators[0]
        if isinstance(op, ast.In) and isinstance(right, ast.Name):
            out.add((right.id, _key(test.left)))
        elif isinstance(op, ast.IsNot | ast.NotEq) and isinstance(right, ast.Constant) and right.value is None:
            found = _lookup(test.left, aliases)
            if found is not None:
                out.add(found)
    else:
        found = _lookup(test, aliases)
        if found is not None:
            out.add(found)
    return out


def _lookup(expr: ast.expr, aliases: _Aliases | None = None) -> tuple[str, str] | None:
    """`X.get(k)` or `X[k]` -> (X, k); a local in `aliases` -> the lookup it holds."""
    if isinstance(expr, ast.Name) and aliases:
        return aliases.get(expr.id)
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "get"
        and isinstance(expr.func.value, ast.Name)
        and expr.args
    ):
        return expr.func.value.id, _key(expr.args[0])
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
        return expr.value.id, _key(expr.slice)
    return None


def _exits(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], ast.Return | ast.Raise | ast.Continue)


def _fixed_key(key: ast.expr, local: set[str]) -> bool:
    """A key that does not come from the request: a literal, or a module-level
    name or attribute (`"components"`, `DEFAULT`, `Keys.DB`), or a tuple of them."""
    if isinstance(key, ast.Constant):
        return True
    if isinstance(key, ast.Tuple):
        return all(_fixed_key(e, local) for e in key.elts)
    root = key
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and root.id not in local


def _lazy_inits(func: FunctionNode, local: set[str]) -> set[int]:
    """Ids of `X[k] = ...` / `X.setdefault(k, ...)` nodes that only run when `X`
    has no value for the fixed key `k` yet: the lazy, idempotent initialisation
    of a configuration object (`if X.get("db") is None: X["db"] = build()`, or
    `if "db" in X: return X["db"]` first). A key taken from the request is not
    fixed: that cache grows with the requests and stays flagged."""
    out: set[int] = set()

    def writes(stmts: list[ast.stmt], guards: set[tuple[str, str]]) -> None:
        for stmt in stmts:
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.Assign | ast.AnnAssign):
                    targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                    if any(
                        isinstance(t, ast.Subscript)
                        and isinstance(t.value, ast.Name)
                        and (t.value.id, _key(t.slice)) in guards
                        and _fixed_key(t.slice, local)
                        for t in targets
                    ):
                        out.add(id(sub))
                elif (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr == "setdefault"
                    and isinstance(sub.func.value, ast.Name)
                    and sub.args
                    and (sub.func.value.id, _key(sub.args[0])) in guards
                    and _fixed_key(sub.args[0], local)
                ):
                    out.add(id(sub))

    def block(stmts: list[ast.stmt], aliases: _Aliases) -> None:
        guards: set[tuple[str, str]] = set()
        aliases = dict(aliases)
        for stmt in stmts:
            if guards:
                writes([stmt], guards)
            if isinstance(stmt, ast.If):
                missing = _missing_keys(stmt.test, aliases)
                if missing:
                    writes(stmt.body, missing)
                    if _exits(stmt.orelse):
                        guards |= missing
                present = _present_keys(stmt.test, aliases)
                if present:
                    writes(stmt.orelse, present)
                    if _exits(stmt.body):
                        guards |= present
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    block(inner, aliases)
                elif isinstance(inner, list):
                    for handler in inner:
                        if isinstance(handler, ast.ExceptHandler):
                            block(handler.body, aliases)
            _track_aliases(stmt, aliases)

    block(func.body, {})
    return out


def _track_aliases(stmt: ast.stmt, aliases: _Aliases) -> None:
    """Update `aliases` after `stmt`: `config = X.get("config")` makes `config`
    stand for that lookup in the tests that follow (`if config is None:`);
    any other binding of the name ends it. A test reads the alias before its own
    body rebinds the name (`config = build()`), so the guard still holds there."""
    target: ast.expr | None = None
    value: ast.expr | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target, value = stmt.targets[0], stmt.value
    elif isinstance(stmt, ast.AnnAssign):
        target, value = stmt.target, stmt.value
    for sub in ast.walk(stmt):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
            aliases.pop(sub.id, None)
    looked_up = _lookup(value) if value is not None else None
    if isinstance(target, ast.Name) and looked_up is not None:
        aliases[target.id] = looked_up


class GlobalMutableState(Rule):
    """Flags module-level containers mutated by route handlers and dependencies.

    ## What it does
    Finds module-level lists, dicts, sets (literals, comprehensions,
    `list()`/`dict()`/`set()`, `defaultdict`, `deque`, `Counter`, ...) that a
    route handler, dependency or middleware mutates: `.append()`, `.update()`,
    `.pop()`, `x[k] = v`, `del x[k]`, `x[k] += 1`, or rebinding through
    `global x` (of a container, or `+=` on a module-level counter). Reading a
    module-level constant, mutating at import time, and helpers that no route
    reaches directly are not flagged, nor is the lazy, idempotent
    initialisation of an entry under a fixed key (a literal or a module-level
    name): `x["db"] = build()` or `x.setdefault("db", ...)` guarded by a check
    that `x` has no value for that same key yet (`if x.get("db") is None:`,
    `if "db" not in x:`, an early `if "db" in x: return x["db"]`, or the same
    test of a local read from it first: `db = x.get("db")` then
    `if db is None: ... x["db"] = db`). A cache
    keyed by request data (`if item_id not in x: x[item_id] = ...`) grows with
    the requests and is still flagged.

    ## Why is this bad?
    A module-level object is shared by every request the worker serves at the
    same time: read-modify-write sequences interleave across `await` points
    (and across threads for sync routes), so updates get lost or a dict
    changes size during iteration. It is also private to one worker process:
    with `--workers 4` or several replicas, each sees its own copy, so the
    "registry" or "rate limit" silently differs from request to request and
    vanishes on restart.

    ## References
    - https://fastapi.tiangolo.com/deployment/concepts/#replication-processes-and-memory
    - https://fastapi.tiangolo.com/async/#concurrency-and-burgers
    - https://docs.python.org/3/library/asyncio-sync.html
    """

    code = "FX107"
    name = "global-mutable-state"
    summary = "A module-level container mutated by request handlers is shared, racy state."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from functools import lru_cache

            from fastapi import FastAPI

            app = FastAPI()
            COUNTRY_NAMES = {"fr": "France", "de": "Germany"}
            SUPPORTED = []
            SUPPORTED.extend(sorted(COUNTRY_NAMES))

            @lru_cache
            def get_settings() -> dict[str, str]:
                return {"region": "eu"}

            @app.get("/countries/{code}")
            def country(code: str):
                names = {}
                names[code] = COUNTRY_NAMES.get(code)
                return names
            """
        ),
        Valid(
            """
            from fastapi import FastAPI

            app = FastAPI()
            _seen = set()

            def remember(key: str) -> None:  # not a route: nothing to say here
                _seen.add(key)

            @app.get("/ping")
            def ping():
                return {"seen": len(_seen)}
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI

            app = FastAPI()
            _COMPONENTS: dict[str, object] = {"database_config": None}
            _CLIENTS: dict[str, object] = {}
            DEFAULT_REGION = "eu"

            def build_components() -> object:
                return object()

            def provide_components() -> object:
                # lazy, idempotent initialisation: two racing requests build equal objects
                if _COMPONENTS.get("database_config") is None:
                    _COMPONENTS["database_config"] = build_components()
                return _COMPONENTS["database_config"]

            def provide_client() -> object:
                if DEFAULT_REGION in _CLIENTS:
                    return _CLIENTS[DEFAULT_REGION]
                _CLIENTS[DEFAULT_REGION] = build_components()
                return _CLIENTS[DEFAULT_REGION]

            @app.get("/items")
            def items(c: object = Depends(provide_components), client: object = Depends(provide_client)) -> list[int]:
                return []
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI

            from app.search import ElasticBackend, SearchService, SqliteBackend
            from app.settings import SEARCH_URL

            app = FastAPI()
            _PARTS: dict[str, object | None] = {"backend": None, "service_class": None}

            def provide_search() -> SearchService:
                # read each part once, then fill in what is still missing from the settings
                backend = _PARTS.get("backend")
                service_class = _PARTS.get("service_class")
                if backend is None:
                    if SEARCH_URL.startswith("http"):
                        backend = ElasticBackend(SEARCH_URL)
                    else:
                        backend = SqliteBackend(SEARCH_URL)
                    _PARTS["backend"] = backend
                if not service_class:
                    service_class = SearchService
                return service_class(backend)

            @app.get("/search")
            def search(q: str, service: SearchService = Depends(provide_search)) -> list[str]:
                return service.find(q)
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from collections import defaultdict

            from fastapi import FastAPI, Request

            app = FastAPI()
            items: dict[int, dict] = {}
            hits = defaultdict(int)
            request_count = 0

            @app.post("/items/{item_id}")
            async def create_item(item_id: int, item: dict):
                items[item_id] = item
                return item

            @app.delete("/items/{item_id}")
            async def delete_item(item_id: int):
                items.pop(item_id, None)

            @app.get("/items")
            async def list_items(request: Request):
                global request_count
                request_count += 1
                hits[request.client.host] += 1
                return list(items.values())
            """,
            lines=(12, 17, 22, 23),
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI, Request

            app = FastAPI()
            active_sessions = []

            def audit(request: Request):
                active_sessions.append(request.headers.get("x-session"))

            @app.get("/me", dependencies=[Depends(audit)])
            def me():
                return {"sessions": len(active_sessions)}
            """,
            lines=(7,),
        ),
        Invalid(
            """
            from fastapi import FastAPI

            from app.pricing import quote_for

            app = FastAPI()
            _quotes: dict[str, float] = {}

            @app.get("/quotes/{symbol}")
            def quote(symbol: str) -> float:
                cached = _quotes.get(symbol)
                if cached is None:
                    cached = quote_for(symbol)
                    _quotes[symbol] = cached
                return cached
            """,
            lines=(13,),
        ),
        Invalid(
            """
            # One finding per name and handler: the second `del` repeats the first.
            from fastapi import FastAPI

            app = FastAPI()
            _auth_codes: dict[str, dict] = {}

            @app.post("/token")
            def token(code: str) -> dict:
                record = _auth_codes.get(code)
                if record is None:
                    return {"error": "invalid_grant"}
                if record["expired"]:
                    del _auth_codes[code]
                    return {"error": "invalid_grant"}
                del _auth_codes[code]
                return {"access_token": record["token"]}
            """,
            lines=(13,),
        ),
    )

    def __init__(self) -> None:
        self._cache: dict[int, dict[str, ast.expr]] = {}

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _module_state(self, module: ModuleInfo) -> dict[str, ast.expr]:
        key = id(module)
        if key not in self._cache:
            self._cache[key] = {
                name: value
                for name, value in module.assignments.items()
                if _is_mutable(module, value) or _is_number(value)
            }
        return self._cache[key]

    def _is_handler(self, node: FunctionNode, func: FunctionInfo, ctx: FileContext) -> bool:
        if ctx.routes_of(node) or ctx.is_dependency(node):
            return True
        return any(m.target == func.qualname for m in ctx.project.fastapi.middleware)

    def _check(self, node: FunctionNode, ctx: FileContext) -> None:
        func = ctx.module.function_of_node.get(node)
        if func is None or ctx.module.is_test or not self._is_handler(node, func, ctx):
            return
        state = self._module_state(ctx.module)
        if not state:
            return
        declared, local = _bound_locally(node)
        reported: set[int] = _lazy_inits(node, local)
        found: list[tuple[ast.stmt | ast.expr, str, str]] = []

        def shared(name: str) -> bool:
            return name in state and name not in local

        def report(at: ast.stmt | ast.expr, name: str, how: str) -> None:
            if id(at) not in reported:
                reported.add(id(at))
                found.append((at, name, how))

        for child in own_nodes(node):
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                owner = child.func.value
                if child.func.attr in _MUTATORS and isinstance(owner, ast.Name) and shared(owner.id) and _is_mutable(ctx.module, state[owner.id]):
                    report(child, owner.id, f"calls `.{child.func.attr}()` on")
            elif isinstance(child, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = child.targets if isinstance(child, ast.Assign | ast.Delete) else [child.target]
                for target in targets:
                    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and shared(target.value.id):
                        verb = "deletes from" if isinstance(child, ast.Delete) else "writes to"
                        report(child, target.value.id, verb)
                    elif isinstance(target, ast.Name) and target.id in declared and target.id in state:
                        value = state[target.id]
                        if isinstance(child, ast.AugAssign) or _is_mutable(ctx.module, value):
                            report(child, target.id, "rebinds (`global`)")
        # One finding per module-level name and handler, at its first write in the
        # source: a second write to the same dict in the same function (`del
        # codes[c]` on expiry, again on use) says nothing the first did not.
        named: set[str] = set()
        for at, name, how in sorted(found, key=lambda f: (f[0].lineno, f[0].col_offset)):
            if name in named:
                continue
            named.add(name)
            ctx.report(
                at,
                f"`{func.name}` {how} module-level `{name}`, state shared by every concurrent request "
                f"and private to one worker process; keep it in a shared store (database, Redis) "
                f"or inject an object that owns it and its locking.",
            )
