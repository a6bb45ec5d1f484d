from __future__ import annotations

import httpx
import pytest

from conftest import User

pytestmark = pytest.mark.anyio

KEYS = "/api/v1/api-keys"


async def test_key_lifecycle(client: httpx.AsyncClient, alice: User) -> None:
    created = await client.post(KEYS, json={"name": "ci"}, headers=alice.headers)
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "name", "key", "prefix", "created_at"}
    key = body["key"]
    assert key.startswith(body["prefix"])

    listing = await client.get(KEYS, headers=alice.headers)
    assert listing.status_code == 200
    assert [k["id"] for k in listing.json()] == [body["id"]]
    assert key not in listing.text  # the secret is shown once only

    with_key = {"X-API-Key": key}
    me = await client.get("/api/v1/users/me", headers=with_key)
    assert me.status_code == 200
    assert me.json()["email"] == alice.email
    todo = await client.post("/api/v1/todos", json={"title": "via key"}, headers=with_key)
    assert todo.status_code == 201

    # A key may not manage keys (a leaked key must not be able to mint more).
    assert (await client.post(KEYS, json={"name": "x"}, headers=with_key)).status_code == 403
    assert (await client.get(KEYS, headers=with_key)).status_code == 403
    assert (await client.delete(f"{KEYS}/{body['id']}", headers=with_key)).status_code == 403

    deleted = await client.delete(f"{KEYS}/{body['id']}", headers=alice.headers)
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=with_key)).status_code == 401


@pytest.mark.parametrize("key", ["tdk_wrong", "nonsense", "tdk_" + "a" * 200])
async def test_invalid_keys(client: httpx.AsyncClient, key: str) -> None:
    response = await client.get("/api/v1/users/me", headers={"X-API-Key": key})
    assert response.status_code == 401


async def test_key_with_right_prefix_wrong_secret(client: httpx.AsyncClient, alice: User) -> None:
    body = (await client.post(KEYS, json={"name": "ci"}, headers=alice.headers)).json()
    forged = body["prefix"] + "A" * (len(body["key"]) - len(body["prefix"]))
    assert (await client.get("/api/v1/users/me", headers={"X-API-Key": forged})).status_code == 401


async def test_cannot_delete_others_key(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    body = (await client.post(KEYS, json={"name": "ci"}, headers=alice.headers)).json()
    response = await client.delete(f"{KEYS}/{body['id']}", headers=bob.headers)
    assert response.status_code == 404
