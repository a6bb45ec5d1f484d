"""Shared analysis of the performance rules: which functions run once per request,
and a few small questions about call shapes (loops, reuse, query results).

Not a rule module: the registry only collects `Rule` subclasses.
"""

from __future__ import annotations

import ast
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from fastapi_expert.review.model.callgraph import CallSite
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    child_nodes,
    own_nodes,
    own_nodes_of,
    scope_nodes_of,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import SESSION_PREFIXES, method_under
from fastapi_expert.review.rules.base import FileContext
from fastapi_expert.types import ChainLink

# How many plain calls below a route or dependency still count as "per request".
MAX_DEPTH = 4

# Decorators that make a function run once (its result is reused).
_CACHING_DECORATORS = frozenset(
    {
        "functools.lru_cache",
        "functools.cache",
        "functools.cached_property",
        "async_lru.alru_cache",
        "cachetools.cached",
        "cachetools.func.lru_cache",
        "cachetools.func.ttl_cache",
        "aiocache.cached",
    }
)

# Alembic revision folders.
_MIGRATION_DIRS = (("migrations", "versions"), ("alembic", "versions"))


def is_migration(module: ModuleInfo) -> bool:
    """An Alembic revision: a file under `migrations/versions/` or `alembic/versions/`,
    one that imports `alembic.op` (the revision API; a module that only runs
    the migrations imports `alembic.command` or `alembic.config`), or one shaped
    like a revision wherever it lives (`revision = "..."` and `down_revision = ...`
    at module level, and a module-level `def upgrade()`). Asked for every loop
    and call: kept on the module's tree."""
    known: bool | None = getattr(module.tree, "_fx_is_migration", None)
    if known is None:
        parts = PurePosixPath(module.path).parts
        known = any((parts[i], parts[i + 1]) in _MIGRATION_DIRS for i in range(len(parts) - 1))
        known = known or module.imports_module("alembic.op")
        revision = module.assignments.get("revision")
        known = known or (
            isinstance(revision, ast.Constant)
            and isinstance(revision.value, str)
            and "down_revision" in module.assignments
            and "upgrade" in module.functions
        )
        module.tree._fx_is_migration = known  # type: ignore[attr-defined]
    return known


def session_method(target: str | None) -> str | None:
    """`execute` for `sqlalchemy.orm.Session.execute` (any known session class), else None."""
    return method_under(target, SESSION_PREFIXES)


@dataclass(frozen=True)
class RequestScope:
    """Why a function runs once per request: the route or dependency at the top,
    and the calls from it down to the function (empty for the root itself)."""

    root: FunctionInfo
    kind: str  # "route" | "dependency"
    via: tuple[CallSite, ...] = ()

    def describe(self) -> str:
        """`route `list_users`` or `` `helper()`, called from route `list_users` ``."""
        top = f"{self.kind} `{display_name(self.root)}`"
        if not self.via:
            return top
        callee = self.via[-1].callee
        return f"`{display_name(callee) if callee else '?'}()`, called from {top}"

    def chain(self) -> list[ChainLink]:
        links = []
        for site in self.via:
            callee = display_name(site.callee) if site.callee is not None else "?"
            where = site.caller.module.source.location(site.node)
            links.append(ChainLink(where, f"`{display_name(site.caller)}` calls `{callee}()` on every request"))
        return links


def display_name(func: FunctionInfo) -> str:
    """`name`, or `Class.name` for a method."""
    if func.class_name:
        return f"{func.class_name.rsplit('.', 1)[-1]}.{func.name}"
    return func.name


_SCOPES: weakref.WeakKeyDictionary[Project, dict[ast.AST, RequestScope]] = weakref.WeakKeyDictionary()


def is_cached(func: FunctionInfo) -> bool:
    """Is the function wrapped in a cache (`@lru_cache`, `@cache`, ...): it runs once."""
    for deco in func.node.decorator_list:
        expr = deco.func if isinstance(deco, ast.Call) else deco
        name = func.module.resolve(expr) if isinstance(expr, ast.Name | ast.Attribute) else None
        if name is None:
            continue
        if name in _CACHING_DECORATORS or name.rsplit(".", 1)[-1] in {"lru_cache", "cache", "alru_cache"}:
            return True
    return False


