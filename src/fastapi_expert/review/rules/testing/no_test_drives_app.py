from __future__ import annotations

import ast
from pathlib import PurePosixPath

from fastapi_expert.review.model.module import ModuleInfo
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.review.rules.testing._tests import (
    ASGI_TRANSPORTS,
    HTTPX_ASYNC_CLIENTS,
    TESTCLIENT_CLASSES,
    class_is,
)
from fastapi_expert.types import Severity

# Other in-process drivers of an ASGI app: they exercise the HTTP layer too.
_OTHER_DRIVERS = frozenset(
    {
        "async_asgi_testclient.TestClient",
        "schemathesis.from_asgi",
        "schemathesis.openapi.from_asgi",
        "schemathesis.graphql.from_asgi",
    }
)
_INTERESTING_IMPORTS = ("fastapi", "starlette", "httpx", "async_asgi_testclient", "schemathesis")


_HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "websocket_connect"})


def _requests_a_path(call: ast.Call) -> bool:
    """`<client>.get("/items/1")`: a test sending a request to a route by path, whatever
    built the client (a fixture of a pytest plugin or a shared test package)."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in _HTTP_METHODS or not call.args:
        return False
    first = call.args[1] if func.attr == "request" and len(call.args) > 1 else call.args[0]
    if isinstance(first, ast.JoinedStr) and first.values:
        first = first.values[0]
    return isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("/")


def _drives_app(project: Project, module: ModuleInfo, call: ast.Call) -> bool:
    target = project.resolve(module, call.func)
    if target is None:
        return False
    if class_is(project, target, TESTCLIENT_CLASSES | ASGI_TRANSPORTS) or target in _OTHER_DRIVERS:
        return True
    if class_is(project, target, HTTPX_ASYNC_CLIENTS):
        # `AsyncClient(app=app)` (httpx < 0.28) or `AsyncClient(transport=...)`
        return any(kw.arg in {"app", "transport"} for kw in call.keywords)
    return False


def _test_scope(module: ModuleInfo) -> tuple[str, ...]:
    """The folder a test module's suite covers: what holds its `tests/` (or `test/`)
    folder, else its own folder (`pkg/plugin/tests/test_x.py` -> `pkg/plugin`)."""
    parts = PurePosixPath(module.path).parts[:-1]
    for i, part in enumerate(parts):
        if part in ("tests", "test"):
            return parts[:i]
    return parts


def _covers(scope: tuple[str, ...], module: ModuleInfo) -> bool:
    return PurePosixPath(module.path).parts[: len(scope)] == scope


class NoTestDrivesApp(Rule):
    """Flags a FastAPI project in which nothing sends requests to the app.

    ## What it does
    In a review that includes test modules and a `FastAPI()` app (outside the
    tests), looks at every module for an in-process client of the app:
    Starlette's `TestClient`, an `httpx.AsyncClient(transport=ASGITransport(app=app))` (or the older
    `AsyncClient(app=app)`), or a schema-driven runner such as Schemathesis'
    `from_asgi`, or a test that sends a request by path (`client.get("/items")`,
    whatever fixture built the client). When there is none, it reports once, on
    the first app's `FastAPI(...)` call.

    ## Why is this bad?
    Unit tests of services and models do not exercise what FastAPI itself does
    for every request: parameter and body validation (422), dependency
    resolution, authentication and authorization (401/403), response-model
    filtering, status codes and exception handlers. Those are where regressions
    in an API hide, and only a test that sends requests through the app catches
    them. FastAPI's own testing guide starts from `TestClient(app)`.

    The rule judges only what is under review: a review without any test module
    of the app (`fastapi-expert review src/`) is not reported, since its tests
    may live elsewhere. Test modules count when their folder (the one that holds
    their `tests/` folder) also holds the app: the tests a plugin ships in
    `pkg/plugins/x/tests/`, or a project template's `test_workflow.py`, test that
    part only, and say nothing about where the app's own tests are.

    ## References
    - https://fastapi.tiangolo.com/tutorial/testing/
    - https://fastapi.tiangolo.com/advanced/async-tests/
    - https://www.python-httpx.org/advanced/transports/#asgi-transport
    """

    code = "FX601"
    name = "no-test-drives-app"
    summary = "No test sends requests through the app (no `TestClient` or httpx `ASGITransport`)."
    severity = Severity.INFO

    valid = (
        Valid(
            """
            import pytest
            from httpx import ASGITransport, AsyncClient

            from app.main import app


            @pytest.fixture
            async def client():
                async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as ac:
                    yield ac
            """,
            filename="tests/conftest.py",
            files={
                "app/main.py": """
