from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_expert.review.model.fastapi_model import (
    APP_CLASSES,
    ROUTER_CLASSES,
    FastAPIModel,
    Include,
    Route,
    keyword,
)
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.types import ChainLink, Severity

# A statement's place in its scope: the index in the scope's body, then for each
# compound statement entered, the block (`body`, `orelse`, `finalbody`, or
# `handlers`/`cases` with the handler's or case's index) and the index in it.
Block = tuple[str, int]
Step = tuple[Block, int]
Place = tuple[Step, ...]

_ROOT: Block = ("", 0)
_PLAIN_BLOCKS = ("body", "orelse", "finalbody")
_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Which block of a compound statement runs after which, whenever both run: a
# loop's `else` after its body; a `try`'s `else` after its body, its `finally`
# after everything. Branches of an `if`, handlers and `match` cases exclude each
# other, and an except handler may run before the statement of its body that
# failed: none of these orders is certain.
_LATER_BLOCKS: dict[str, frozenset[tuple[str, str]]] = {
    "For": frozenset({("body", "orelse")}),
    "AsyncFor": frozenset({("body", "orelse")}),
    "While": frozenset({("body", "orelse")}),
    "Try": frozenset({("body", "orelse"), ("body", "finalbody"), ("orelse", "finalbody"), ("handlers", "finalbody")}),
    "TryStar": frozenset({("body", "orelse"), ("body", "finalbody"), ("orelse", "finalbody"), ("handlers", "finalbody")}),
}
# Methods a project subclass may override to change what including or adding does.
_OVERRIDES = ("include_router", "add_api_route", "add_api_websocket_route", "api_route", "add_route")


@dataclass(frozen=True)
class _Where:
    """Where a call runs: its scope (the module or a function) and its place there."""

    scope: ast.AST
    place: Place
    statement: ast.stmt


def _header(stmt: ast.stmt) -> list[ast.AST]:
    """The expressions a statement evaluates where it stands: a `def`'s or a
    class's decorators (and a class's bases), not their bodies, which run later
    or are another scope; a compound statement's test, iterator or context
    managers, not its blocks."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return list(stmt.decorator_list)
    if isinstance(stmt, ast.ClassDef):
        return [*stmt.decorator_list, *stmt.bases, *stmt.keywords]
    out: list[ast.AST] = []
    for name, value in ast.iter_fields(stmt):
        if name in _PLAIN_BLOCKS or name in ("handlers", "cases"):
            continue
        if isinstance(value, ast.AST):
            out.append(value)
        elif isinstance(value, list):
            out.extend(item for item in value if isinstance(item, ast.AST))
    return out


def _calls(roots: list[ast.AST]) -> Iterator[ast.Call]:
    """The calls in these expressions that run with them: a lambda's body runs later."""
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _blocks(stmt: ast.stmt) -> Iterator[tuple[Block, list[ast.stmt]]]:
    if isinstance(stmt, _NESTED_SCOPES):
        return
    for name in _PLAIN_BLOCKS:
        block = getattr(stmt, name, None)
        if isinstance(block, list) and block:
            yield (name, 0), block
    for name in ("handlers", "cases"):
        for i, part in enumerate(getattr(stmt, name, None) or ()):
            yield (name, i), part.body


def _places(scope: ast.AST, body: list[ast.stmt], wanted: set[int], out: dict[int, _Where]) -> None:
    """Record where each wanted call of a scope runs (by the call's id)."""
    stack: list[tuple[list[ast.stmt], Block, Place]] = [(body, _ROOT, ())]
    while stack:
        block, key, above = stack.pop()
        for i, stmt in enumerate(block):
            place = (*above, (key, i))
            for call in _calls(_header(stmt)):
                if id(call) in wanted:
                    out[id(call)] = _Where(scope, place, stmt)
            for inner_key, inner in _blocks(stmt):
                stack.append((inner, inner_key, place))


def _statement_at(body: list[ast.stmt], place: Place) -> ast.stmt:
    """The compound statement a place's steps go through (to read its type)."""
    block, stmt = body, body[0]
    for step, (key, i) in enumerate(place):
        if step:
            name, index = key
            owner = getattr(stmt, name)
            block = owner[index].body if name in ("handlers", "cases") else owner
        stmt = block[i]
    return stmt


