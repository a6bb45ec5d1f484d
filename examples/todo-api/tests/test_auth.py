from __future__ import annotations

import httpx
import pytest

from conftest import PASSWORD, User, register_and_login

pytestmark = pytest.mark.anyio

PROBLEM = "application/problem+json"


async def test_register_returns_user_without_secrets(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "Carol@Example.com", "password": PASSWORD, "full_name": "Carol"},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "full_name", "created_at"}
    assert body["email"] == "carol@example.com"
    assert "password" not in response.text
    assert "argon2" not in response.text


async def test_duplicate_email_is_409_case_insensitive(client: httpx.AsyncClient) -> None:
    await register_and_login(client, "dup@example.com")
    response = await client.post(
        "/api/v1/auth/register", json={"email": "DUP@example.com", "password": PASSWORD}
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 409


@pytest.mark.parametrize(
    ("password", "field"),
    [("Sh0rt!", "password"), ("        ", "password"), ("x" * 129, "password")],
)
async def test_password_policy(client: httpx.AsyncClient, password: str, field: str) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": "p@example.com", "password": password}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem)
    assert any(error["loc"][-1] == field for error in problem["errors"])
    assert password not in response.text  # the input is never echoed back


async def test_password_equal_to_email_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "same@example.com", "password": "same@example.com"},
    )
    assert response.status_code == 422


async def test_token_shape(client: httpx.AsyncClient) -> None:
    await client.post(
        "/api/v1/auth/register", json={"email": "t@example.com", "password": PASSWORD}
    )
    response = await client.post(
        "/api/v1/auth/token", data={"username": "T@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] != body["refresh_token"]


@pytest.mark.parametrize("email", ["alice@example.com", "nobody@example.com"])
async def test_bad_credentials_same_answer(
    client: httpx.AsyncClient, alice: User, email: str
) -> None:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": "wrong password!"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "Incorrect e-mail address or password."


async def test_refresh_rotation(client: httpx.AsyncClient, alice: User) -> None:
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert first.status_code == 200
    pair = first.json()
    assert pair["refresh_token"] != alice.refresh_token
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert me.status_code == 200
    second = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert second.status_code == 200


async def test_refresh_reuse_revokes_family(client: httpx.AsyncClient, alice: User) -> None:
    rotated = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    newest = rotated.json()["refresh_token"]
    # An attacker replays the spent token...
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert replay.status_code == 401
    assert replay.headers["content-type"] == PROBLEM
    # ...so the legitimate client's newest token dies with the family.
    after = await client.post("/api/v1/auth/refresh", json={"refresh_token": newest})
    assert after.status_code == 401


async def test_other_login_family_survives_reuse(client: httpx.AsyncClient, alice: User) -> None:
    other = await client.post(
        "/api/v1/auth/token", data={"username": alice.email, "password": PASSWORD}
    )
    other_refresh = other.json()["refresh_token"]
    await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": other_refresh})
    assert response.status_code == 200


async def test_logout_revokes_family(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.post("/api/v1/auth/logout", headers=alice.headers)
    assert response.status_code == 204
    assert response.content == b""
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert refresh.status_code == 401


async def test_logout_requires_auth(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 401


async def test_garbage_refresh_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-jwt"})
    assert response.status_code == 401
