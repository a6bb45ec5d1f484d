"""What FastAPI will build, read statically: apps, routers, includes, routes,
middleware and every route's dependency tree."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard

from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_nodes_of,
    parameter_defaults,
    scope_nodes_of,
)

if TYPE_CHECKING:
    from fastapi_expert.review.model.project import Project

APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
ROUTER_CLASSES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
DEPENDS = frozenset({"fastapi.Depends", "fastapi.params.Depends", "fastapi.param_functions.Depends"})
SECURITY = frozenset({"fastapi.Security", "fastapi.params.Security", "fastapi.param_functions.Security"})
HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
ROUTE_DECORATORS = frozenset({*HTTP_VERBS, "api_route", "websocket", "route", "websocket_route"})
SECURITY_SCHEME_PREFIXES = ("fastapi.security.",)
NOT_SCHEMES = frozenset({"OAuth2PasswordRequestForm", "OAuth2PasswordRequestFormStrict", "SecurityScopes"})


def _substitute(expr: ast.expr, name: str, value: ast.expr) -> ast.expr:
    """`expr` with the name `name` at its root replaced by `value` (`r.router` with
    `r` -> `items` is `items.router`)."""
    if isinstance(expr, ast.Attribute):
        return ast.copy_location(ast.Attribute(_substitute(expr.value, name, value), expr.attr, ast.Load()), expr)
    return value if isinstance(expr, ast.Name) and expr.id == name else expr


@dataclass(eq=False)
class RouterObject:
    """A `FastAPI()` app or an `APIRouter()`."""

    ref: str
    kind: str  # "app" | "router"
    module: ModuleInfo
    node: ast.Call | None
    prefix: str = ""
    dependencies: list[ast.expr] = field(default_factory=list)

    def keyword(self, name: str) -> ast.expr | None:
        if self.node is None:
            return None
        return next((k.value for k in self.node.keywords if k.arg == name), None)


@dataclass(eq=False)
class Include:
    parent: str
    child: str
    prefix: str
    dependencies: list[ast.expr]
    node: ast.Call
    module: ModuleInfo


@dataclass(eq=False)
class Dependency:
    """One `Depends(...)` / `Security(...)` marker and what it calls."""

    marker: ast.Call
    module: ModuleInfo
    target: str | None
    is_security: bool
    scopes: tuple[str, ...] = ()
    param: str | None = None
    children: list[Dependency] = field(default_factory=list)

    def walk(self) -> Iterator[Dependency]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(eq=False)
class Route:
    """A path operation or WebSocket endpoint."""

    router: str
    module: ModuleInfo
    node: ast.Call  # the decorator or add_api_route call
    endpoint: FunctionInfo | None
    methods: tuple[str, ...]
    path: str | None
    is_websocket: bool
    full_paths: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)

    def keyword(self, name: str) -> ast.expr | None:
        return next((k.value for k in self.node.keywords if k.arg == name), None)

    def all_dependencies(self) -> Iterator[Dependency]:
        for dep in self.dependencies:
            yield from dep.walk()

    @property
    def display_path(self) -> str:
        if self.full_paths:
            return self.full_paths[0]
        return self.path if self.path is not None else "<dynamic>"


@dataclass(eq=False)
class Middleware:
    app: str
    module: ModuleInfo
    node: ast.Call
    target: str | None


def literal_str(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


def _bound_names(func: FunctionInfo) -> set[str]:
    """The names a function binds itself: its parameters and the names it assigns."""
    args = func.node.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a is not None}
    names.update(n.id for n in own_nodes_of(func.node, ast.Name) if not isinstance(n.ctx, ast.Load))
    return names


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def marker_target(call: ast.Call) -> ast.expr | None:
    """What a `Depends(...)` / `Security(...)` marker names: its first argument or
    `dependency=` (None for `Depends()`, which takes the annotation)."""
    return call.args[0] if call.args else keyword(call, "dependency")


# What the collecting passes read: assignments (objects built, lists of routers),
# loops (includes in a loop) and calls (`include_router`, `add_api_route`...).
_COLLECTED = (ast.Assign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.Call)


class FastAPIModel:
    """Apps, routers and routes of a project, with include prefixes resolved."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.objects: dict[str, RouterObject] = {}
        self.includes: list[Include] = []
        # `include_router`/`mount` calls whose child could not be read (`app.include_router(
        # plugin.load())`): any router no read include mounts may be the one they mount.
        self.unread_includes: list[ast.Call] = []
        self.routes: list[Route] = []
        self.middleware: list[Middleware] = []
        self.route_of_function: dict[ast.AST, list[Route]] = defaultdict(list)
        self._dep_cache: dict[tuple[str, bool], list[Dependency]] = {}
        self._scope_nodes: dict[ModuleInfo, list[tuple[FunctionInfo | None, list[ast.AST]]]] = {}
        # id(constructor call) -> ref, rebuilt when objects were added since (see `object_built_by`).
        self._by_constructor: dict[int, str] = {}
        self._by_constructor_size = -1
        for module in project.modules:
            if module.imports_module("fastapi"):
                self._collect_objects(module)
        for module in project.modules:
            if module.imports_module("fastapi") or self._uses_known_object(module):
                self._collect_usages(module)
        self._scope_nodes.clear()  # read by the two passes above only
        # Starlette wraps middleware in the order they were added: keep source order.
        self.middleware.sort(key=lambda m: (m.module.path, m.node.lineno, m.node.col_offset))
        self._resolve_paths()
        for route in self.routes:
            route.dependencies = self._route_dependencies(route)
            if route.endpoint is not None:
                self.route_of_function[route.endpoint.node].append(route)
        self.dependency_functions: set[ast.AST] = set()
        for route in self.routes:
            for dep in route.all_dependencies():
                sym = project.lookup(dep.target)
                if isinstance(sym, FunctionInfo):
                    self.dependency_functions.add(sym.node)

    # -- collection -------------------------------------------------------

    def _uses_known_object(self, module: ModuleInfo) -> bool:
        return any(self.project.canonical(q) in self.objects for q in module.imports.values())

    def _scopes(self, module: ModuleInfo) -> list[tuple[FunctionInfo | None, list[ast.AST]]]:
        """The module's scopes (its top level, then each function's body) with the
        nodes of each that the two collecting passes read, in source order: walked
        once per module, though both passes read most modules."""
        found = self._scope_nodes.get(module)
        if found is None:
            found = [(None, scope_nodes_of(module.tree.body, _COLLECTED))]
            found.extend((func, scope_nodes_of(func.node.body, _COLLECTED)) for func in module.all_functions)
            self._scope_nodes[module] = found
        return found

    def _collect_objects(self, module: ModuleInfo) -> None:
        for func, nodes in self._scopes(module):
            for node in nodes:
                if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    kind = self._object_kind(module, node.value)
                    if kind is None:
                        continue
                    for target in targets:
                        ref = None
                        if isinstance(target, ast.Name):
                            ref = self._ref_for_name(module, func, target.id)
                        elif _is_self_attribute(target) and func is not None and func.class_name:
                            # `self.app = FastAPI()` in a method: one object per class attribute
                            ref = f"{func.class_name}.<self.{target.attr}>"
                        if ref is not None:
                            obj = RouterObject(ref, kind, module, node.value)
                            obj.prefix = self._string(module, func, obj.keyword("prefix")) or ""
                            deps = obj.keyword("dependencies")
                            if isinstance(deps, ast.List | ast.Tuple):
                                obj.dependencies = list(deps.elts)
                            self.objects[ref] = obj

    def _object_kind(self, module: ModuleInfo, call: ast.Call) -> str | None:
        target = self.project.resolve(module, call.func)
        if target in APP_CLASSES:
            return "app"
        if target in ROUTER_CLASSES:
            return "router"
        sym = self.project.lookup(target)
        if isinstance(sym, ClassInfo):
            bases = self.project.class_bases(sym)
            if bases & APP_CLASSES:
                return "app"
            if bases & ROUTER_CLASSES:
                return "router"
        return None

    @staticmethod
    def _ref_for_name(module: ModuleInfo, func: FunctionInfo | None, name: str) -> str:
        if func is None:
            return f"{module.name}.{name}" if module.name else name
        return f"{func.qualname}.<{name}>"

    def object_ref(self, module: ModuleInfo, func: FunctionInfo | None, expr: ast.expr) -> str | None:
        """Which app or router an expression denotes (scope-aware)."""
        if isinstance(expr, ast.Name):
            scope = func
            while scope is not None:
                local = f"{scope.qualname}.<{expr.id}>"
                if local in self.objects:
                    return local
                scope = scope.parent
        if _is_self_attribute(expr) and func is not None and func.class_name:
            attr_ref = f"{func.class_name}.<self.{expr.attr}>"
            if attr_ref in self.objects:
                return attr_ref
        ref = self.project.canonical(module.resolve(expr))
        if ref in self.objects:
            return ref
        # `router.router` style or a name imported through a re-export
        if ref is not None:
            sym = self.project.lookup(ref)
            if isinstance(sym, tuple):
                target_module, value = sym
                name = ref.rsplit(".", 1)[-1]
                candidate = f"{target_module.name}.{name}"
                if candidate in self.objects:
                    return candidate
                # Re-exported under another name (`from .audits import router as
                # audits_router` in a package's `__init__`): the object is the one the
                # value at the end of the import chain builds, whatever it is called there.
                built = self.object_built_by(value)
                if built is not None:
                    return built
                if isinstance(value, ast.Call):  # `router = make_router()` at module level
                    return self._factory_result(target_module, value)
        if isinstance(expr, ast.Call):  # `app.include_router(make_router(), prefix=...)`
            return self._factory_result(module, expr)
        return None

    def _string(self, module: ModuleInfo, func: FunctionInfo | None, expr: ast.expr | None, depth: int = 0) -> str | None:
        """The text of a path or prefix: a literal, a module-level string constant
        (`API_V1 = "/api/v1"`, here or imported), `+` of such, or an f-string of them
        (`f"{API_V1}/items"`). None when any part is not known before run time (a
        setting, a parameter, a local)."""
        if expr is None or depth > 8:
            return None
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str) else None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left = self._string(module, func, expr.left, depth + 1)
            right = self._string(module, func, expr.right, depth + 1) if left is not None else None
            return None if left is None or right is None else left + right
        if isinstance(expr, ast.JoinedStr):
            parts: list[str] = []
            for value in expr.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                    continue
                if not isinstance(value, ast.FormattedValue) or value.conversion != -1 or value.format_spec is not None:
                    return None
                text = self._string(module, func, value.value, depth + 1)
                if text is None:
                    return None
                parts.append(text)
            return "".join(parts)
        if isinstance(expr, ast.Name) and func is not None and expr.id in _bound_names(func):
            return None  # a parameter or local of the function, whatever the module binds
        if isinstance(expr, ast.Name | ast.Attribute):
            symbol = self.project.lookup(self.project.canonical(module.resolve(expr)))
            if isinstance(symbol, tuple):
                return self._string(symbol[0], None, symbol[1], depth + 1)
        return None

    def object_built_by(self, value: ast.expr) -> str | None:
        """The app or router whose constructor call is `value`, if any."""
        if len(self.objects) != self._by_constructor_size:
            self._by_constructor = {id(obj.node): ref for ref, obj in self.objects.items() if obj.node is not None}
            self._by_constructor_size = len(self.objects)
        return self._by_constructor.get(id(value))

    def _factory_result(self, module: ModuleInfo, call: ast.Call) -> str | None:
        """The app or router a project function builds and returns (`router =
        APIRouter()`, routes added to it, `return router`), for a call of it."""
        if not isinstance(call.func, ast.Name | ast.Attribute):
            return None
        factory = self.project.lookup(self.project.canonical(module.resolve(call.func)))
        if not isinstance(factory, FunctionInfo):
            return None
        for ret in own_nodes_of(factory.node, ast.Return):
            if isinstance(ret.value, ast.Name):
                ref = f"{factory.qualname}.<{ret.value.id}>"
                if ref in self.objects:
                    return ref
        return None

    def _collect_usages(self, module: ModuleInfo) -> None:
        for func in module.all_functions:
            for deco in func.node.decorator_list:
                if not isinstance(deco, ast.Call) or not isinstance(deco.func, ast.Attribute):
                    continue
                attr = deco.func.attr
                if attr in ROUTE_DECORATORS:
                    self._add_route(module, func.parent, deco, deco.func.value, attr, func)
                elif attr == "middleware":
                    ref = self.object_ref(module, func.parent, deco.func.value)
                    if ref is not None:
                        self.middleware.append(Middleware(ref, module, deco, func.qualname))
        for scope, nodes in self._scopes(module):
            lists: dict[str, list[ast.expr]] = {}  # `routers = [a.router, b.router]` seen so far
            loops: dict[str, list[dict[str, ast.expr]]] = {}  # loop variable -> the turns of its loop
            for node in nodes:
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.List | ast.Tuple):
                    for bound in node.targets:
                        if isinstance(bound, ast.Name):
                            lists[bound.id] = node.value.elts
                    continue
                if isinstance(node, ast.For | ast.AsyncFor):
                    loops.update(self._loop_values(module, lists, node))
                    continue
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                    continue
                attr = node.func.attr
                if attr in {"include_router", "mount"} and node.args:
                    self._add_include(module, scope, node, attr, loops)
                elif attr in {"add_api_route", "add_api_websocket_route", "add_route", "add_websocket_route"} and len(node.args) >= 2:
                    endpoint_sym = self.project.lookup(self.project.resolve(module, node.args[1])) if isinstance(node.args[1], ast.Name | ast.Attribute) else None
                    endpoint = endpoint_sym if isinstance(endpoint_sym, FunctionInfo) else None
                    kind = "websocket" if "websocket" in attr else "api_route"
                    self._add_route(module, scope, node, node.func.value, kind, endpoint)
                elif attr == "add_middleware" and node.args:
                    ref = self.object_ref(module, scope, node.func.value)
                    if ref is not None:
                        target = self.project.resolve(module, node.args[0])
                        self.middleware.append(Middleware(ref, module, node, target))

    def _add_route(self, module: ModuleInfo, scope: FunctionInfo | None, call: ast.Call, owner: ast.expr, attr: str, endpoint: FunctionInfo | None) -> None:
        ref = self.object_ref(module, scope, owner)
        if ref is None:
            # An unresolved owner still counts when the call has a route's shape:
            # `@something.get("/path")` in a file that imports FastAPI.
            path_arg = self._string(module, scope, call.args[0] if call.args else keyword(call, "path"))
            if path_arg is None or not (path_arg == "" or path_arg.startswith("/")):
                return
            ref = f"?{module.name}.{ast.unparse(owner)}"
        path = self._string(module, scope, call.args[0] if call.args else keyword(call, "path"))
        is_ws = attr in {"websocket", "websocket_route"}
        if attr in HTTP_VERBS:
            methods: tuple[str, ...] = (attr.upper(),)
        elif is_ws:
            methods = ()
        else:
            methods_expr = keyword(call, "methods")
            if isinstance(methods_expr, ast.List | ast.Tuple | ast.Set):
                methods = tuple(
                    s.upper() for s in (literal_str(e) for e in methods_expr.elts) if s
                )
            else:
                methods = ("GET",)
        self.routes.append(Route(ref, module, call, endpoint, methods, path, is_ws))

    def _loop_values(
        self, module: ModuleInfo, lists: dict[str, list[ast.expr]], loop: ast.For | ast.AsyncFor
    ) -> dict[str, list[dict[str, ast.expr]]]:
        """The turns of `for r in [a.router, b.router]:` (also of `for r in ROUTERS:`,
        a list or tuple written in this scope or at the top of a project module, and
        of `for r, prefix in [(a, "/a"), ...]`), each the value of every loop
        variable, for each variable: the includes in the loop's body include each.
        The values are read in the loop's module: a list imported from elsewhere is
        followed only when it is in the same module."""
        iterable = loop.iter
        values: list[ast.expr] | None = None
        if isinstance(iterable, ast.List | ast.Tuple):
            values = iterable.elts
        elif isinstance(iterable, ast.Name):
            values = lists.get(iterable.id)
            if values is None:
                sym = self.project.lookup(self.project.canonical(module.resolve(iterable)))
                if isinstance(sym, tuple) and sym[0] is module and isinstance(sym[1], ast.List | ast.Tuple):
                    values = sym[1].elts
        if values is None:
            return {}
        target = loop.target
        names = [target] if isinstance(target, ast.Name) else target.elts if isinstance(target, ast.Tuple) else []
        if not names or not all(isinstance(n, ast.Name) for n in names):
            return {}
        turns: list[dict[str, ast.expr]] = []
        for value in values:
            if isinstance(target, ast.Name):
                turns.append({target.id: value})
            elif isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(names):
                turns.append({n.id: v for n, v in zip(names, value.elts, strict=True) if isinstance(n, ast.Name)})
        return {n.id: turns for n in names if isinstance(n, ast.Name)}

    def _add_include(
        self,
        module: ModuleInfo,
        func: FunctionInfo | None,
        call: ast.Call,
        attr: str,
        loops: dict[str, list[dict[str, ast.expr]]] | None = None,
    ) -> None:
        parent = self.object_ref(module, func, call.func.value) if isinstance(call.func, ast.Attribute) else None
        prefix_expr: ast.expr | None
        if attr == "mount":
            if len(call.args) < 2:
                return
            child_expr, prefix_expr = call.args[1], call.args[0]
        else:
            child_expr, prefix_expr = call.args[0], keyword(call, "prefix")
        root = child_expr
        while isinstance(root, ast.Attribute):
            root = root.value
        if loops and isinstance(root, ast.Name) and root.id in loops:
            # `for r, prefix in [(a, "/a"), (b, "/b")]: app.include_router(r.router, prefix=prefix)`:
            # each turn of the loop is one include, its values in place of the variables.
            for turn in loops[root.id]:
                child = _substitute(child_expr, root.id, turn[root.id])
                prefix = turn.get(prefix_expr.id, prefix_expr) if isinstance(prefix_expr, ast.Name) else prefix_expr
                self._add_child(module, func, call, parent, child, self._string(module, func, prefix) or "")
            return
        self._add_child(module, func, call, parent, child_expr, self._string(module, func, prefix_expr) or "")

    def _add_child(
        self,
        module: ModuleInfo,
        func: FunctionInfo | None,
        call: ast.Call,
        parent: str | None,
        child_expr: ast.expr,
        prefix: str,
    ) -> None:
        child = self.object_ref(module, func, child_expr)
        if child is None:
            if self._may_be_a_project_router(module, func, child_expr):
                self.unread_includes.append(call)
            return
        if parent is None and isinstance(call.func, ast.Attribute):
            # The owner is not one we saw built (`def configure(app: FastAPI)`,
            # `server.app`): keep the include, so its prefix and dependencies still
            # reach the child's routes, under an object named after the expression.
            parent = self._unseen_owner(module, func, call.func.value)
        if parent is None:
            return
        deps_expr = keyword(call, "dependencies")
        deps = list(deps_expr.elts) if isinstance(deps_expr, ast.List | ast.Tuple) else []
        self.includes.append(Include(parent, child, prefix, deps, call, module))

    def _may_be_a_project_router(self, module: ModuleInfo, func: FunctionInfo | None, expr: ast.expr) -> bool:
        """Can the child of an include that was not read be an app or router of the
        project? Not when it is built by a class in place or bound to one
        (`StaticFiles(...)`, `ti_router = VersionedAPIRouter()`: an ASGI app or another
        package's router, whose routes the model does not keep anyway); yes for a
        parameter, a loop over something unread, a factory's result."""
        value: ast.expr | None = expr
        if isinstance(expr, ast.Name | ast.Attribute):
            value = None
            if func is not None and isinstance(expr, ast.Name):
                value = next(
                    (
                        n.value
                        for n in own_nodes_of(func.node, ast.Assign)
                        if any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)
                    ),
                    None,
                )
            if value is None:
                sym = self.project.lookup(self.project.canonical(module.resolve(expr)))
                value = sym[1] if isinstance(sym, tuple) else None
        if not isinstance(value, ast.Call):
            return True
        callee = value.func
        name = callee.attr if isinstance(callee, ast.Attribute) else callee.id if isinstance(callee, ast.Name) else ""
        return not name[:1].isupper()

    def _unseen_owner(self, module: ModuleInfo, func: FunctionInfo | None, expr: ast.expr) -> str:
        where = func.qualname if func is not None else module.name
        ref = f"?{where}:{ast.unparse(expr)}"
        if ref not in self.objects:
            owner_type = None
            if func is not None and isinstance(expr, ast.Name):
                owner_type = self.project.variable_types(func).get(expr.id)
            kind = "router" if owner_type in ROUTER_CLASSES else "app"
            self.objects[ref] = RouterObject(ref, kind, module, None)
        return ref

    # -- paths ------------------------------------------------------------

    def _resolve_paths(self) -> None:
        parents: dict[str, list[Include]] = defaultdict(list)
        for inc in self.includes:
            parents[inc.child].append(inc)
        self.included: set[str] = {inc.child for inc in self.includes}

        def prefixes(ref: str, seen: frozenset[str]) -> list[str]:
            obj = self.objects.get(ref)
            own = obj.prefix if obj else ""
            if ref in seen:
                return [own]
            incoming = parents.get(ref, [])
            if not incoming:
                return [own]
            out: list[str] = []
            for inc in incoming:
                for above in prefixes(inc.parent, seen | {ref}):
                    out.append(above + inc.prefix + own)
            return out

        for route in self.routes:
            if route.path is None:
                continue
            route.full_paths = sorted({p + route.path for p in prefixes(route.router, frozenset())})

    def include_chain(self, ref: str) -> list[Include]:
        """One chain of includes from an app down to `ref` (empty if none)."""
        chain: list[Include] = []
        seen: set[str] = set()
        current = ref
        while current not in seen:
            seen.add(current)
            inc = next((i for i in self.includes if i.child == current), None)
            if inc is None:
                break
            chain.append(inc)
            current = inc.parent
        return list(reversed(chain))

    @property
    def apps(self) -> list[RouterObject]:
        return [o for o in self.objects.values() if o.kind == "app"]

    # -- dependencies -----------------------------------------------------

    def marker(self, module: ModuleInfo, expr: ast.expr | None) -> tuple[bool, ast.Call] | None:
        """If `expr` is `Depends(...)` / `Security(...)`, say which and return the call."""
        if not isinstance(expr, ast.Call):
            return None
        target = self.project.resolve(module, expr.func)
        if target in DEPENDS:
            return False, expr
        if target in SECURITY:
            return True, expr
        return None

    def _dependency(self, module: ModuleInfo, call: ast.Call, is_security: bool, param: str | None, annotation_type: str | None, depth: int) -> Dependency:
        target_expr = marker_target(call)
        target: str | None
        if target_expr is None:
            target = annotation_type
        elif isinstance(target_expr, ast.Call):
            target = self.project.resolve(module, target_expr.func)  # an instance: its __call__
        else:
            target = self.project.resolve(module, target_expr)
        scopes_expr = keyword(call, "scopes")
        scopes: tuple[str, ...] = ()
        if isinstance(scopes_expr, ast.List | ast.Tuple):
            scopes = tuple(s for s in (literal_str(e) for e in scopes_expr.elts) if s)
        dep = Dependency(call, module, target, is_security, scopes, param)
        if depth < 12 and target:
            dep.children = self.callable_dependencies(target, depth + 1, instance=isinstance(target_expr, ast.Call))
        return dep

    def callable_dependencies(self, target: str, depth: int = 0, *, instance: bool = False) -> list[Dependency]:
        """Dependencies declared in the signature FastAPI calls: a function's; a
        class's `__init__` (`Depends(Checker)` builds one per request); an
        instance's `__call__` (`Depends(Checker(...))`, or `Depends(checker)`
        with `checker = Checker(...)` at module level)."""
        key = (target, instance)
        if key in self._dep_cache:
            return self._dep_cache[key]
        self._dep_cache[key] = []
        sym = self.project.lookup(target)
        func: FunctionInfo | None = None
        if isinstance(sym, FunctionInfo):
            func = sym
        elif isinstance(sym, ClassInfo):
            func = self.project.find_method(sym, "__call__" if instance else "__init__")
        elif isinstance(sym, tuple) and not instance:
            owner, value = sym
            made = value.func if isinstance(value, ast.Call) else None
            cls = self.project.lookup(self.project.resolve(owner, made)) if made is not None else None
            if isinstance(cls, ClassInfo):
                func = self.project.find_method(cls, "__call__")
        deps = self.signature_dependencies(func, depth) if func else []
        self._dep_cache[key] = deps
        return deps

    def signature_dependencies(self, func: FunctionInfo, depth: int = 0) -> list[Dependency]:
        module = func.module
        args = func.node.args
        positional = [*args.posonlyargs, *args.args]
        defaults = parameter_defaults(func.node)
        out: list[Dependency] = []
        for arg in [*positional, *args.kwonlyargs]:
            found = self.marker(module, defaults.get(arg.arg))
            marker_module = module
            if found is None:
                for meta_module, m in self.project.annotated_metadata(module, arg.annotation):
                    found = self.marker(meta_module, m)
                    if found:
                        marker_module = meta_module
                        break
            if found is None:
                continue
            ann_type = self.project.annotation_type(module, arg.annotation)
            out.append(self._dependency(marker_module, found[1], found[0], arg.arg, ann_type, depth))
        return out

    def list_dependencies(self, module: ModuleInfo, exprs: list[ast.expr]) -> list[Dependency]:
        out = []
        for expr in exprs:
            found = self.marker(module, expr)
            if found:
                out.append(self._dependency(module, found[1], found[0], None, None, 1))
        return out

    def _route_dependencies(self, route: Route) -> list[Dependency]:
        deps: list[Dependency] = []
        for inc in self.include_chain(route.router):
            parent = self.objects.get(inc.parent)
            if parent is not None and parent.dependencies:
                deps += self.list_dependencies(parent.module, parent.dependencies)
            deps += self.list_dependencies(inc.module, inc.dependencies)
        owner = self.objects.get(route.router)
        if owner is not None and owner.dependencies:
            deps += self.list_dependencies(owner.module, owner.dependencies)
        deco_deps = route.keyword("dependencies")
        if isinstance(deco_deps, ast.List | ast.Tuple):
            deps += self.list_dependencies(route.module, list(deco_deps.elts))
        if route.endpoint is not None:
            deps += self.signature_dependencies(route.endpoint)
        return deps

    def routes_for(self, func_node: ast.AST) -> list[Route]:
        return self.route_of_function.get(func_node, [])

    def is_security_scheme(self, qualname: str | None) -> bool:
        """Is this a class from `fastapi.security` that authenticates (not the
        login form or SecurityScopes, which live there too)?"""
        if not qualname or not qualname.startswith(SECURITY_SCHEME_PREFIXES):
            return False
        return qualname.rsplit(".", 1)[-1] not in NOT_SCHEMES

    def is_security_dependency(self, dep: Dependency) -> bool:
        """Does this dependency authenticate (a security scheme, or Security())?"""
        if dep.is_security:
            return True
        target = dep.target or ""
        if self.is_security_scheme(target):
            return True
        sym = self.project.lookup(target)
        if isinstance(sym, ClassInfo) and any(self.is_security_scheme(b) for b in self.project.class_bases(sym)):
            return True
        if isinstance(sym, tuple):
            # `oauth2_scheme = OAuth2PasswordBearer(tokenUrl=...)`, then Depends(oauth2_scheme)
            module, value = sym
            if isinstance(value, ast.Call) and self.is_security_scheme(self.project.resolve(module, value.func)):
                return True
        return any(self.is_security_dependency(child) for child in dep.children)


def _is_self_attribute(expr: ast.expr) -> TypeGuard[ast.Attribute]:
    return isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self"
