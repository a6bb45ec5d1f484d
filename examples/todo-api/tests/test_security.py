"""Token forgery, cross-user access and injection attempts must all fail."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import httpx
import jwt
import pytest
from fastapi import FastAPI

from conftest import TEST_SECRET, User
from todo_api.clock import get_clock

pytestmark = pytest.mark.anyio


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(token: str) -> dict[str, object]:
    payload: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return payload


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})


async def test_valid_token_accepted(client: httpx.AsyncClient, alice: User) -> None:
    assert (await _me(client, alice.access_token)).status_code == 200


async def test_tampered_token_rejected(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    header, _payload, signature = alice.access_token.split(".")
    claims = _claims(alice.access_token) | {"sub": _claims(bob.access_token)["sub"]}
    forged = f"{header}.{_b64(claims)}.{signature}"
    response = await _me(client, forged)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_alg_none_rejected(client: httpx.AsyncClient, alice: User) -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(alice.access_token))}."
    assert (await _me(client, unsigned)).status_code == 401


async def test_wrong_key_rejected(client: httpx.AsyncClient, alice: User) -> None:
    forged = jwt.encode(_claims(alice.access_token), "another-secret-" + "y" * 40, "HS256")
    assert (await _me(client, forged)).status_code == 401


async def test_wrong_audience_rejected(client: httpx.AsyncClient, alice: User) -> None:
    forged = jwt.encode(_claims(alice.access_token) | {"aud": "other"}, TEST_SECRET, "HS256")
    assert (await _me(client, forged)).status_code == 401


async def test_missing_claim_rejected(client: httpx.AsyncClient, alice: User) -> None:
    claims = _claims(alice.access_token)
    del claims["jti"]
    assert (await _me(client, jwt.encode(claims, TEST_SECRET, "HS256"))).status_code == 401


async def test_refresh_token_is_not_an_access_token(client: httpx.AsyncClient, alice: User) -> None:
    assert (await _me(client, alice.refresh_token)).status_code == 401


async def test_access_token_is_not_a_refresh_token(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.access_token})
    assert response.status_code == 401


async def test_expired_tokens_rejected(
    client: httpx.AsyncClient, app: FastAPI, alice: User
) -> None:
    # Tokens issued "two weeks and a day ago" (clock override) are past both lifetimes.
    past = datetime.now(timezone.utc) - timedelta(days=15)
    app.dependency_overrides[get_clock] = lambda: lambda: past
    response = await client.post(
        "/api/v1/auth/token", data={"username": alice.email, "password": "correct horse battery"}
    )
    assert response.status_code == 200
    app.dependency_overrides.clear()
    old = response.json()
    assert (await _me(client, old["access_token"])).status_code == 401
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_users_cannot_touch_each_other(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    created = await client.post("/api/v1/todos", json={"title": "alice's"}, headers=alice.headers)
    todo_id = created.json()["id"]
    url = f"/api/v1/todos/{todo_id}"
    # 404 and not 403: Bob must not even learn that the id exists.
    assert (await client.get(url, headers=bob.headers)).status_code == 404
    patch = await client.patch(url, json={"title": "pwned"}, headers=bob.headers)
    assert patch.status_code == 404
    assert (await client.delete(url, headers=bob.headers)).status_code == 404
    listing = await client.get("/api/v1/todos", headers=bob.headers)
    assert listing.json()["items"] == []
    still = await client.get(url, headers=alice.headers)
    assert still.status_code == 200
    assert still.json()["title"] == "alice's"


async def test_sql_metacharacters_in_q_are_literal(client: httpx.AsyncClient, alice: User) -> None:
    for title in ["100% done", "snake_case", "O'Reilly", "plain"]:
        await client.post("/api/v1/todos", json={"title": title}, headers=alice.headers)

    async def search(q: str) -> list[str]:
        response = await client.get("/api/v1/todos", params={"q": q}, headers=alice.headers)
        assert response.status_code == 200
        return sorted(item["title"] for item in response.json()["items"])

    assert await search("%") == ["100% done"]
    assert await search("_") == ["snake_case"]
    assert await search("'") == ["O'Reilly"]
    assert await search("' OR '1'='1") == []
    assert await search("'; DROP TABLE todos; --") == []
    assert await search("\\") == []
    assert len(await search("E")) == 3  # the table is still there


async def test_missing_credentials(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/todos")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_unexpected_error_does_not_leak(app: FastAPI, alice: User) -> None:
    def broken_clock() -> None:
        raise RuntimeError("secret internal detail")

    app.dependency_overrides[get_clock] = broken_clock
    # This client shares the running app (lifespan entered by the `client` fixture).
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        response = await raw.post("/api/v1/todos", json={"title": "x"}, headers=alice.headers)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text


async def test_cached_todo_is_not_served_to_another_user(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    created = await client.post("/api/v1/todos", json={"title": "secret"}, headers=alice.headers)
    url = f"/api/v1/todos/{created.json()['id']}"
    for _ in range(2):  # the second read is served from the cache
        assert (await client.get(url, headers=alice.headers)).status_code == 200
    # The cache key carries the verified caller's id: Bob misses and the database says 404.
    other = await client.get(url, headers=bob.headers)
    assert other.status_code == 404
    assert "secret" not in other.text
    # No credentials at all: 401 before any cache lookup.
    assert (await client.get(url)).status_code == 401
