from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from fastapi_expert.review.model.fastapi_model import RouterObject
from fastapi_expert.review.model.module import FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.testing._tests import fixture_name, is_testclient_call

_ENTER_CALLS = frozenset({"enter_context", "enter_async_context", "callback"})


def _module_level_nodes(module: ModuleInfo) -> Iterator[ast.AST]:
    stack: list[ast.AST] = list(module.tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _startup_hooks(project: Project) -> dict[str, str]:
    """App/router ref -> how it runs code at startup (`lifespan=`, `on_event`, ...)."""
    model = project.fastapi
    out: dict[str, str] = {}
    for obj_ref, obj in model.objects.items():
        for kw in ("lifespan", "on_startup", "on_shutdown"):
            value = obj.keyword(kw)
            if value is None or (isinstance(value, ast.Constant) and value.value is None):
                continue
            if isinstance(value, ast.List | ast.Tuple) and not value.elts:
                continue
            out[obj_ref] = f"`{kw}=`"
            break

    def owner_ref(module: ModuleInfo, scope: FunctionInfo | None, owner: ast.expr) -> str | None:
        if isinstance(owner, ast.Attribute) and owner.attr == "router":
            owner = owner.value
        return model.object_ref(module, scope, owner)

    for module in project.modules:
        if not module.imports_module("fastapi") and not module.imports_module("starlette"):
            continue
        scopes: list[tuple[FunctionInfo | None, Iterable[ast.AST]]] = [(None, _module_level_nodes(module))]
        scopes += [(f, own_nodes(f.node)) for f in module.all_functions]
        for func in module.all_functions:
            for deco in func.node.decorator_list:
                if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and deco.func.attr == "on_event":
                    ref = owner_ref(module, func.parent, deco.func.value)
                    if ref is not None:
                        out.setdefault(ref, "`on_event` handlers")
        for scope, nodes in scopes:
            for node in nodes:
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_event_handler":
                    ref = owner_ref(module, scope, node.func.value)
                elif (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Attribute)
                    and node.targets[0].attr == "lifespan_context"
                ):
                    ref = owner_ref(module, scope, node.targets[0].value)
                else:
                    continue
                if ref is not None:
                    out.setdefault(ref, "startup handlers")
    return out


