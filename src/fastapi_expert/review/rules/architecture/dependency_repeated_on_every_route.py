from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass

from fastapi_expert.review.model.fastapi_model import (
    APP_CLASSES,
    ROUTE_DECORATORS,
    ROUTER_CLASSES,
    Dependency,
    FastAPIModel,
    Include,
    Route,
    RouterObject,
    keyword,
    marker_target,
)
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    child_nodes,
    own_nodes,
    own_nodes_of,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.types import ChainLink, Edit, Fix, Severity

_MIN_ROUTES = 3
_ADD_ROUTE = frozenset({"add_api_route", "add_api_websocket_route", "add_route", "add_websocket_route"})
# Attributes of a router or app that read it or configure something other than its
# routes: a use of one of them cannot add a route we do not see.
_HARMLESS_ATTRIBUTES = frozenset(
    {
        "add_middleware", "middleware", "exception_handler", "add_exception_handler", "state",
        "openapi", "openapi_schema", "title", "version", "description", "prefix", "tags",
        "url_path_for", "on_event", "dependency_overrides", "lifespan",
    }
)
# Words of a dependency's name that say it guards access: the message then names the
# risk as an unauthenticated route rather than a skipped check.
_GUARD_WORDS = frozenset(
    {
        "auth", "authenticated", "authenticate", "authorize", "authorized", "admin", "user", "token",
        "permission", "permissions", "scope", "scopes", "role", "roles", "login", "superuser", "key",
        "apikey", "jwt", "bearer", "staff", "credentials", "signed", "verify",
    }
)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

# A dependency as FastAPI tells it apart: what it calls, the scopes it asks for and
# whether its result is cached for the request.
DepKey = tuple[str, frozenset[str], bool]


@dataclass(frozen=True)
class _Declaration:
    """One route's declaration of the repeated dependency."""

    route: Route
    dep: Dependency
    decorator_list: ast.List | ast.Tuple | None  # None: an unused parameter of the endpoint


def _endpoint_count(routes: list[Route]) -> int:
    """How many endpoints the routes are: a function registered under several paths
    (`@router.post("/v1/rerank")` stacked on `@router.post("/rerank")`) is one
    endpoint, one place the dependency is decided, however many aliases it has."""
    return len({id(r.endpoint.node) if r.endpoint is not None else id(r.node) for r in routes})


def _key(dep: Dependency) -> DepKey | None:
    """What makes two markers the same dependency, or None when it cannot be told
    (an inline instance `Depends(Limiter(5))` is a new object on every route: one
    shared instance on the router may not behave like several)."""
    call = dep.marker
    target_expr = marker_target(call)
    if dep.target is None or not isinstance(target_expr, ast.Name | ast.Attribute | None):
        return None
    if any(k.arg is None for k in call.keywords) or len(call.args) > 1:
        return None  # `Depends(*args)`, `Depends(x, False)`: not read
    use_cache = keyword(call, "use_cache")
    if use_cache is not None and not (isinstance(use_cache, ast.Constant) and isinstance(use_cache.value, bool)):
        return None
    return dep.target, frozenset(dep.scopes), use_cache is None or bool(use_cache.value)


def _inert(project: Project, dep: Dependency) -> bool:
    """Can the dependency not refuse a request or have any effect? A class or
    function that only stores or returns its parameters (`class CommonQueryParams:
    def __init__(self, q: str | None = None): self.q = q`, a data model): it declares
    query parameters, it guards nothing, and an unused one is a dead parameter."""
    if dep.children:
        return False  # its own dependencies may guard
    symbol = project.lookup(dep.target)
    func: FunctionInfo | None = None
    if isinstance(symbol, ClassInfo):
        func = project.find_method(symbol, "__init__")
        if func is None:
            return True  # a dataclass or a model: its fields are parameters
    elif isinstance(symbol, FunctionInfo):
        func = symbol
    if func is None:
        return False
    for stmt in func.node.body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        if not isinstance(stmt, ast.Assign | ast.AnnAssign | ast.Return):
            return False
        if stmt.value is not None and any(isinstance(n, ast.Call | ast.Await) for n in ast.walk(stmt.value)):
            return False
    return True


