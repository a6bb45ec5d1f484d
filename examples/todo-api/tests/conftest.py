"""Fixtures: every API test runs against two backends.

* `sqlite`: SQLite file + in-memory cache, rate limiter and pub/sub (no server needed).
* `postgres`: a real PostgreSQL and a real Redis, started once per session on loopback.

The schema always comes from the Alembic migrations (never `create_all`): they are
applied once to a template (a SQLite file / a PostgreSQL template database), and each
test gets a fresh copy, which is faster than migrating per test and fully isolated.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis
from alembic import command
from alembic.config import Config
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from servers import PostgresServer, run_postgres, run_redis
from todo_api.app import create_app
from todo_api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-" + "x" * 40  # long enough for the production check
PASSWORD = "correct horse battery"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.external),
]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", "todo_api:migrations")
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


# --- servers (session scope) -----------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        with run_postgres() as server:
            yield server
    except FileNotFoundError as exc:
        pytest.skip(str(exc))  # says what is missing and what to install


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    try:
        with run_redis() as url:
            yield url
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> str:
    asyncio.run(_pg_admin(pg_server, "CREATE DATABASE todo_template"))
    migrate(pg_server.url("todo_template"))
    return "todo_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


async def _pg_admin(server: PostgresServer, *statements: str) -> None:
    connection = await asyncpg.connect(server.dsn())
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


_db_counter = itertools.count()


# --- per-test database and settings ----------------------------------------------------


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    redis_url: str | None


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        yield Backend("sqlite", f"sqlite+aiosqlite:///{path}", None)
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    template_name: str = request.getfixturevalue("pg_template")
    url: str = request.getfixturevalue("redis_url")
    name = f"test_{next(_db_counter)}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE {template_name}'))
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()
    try:
        yield Backend("postgres", server.url(name), url)
    finally:
        asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(backend: Backend, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": backend.database_url,
        "redis_url": backend.redis_url,
        "jwt_secret": TEST_SECRET,
        # Cheap Argon2: the suite hashes hundreds of passwords. Production refuses this.
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 64,
        "argon2_parallelism": 1,
        "rate_limit_default": "10000/minute",
        "rate_limit_auth": "10000/minute",
        "rate_limit_token": "10000/minute",
        "access_log": False,
        "log_level": "WARNING",
        "db_pool_size": 5,
        "ws_auth_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(backend: Backend) -> Settings:
    return make_settings(backend)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    # Overrides set by a test must never leak into another one.
    application.dependency_overrides.clear()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # LifespanManager runs startup/shutdown, exactly as uvicorn would.
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as http,
    ):
        yield http


# --- helpers -----------------------------------------------------------------------------


@dataclass
class User:
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register_and_login(client: httpx.AsyncClient, email: str | None = None) -> User:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return User(email, body["access_token"], body["refresh_token"])


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> User:
    return await register_and_login(client, "alice@example.com")


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> User:
    return await register_and_login(client, "bob@example.com")