def _entered(module: ModuleInfo) -> set[str]:
    """Source texts of the expressions a module enters as context managers."""
    out: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.withitem):
            out.add(ast.unparse(node.context_expr))
        elif isinstance(node, ast.Attribute) and node.attr in {"__enter__", "__aenter__"}:
            out.add(ast.unparse(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _ENTER_CALLS:
            out.update(ast.unparse(a) for a in node.args)
    return out


class TestclientWithoutLifespan(Rule):
    """Flags `TestClient(app)` not entered with `with` when the app has a lifespan.

    ## What it does
    Finds a `TestClient(...)` (FastAPI's or Starlette's) that is built but never
    entered as a context manager (`client = TestClient(app)` at module level, a
    fixture that returns `TestClient(app)`, `TestClient(app).get(...)`), when the
    app it wraps runs code at startup: a `lifespan=` function, `on_startup=` /
    `on_shutdown=` handlers, `@app.on_event(...)` or `app.add_event_handler(...)`.
    The app is resolved through the project (also through a factory such as
    `TestClient(create_app())`); when it cannot be, any app of the project with a
    lifespan counts. A client that is entered later (`with client:`,
    `client.__enter__()`, `stack.enter_context(client)`, or `with <fixture>:` in
    the tests that receive it) is not reported.

    ## Why is this bad?
    Starlette's `TestClient` sends the ASGI `lifespan` startup and shutdown events
    only inside a `with` block. Without it, the tests run against an app whose
    startup never happened: the database engine, HTTP clients, caches and
    anything else the lifespan puts on `app.state` are missing, so tests either
    fail in confusing ways or, worse, pass against different wiring than
    production (and shutdown code is never exercised).

    ## References
    - https://fastapi.tiangolo.com/advanced/testing-events/
    - https://www.starlette.io/lifespan/#running-lifespan-in-tests
    - https://www.starlette.io/testclient/
    """

    code = "FX604"
    name = "testclient-without-lifespan"
    summary = "`TestClient(app)` outside a `with` block never runs the app's lifespan."

    valid = (
        Valid(
            """
            import pytest
            from fastapi.testclient import TestClient

            from app.main import app


            @pytest.fixture
            def client():
                with TestClient(app) as c:
                    yield c


            def test_health(client):
                assert client.get("/health").json() == {"db": "up"}
            """,
            filename="tests/conftest.py",
            files={
                "app/main.py": """
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import create_async_engine


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.engine = create_async_engine("sqlite+aiosqlite:///./app.db")
    yield
    await app.state.engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health(request: Request):
    return {"db": "up" if request.app.state.engine else "down"}
""",
            },
        ),
        Valid(
            """
            from fastapi.testclient import TestClient

            from app.main import app

            client = TestClient(app)


            def test_read_item():
                assert client.get("/items/1").json() == {"id": 1}
            """,
            filename="tests/test_items.py",
            files={
                "app/main.py": """
from fastapi import FastAPI

app = FastAPI()  # no lifespan, no startup handlers: nothing is skipped


@app.get("/items/{item_id}")
def read_item(item_id: int):
    return {"id": item_id}
""",
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi.testclient import TestClient

            from app.main import app

            client = TestClient(app)


            def test_health():
                assert client.get("/health").status_code == 200
            """,
            lines=(5,),
            filename="tests/test_health.py",
            files={
                "app/main.py": """
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.http = httpx.AsyncClient()
    yield
    await app.state.http.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health():
    return {"ok": True}
""",
            },
        ),
        Invalid(
            """
            import pytest
            from starlette.testclient import TestClient as TC

            from app.factory import create_app


            @pytest.fixture
            def client():
                return TC(create_app())


            def test_index(client):
                assert client.get("/").status_code == 200
            """,
            lines=(9,),
            filename="tests/test_index.py",
            files={
                "app/factory.py": """
from fastapi import FastAPI

from app.db import connect, disconnect


def create_app() -> FastAPI:
    app = FastAPI()
    app.add_event_handler("startup", connect)
    app.add_event_handler("shutdown", disconnect)

    @app.get("/")
    def index():
        return {"ok": True}

    return app
""",
                "app/db.py": """
async def connect():
    ...


async def disconnect():
    ...
""",
            },
        ),
    )

    def __init__(self) -> None:
        self._hooks: dict[str, str] | None = None
        self._entered: dict[str, set[str]] = {}

    def _startup(self, project: Project) -> dict[str, str]:
        if self._hooks is None:
            self._hooks = _startup_hooks(project)
        return self._hooks

    def _entered_in(self, module: ModuleInfo) -> set[str]:
        found = self._entered.get(module.path)
        if found is None:
            found = _entered(module)
            self._entered[module.path] = found
        return found

    def _app_hook(self, call: ast.Call, ctx: FileContext) -> str | None:
        """How the wrapped app starts up, or None when it runs nothing at startup."""
        hooks = self._startup(ctx.project)
        if not hooks:
            return None
        app_expr = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "app"), None)
        if app_expr is None:
            return None
        model = ctx.project.fastapi
        objects: list[RouterObject] = []
        if isinstance(app_expr, ast.Name | ast.Attribute):
            ref = model.object_ref(ctx.module, ctx.function(), app_expr)
            if ref is not None:
                return hooks.get(ref)
        elif isinstance(app_expr, ast.Call):
            factory = ctx.project.lookup(ctx.call_target(app_expr))
            if isinstance(factory, FunctionInfo):
                prefix = f"{factory.qualname}.<"
                objects = [o for r, o in model.objects.items() if r.startswith(prefix) and o.kind == "app"]
                if objects:
                    return next((hooks[o.ref] for o in objects if o.ref in hooks), None)
        # Unresolvable: any app of the project with a lifespan counts.
        return next((hooks[a.ref] for a in model.apps if a.ref in hooks), None)

    def _entered_later(self, call: ast.Call, ctx: FileContext) -> bool | None:
        """True if the client is entered somewhere, False if never, None when not reportable."""
        parent = ctx.parent
        if isinstance(parent, ast.Assign | ast.AnnAssign):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            names = {ast.unparse(t) for t in targets}
            if names & self._entered_in(ctx.module):
                return True
            func = ctx.function()
            if func is not None and any(
                isinstance(n, ast.Return | ast.Yield) and n.value is not None and ast.unparse(n.value) in names
                for n in own_nodes(func.node)
            ):
                return self._fixture_entered(func, ctx)
            return False
        if isinstance(parent, ast.Return | ast.Yield):
            func = ctx.function()
            return self._fixture_entered(func, ctx) if func is not None else None
        if isinstance(parent, ast.Attribute):
            return False  # `TestClient(app).get(...)`
        return None  # entered (`with`), passed on, or stored somewhere we do not follow

    def _fixture_entered(self, func: FunctionInfo, ctx: FileContext) -> bool:
        name = fixture_name(func) or func.name
        return any(name in self._entered_in(m) for m in ctx.project.modules if m.is_test or m is ctx.module)

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if not is_testclient_call(ctx.project, ctx.module, node):
            return
        entered = self._entered_later(node, ctx)
        if entered is None or entered:
            return
        hook = self._app_hook(node, ctx)
        if hook is None:
            return
        text = ctx.source.segment(node)
        if "\n" in text or len(text) > 60:
            text = "TestClient(...)"
        ctx.report(
            node,
            f"`{text}` is never entered with `with`, so the app's lifespan "
            f"({hook}) does not run in these tests; use `with TestClient(app) as client:` "
            "(and `yield client` from a fixture).",
        )