def _literal_list(expr: ast.expr | None) -> ast.List | ast.Tuple | None:
    return expr if isinstance(expr, ast.List | ast.Tuple) else None


def _read_names(func: FunctionInfo) -> set[str]:
    """Every name the endpoint's body reads, nested functions included (a closure
    reading the parameter uses its value too)."""
    return {
        node.id
        for stmt in func.node.body
        for node in ast.walk(stmt)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _declarations(project: Project, route: Route, wanted: set[DepKey] | None) -> dict[DepKey, _Declaration] | None:
    """The movable dependencies of one route, by key: those of its decorator's
    `dependencies=[...]`, and the endpoint parameters whose value the body never
    reads (`_: User = Depends(require_admin)`). Only keys in `wanted` are looked at
    (all when None). None when the route's own dependencies cannot be read."""
    deco = route.keyword("dependencies")
    listed = _literal_list(deco)
    if deco is not None and listed is None:
        return None  # `dependencies=COMMON`: what it holds is not read here
    listed_ids = {id(e) for e in listed.elts} if listed is not None else set()
    found: dict[DepKey, _Declaration] = {}
    read: set[str] | None = None
    for dep in route.dependencies:
        key = _key(dep)
        if key is None or (wanted is not None and key not in wanted) or key in found or _inert(project, dep):
            continue
        if id(dep.marker) in listed_ids:
            found[key] = _Declaration(route, dep, listed)
        elif dep.param is not None and route.endpoint is not None:
            if read is None:
                read = _read_names(route.endpoint)
            if dep.param == "_" or dep.param not in read:
                found[key] = _Declaration(route, dep, None)
    return found


def _common(project: Project, routes: list[Route]) -> dict[DepKey, list[_Declaration]]:
    """The dependencies every route declares in a movable form, with the declarations."""
    wanted: set[DepKey] | None = None
    per_route: list[dict[DepKey, _Declaration]] = []
    for route in routes:
        found = _declarations(project, route, wanted)
        if not found:
            return {}
        wanted = set(found) if wanted is None else wanted & set(found)
        if not wanted:
            return {}
        per_route.append(found)
    assert wanted is not None
    return {key: [decls[key] for decls in per_route] for key in wanted}


def _inherited(model: FastAPIModel, ref: str) -> set[DepKey] | None:
    """Keys of the dependencies the routes of `ref` already get from the router itself
    and from every include above it; None when some of them cannot be read."""
    keys: set[DepKey] = set()
    parents: dict[str, list[Include]] = defaultdict(list)
    for inc in model.includes:
        parents[inc.child].append(inc)
    seen: set[str] = set()
    stack = [ref]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        obj = model.objects.get(current)
        if obj is not None:
            declared = obj.keyword("dependencies")
            if declared is not None and _literal_list(declared) is None:
                return None
            keys |= {k for d in model.list_dependencies(obj.module, obj.dependencies) if (k := _key(d))}
        for inc in parents.get(current, []):
            declared = keyword(inc.node, "dependencies")
            if declared is not None and _literal_list(declared) is None:
                return None
            keys |= {k for d in model.list_dependencies(inc.module, inc.dependencies) if (k := _key(d))}
            stack.append(inc.parent)
    return keys


def _plain_constructor(project: Project, obj: RouterObject) -> bool:
    """Is the object built by `APIRouter(...)` / `FastAPI(...)` itself, with no
    `**options` (a subclass may add dependencies of its own; `**options` may hold them)?"""
    node = obj.node
    if node is None or any(k.arg is None for k in node.keywords):
        return False
    return project.resolve(obj.module, node.func) in ROUTER_CLASSES | APP_CLASSES


def _written_name(ref: str) -> str:
    return ref.rsplit(".", 1)[-1].strip("<>")


def _harmless_use(node: ast.expr, parent: ast.AST | None, grandparent: ast.AST | None) -> bool:
    """Can this use of the router not add a route the model does not see? Route
    registration on it, reading its settings, including it (`include_router(router)`),
    listing it for an include loop, returning it from its factory."""
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return parent.attr in ROUTE_DECORATORS or parent.attr in _ADD_ROUTE or parent.attr in _HARMLESS_ATTRIBUTES
    if isinstance(parent, ast.Return | ast.List | ast.Tuple):
        return True
    call, is_arg = parent, True
    if isinstance(parent, ast.keyword):
        call, is_arg = grandparent, parent.arg in {"router", "app"}
    if not (is_arg and isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return False
    if call.func.attr == "include_router":
        return (bool(call.args) and call.args[0] is node) or isinstance(parent, ast.keyword)
    if call.func.attr == "mount":
        return (len(call.args) > 1 and call.args[1] is node) or isinstance(parent, ast.keyword)
    return False


def _escaping(project: Project, model: FastAPIModel, objects: list[RouterObject]) -> set[str]:
    """The refs of those `objects` used somewhere in a way that may give them routes,
    or children, we cannot see (passed to a function, `router.include_router(...)`,
    `router.routes`). One pass over the project for all of them: a code base with a
    hundred routers, each called `router` in its own module, would otherwise read
    every module that spells `router` once per router."""
    names = {_written_name(obj.ref) for obj in objects}
    wanted = {obj.ref for obj in objects}
    out: set[str] = set()
    for module in project.modules:
        if module.is_test or not any(module.spells(name) for name in names):
            continue
        scopes: list[tuple[FunctionInfo | None, ast.AST]] = [(None, module.tree), *((f, f.node) for f in module.all_functions)]
        for func, scope in scopes:
            hits: list[tuple[str, ast.expr]] = [
                (n.id, n) for n in own_nodes_of(scope, ast.Name) if n.id in names and isinstance(n.ctx, ast.Load)
            ]
            hits += [
                (n.attr, n) for n in own_nodes_of(scope, ast.Attribute) if n.attr in names and isinstance(n.ctx, ast.Load)
            ]
            if hits:
                out |= _escaping_hits(model, module, func, scope, hits, wanted)
    return out


def _escaping_hits(
    model: FastAPIModel,
    module: ModuleInfo,
    func: FunctionInfo | None,
    scope: ast.AST,
    hits: list[tuple[str, ast.expr]],
    wanted: set[str],
) -> set[str]:
    """The refs among `wanted` that a use in `hits` (name, node) lets escape; a use
    counts for the object of its own name only."""
    parents: dict[int, ast.AST] = {}
    for node in own_nodes(scope):
        for child in child_nodes(node):
            parents[id(child)] = node
    for child in child_nodes(scope):
        parents[id(child)] = scope
    out: set[str] = set()
    for name, node in hits:
        ref = model.object_ref(module, func, node)
        if ref is None or ref not in wanted or ref in out or _written_name(ref) != name:
            continue
        parent = parents.get(id(node))
        grandparent = parents.get(id(parent)) if parent is not None else None
        if not _harmless_use(node, parent, grandparent):
            out.add(ref)
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _spelled(decls: list[_Declaration]) -> str:
    """The dependency as the code writes it, from a decorator if one declares it there."""
    decl = next((d for d in decls if d.decorator_list is not None), decls[0])
    dep = decl.dep
    text = _one_line(dep.module.source.segment(dep.marker))
    if text and (dep.marker.args or decl.decorator_list is not None):
        return text
    marker = "Security" if dep.is_security else "Depends"
    return f"{marker}({(dep.target or '').rsplit('.', 1)[-1]})"


def _guards_access(model: FastAPIModel, dep: Dependency) -> bool:
    if model.is_security_dependency(dep):
        return True
    name = (dep.target or "").rsplit(".", 1)[-1]
    words = {w.lower() for w in _WORD.findall(name)} | {p.lower() for p in name.split("_") if p}
    return bool(words & _GUARD_WORDS)


def _route_label(route: Route) -> str:
    methods = "WebSocket" if route.is_websocket else "/".join(route.methods) or "route"
    return f"{methods} {route.display_path}"


# -- the fix -----------------------------------------------------------------


def _removal(module: ModuleInfo, decl: _Declaration) -> Edit | None:
    """Drop the marker from the decorator's list, or the whole `dependencies=`
    keyword when it was the only element."""
    listed = decl.decorator_list
    if not isinstance(listed, ast.List):
        return None
    source = module.source
    call = decl.route.node
    if len(listed.elts) > 1:
        i = next(i for i, e in enumerate(listed.elts) if e is decl.dep.marker)
        if i + 1 < len(listed.elts):
            start, end = source.location(listed.elts[i]), source.location(listed.elts[i + 1])
            return Edit(start.line, start.column, end.line, end.column, "")
        before, mine = source.location(listed.elts[i - 1]), source.location(listed.elts[i])
        return Edit(before.end_line, before.end_column, mine.end_line, mine.end_column, "")
    arguments: list[ast.expr | ast.keyword] = sorted([*call.args, *call.keywords], key=lambda a: (a.lineno, a.col_offset))
    kw = next(k for k in call.keywords if k.arg == "dependencies")
    i = arguments.index(kw)
    if i > 0:
        before, mine = source.location(arguments[i - 1]), source.location(kw)
        return Edit(before.end_line, before.end_column, mine.end_line, mine.end_column, "")
    if i + 1 < len(arguments):
        mine, after = source.location(kw), source.location(arguments[i + 1])
        return Edit(mine.line, mine.column, after.line, after.column, "")
    return source.replace(kw, "")


def _addition(obj: RouterObject, text: str) -> Edit | None:
    """Add the marker to the router's `dependencies=[...]` (or the keyword itself)."""
    node = obj.node
    if node is None:
        return None
    source = obj.module.source
    declared = obj.keyword("dependencies")
    if declared is not None:
        if not isinstance(declared, ast.List):
            return None
        if declared.elts:
            last = source.location(declared.elts[-1])
            return source.insert_at(last.end_line, last.end_column, f", {text}")
        inside = source.location(declared)
        return source.insert_at(inside.line, inside.column + 1, text)
    arguments: list[ast.expr | ast.keyword] = [*node.args, *node.keywords]
    if arguments:
        last = source.location(max(arguments, key=lambda a: (a.end_lineno or 0, a.end_col_offset or 0)))
        return source.insert_at(last.end_line, last.end_column, f", dependencies=[{text}]")
    end = source.location(node)
    return source.insert_at(end.end_line, end.end_column - 1, f"dependencies=[{text}]")


def _fix(project: Project, obj: RouterObject, decls: list[_Declaration]) -> Fix | None:
    """Move the marker onto `APIRouter(...)` when every route declares it in its
    decorator, in the router's own file, written the same way."""
    node = obj.node
    if node is None or obj.kind != "router" or project.resolve(obj.module, node.func) not in ROUTER_CLASSES:
        return None
    if any(d.decorator_list is None or d.route.module is not obj.module for d in decls):
        return None
    texts = {obj.module.source.segment(d.dep.marker) for d in decls}
    if len(texts) != 1:
        return None
    text = texts.pop()
    if "\n" in text:
        return None
    edits = [_addition(obj, text), *(_removal(obj.module, d) for d in decls)]
    if any(e is None for e in edits):
        return None
    name = _written_name(obj.ref)
    return Fix(
        f"Declare `{text}` once on `{name}` and drop it from its routes",
        tuple(e for e in edits if e is not None),
        safe=False,
    )


_AUTH_MODULE = """
from fastapi import Depends, Header, HTTPException


class User:
    is_admin: bool = False
    notes: list[dict]


def get_current_user(authorization: str = Header()) -> User:
    if not authorization.startswith("Bearer "):
        raise HTTPException(status_code=401)
    return User()


def require_admin(user: User = Depends(get_current_user)) -> None:
    if not user.is_admin:
        raise HTTPException(status_code=403)


def verify_api_key(x_api_key: str = Header()) -> None:
    if x_api_key != "secret":
        raise HTTPException(status_code=401)


def check_tenant(x_tenant: str = Header()) -> None:
    if not x_tenant:
        raise HTTPException(status_code=400, detail="X-Tenant is required")
"""


class DependencyRepeatedOnEveryRoute(Rule):
    """Flags a dependency every route of a router declares, instead of the router.

    ## What it does
    Finds an `APIRouter` (or a `FastAPI` app with no router included) whose
    routes, *all* of those registered on it anywhere in the project and at
    least three endpoints (a function registered under several paths counts
    once), each declare the same dependency: in the decorator's
    `dependencies=[Depends(verify_api_key)]`, or as an endpoint parameter whose
    value the body never reads (`_: User = Depends(require_admin)`). The same
    callable reached through different imports counts once; `Depends(x)` and
    `Security(x)` count as the same when they ask for the same scopes. It is not
    reported when the router or an include of it already declares the
    dependency, when one route lacks it (often the public `/login` beside
    protected ones), when a route uses the dependency's value, when the marker
    builds an instance inline (`Depends(RateLimiter(times=5))`: one instance per
    route), or when the router is passed somewhere that may give it routes or
    child routers the analysis cannot see.

    ## Why is this bad?
    The protection lives on each route, so it is only as good as the next route
    someone adds: a route registered on that router without the marker is
    silently unauthenticated (or skips the rate limit, the tenant check), and
    nothing fails. `APIRouter(dependencies=[...])` is merged into every route
    registered on the router, HTTP and WebSocket, including those added later
    (checked with FastAPI 0.165: `APIRouter.add_api_route` and
    `add_api_websocket_route` prepend the router's list; a `TestClient` request
    to a route added without the marker answers 200 on the per-route router and
    403 on the router-level one). Declared once, the guard is one line to read
    and to review. FastAPI caches a dependency per request, so a route that also
    takes the value as a parameter still runs it once. (The OpenAPI document
    gains nothing: a router-level `Security(...)` is still listed on each
    operation, not in a global `security` section.)

    Mind two differences before moving it: router dependencies also apply to the
    routes of routers included *into* this router (this rule does not report a
    router that includes others), and they run before the route's own
    dependencies.

    ## Example
    ```python
    router = APIRouter(prefix="/admin")

    @router.get("/users", dependencies=[Depends(require_admin)])
    def list_users(): ...

    @router.delete("/users/{user_id}", dependencies=[Depends(require_admin)])
    def delete_user(user_id: int): ...

    @router.post("/cache/purge", dependencies=[Depends(require_admin)])
    def purge_cache(): ...
    ```

    ## Use instead
    ```python
    router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])

    @router.get("/users")
    def list_users(): ...
    ```

    ## Fix safety
    Unsafe. When every route declares the dependency in its decorator, written
    the same way, and the router is built by a plain `APIRouter(...)` in the same
    file, the fix adds it to the router's `dependencies=` and removes it from
    each decorator. The dependency then runs before the route's other
    dependencies rather than in its list's order.

    ## References
    - https://fastapi.tiangolo.com/tutorial/bigger-applications/#another-module-with-apirouter
    - https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-in-path-operation-decorators/
    - https://fastapi.tiangolo.com/tutorial/dependencies/global-dependencies/
    """

    code = "FX106"
    name = "dependency-repeated-on-every-route"
    summary = "Every route of a router declares the same dependency; declare it once on the `APIRouter`."
    severity = Severity.INFO

    valid = (
        Valid(
            """
            # Declared once on the router: every route gets it, also the next one.
            from fastapi import APIRouter, Depends

            from app.auth import require_admin

            router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])

            @router.get("/users")
            def list_users():
                return []

            @router.delete("/users/{user_id}")
            def delete_user(user_id: int):
                return None

            @router.post("/cache/purge")
            def purge_cache():
                return {"purged": True}
            """,
            filename="app/admin.py",
            files={"app/__init__.py": "", "app/auth.py": _AUTH_MODULE},
        ),
        Valid(
            """
            # `/login` is public on purpose: one route lacks the dependency.
            from fastapi import APIRouter, Depends

            from app.auth import get_current_user

            router = APIRouter(prefix="/account")

            @router.post("/login")
            def login(form: dict):
                return {"token": "..."}

            @router.get("/me", dependencies=[Depends(get_current_user)])
            def me():
                return {}

            @router.post("/password", dependencies=[Depends(get_current_user)])
            def change_password(body: dict):
                return None

            @router.post("/logout", dependencies=[Depends(get_current_user)])
            def logout():
                return None
            """,
            filename="app/account.py",
            files={"app/__init__.py": "", "app/auth.py": _AUTH_MODULE},
        ),
        Valid(
            """
            # Two routes only: too few to call it a pattern.
            from fastapi import APIRouter, Depends

            from app.auth import require_admin

            router = APIRouter()

            @router.get("/flags", dependencies=[Depends(require_admin)])
            def flags():
                return []

            @router.put("/flags/{name}", dependencies=[Depends(require_admin)])
            def set_flag(name: str):
                return None
            """,
            filename="app/flags.py",
            files={"app/__init__.py": "", "app/auth.py": _AUTH_MODULE},
        ),
        Valid(
            """
            # Two endpoints, one of them under two paths: three routes, still too few endpoints for a pattern.
            from fastapi import APIRouter, Depends

            from app.auth import verify_api_key

            router = APIRouter()

            @router.post("/rerank", dependencies=[Depends(verify_api_key)])
            @router.post("/v1/rerank", dependencies=[Depends(verify_api_key)])
            def rerank(body: dict):
                return body

            @router.get("/rerank/models", dependencies=[Depends(verify_api_key)])
            def rerank_models():
                return []
            """,
            filename="app/rerank.py",
            files={"app/__init__.py": "", "app/auth.py": _AUTH_MODULE},
        ),
        Valid(
            """
            # Each endpoint reads the user it depends on: the parameter is not a guard.
            from typing import Annotated

            from fastapi import APIRouter, Depends

            from app.auth import User, get_current_user

            router = APIRouter(prefix="/notes")
            CurrentUser = Annotated[User, Depends(get_current_user)]

            @router.get("/")
            def list_notes(user: CurrentUser):
                return user.notes

            @router.post("/")
            def add_note(note: dict, user: CurrentUser):
                user.notes.append(note)
                return note

            @router.delete("/{note_id}")
            def delete_note(note_id: int, user: CurrentUser):
                user.notes.pop(note_id)
            """,
            filename="app/notes.py",
            files={
                "app/__init__.py": "",
                "app/auth.py": _AUTH_MODULE,
            },
        ),
        Valid(
            """
            # An inline instance is a new limiter per route: one shared one may count differently.
            from fastapi import APIRouter, Depends

            from app.limits import RateLimiter

            router = APIRouter()

            @router.get("/search", dependencies=[Depends(RateLimiter(times=10, seconds=60))])
            def search(q: str):
                return []

            @router.get("/suggest", dependencies=[Depends(RateLimiter(times=10, seconds=60))])
            def suggest(q: str):
                return []

            @router.get("/export", dependencies=[Depends(RateLimiter(times=10, seconds=60))])
            def export():
                return []
            """,
            filename="app/search.py",
            files={
                "app/__init__.py": "",
                "app/limits.py": "class RateLimiter:\n    def __init__(self, times: int, seconds: int) -> None: ...\n    def __call__(self) -> None: ...\n",
            },
        ),
        Valid(
            """
            # Included with the dependency already: the per-route markers are redundant, not missing.
            from fastapi import Depends, FastAPI

            from app import reports
            from app.auth import verify_api_key

            app = FastAPI()
            app.include_router(reports.router, dependencies=[Depends(verify_api_key)])
            """,
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/auth.py": _AUTH_MODULE,
                "app/reports.py": """
from fastapi import APIRouter, Depends

from app.auth import verify_api_key

router = APIRouter(prefix="/reports")

@router.get("/daily", dependencies=[Depends(verify_api_key)])
def daily():
    return []

@router.get("/weekly", dependencies=[Depends(verify_api_key)])
def weekly():
    return []

@router.get("/monthly", dependencies=[Depends(verify_api_key)])
def monthly():
    return []
""",
            },
        ),
        Valid(
            """
            # The router is handed to a helper that may register routes the analysis cannot see.
            from fastapi import APIRouter, Depends

            from app.auth import require_admin
            from app.crud import register_crud

            router = APIRouter(prefix="/teams")

            @router.get("/", dependencies=[Depends(require_admin)])
            def list_teams():
                return []

            @router.post("/", dependencies=[Depends(require_admin)])
            def create_team(team: dict):
                return team

            @router.delete("/{team_id}", dependencies=[Depends(require_admin)])
            def delete_team(team_id: int):
                return None

            register_crud(router, "members")
            """,
            filename="app/teams.py",
            files={
                "app/__init__.py": "",
                "app/auth.py": _AUTH_MODULE,
                "app/crud.py": "def register_crud(router, name):\n    return None\n",
            },
        ),
        Valid(
            """
            # An unused bundle of query parameters guards nothing: a dead parameter, not a guard.
            from typing import Annotated

            from fastapi import APIRouter, Depends, Header

            class CommonQueryParamsClass:
                def __init__(self, client: str | None = None, user_agent: str | None = Header(None)):
                    self.client = client
                    self.user_agent = user_agent

            CommonQueryParams = Annotated[CommonQueryParamsClass, Depends()]
            api_agents = APIRouter()

            @api_agents.get("")
            async def all_agents(common: CommonQueryParams):
                return []

            @api_agents.get("/{slug}")
            async def get_agent(slug: str, common: CommonQueryParams):
                return {"slug": slug}

            @api_agents.delete("/{slug}")
            async def delete_agent(slug: str, common: CommonQueryParams):
                return None
            """,
            filename="app/api_agents.py",
        ),
        Valid(
            """
            # The router includes another: a router dependency would also cover the child's routes.
            from fastapi import APIRouter, Depends

            from app.auth import get_current_user
            from app.public import router as public_router

            router = APIRouter(prefix="/v1")

            @router.get("/projects", dependencies=[Depends(get_current_user)])
            def projects():
                return []

            @router.get("/billing", dependencies=[Depends(get_current_user)])
            def billing():
                return []

            @router.get("/settings", dependencies=[Depends(get_current_user)])
            def settings():
                return {}

            router.include_router(public_router)
            """,
            filename="app/v1.py",
            files={
                "app/__init__.py": "",
                "app/auth.py": _AUTH_MODULE,
                "app/public.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n@router.get('/status')\ndef status():\n    return {}\n",
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import APIRouter, Depends

            from app.auth import require_admin

            router = APIRouter(prefix="/admin", tags=["admin"])

            @router.get("/users", dependencies=[Depends(require_admin)])
            def list_users():
                return []

            @router.delete("/users/{user_id}", dependencies=[Depends(require_admin)])
            def delete_user(user_id: int):
                return None

            @router.post(
                "/cache/purge",
                status_code=204,
                dependencies=[Depends(require_admin)],
            )
            def purge_cache():
                return None
            """,
            lines=(5,),
            fixed="""
            from fastapi import APIRouter, Depends

            from app.auth import require_admin

            router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])

            @router.get("/users")
            def list_users():
                return []

            @router.delete("/users/{user_id}")
            def delete_user(user_id: int):
                return None

            @router.post(
                "/cache/purge",
                status_code=204,
            )
            def purge_cache():
                return None
            """,
            filename="app/admin.py",
            files={"app/__init__.py": "", "app/auth.py": _AUTH_MODULE},
        ),
        Invalid(
            """
            # A guard taken as an unused parameter, spelled through two imports: the same dependency.
            from fastapi import APIRouter, Depends, Security

            from app import auth
            from app.auth import User, get_current_user as current_user

            router = APIRouter(prefix="/invoices")

            @router.get("/")
            def list_invoices(_: User = Security(auth.get_current_user, scopes=["billing"])):
                return []

            @router.post("/", dependencies=[Security(current_user, scopes=["billing"])])
            def create_invoice(invoice: dict):
                return invoice

            @router.post("/{invoice_id}/send")
            def send_invoice(invoice_id: int, user: User = Security(current_user, scopes=["billing"])):
                return {"sent": invoice_id}
            """,
            lines=(7,),
            filename="app/invoices.py",
            files={
                "app/__init__.py": "",
                "app/auth.py": _AUTH_MODULE,
            },
        ),
        Invalid(
            """
            # Routes of one router in several files: reported at the router's construction.
            from fastapi import APIRouter, Depends

            from app.tenancy import check_tenant

            router = APIRouter(prefix="/api")
            """,
            lines=(6,),
            filename="app/api/__init__.py",
            files={
                "app/__init__.py": "",
                "app/tenancy.py": _AUTH_MODULE,
                "app/api/orders.py": """
from fastapi import Depends

from app.api import router
from app.tenancy import check_tenant

@router.get("/orders", dependencies=[Depends(check_tenant)])
def list_orders():
    return []

@router.post("/orders", dependencies=[Depends(check_tenant)])
def create_order(order: dict):
    return order
""",
                "app/api/products.py": """
from fastapi import Depends

from app.api import router
from app.tenancy import check_tenant

@router.get("/products", dependencies=[Depends(check_tenant)])
def list_products():
    return []
""",
                "app/main.py": """
from fastapi import FastAPI

from app.api import orders, products, router

app = FastAPI()
app.include_router(router)
""",
            },
        ),
        Invalid(
            """
            # Built in one file, every route in another: reported at the first route.
            from fastapi import Depends

            from app.routers import admin_router
            from app.auth import require_admin

            @admin_router.get("/audit", dependencies=[Depends(require_admin), Depends(log_access)])
            def audit():
                return []

            @admin_router.post("/reindex", dependencies=[Depends(log_access), Depends(require_admin)])
            def reindex():
                return None

            @admin_router.websocket("/events", dependencies=[Depends(require_admin)])
            async def events(websocket):
                await websocket.accept()

            def log_access():
                return None
            """,
            lines=(7,),
            filename="app/admin_routes.py",
            files={
                "app/__init__.py": "",
                "app/auth.py": _AUTH_MODULE,
                "app/routers.py": "from fastapi import APIRouter\n\nadmin_router = APIRouter(prefix='/admin')\n",
            },
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        project = ctx.project
        model = project.fastapi
        by_router: dict[str, list[Route]] = defaultdict(list)
        for route in model.routes:
            by_router[route.router].append(route)
        candidates: list[tuple[RouterObject, list[Route], dict[DepKey, list[_Declaration]]]] = []
        for ref, routes in by_router.items():
            if len(routes) < _MIN_ROUTES or ref.startswith("?") or ".<self." in ref:
                continue
            if _endpoint_count(routes) < _MIN_ROUTES:
                continue  # aliases of one or two endpoints: too few to call it a pattern
            obj = model.objects.get(ref)
            if obj is None or obj.module.is_test or not _plain_constructor(project, obj):
                continue
            common = _common(project, routes)
            if not common:
                continue
            inherited = _inherited(model, ref)
            if inherited is None:
                continue
            common = {k: v for k, v in common.items() if k not in inherited}
            if common:
                candidates.append((obj, routes, common))
        if not candidates:
            return
        escaping = _escaping(project, model, [obj for obj, _, _ in candidates])
        for obj, routes, common in candidates:
            if obj.ref in escaping:
                continue
            for decls in sorted(common.values(), key=_spelled):
                self._report(ctx, model, obj, routes, decls)

    def _report(
        self, ctx: ProjectContext, model: FastAPIModel, obj: RouterObject, routes: list[Route], decls: list[_Declaration]
    ) -> None:
        assert obj.node is not None
        name = _written_name(obj.ref)
        spelled = _spelled(decls)
        modules = {r.module for r in routes}
        if obj.module in modules or len(modules) > 1:
            where_module, where = obj.module, obj.node
        else:
            first = min(routes, key=lambda r: (r.node.lineno, r.node.col_offset))
            where_module, where = first.module, first.node
        callee = (decls[0].dep.target or "").rsplit(".", 1)[-1]
        risk = "is silently unauthenticated" if _guards_access(model, decls[0].dep) else f"silently skips `{callee}`"
        constructor = "FastAPI" if obj.kind == "app" else "APIRouter"
        forms = {d.decorator_list is not None for d in decls}
        where_declared = {
            frozenset({True}): "the decorators",
            frozenset({False}): "the unused parameters",
        }.get(frozenset(forms), "the decorators and the unused parameters")
        message = (
            f"All {len(routes)} routes of `{name}` declare `{spelled}` one by one, so the next route added to "
            f"`{name}` without it {risk}; declare it once as `{constructor}(dependencies=[{spelled}])` "
            f"and drop it from {where_declared}."
        )
        chain = [
            ChainLink(
                d.route.module.source.location(d.route.node),
                f"`{_route_label(d.route)}` declares it"
                + ("" if d.decorator_list is not None else f" as the unused parameter `{d.dep.param}`"),
            )
            for d in decls
        ]
        fix = _fix(ctx.project, obj, decls)
        ctx.report(where_module, where, message, fix=fix, chain=chain)
