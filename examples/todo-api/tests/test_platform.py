"""Cross-cutting behaviour: health, problem details, headers, CORS, OpenAPI, settings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from conftest import Backend, User, make_settings
from todo_api.app import create_app
from todo_api.audit.models import AuditEntry
from todo_api.settings import DEV_JWT_SECRET, Settings

pytestmark = pytest.mark.anyio


async def test_liveness(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health/live")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_readiness(client: httpx.AsyncClient, backend: Backend) -> None:
    response = await client.get("/api/v1/health/ready")
    assert response.status_code == 200
    expected = {"database"} | ({"redis"} if backend.redis_url else set())
    assert set(response.json()["checks"]) == expected


async def test_readiness_fails_without_database(tmp_path: Path) -> None:
    backend = Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db", None)
    app = create_app(make_settings(backend))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        response = await client.get("/api/v1/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["checks"] == {"database": "failed"}


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = await client.put("/api/v1/health/live")
    assert wrong.status_code == 405
    assert wrong.json()["status"] == 405


async def test_security_headers_and_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    generated = await client.get("/api/v1/health/live", headers={"X-Request-ID": "bad id<script>"})
    assert generated.headers["x-request-id"] != "bad id"
    assert len(generated.headers["x-request-id"]) == 32


async def test_problem_carries_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/todos", headers={"X-Request-ID": "rid-1"})
    assert response.json()["request_id"] == "rid-1"


async def test_cors_explicit_origins(backend: Backend) -> None:
    app = create_app(make_settings(backend, cors_origins="https://app.example"))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await client.options(
            "/api/v1/todos", headers=preflight | {"Origin": "https://app.example"}
        )
        denied = await client.options(
            "/api/v1/todos", headers=preflight | {"Origin": "https://evil.example"}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert set(schema["components"]["securitySchemes"]) == {"BearerToken", "ApiKey"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert operation.get("tags"), f"{method} {path} has no tags"
    problem = schema["paths"]["/api/v1/todos/{todo_id}"]["get"]["responses"]["404"]
    assert "application/problem+json" in problem["content"]
    assert (await client.get("/docs")).status_code == 200


async def test_docs_can_be_disabled(backend: Backend) -> None:
    app = create_app(make_settings(backend, docs_enabled=False))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as client,
    ):
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/openapi.json")).status_code == 404


async def test_background_audit_entry(client: httpx.AsyncClient, app: FastAPI, alice: User) -> None:
    await client.post("/api/v1/todos", json={"title": "audited"}, headers=alice.headers)
    async with app.state.resources.sessionmaker() as session:
        actions = set((await session.scalars(select(AuditEntry.action))).all())
    assert {"user.registered", "todo.created"} <= actions


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "known default"),
        ({"jwt_secret": "short-but-not-default"}, "at least 32 bytes"),
        ({"jwt_secret": "s" * 40, "cors_origins": "*"}, "CORS_ORIGINS"),
        ({"jwt_secret": "s" * 40, "db_create_schema": True}, "DB_CREATE_SCHEMA"),
        ({"jwt_secret": "s" * 40, "argon2_memory_cost_kib": 64}, "Argon2"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object], message: str) -> None:
    settings = Settings(_env_file=None, environment="production", **overrides)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        create_app(settings)


def test_production_accepts_safe_settings() -> None:
    settings = Settings(_env_file=None, environment="production", jwt_secret="s" * 40)
    assert settings.jwt_secret.get_secret_value() != DEV_JWT_SECRET
    create_app(settings)  # does not raise