from fastapi import FastAPI

app = FastAPI(title="Items")


@app.get("/items/{item_id}")
async def read_item(item_id: int):
    return {"id": item_id}
""",
                "tests/test_items.py": """
async def test_read_item(client):
    response = await client.get("/items/1")
    assert response.status_code == 200
""",
            },
        ),
        Valid(
            """
            from fastapi.testclient import TestClient

            from app.main import app


            def test_read_item():
                with TestClient(app) as client:
                    assert client.get("/items/1").json() == {"id": 1}
            """,
            filename="tests/test_items.py",
            files={
                "app/main.py": """
from fastapi import FastAPI

app = FastAPI()


@app.get("/items/{item_id}")
def read_item(item_id: int):
    return {"id": item_id}
""",
            },
        ),
        Valid(
            # A published package: its own test suite is not shipped, only a plugin's tests and
            # a project template, which test those parts and not the app.
            """
            from fastapi import FastAPI

            app = FastAPI(title="Feature server")


            @app.post("/get-online-features")
            def get_online_features(body: dict) -> dict:
                return body
            """,
            filename="featurekit/feature_server.py",
            files={
                "featurekit/contrib/iceberg/__init__.py": "",
                "featurekit/contrib/iceberg/source.py": "def read_table(name: str) -> list[dict]:\n    return []\n",
                "featurekit/contrib/iceberg/tests/test_source.py": """
from featurekit.contrib.iceberg.source import read_table


def test_read_table():
    assert read_table("t") == []
""",
                "featurekit/templates/local/test_workflow.py": """
def run_demo() -> None:
    print("apply, materialize, fetch")
""",
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI

            from app.services import price_with_tax

            app = FastAPI(title="Shop")


            @app.get("/prices/{amount}")
            def price(amount: float):
                return {"gross": price_with_tax(amount)}
            """,
            lines=(5,),
            filename="app/main.py",
            files={
                "app/services.py": """
def price_with_tax(amount: float) -> float:
    return round(amount * 1.2, 2)
""",
                "tests/test_services.py": """
from app.services import price_with_tax


def test_price_with_tax():
    assert price_with_tax(10) == 12.0
""",
            },
        ),
        Invalid(
            """
            import fastapi as f


            def create_app() -> f.FastAPI:
                application = f.FastAPI(
                    title="Orders",
                )

                @application.post("/orders")
                async def create_order(order: dict):
                    return order

                return application
            """,
            lines=(5,),
            filename="app/factory.py",
            files={
                "tests/conftest.py": """
import httpx
import pytest


@pytest.fixture
def http():
    # talks to a deployed server, not to the app under test
    with httpx.Client(base_url="https://staging.example.com") as client:
        yield client
""",
            },
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        project = ctx.project
        apps = [a for a in project.fastapi.apps if a.node is not None and not a.module.is_test]
        if not apps:
            return
        if not any(
            m.is_test and any(_covers(_test_scope(m), a.module) for a in apps) for m in project.modules
        ):
            return  # the app's tests are not under review (`review src/`): nothing to judge
        for module in project.modules:
            drivers = any(module.imports_module(m) for m in _INTERESTING_IMPORTS)
            if not drivers and not module.is_test:
                continue
            # The file's calls from the index the other rules share (any order will
            # do: one driving call is enough), not a fresh walk of every node.
            for node in module.nodes_of(ast.Call):
                if (drivers and _drives_app(project, module, node)) or (module.is_test and _requests_a_path(node)):
                    return
        first = apps[0]
        assert first.node is not None
        ctx.report(
            first.module,
            first.node,
            "No reviewed test sends requests through this app (no `TestClient(app)` or "
            "`httpx.AsyncClient(transport=ASGITransport(app=app))`), so validation, auth and "
            "status codes are untested; add API tests that call its routes.",
        )
