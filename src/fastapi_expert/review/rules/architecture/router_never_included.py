from __future__ import annotations

import ast
from collections import Counter

from fastapi_expert.review.model.fastapi_model import FastAPIModel, RouterObject
from fastapi_expert.review.model.module import (
    FunctionInfo,
    ModuleInfo,
    child_nodes,
    own_nodes,
    own_nodes_of,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.architecture._deps import is_route_owner_use
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.types import Severity

_INCLUDES = frozenset({"include_router", "mount"})


def _scopes(module: ModuleInfo) -> list[tuple[FunctionInfo | None, ast.AST]]:
    return [(None, module.tree), *((f, f.node) for f in module.all_functions)]


def _own(node: ast.AST) -> tuple[ast.AST, ...]:
    """Nodes of a scope, not descending into nested functions or classes (cached on the node)."""
    return own_nodes(node)


def _router_bound(project: Project, model: FastAPIModel, qualname: str | None) -> str | None:
    """The ref of the router a module-level name (`pkg.mod.router`) is bound to,
    through imports that rename it."""
    symbol = project.lookup(qualname)
    return model.object_built_by(symbol[1]) if isinstance(symbol, tuple) else None


def _included(project: Project, model: FastAPIModel) -> tuple[set[str], bool]:
    """Refs passed to `include_router`/`mount` anywhere (whatever the parent), and
    whether some include passes an expression no router resolves from."""
    included: set[str] = set()
    dynamic = False
    for module in project.modules:
        if not (module.spells("include_router") or module.spells("mount")):
            continue  # spares indexing every function of the project for two method names
        for func, scope in _scopes(module):
            for node in own_nodes_of(scope, ast.Call):
                if not (isinstance(node.func, ast.Attribute) and node.func.attr in _INCLUDES):
                    continue
                if node.func.attr == "include_router":
                    child = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "router"), None)
                else:
                    child = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "app"), None)
                if child is None:
                    continue
                ref = model.object_ref(module, func, child)
                if ref is None:
                    dynamic = dynamic or node.func.attr == "include_router"
                else:
                    included.add(ref)
    return included, dynamic


def _imported_by_name(project: Project, model: FastAPIModel, candidates: list[RouterObject]) -> set[str]:
    """Refs of the candidate routers in a module the project imports by its name
    (`importlib.import_module("app.plugins.billing")`, then `getattr(module,
    "router")` handed to `include_router`): defined there, or imported there when
    the name is a package's. Only files that import by name are read for the names."""
    names: set[str] = set()
    for module in project.modules:
        if module.is_test or not (module.spells("import_module") or module.spells("__import__")):
            continue
        for _, scope in _scopes(module):
            names |= {n.value for n in own_nodes_of(scope, ast.Constant) if isinstance(n.value, str) and "." in n.value}
    if not names:
        return set()
    found: set[str] = set()
    for name in names:
        target = project.find_module(name)
        if target is None:
            continue
        # Its own routers, and those of the modules it star-imports (`from .endpoints import *`).
        modules = {id(target), *(id(m) for star in target.star_imports if (m := project.find_module(star)) is not None)}
        found |= {obj.ref for obj in candidates if id(obj.module) in modules}
        found |= {ref for qualname in target.imports.values() if (ref := _router_bound(project, model, qualname)) is not None}
    return found


def _last_name(ref: str) -> tuple[bool, str]:
    """The name a router is written with in code, and whether it lives on `self`."""
    if ".<self." in ref:
        return True, ref.split(".<self.", 1)[1].rstrip(">")
    return False, ref.rsplit(".", 1)[-1].strip("<>")