def _runs_after(first: Place, then: Place, body: list[ast.stmt]) -> bool:
    """Does the statement at `then` run after the one at `first` whenever both run?"""
    for depth, (a, b) in enumerate(zip(first, then, strict=False)):
        if a == b:
            continue
        (key_a, index_a), (key_b, index_b) = a, b
        if key_a == key_b:
            return index_b > index_a  # one block: source order is execution order
        # Two blocks of the same compound statement.
        owner = _statement_at(body, first[:depth])
        return (key_a[0], key_b[0]) in _LATER_BLOCKS.get(type(owner).__name__, frozenset())
    return False  # one statement inside the other: no order between them


def _root_name(expr: ast.expr) -> str | None:
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def _stores(scope_body: list[ast.stmt], name: str, first: int, last: int) -> bool:
    """Is `name` bound again in the scope between two lines (a new router under the old name)?"""
    for stmt in scope_body:
        for node in ast.walk(stmt):
            line = getattr(node, "lineno", 0)
            if not first < line <= last:
                continue
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store | ast.Del):
                return True
            if isinstance(node, _NESTED_SCOPES) and node.name == name:
                return True
            if isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name:
                return True
    return False


def _overrides_registration(project: Project, model: FastAPIModel, ref: str, expr: ast.expr | None, scope: ast.AST) -> bool:
    """Is the object built by a project subclass that redefines how routers are
    included or routes added (it may keep a reference, as `mount()` does), or of
    a class that cannot be told? An owner the model did not see built (`def
    setup(app: FastAPI)`) is read from its annotation."""
    obj = model.objects.get(ref)
    qualname: str | None = None
    if obj is not None and obj.node is not None:
        qualname = project.resolve(obj.module, obj.node.func)
    elif isinstance(expr, ast.Name) and (func := _function_of(project, model, ref, scope)) is not None:
        qualname = project.variable_types(func).get(expr.id)
    if qualname is None:
        return True
    if qualname in APP_CLASSES or qualname in ROUTER_CLASSES:
        return False
    cls = project.lookup(qualname)
    if not isinstance(cls, ClassInfo):
        return True
    return any(project.find_method(cls, name) for name in _OVERRIDES)


def _function_of(project: Project, model: FastAPIModel, ref: str, scope: ast.AST) -> FunctionInfo | None:
    obj = model.objects.get(ref)
    module = obj.module if obj is not None else None
    if module is None:
        return None
    return module.function_of_node.get(scope)


def _owner(call: ast.Call) -> ast.expr | None:
    return call.func.value if isinstance(call.func, ast.Attribute) else None


def _text(expr: ast.expr | None) -> str:
    return ast.unparse(expr) if expr is not None else "?"


def _child_text(include: Include) -> str:
    call = include.node
    child = call.args[0] if call.args else keyword(call, "router")
    return _text(child)


def _route_text(model: FastAPIModel, route: Route) -> str:
    """`GET /items/{item_id}`, with the router's own prefix (not the include's:
    the route never gets there)."""
    kind = "WebSocket" if route.is_websocket else "/".join(route.methods)
    if route.path is None:
        return f"a {kind} route"
    owner = model.objects.get(route.router)
    return f"{kind} {(owner.prefix if owner else '') + route.path}"


@dataclass(frozen=True)
class _Late:
    """One addition to a router after it was included: a route, or a child router."""

    call: ast.Call
    router: str
    route: Route | None
    include: Include | None


def _scope_bodies(module: ModuleInfo) -> dict[ast.AST, list[ast.stmt]]:
    bodies: dict[ast.AST, list[ast.stmt]] = {module.tree: module.tree.body}
    for func in module.all_functions:
        bodies[func.node] = func.node.body
    return bodies


