from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from conftest import PASSWORD, User
from todo_api.settings import Settings, get_settings

pytestmark = pytest.mark.anyio


def _override(app: FastAPI, settings: Settings, **changes: object) -> None:
    changed = settings.model_copy(update=changes)
    app.dependency_overrides[get_settings] = lambda: changed


async def test_login_is_rate_limited(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, alice: User
) -> None:
    _override(app, settings, rate_limit_token="2/minute")
    form = {"username": alice.email, "password": PASSWORD}
    statuses = [(await client.post("/api/v1/auth/token", data=form)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = await client.post("/api/v1/auth/token", data=form)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["ratelimit-limit"] == "2"
    assert limited.headers["ratelimit-remaining"] == "0"


async def test_login_limit_is_per_account_too(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, alice: User, bob: User
) -> None:
    _override(app, settings, rate_limit_token="2/minute")
    bad = {"username": alice.email, "password": "wrong password"}
    for _ in range(2):
        assert (await client.post("/api/v1/auth/token", data=bad)).status_code == 401
    assert (await client.post("/api/v1/auth/token", data=bad)).status_code == 429


async def test_api_is_rate_limited_per_user(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, alice: User, bob: User
) -> None:
    _override(app, settings, rate_limit_default="3/minute")
    for _ in range(3):
        ok = await client.get("/api/v1/todos", headers=alice.headers)
        assert ok.status_code == 200
        assert "ratelimit-remaining" in ok.headers
    assert (await client.get("/api/v1/todos", headers=alice.headers)).status_code == 429
    # Bob has his own bucket.
    assert (await client.get("/api/v1/todos", headers=bob.headers)).status_code == 200


async def test_cached_read_carries_rate_limit_headers(
    client: httpx.AsyncClient, alice: User
) -> None:
    todo = (await client.post("/api/v1/todos", json={"title": "x"}, headers=alice.headers)).json()
    for _ in range(2):  # miss, then hit
        response = await client.get(f"/api/v1/todos/{todo['id']}", headers=alice.headers)
        assert "ratelimit-limit" in response.headers


async def test_every_todos_route_is_rate_limited(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, alice: User
) -> None:
    # The todos routes take their caller as RateLimitedPrincipal instead of a
    # router-level dependency: a route that forgot it would lack the headers.
    _override(app, settings, rate_limit_default="100/minute")
    created = await client.post("/api/v1/todos", json={"title": "x"}, headers=alice.headers)
    url = f"/api/v1/todos/{created.json()['id']}"
    responses = [
        created,
        await client.get("/api/v1/todos", headers=alice.headers),
        await client.get(url, headers=alice.headers),  # miss
        await client.get(url, headers=alice.headers),  # hit
        await client.patch(url, json={"title": "y"}, headers=alice.headers),
        await client.delete(url, headers=alice.headers),
    ]
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200, 204]
    remaining = [int(r.headers["ratelimit-remaining"]) for r in responses]
    assert remaining == list(range(99, 93, -1))  # each request counted exactly once
    assert all(r.headers["ratelimit-limit"] == "100" for r in responses)


async def test_cached_read_is_rate_limited(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, alice: User
) -> None:
    todo = {"title": "cached-secret"}
    created = await client.post("/api/v1/todos", json=todo, headers=alice.headers)
    url = f"/api/v1/todos/{created.json()['id']}"
    _override(app, settings, rate_limit_default="2/minute")
    statuses = [(await client.get(url, headers=alice.headers)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # miss, hit, then the limit (the hit is counted)
    limited = await client.get(url, headers=alice.headers)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert "cached-secret" not in limited.text  # no cached data leaks into the 429