def _referenced(project: Project, model: FastAPIModel, candidates: list[RouterObject]) -> set[str]:
    """Refs of the candidate routers that are used anywhere other than to register
    their own routes. One pass over the project for all candidates; a node is
    resolved only when its name is one of theirs."""
    wanted: dict[str, list[tuple[RouterObject, bool]]] = {}
    for obj in candidates:
        on_self, name = _last_name(obj.ref)
        wanted.setdefault(name, []).append((obj, on_self))
    found: set[str] = set()
    for module in project.modules:
        if not any(module.spells(name) for name in wanted):
            continue  # no identifier of this module can be one of the names
        for func, scope in _scopes(module):
            # Names first, then attributes: each hit is judged on its own, so
            # their order does not change what is found.
            hits: list[ast.Name | ast.Attribute] = [
                n for n in own_nodes_of(scope, ast.Name) if n.id in wanted and isinstance(n.ctx, ast.Load)
            ]
            hits += [n for n in own_nodes_of(scope, ast.Attribute) if n.attr in wanted and isinstance(n.ctx, ast.Load)]
            if not hits:
                continue
            nodes = _own(scope)
            parents: dict[int, ast.AST] = {}
            for node in nodes:
                for child in child_nodes(node):
                    parents[id(child)] = node
            for node in hits:
                if is_route_owner_use(parents.get(id(node)), node):
                    continue
                name = node.id if isinstance(node, ast.Name) else node.attr
                for obj, on_self in wanted[name]:
                    # A router kept on `self` is reached through other objects
                    # (`self.pubsub.pubsub_router`), whose types we cannot follow:
                    # the attribute name is the evidence.
                    if obj.ref not in found and (
                        (on_self and isinstance(node, ast.Attribute)) or model.object_ref(module, func, node) == obj.ref
                    ):
                        found.add(obj.ref)
    return found


class RouterNeverIncluded(Rule):
    """Flags an `APIRouter` with routes that is never included: its endpoints are dead.

    ## What it does
    In a project with at least one `FastAPI()` app, finds every `APIRouter()`
    bound to a name that has routes registered on it but is never passed to
    `include_router()` (or `mount()`) anywhere, whatever the parent and however
    it is imported (`app.include_router(users.router)`,
    `from .users import router as users_router`, also through a package that
    re-exports it under another name). When some
    `include_router()` call receives an expression that cannot be resolved (a
    loop over a list of routers), a router that is referenced anywhere besides
    its own route decorators is assumed to be included, and so is one in a
    module the project imports by its name (`importlib.import_module(
    "app.features.billing")`, lazy registration) or re-exported by such a
    package.

    ## Why is this bad?
    Routes live on the router object; until it is included into the app they are
    never registered. The endpoints return 404, are missing from the OpenAPI
    docs, and their tests (which often build their own app) still pass, so the
    mistake ships. It usually means a forgotten `include_router` line after a
    refactor, or dead code that should be deleted.

    ## References
    - https://fastapi.tiangolo.com/tutorial/bigger-applications/#include-the-apirouters-for-users-and-items
    - https://fastapi.tiangolo.com/reference/apirouter/
    """

    code = "FX114"
    name = "router-never-included"
    summary = "An `APIRouter` with routes is never passed to `include_router()`."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import APIRouter

            router = APIRouter(prefix="/users", tags=["users"])

            @router.get("/{user_id}")
            def read_user(user_id: int):
                return {"id": user_id}
            """,
            filename="app/users.py",
            files={
                "app/__init__.py": "",
                "app/main.py": """
from fastapi import FastAPI

from app import users
from app.items import router as items_router

app = FastAPI()
app.include_router(users.router)
app.include_router(items_router)
""",
                "app/items.py": """
from fastapi import APIRouter

router = APIRouter(prefix="/items")

@router.get("/")
def list_items():
    return []
""",
            },
        ),
        Valid(
            """
            from fastapi import APIRouter

            router = APIRouter(prefix="/orders")

            @router.post("/")
            def create_order(order: dict):
                return order
            """,
            filename="app/orders.py",
            files={
                "app/__init__.py": "",
                "app/main.py": """
from fastapi import FastAPI

from app import orders

ROUTERS = [orders.router]

def create_app() -> FastAPI:
    application = FastAPI()
    for r in ROUTERS:
        application.include_router(r)
    return application
""",
            },
        ),
        Valid(
            """
            from fastapi import FastAPI
            from app.pubsub import PubSub

            class Server:
                def __init__(self) -> None:
                    self.pubsub = PubSub()

                def build(self) -> FastAPI:
                    app = FastAPI()
                    app.include_router(self.pubsub.pubsub_router, tags=["pubsub"])
                    return app
            """,
            filename="app/server.py",
            files={
                "app/__init__.py": "",
                "app/pubsub.py": """
                    from fastapi import APIRouter

                    class PubSub:
                        def __init__(self) -> None:
                            self.pubsub_router = APIRouter()

                            @self.pubsub_router.get("/pubsub/clients")
                            async def clients() -> list[str]:
                                return []
                """,
            },
        ),
        Valid(
            """
            # Re-exported by its package under another name, and included under that one.
            from fastapi import APIRouter

            router = APIRouter(prefix="/audits")

            @router.get("/")
            def list_audits():
                return []
            """,
            filename="app/v1/audits.py",
            files={
                "app/__init__.py": "",
                "app/v1/__init__.py": "from app.v1.audits import router as audits_router\n",
                "app/main.py": """