class RouteAddedAfterInclude(Rule):
    """Flags a route or child router added to an `APIRouter` after that router was included.

    ## What it does
    Finds a route added to an `APIRouter` (`@router.get(...)`, `router.add_api_route(...)`,
    `@router.websocket(...)`...) or a child router included into it
    (`router.include_router(child)`) after the statement that included that
    router into an app or another router (`app.include_router(router)`), in the
    same scope: the module body (decorators run where the function is defined),
    or one function's body. Only what statement order proves is reported: the
    addition comes later in the same block, or in a block that always runs
    later (a loop's `else`, a `finally`), never in another branch of an `if`,
    an `except` handler or another `match` case. Routers built by a project
    subclass that redefines `include_router` or `add_api_route`, names bound
    again between the two statements, and routers included once more after
    the addition are left alone. `mount()` is not an include: a mounted app is
    kept by reference, so routes added to it later are served.

    ## Why is this bad?
    Up to FastAPI 0.136, `include_router()` copies the routes the included
    router has *at that call* into the parent (`FastAPI.include_router`
    delegates to `APIRouter.include_router`, which loops over `router.routes`
    and re-adds each one). Anything added to the router afterwards stays on the
    router object only: the endpoint answers 404 and is missing from the
    OpenAPI docs, and a child router included late loses all its routes the
    same way. Checked with a `TestClient` on FastAPI 0.136.3:
    `app.include_router(router)` followed by `@router.get("/me")` gives 404 on
    `/me`, as does `router.include_router(child)` after the include, while a
    route added to a mounted app after `mount()` answers 200. FastAPI 0.137
    made inclusion lazy: the parent keeps the router and reads its
    routes at request time, so the same code works there. Code that depends on
    it breaks on every earlier FastAPI, the order is easy to avoid, and a
    project pinning an older FastAPI ships dead endpoints whose own tests
    (which often build their own app) still pass.

    Off by default: the review does not know which FastAPI the project runs,
    and from 0.137 on the order is harmless. A project that supports older
    versions turns it on with `extend-select = ["FX111"]`.

    ## Example
    ```python
    app = FastAPI()
    router = APIRouter(prefix="/users")
    app.include_router(router)

    @router.get("/me")  # never served before FastAPI 0.137
    def me(): ...
    ```

    ## Use instead
    ```python
    app = FastAPI()
    router = APIRouter(prefix="/users")

    @router.get("/me")
    def me(): ...

    app.include_router(router)  # after every route of the router
    ```

    ## References
    - https://fastapi.tiangolo.com/tutorial/bigger-applications/#include-an-apirouter-in-another
    - https://github.com/fastapi/fastapi/pull/15745
    - https://github.com/fastapi/fastapi/issues/2846
    """

    code = "FX111"
    name = "route-added-after-include"
    summary = "A route or child router is added to an `APIRouter` after it was included; before FastAPI 0.137 it is lost."
    severity = Severity.WARNING
    default_enabled = False  # the bug exists only before FastAPI 0.137, which the review cannot see

    valid = (
        Valid(
            # The usual order: routes first, the include last.
            """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            router = APIRouter(prefix="/users")

            @router.get("/me")
            def read_me():
                return {"id": 1}

            app.include_router(router)
            """
        ),
        Valid(
            # The include runs when `create_app()` is called, long after the module
            # body (and its decorators) ran: another scope, no order to prove.
            """
            from fastapi import APIRouter, FastAPI

            router = APIRouter(prefix="/orders")

            def create_app() -> FastAPI:
                app = FastAPI()
                app.include_router(router)
                return app

            @router.get("/{order_id}")
            def read_order(order_id: int):
                return {"id": order_id}
            """
        ),
        Valid(
            # A mounted app is kept by reference: routes added after `mount()` are served.
            """
            from fastapi import FastAPI

            app = FastAPI()
            admin = FastAPI()
            app.mount("/admin", admin)

            @admin.get("/health")
            def admin_health():
                return {"ok": True}
            """
        ),
        Valid(
            # The include and the route are in two branches of one `if`: never both.
            """
            import os

            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            debug = APIRouter(prefix="/debug")

            if os.environ.get("DEBUG"):
                @debug.get("/vars")
                def env_vars():
                    return dict(os.environ)
                app.include_router(debug)
            else:
                @debug.get("/disabled")
                def disabled():
                    return {"debug": False}
            """
        ),
        Valid(
            # `router` is a new router when the route is added: the included one is complete.
            """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            router = APIRouter(prefix="/v1")

            @router.get("/items")
            def list_items_v1():
                return []

            app.include_router(router)
            router = APIRouter(prefix="/v2")

            @router.get("/items")
            def list_items_v2():
                return []

            app.include_router(router)
            """
        ),
        Valid(
            # The parent is added to after the include: a parent's own routes are its own.
            """
            from fastapi import APIRouter, FastAPI

            from app.users import router as users_router

            app = FastAPI()
            app.include_router(users_router)

            @app.get("/health")
            def health():
                return {"ok": True}
            """,
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/users.py": """
                    from fastapi import APIRouter

                    router = APIRouter(prefix="/users")

                    @router.get("/me")
                    def me():
                        return {}
                """,
            },
        ),
        Valid(
            # A project router class that keeps included routers by reference (as
            # `mount()` does): what a later route does depends on that class.
            """
            from fastapi import FastAPI

            from app.routing import LazyRouter

            app = FastAPI()
            plugins = LazyRouter(prefix="/plugins")
            app.include_router(plugins)

            @plugins.get("/list")
            def list_plugins():
                return []
            """,
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/routing.py": """
                    from fastapi import APIRouter

                    class LazyRouter(APIRouter):
                        def add_api_route(self, path, endpoint, **kwargs):
                            super().add_api_route(path, endpoint, **kwargs)
                            for parent in getattr(self, "parents", []):
                                parent.add_api_route(self.prefix + path, endpoint, **kwargs)
                """,
            },
        ),
        Valid(
            # The routes are registered by a function called before the include; what a
            # function does when called is not followed, and here it runs first anyway.
            """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            router = APIRouter(prefix="/reports")


            def register_routes() -> None:
                @router.get("/daily")
                def daily_report():
                    return []


            register_routes()
            app.include_router(router)
            """
        ),
        Valid(
            # A fallback route added in an `except` handler: the handler may run before
            # the include in the `try` body did (the import failed first).
            """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            metrics = APIRouter(prefix="/metrics")

            try:
                from prometheus_client import make_asgi_app

                app.include_router(metrics)
                app.mount("/metrics/raw", make_asgi_app())
            except ImportError:
                @metrics.get("/")
                def no_metrics():
                    return {"enabled": False}
            """
        ),
        Valid(
            # The parent is a parameter of unknown class (a plugin host may keep
            # routers by reference): nothing to prove.
            """
            from fastapi import APIRouter

            router = APIRouter(prefix="/admin")


            def install(host) -> None:
                host.include_router(router)

                @router.post("/reindex")
                def reindex():
                    return {"queued": True}
            """
        ),
    )
    invalid = (
        Invalid(
            # The classic: the include at the top of the routes module, the routes below it.
            """
            from fastapi import APIRouter, FastAPI

            app = FastAPI(title="Inventory")
            router = APIRouter(prefix="/items", tags=["items"])
            app.include_router(router)


            @router.get("/")
            def list_items():
                return []


            @router.post("/", status_code=201)
            def create_item(item: dict):
                return item


            router.add_api_route("/{item_id}", lambda item_id: {"id": item_id}, methods=["DELETE"])
            """,
            lines=(8, 13, 18),
        ),
        Invalid(
            # Nested: `api` is included into the app, then `billing` into `api`; and a
            # route added in a `finally` block, which always runs after the include.
            """
            from fastapi import APIRouter, FastAPI

            from app.routes import billing, users


            def create_app() -> FastAPI:
                app = FastAPI()
                api = APIRouter(prefix="/api")
                api.include_router(users.router)
                app.include_router(api)
                api.include_router(billing.router)
                try:
                    pass
                finally:
                    api.add_api_route("/ping", lambda: "pong")
                return app
            """,
            lines=(11, 15),
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/routes/__init__.py": "",
                "app/routes/users.py": """
                    from fastapi import APIRouter

                    router = APIRouter(prefix="/users")

                    @router.get("/me")
                    def me():
                        return {}
                """,
                "app/routes/billing.py": """
                    from fastapi import APIRouter

                    router = APIRouter(prefix="/billing")

                    @router.get("/invoices")
                    def invoices():
                        return []
                """,
            },
        ),
        Invalid(
            # The router is imported from another module and included at import;
            # the WebSocket route added below the include is lost. A conditional
            # include loses the route whenever it runs.
            """
            from fastapi import FastAPI, WebSocket

            from app.settings import settings
            from app.ws import router as ws_router

            app = FastAPI()
            if settings.enable_ws:
                app.include_router(ws_router)


            @ws_router.websocket("/events")
            async def events(websocket: WebSocket):
                await websocket.accept()
            """,
            lines=(11,),
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/settings.py": """
                    class Settings:
                        enable_ws = True

                    settings = Settings()
                """,
                "app/ws.py": """
                    from fastapi import APIRouter

                    router = APIRouter(prefix="/ws")
                """,
            },
        ),
        Invalid(
            # Routers included in a loop; one of them gets a route after the loop.
            """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            users = APIRouter(prefix="/users")
            teams = APIRouter(prefix="/teams")

            for router in (users, teams):
                app.include_router(router)


            @teams.get("/{team_id}/members")
            def team_members(team_id: int):
                return []
            """,
            lines=(11,),
        ),
        Invalid(
            # The app is a parameter, read from its annotation; the route is added
            # in the same function body, after the include.
            """
            from fastapi import APIRouter, FastAPI

            router = APIRouter(prefix="/admin")


            def install(app: FastAPI) -> None:
                app.include_router(router)

                @router.post("/reindex")
                def reindex():
                    return {"queued": True}
            """,
            lines=(9,),
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        project = ctx.project
        model = project.fastapi
        by_module: dict[ModuleInfo, list[Include]] = defaultdict(list)
        for inc in model.includes:
            func = inc.node.func
            if isinstance(func, ast.Attribute) and func.attr == "include_router":
                child = model.objects.get(inc.child)
                if child is not None and child.kind == "router":
                    by_module[inc.module].append(inc)
        if not by_module:
            return
        additions: dict[ModuleInfo, list[_Late]] = defaultdict(list)
        for route in model.routes:
            if route.module in by_module:
                additions[route.module].append(_Late(route.node, route.router, route, None))
        for inc in model.includes:
            if inc.module in by_module:
                additions[inc.module].append(_Late(inc.node, inc.parent, None, inc))
        for module, includes in by_module.items():
            self._check_module(ctx, project, model, module, includes, additions.get(module, []))

    def _check_module(
        self,
        ctx: ProjectContext,
        project: Project,
        model: FastAPIModel,
        module: ModuleInfo,
        includes: list[Include],
        additions: list[_Late],
    ) -> None:
        included = {inc.child for inc in includes}
        late = [a for a in additions if a.router in included]
        if not late:
            return  # no router of this module is added to after some include: skip the walk
        wanted = {id(inc.node) for inc in includes} | {id(a.call) for a in late}
        bodies = _scope_bodies(module)
        where: dict[int, _Where] = {}
        for scope, body in bodies.items():
            _places(scope, body, wanted, where)
        for addition in late:
            spot = where.get(id(addition.call))
            if spot is None:
                continue
            body = bodies[spot.scope]
            before = [
                inc
                for inc in includes
                if inc.child == addition.router
                and (at := where.get(id(inc.node))) is not None
                and at.scope is spot.scope
                and _runs_after(at.place, spot.place, body)
            ]
            if not before:
                continue
            include = before[-1]
            if self._excused(project, model, module, addition, include, includes, where, spot, body):
                continue
            self._report(ctx, module, addition, include)

    @staticmethod
    def _excused(
        project: Project,
        model: FastAPIModel,
        module: ModuleInfo,
        addition: _Late,
        include: Include,
        includes: list[Include],
        where: dict[int, _Where],
        spot: _Where,
        body: list[ast.stmt],
    ) -> bool:
        """The cases statement order does not settle: a subclass that may keep a
        reference, a name bound to another router in between, a second include
        of the same router after the addition."""
        if _overrides_registration(
            project, model, include.parent, _owner(include.node), spot.scope
        ) or _overrides_registration(project, model, addition.router, _owner(addition.call), spot.scope):
            return True
        owner = _owner(addition.call)
        name = _root_name(owner) if owner is not None else None
        if name is None or _stores(body, name, include.node.lineno, addition.call.lineno):
            return True
        return any(
            other.child == addition.router
            and (at := where.get(id(other.node))) is not None
            and at.scope is spot.scope
            and _runs_after(spot.place, at.place, body)
            for other in includes
        )

    def _report(self, ctx: ProjectContext, module: ModuleInfo, addition: _Late, include: Include) -> None:
        owner = _text(_owner(addition.call))
        parent = _text(_owner(include.node))
        line = include.node.lineno
        chain = [
            ChainLink(
                module.source.location(include.node),
                f"`{parent}.include_router({_child_text(include)})` copies the routes `{owner}` has at this point",
            )
        ]
        if addition.route is not None:
            what = f"`{_route_text(ctx.project.fastapi, addition.route)}`"
            message = (
                f"{what} is added to `{owner}` after line {line} included `{owner}` into `{parent}`; "
                f"before FastAPI 0.137 `include_router()` copies only the routes a router already has, "
                f"so this route never reaches `{parent}` (404, missing from the docs): declare it before "
                f"the include, or include `{owner}` after all its routes."
            )
        else:
            assert addition.include is not None
            child = _child_text(addition.include)
            message = (
                f"`{owner}.include_router({child})` comes after line {line} included `{owner}` into `{parent}`; "
                f"before FastAPI 0.137 `include_router()` copies only the routes a router already has, "
                f"so the routes of `{child}` never reach `{parent}` (404, missing from the docs): include "
                f"`{child}` into `{owner}` before `{owner}` is included."
            )
        ctx.report(module, addition.call, message, chain=chain)
