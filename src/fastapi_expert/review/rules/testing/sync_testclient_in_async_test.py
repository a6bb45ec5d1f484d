from __future__ import annotations

import ast

from fastapi_expert.review.model.module import own_nodes
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.testing._tests import (
    TESTCLIENT_CLASSES,
    class_is,
    find_fixture,
    fixture_client_class,
    fixture_name,
    is_testclient_call,
    parameters,
)


class SyncTestclientInAsyncTest(Rule):
    """Flags an `async def` test that drives the app with the sync `TestClient`.

    ## What it does
    In test modules, finds an `async def test_*` (pytest-asyncio, anyio) that
    builds a `TestClient` in its body, or receives one: a parameter annotated
    `TestClient`, or a fixture of the project (same module or a `conftest.py`
    above it) that returns or yields a `TestClient`, also through other fixtures.

    ## Why is this bad?
    `TestClient` is synchronous: every request blocks the calling thread while the
    app runs in a separate event loop that the client starts in a worker thread
    (an anyio blocking portal). Inside an `async def` test this blocks the test's
    own event loop for the duration of each request and runs the app on a second
    loop: async resources created by the test or its fixtures (a SQLAlchemy async
    engine, an `asyncpg` pool, a Redis client) are bound to the test's loop and
    fail with "attached to a different loop" or deadlock when the app uses them,
    and background work the test awaits cannot progress. In async tests use
    `httpx.AsyncClient(transport=ASGITransport(app=app), base_url="http://test")`,
    which runs the app on the test's loop.

    ## References
    - https://fastapi.tiangolo.com/advanced/async-tests/
    - https://www.starlette.io/testclient/
    - https://www.python-httpx.org/advanced/transports/#asgi-transport
    """

    code = "FX605"
    name = "sync-testclient-in-async-test"
    summary = "An `async def` test uses the sync `TestClient`, which runs the app on another event loop."

    valid = (
        Valid(
            """
            import pytest
            from httpx import ASGITransport, AsyncClient

            from app.main import app


            @pytest.mark.anyio
            async def test_read_item():
                async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as ac:
                    response = await ac.get("/items/1")
                assert response.status_code == 200
            """,
            filename="tests/test_items.py",
            files={
                "app/main.py": """
from fastapi import FastAPI

app = FastAPI()


@app.get("/items/{item_id}")
async def read_item(item_id: int):
    return {"id": item_id}
""",
            },
        ),
        Valid(
            """
            from app.main import app


            def test_read_item(client):  # a sync test may use the TestClient fixture
                assert client.get("/items/1").status_code == 200


            async def test_price_helper(client_factory):
                assert await client_factory.ping()
            """,
            filename="tests/test_items.py",
            files={
                "tests/conftest.py": """
import pytest
from fastapi.testclient import TestClient

from app.main import app


@pytest.fixture
def client():
    with TestClient(app) as c:
        yield c


@pytest.fixture
def client_factory():
    return object()
""",
                "app/main.py": """
from fastapi import FastAPI

app = FastAPI()
""",
            },
        ),
    )
    invalid = (
        Invalid(
            """
            import pytest
            from fastapi.testclient import TestClient

            from app.main import app


            @pytest.mark.asyncio
            async def test_create_order():
                client = TestClient(app)
                response = client.post("/orders", json={"sku": "A-1", "qty": 2})
                assert response.status_code == 201
            """,
            lines=(9,),
            filename="tests/test_orders.py",
            files={
                "app/main.py": """
from fastapi import FastAPI

app = FastAPI()
""",
            },
        ),
        Invalid(
            """
            import pytest

            from app.db import engine


            @pytest.mark.anyio
            async def test_list_users(auth_client):
                async with engine.begin() as conn:
                    await conn.exec_driver_sql("INSERT INTO users (name) VALUES ('ada')")
                assert auth_client.get("/users").json()[0]["name"] == "ada"
            """,
            lines=(7,),
            filename="tests/test_users.py",
            files={
                "tests/conftest.py": """
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth_client(client):
    client.headers["Authorization"] = "Bearer test-token"
    return client
""",
                "app/main.py": """
from fastapi import FastAPI

app = FastAPI()
""",
                "app/db.py": """
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("sqlite+aiosqlite:///./test.db")
""",
            },
        ),
    )

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        module = ctx.module
        if not module.is_test or not node.name.startswith("test"):
            return
        func = module.function_of_node.get(node)
        if func is None or fixture_name(func) is not None:
            return
        project = ctx.project
        for arg in parameters(func):
            if arg.arg in {"self", "cls"}:
                continue
            annotated = class_is(project, project.annotation_type(module, arg.annotation), TESTCLIENT_CLASSES)
            via = "" if annotated else None
            if not annotated and arg.annotation is None:
                fixture = find_fixture(project, module, arg.arg)
                if fixture is not None and fixture_client_class(project, fixture, TESTCLIENT_CLASSES):
                    via = f" (fixture `{arg.arg}`)"
            if via is not None:
                ctx.report(
                    arg,
                    f"async test `{node.name}` receives the sync `TestClient`{via}, which runs the "
                    "app on its own event loop in a thread; use "
                    "`httpx.AsyncClient(transport=ASGITransport(app=app))` and `await` its requests.",
                )
                return
        calls = [n for n in own_nodes(node) if is_testclient_call(project, module, n)]
        if calls:
            first = min(calls, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
            ctx.report(
                first,
                f"async test `{node.name}` builds a sync `TestClient`, which runs the app on its own "
                "event loop in a thread; use `httpx.AsyncClient(transport=ASGITransport(app=app))` "
                "and `await` its requests.",
            )