def _roots(project: Project) -> Iterator[tuple[FunctionInfo, str]]:
    model = project.fastapi
    for route in model.routes:
        if route.is_websocket or route.endpoint is None:
            continue
        yield route.endpoint, "route"
    for func in project.all_functions():
        if func.node in model.dependency_functions:
            yield func, "dependency"
    # Class dependencies: `Depends(Service)` builds the class per request (its
    # `__init__` runs), `Depends(Checker(...))` calls the instance (`__call__`).
    for route in model.routes:
        for dep in route.all_dependencies():
            sym = project.lookup(dep.target)
            if not isinstance(sym, ClassInfo):
                continue
            first = dep.marker.args[0] if dep.marker.args else None
            method = project.find_method(sym, "__call__" if isinstance(first, ast.Call) else "__init__")
            if method is not None:
                yield method, "dependency"


def _unset_names(test: ast.expr) -> set[str]:
    """Names a test checks to be unset: `x is None`, `x == None`, `not x` (in `and`/`or` too)."""
    if isinstance(test, ast.BoolOp):
        return {n for value in test.values for n in _unset_names(value)}
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Name):
        return {test.operand.id}
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is | ast.Eq)
        and isinstance(test.left, ast.Name)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    ):
        return {test.left.id}
    return set()


def _set_names(test: ast.expr) -> set[str]:
    """Names a test checks to be set: `x is not None`, `x`."""
    if isinstance(test, ast.Name):
        return {test.id}
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return {n for value in test.values for n in _set_names(value)}
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.IsNot | ast.NotEq)
        and isinstance(test.left, ast.Name)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    ):
        return {test.left.id}
    return set()


def lazy_singleton_calls(func: FunctionInfo) -> set[int]:
    """Ids of the calls whose result a function keeps in a `global` (or `nonlocal`)
    name only while that name is unset: the lazy singleton

        global _db
        if _db is None:
            _db = Database(url)      # runs once per process

    (also after an early `if _db is not None: return _db`)."""
    cached: set[int] | None = getattr(func.node, "_fx_lazy_singleton_calls", None)
    if cached is not None:
        return cached
    declared: set[str] = set()
    for node in own_nodes(func.node):
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
    out: set[int] = set()

    def block(stmts: list[ast.stmt], guarded: set[str]) -> None:
        guarded = set(guarded)
        for stmt in stmts:
            if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id in declared and t.id in guarded for t in targets):
                    out.update(id(n) for n in ast.walk(stmt.value) if isinstance(n, ast.Call))
            elif isinstance(stmt, ast.If):
                unset = _unset_names(stmt.test) & declared
                present = _set_names(stmt.test) & declared
                block(stmt.body, guarded | unset)
                block(stmt.orelse, guarded | present)
                if present and stmt.body and isinstance(stmt.body[-1], ast.Return | ast.Raise):
                    guarded |= present
                if unset and stmt.orelse and isinstance(stmt.orelse[-1], ast.Return | ast.Raise):
                    guarded |= unset
            elif isinstance(stmt, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While):
                block(stmt.body, guarded)
                block(getattr(stmt, "orelse", []), guarded)
            elif isinstance(stmt, ast.Try):
                block(stmt.body, guarded)
                for handler in stmt.handlers:
                    block(handler.body, guarded)
                block(stmt.orelse, guarded)
                block(stmt.finalbody, guarded)

    if declared:
        block(func.node.body, set())
    holder: ast.AST = func.node
    holder._fx_lazy_singleton_calls = out  # type: ignore[attr-defined]
    return out


# Methods that put a value into a store kept by its receiver (`cache.set(key, client)`,
# `clients_cache.set_cache(key=k, value=client)`, `registry.put(k, pool)`).
_STORE_METHOD_PREFIXES = ("set", "put")