from fastapi import APIRouter, FastAPI

from app.v1 import audits_router

api = APIRouter(prefix="/v1")
api.include_router(audits_router)
app = FastAPI()
app.include_router(api)
""",
            },
        ),
        Valid(
            """
            # In a folder with no `__init__.py` inside the `app` package (a namespace package).
            from fastapi import APIRouter

            router = APIRouter(prefix="/users")

            @router.get("/")
            def list_users():
                return []
            """,
            filename="app/api/v1/users.py",
            files={
                "app/__init__.py": "",
                "app/api/v1/__init__.py": "",
                "app/main.py": """
from fastapi import FastAPI

from app.api.v1.users import router as users_router

app = FastAPI()
app.include_router(users_router)
""",
            },
        ),
        Valid(
            """
            # Its module is imported by name and its `router` taken with `getattr` (lazy registration).
            from fastapi import APIRouter

            router = APIRouter(prefix="/billing")

            @router.get("/invoices")
            def invoices():
                return []
            """,
            filename="app/features/billing.py",
            files={
                "app/__init__.py": "",
                "app/features/__init__.py": "",
                "app/main.py": """
import importlib

from fastapi import FastAPI

LAZY_FEATURES = ("app.features.billing",)

app = FastAPI()
for path in LAZY_FEATURES:
    app.include_router(getattr(importlib.import_module(path), "router"))
""",
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import APIRouter

            router = APIRouter(prefix="/billing", tags=["billing"])

            @router.get("/invoices")
            def list_invoices():
                return []

            @router.post("/invoices")
            def create_invoice(invoice: dict):
                return invoice
            """,
            lines=(3,),
            filename="app/billing.py",
            files={
                "app/__init__.py": "",
                "app/main.py": """
from fastapi import FastAPI

from app.users import router as users_router

app = FastAPI()
app.include_router(users_router)
""",
                "app/users.py": """
from fastapi import APIRouter

router = APIRouter(prefix="/users")

@router.get("/me")
def me():
    return {}
""",
            },
        ),
        Invalid(
            """
            from fastapi import APIRouter, FastAPI

            app = FastAPI()
            public = APIRouter()
            admin = APIRouter(prefix="/admin")

            @public.get("/health")
            def health():
                return {"ok": True}

            @admin.delete("/cache")
            def purge_cache():
                return {"purged": True}

            app.include_router(public)
            """,
            lines=(5,),
            filename="app/main.py",
            files={"app/__init__.py": ""},
        ),
        Invalid(
            """
            # Routers are registered lazily by module name, but this module is not in the list.
            from fastapi import APIRouter

            router = APIRouter(prefix="/reports")

            @router.get("/daily")
            def daily():
                return []
            """,
            lines=(4,),
            filename="app/features/reports.py",
            files={
                "app/__init__.py": "",
                "app/features/__init__.py": "",
                "app/features/billing.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n",
                "app/main.py": """
import importlib

from fastapi import FastAPI

LAZY_FEATURES = ("app.features.billing",)

app = FastAPI()
for path in LAZY_FEATURES:
    app.include_router(getattr(importlib.import_module(path), "router"))
""",
            },
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        model = ctx.project.fastapi
        if not model.apps:
            return
        counts = Counter(route.router for route in model.routes)
        included, dynamic = _included(ctx.project, model)
        candidates = [
            obj
            for ref, obj in model.objects.items()
            if obj.kind == "router" and obj.node is not None and ref not in included
            and not obj.module.is_test and counts.get(ref, 0)
        ]
        referenced: set[str] = set()
        if dynamic and candidates:
            # Some include takes a router we cannot resolve: one referenced elsewhere,
            # or living in a module imported by its name, may be the one it takes.
            referenced = _referenced(ctx.project, model, candidates)
            unresolved = [obj for obj in candidates if obj.ref not in referenced]
            if unresolved:
                referenced |= _imported_by_name(ctx.project, model, unresolved)
        for obj in candidates:
            ref, n = obj.ref, counts[obj.ref]
            if ref in referenced or obj.node is None:
                continue
            name = _last_name(ref)[1]
            ctx.report(
                obj.module,
                obj.node,
                f"`{name}` has {n} route(s) but is never passed to `include_router()`, so its endpoints "
                f"are unreachable; include it in the app (`app.include_router({name})`) or delete it.",
            )