def _locals_of(func: FunctionInfo) -> set[str]:
    """The names a function binds itself: its parameters and the names it assigns
    (a local `from x import mod` binds a module, not a value, and is left out)."""
    args = func.node.args
    out = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    out.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    out.update(n.id for n in own_nodes(func.node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return out


def _outlives_call(target: ast.expr, func: FunctionInfo, local: set[str], declared: set[str]) -> bool:
    """Does an assignment target outlive the call: `CACHE[key]`, `module.client`,
    `self._pool` (not in `__init__`, which runs per instance), a `global` name?"""
    if isinstance(target, ast.Name):
        return target.id in declared
    if not isinstance(target, ast.Attribute | ast.Subscript):
        return False
    root: ast.expr = target
    while isinstance(root, ast.Attribute | ast.Subscript):
        root = root.value
    if not isinstance(root, ast.Name):
        return False
    if root.id in {"self", "cls"}:
        return func.name != "__init__"
    return root.id in declared or root.id not in local


def kept_calls(func: FunctionInfo) -> set[int]:
    """Ids of the calls whose result the function keeps beyond the call through a
    local name: `engine = create_engine(url)` then `ENGINES[key] = engine`,
    `proxy_server.shared_session = session`, or `clients_cache.set_cache(key=k,
    value=client)` (a `set...`/`put...` method of a store the function does not
    own). The get-or-create of a cache: the next call finds the object and does
    not build it again. Kept on the function's node."""
    cached: set[int] | None = getattr(func.node, "_fx_kept_calls", None)
    if cached is not None:
        return cached
    nodes = own_nodes(func.node)
    declared: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
    local = _locals_of(func) - declared
    kept: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            if any(_outlives_call(t, func, local, declared) for t in node.targets):
                kept.add(node.value.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr.startswith(_STORE_METHOD_PREFIXES)
            and _outlives_call(node.func, func, local, declared)
        ):
            kept.update(
                a.id for a in [*node.args, *(k.value for k in node.keywords)] if isinstance(a, ast.Name)
            )
    out: set[int] = set()
    if kept:
        for node in nodes:
            if not (isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not any(isinstance(t, ast.Name) and t.id in kept for t in targets):
                continue
            value = node.value.value if isinstance(node.value, ast.Await) else node.value
            if isinstance(value, ast.Call):
                out.add(id(value))
    holder: ast.AST = func.node
    holder._fx_kept_calls = out  # type: ignore[attr-defined]
    return out


def _is_abstract(method: FunctionInfo) -> bool:
    for deco in method.node.decorator_list:
        expr = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(expr, ast.Name | ast.Attribute) and method.module.resolve(expr) == "abc.abstractmethod":
            return True
    return False


class _Dispatch:
    """Where a method call really goes when the method the call graph names never runs.

    The graph types a receiver by its annotation: `service.batch_get(ids)` with
    `service: TaskService` goes to `TaskService.batch_get`. When `TaskService`
    is abstract (an `@abstractmethod` of its own, or an inherited one, is not
    implemented), the object is always an instance of a subclass; if every
    concrete subclass of the project overrides `batch_get`, the base's default
    body never runs through that call, and one of the overrides does."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._subclasses: dict[str, list[ClassInfo]] | None = None
        self._known: dict[ast.AST, list[FunctionInfo] | None] = {}
        self._abstract: dict[str, bool] = {}

    def subclasses(self, qualname: str) -> list[ClassInfo]:
        if self._subclasses is None:
            index: dict[str, list[ClassInfo]] = {}
            for module in self.project.modules:
                for cls in module.classes.values():
                    for base in self.project.class_bases(cls):
                        index.setdefault(base, []).append(cls)
            self._subclasses = index
        return self._subclasses.get(qualname, [])

    def overrides(self, site: CallSite) -> list[FunctionInfo] | None:
        """The methods the call runs instead of `site.callee` (an abstract base's
        method every concrete subclass overrides), or None when the callee runs."""
        callee = site.callee
        if callee is None or callee.class_name is None:
            return None
        func = site.node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "super"
        ):
            return None  # `super().batch_get(...)` from an override runs the base's body
        if callee.node not in self._known:
            self._known[callee.node] = self._overriding(callee)
        return self._known[callee.node]

    def is_abstract(self, cls: ClassInfo) -> bool:
        """Can the class not be instantiated: an `@abstractmethod`, its own or one of a
        project base class, that the class does not implement? `class Base(Service, ABC)`
        that implements some of `Service`'s abstract methods and declares none is
        abstract too: the inherited ones are still missing. Kept per class."""
        known = self._abstract.get(cls.qualname)
        if known is not None:
            return known
        names = {name for name, method in cls.methods.items() if _is_abstract(method)}
        for base in self.project.class_bases(cls):
            sym = self.project.lookup(base)
            if isinstance(sym, ClassInfo):
                names |= {name for name, method in sym.methods.items() if _is_abstract(method)}
        found = [self.project.find_method(cls, name) for name in names]
        known = self._abstract[cls.qualname] = any(runs is not None and _is_abstract(runs) for runs in found)
        return known

    def _overriding(self, method: FunctionInfo) -> list[FunctionInfo] | None:
        if _is_abstract(method):
            # A call to an abstract declaration stays where it was (its body has
            # nothing to report): following it into every implementation would
            # put long-lived services built once by a factory the model cannot
            # see (singletons, TTL caches) in request scope.
            return None
        owner = self.project.lookup(method.class_name)
        if not isinstance(owner, ClassInfo) or not self.is_abstract(owner):
            return None
        found: list[FunctionInfo] = []
        for cls in self.subclasses(owner.qualname):
            if self.is_abstract(cls):
                continue  # not instantiated either
            runs = self.project.find_method(cls, method.name)
            if runs is None or runs is method:
                return None  # this subclass inherits the base's body
            if runs not in found:
                found.append(runs)
        return found or None


def request_scopes(project: Project) -> dict[ast.AST, RequestScope]:
    """Every function that runs once per HTTP request: route endpoints, dependencies,
    and plain project functions they call (up to `MAX_DEPTH` calls down, not through
    cached functions, nor through a call kept in a lazily set `global`, see
    `lazy_singleton_calls`, or whose result is kept for the next call, see
    `kept_calls`; a call to an abstract base's method that every concrete
    subclass overrides goes to the overrides, see `_Dispatch`). Keyed by the
    function's node; computed once per project."""
    cached = _SCOPES.get(project)
    if cached is not None:
        return cached
    scopes: dict[ast.AST, RequestScope] = {}
    queue: deque[tuple[FunctionInfo, RequestScope]] = deque()
    for func, kind in _roots(project):
        if func.node in scopes or is_cached(func):
            continue
        scope = RequestScope(func, kind)
        scopes[func.node] = scope
        queue.append((func, scope))
    graph = project.calls
    dispatch = _Dispatch(project)
    while queue:
        func, scope = queue.popleft()
        if len(scope.via) >= MAX_DEPTH:
            continue
        once = lazy_singleton_calls(func) | kept_calls(func)
        for site in graph.sites_of(func):
            callee = site.callee
            if callee is None or callee.node in scopes or is_cached(callee) or id(site.node) in once:
                continue
            overrides = dispatch.overrides(site)
            if overrides is not None:
                # An abstract base's default that every concrete subclass overrides:
                # the request runs one of the overrides instead.
                for method in overrides:
                    if method.node in scopes or is_cached(method):
                        continue
                    below = RequestScope(
                        scope.root, scope.kind, (*scope.via, CallSite(func, site.node, site.target, method))
                    )
                    scopes[method.node] = below
                    queue.append((method, below))
                continue
            below = RequestScope(scope.root, scope.kind, (*scope.via, site))
            scopes[callee.node] = below
            queue.append((callee, below))
    _SCOPES[project] = scopes
    return scopes


# Every mention of a name in the project's code, by the name: (the function it is
# in, or None at module level; the call it is the callee of, or None for a reference).
_MENTIONS: weakref.WeakKeyDictionary[Project, dict[str, list[tuple[FunctionInfo | None, ast.Call | None]]]] = (
    weakref.WeakKeyDictionary()
)


def _mentions(project: Project, name: str) -> list[tuple[FunctionInfo | None, ast.Call | None]]:
    """Every use of `name` (a loaded `name` or `x.name`) outside the project's tests,
    with the function it is in and the call it is the callee of. Only the files
    that spell the name are read; kept per name."""
    known = _MENTIONS.setdefault(project, {})
    found = known.get(name)
    if found is not None:
        return found
    found = known[name] = []

    def scan(nodes: Sequence[ast.AST], func: FunctionInfo | None) -> None:
        uses = [
            node
            for node in nodes
            if (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load))
            or (isinstance(node, ast.Attribute) and node.attr == name and isinstance(node.ctx, ast.Load))
        ]
        if uses:
            callees = {id(n.func): n for n in nodes if isinstance(n, ast.Call)}
            found.extend((func, callees.get(id(node))) for node in uses)

    for module in project.modules:
        if module.is_test or not module.spells(name):
            continue
        scan(scope_nodes_of(module.tree.body, (ast.Name, ast.Attribute, ast.Call)), None)
        for func in module.all_functions:
            # Most functions of a file that spells the name do not use it: their
            # names and attributes, indexed by type and shared with the other rules,
            # say so without a pass over every node.
            node = func.node
            if any(n.id == name for n in own_nodes_of(node, ast.Name)) or any(
                n.attr == name for n in own_nodes_of(node, ast.Attribute)
            ):
                scan(own_nodes(node), func)
    return found


def name_uses(project: Project, name: str) -> list[tuple[FunctionInfo | None, ast.Call | None]]:
    """Every use of `name` outside the project's tests: the function it is in (None at
    module level) and the call it is the callee of (None for a mere reference)."""
    return _mentions(project, name)


def called_only_outside_requests(project: Project, func: FunctionInfo, _depth: int = 0) -> bool:
    """Is every use of the function, found by its name, a call from code that no
    request runs? For code the call graph reaches from no route (a method called
    through a receiver the model cannot type): its callers are looked up by name,
    and each must be outside request scope, in a module that serves no requests
    or itself called only from such code (up to three callers up), or a call
    kept in a lazily set `global` (once per process, see `lazy_singleton_calls`).
    False when the name is never used (the callers are unknown: a framework, a
    plug-in) or used other than as a direct call (a callback, a route handler)."""
    scopes = request_scopes(project)
    if func.node in scopes:
        return False
    uses = [(caller, call) for caller, call in _mentions(project, func.name) if caller is not func]
    if not uses or _depth >= 3:
        return False
    for caller, call in uses:
        if caller is None or call is None:
            return False
        if id(call) in lazy_singleton_calls(caller):
            continue  # started once per process, even from a request
        if caller.node in scopes:
            return False
        serves_requests = caller.module.imports_module("fastapi") or caller.module.imports_module("starlette")
        if serves_requests and not called_only_outside_requests(project, caller, _depth + 1):
            return False
    return True


def request_scope(ctx: FileContext) -> RequestScope | None:
    """The request scope of the function the current node runs in, if any."""
    func = ctx.function()
    if func is None or ctx.module.is_test:
        return None
    return request_scopes(ctx.project).get(func.node)


def call_name(ctx: FileContext, call: ast.Call) -> str | None:
    """What a call calls: the inferred target, else the resolved dotted name."""
    return ctx.call_target(call) or (ctx.resolve(call.func) if isinstance(call.func, ast.Name | ast.Attribute) else None)


def short(target: str) -> str:
    """`sqlalchemy.create_engine` -> `create_engine`; `redis.Redis.from_url` -> `Redis.from_url`."""
    parts = target.split(".")
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return ".".join(parts[-2:])
    return parts[-1]


def created_per_request(ctx: FileContext, call: ast.Call) -> RequestScope | None:
    """The request scope `call` runs in when the object it creates is built anew on
    every request (not stored for reuse, not in a method that keeps its result on
    the instance); None otherwise."""
    scope = request_scope(ctx)
    if scope is None or stored_for_reuse(ctx, call):
        return None
    func = ctx.function()
    if func is not None and (memoized_on_self(func) or memoized_in_module(func)):
        return None
    return scope


def _self_attrs(expr: ast.AST) -> set[str]:
    return {
        n.attr
        for n in ast.walk(expr)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"
    }


def memoized_on_self(func: FunctionInfo) -> bool:
    """Does a method keep its result on the instance and return it early while set?

        if self._specs and time.monotonic() < self._expires:
            return self._specs
        async with httpx.AsyncClient() as client:   # runs once per cache period
            ...
        self._specs = specs

    The same assumption as `self._client = ...` in `stored_for_reuse`: what is
    kept on the instance is reused by the next call."""
    if func.class_name is None:
        return False
    cached: bool | None = getattr(func.node, "_fx_memoized_on_self", None)
    if cached is not None:
        return cached
    nodes = own_nodes(func.node)
    stored: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    stored.add(target.attr)
    found = False
    for node in nodes:
        if not (isinstance(node, ast.If) and node.body and isinstance(node.body[-1], ast.Return)):
            continue
        returned = node.body[-1].value
        if (
            isinstance(returned, ast.Attribute)
            and isinstance(returned.value, ast.Name)
            and returned.value.id == "self"
            and returned.attr in stored
            and returned.attr in _self_attrs(node.test)
        ):
            found = True
            break
    holder: ast.AST = func.node
    holder._fx_memoized_on_self = found  # type: ignore[attr-defined]
    return found


def _module_names(func: FunctionInfo) -> set[str]:
    """Names of `func` that refer to the module's globals: assigned or imported at
    module level and not rebound as locals (a `global` declaration keeps them global)."""
    declared: set[str] = set()
    local: set[str] = set()
    for node in own_nodes(func.node):
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
    args = func.node.args
    local.update(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
    module = func.module
    return {name for name in (*module.assignments, *module.imports) if name in declared or name not in local}


def _reads(expr: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(expr))


def memoized_in_module(func: FunctionInfo) -> bool:
    """Does a function answer from a module-level cache that it fills itself?

        try:
            return VIEWS_CACHE[name]                 # also `if name in VIEWS_CACHE: return ...`,
        except KeyError:                             # `hit = VIEWS_CACHE.get(name)`
            pass                                     # then `if hit is not None: return hit`
        async with httpx.AsyncClient() as client:    # runs once per cache miss
            ...
        VIEWS_CACHE[name] = data

    The module-level counterpart of `memoized_on_self`: what is kept in the
    module's mapping is reused by the next request."""
    cached: bool | None = getattr(func.node, "_fx_memoized_in_module", None)
    if cached is not None:
        return cached
    nodes = own_nodes(func.node)
    stored: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    stored.add(target.value.id)
    found = False
    if stored:
        caches = stored & _module_names(func)
        # Locals read from a cache: `hit = CACHE.get(key)`, `if (hit := CACHE.get(key)) ...`.
        hits = set(caches)
        for node in nodes:
            if isinstance(node, ast.Assign) and _reads(node.value, caches):
                hits.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.NamedExpr) and _reads(node.value, caches):
                hits.add(node.target.id)
        for node in nodes if caches else ():
            if isinstance(node, ast.If) and node.body and isinstance(node.body[-1], ast.Return):
                returned = node.body[-1].value
                if returned is not None and _reads(node.test, hits) and _reads(returned, hits):
                    found = True
                    break
            elif (
                isinstance(node, ast.Try)
                and node.handlers
                and any(
                    isinstance(stmt, ast.Return) and stmt.value is not None and _reads(stmt.value, caches)
                    for stmt in node.body
                )
            ):
                found = True
                break
    holder: ast.AST = func.node
    holder._fx_memoized_in_module = found  # type: ignore[attr-defined]
    return found


def stored_for_reuse(ctx: FileContext, call: ast.Call) -> bool:
    """Is the object the call creates kept beyond this call: assigned to an
    attribute (`app.state.http = ...`, `self._client = ...`) or to a `global` /
    `nonlocal` name (the lazy-singleton pattern)?"""
    func = ctx.function()
    if func is not None and id(call) in kept_calls(func):
        return True  # `engine = create_engine(url)`, then `ENGINES[key] = engine`
    declared: set[str] = set()
    if func is not None:
        for node in own_nodes(func.node):
            if isinstance(node, ast.Global | ast.Nonlocal):
                declared.update(node.names)
    # `self.client = ...` in `__init__` is per instance: per request when the
    # class is built per request (which is why we are asked).
    in_init = func is not None and func.class_name is not None and func.name == "__init__"
    for node in reversed(ctx.ancestors):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if in_init and isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    continue
                if isinstance(target, ast.Attribute | ast.Subscript):
                    return True
                if isinstance(target, ast.Name) and target.id in declared:
                    return True
            return False
        if isinstance(node, ast.NamedExpr):
            return node.target.id in declared
        if isinstance(node, ast.stmt):
            return False
    return False


LOOP_NODES = (ast.For, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def loop_body_nodes(loop: ast.AST) -> list[ast.AST]:
    """Nodes that run once per iteration of `loop`, not descending into nested
    functions, classes or nested loops (those are examined on their own).
    A list rather than a generator: every loop of the project is walked."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = []
    if isinstance(loop, ast.For | ast.AsyncFor):
        stack = list(reversed(loop.body))
    elif isinstance(loop, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        stack = [loop.elt]
    elif isinstance(loop, ast.DictComp):
        stack = [loop.key, loop.value]
    if isinstance(loop, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        for i, gen in enumerate(loop.generators):
            stack.extend(gen.ifs)
            if i > 0:
                stack.append(gen.iter)
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, _FUNCTION_NODES):
            continue
        if isinstance(node, LOOP_NODES):
            # A nested loop's own iterable is evaluated once per outer iteration.
            inner_iter = loop_iter(node)
            if inner_iter is not None:
                stack.append(inner_iter)
            continue
        children = child_nodes(node)
        children.reverse()
        stack.extend(children)
    return out


def loop_iter(loop: ast.AST) -> ast.expr | None:
    if isinstance(loop, ast.For | ast.AsyncFor):
        return loop.iter
    if isinstance(loop, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) and loop.generators:
        return loop.generators[0].iter
    return None


def loop_targets(loop: ast.AST) -> set[str]:
    """Names bound by the loop (its iteration variables)."""
    targets: list[ast.expr] = []
    if isinstance(loop, ast.For | ast.AsyncFor):
        targets = [loop.target]
    elif isinstance(loop, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        targets = [g.target for g in loop.generators]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def is_fixed_iteration(ctx: FileContext, iterable: ast.expr | None) -> bool:
    """A loop over a literal collection or `range(<constant>)`: a small, fixed
    number of iterations (`for model in (User, Item):`, a retry loop)."""
    if iterable is None:
        return False
    if isinstance(iterable, ast.Tuple | ast.List | ast.Set | ast.Dict | ast.Constant):
        return True
    return (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Name)
        and ctx.resolve(iterable.func) == "builtins.range"
        and all(isinstance(a, ast.Constant) for a in iterable.args)
    )


def is_attempt_loop(loop: ast.AST) -> bool:
    """A retry loop over attempt context managers:

        for attempt in Retrying(stop=stop_after_attempt(3)):   # tenacity, stamina
            with attempt:
                session.execute(...)

    The iterator yields a new attempt only after the previous one raised; once
    the `with attempt:` block succeeds the iteration stops. The body runs once
    per failure, not once per item: the loop is known by entering its own
    loop variable as a context manager, whatever the iterable is called."""
    if not isinstance(loop, ast.For | ast.AsyncFor) or not isinstance(loop.target, ast.Name):
        return False
    name = loop.target.id
    return any(
        isinstance(stmt, ast.With | ast.AsyncWith)
        and any(isinstance(item.context_expr, ast.Name) and item.context_expr.id == name for item in stmt.items)
        for stmt in loop.body
    )


def describe_iter(ctx: FileContext, iterable: ast.expr | None) -> str:
    if iterable is None:
        return "the loop"
    text = ctx.source.segment(iterable)
    if len(text) > 40 or "\n" in text:
        return "the loop"
    return f"the loop over `{text}`"


def chain_root(expr: ast.expr) -> ast.expr:
    """The innermost receiver of a method chain: `select(A).where(x).limit(3)` -> `select(A)`'s call."""
    while True:
        if isinstance(expr, ast.Await):
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            expr = expr.func.value
        elif isinstance(expr, ast.Attribute | ast.Subscript):
            expr = expr.value
        else:
            return expr


def chain_methods(expr: ast.expr) -> Iterator[tuple[str, ast.Call]]:
    """Method names called along a chain, outermost first: `a.b().c()` -> `c`, `b`."""
    while True:
        if isinstance(expr, ast.Await):
            expr = expr.value
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            yield expr.func.attr, expr
            expr = expr.func.value
        elif isinstance(expr, ast.Call):
            # `session.scalars(select(X).limit(3))`: look into the arguments too
            return
        elif isinstance(expr, ast.Attribute | ast.Subscript):
            expr = expr.value
        else:
            return

