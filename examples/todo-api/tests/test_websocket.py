"""WS /ws/todos in-process (Starlette's TestClient, entered so that the lifespan runs).

With the `postgres` backend the events travel through the real Redis pub/sub.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from conftest import PASSWORD, Backend, make_settings
from todo_api.app import create_app
from todo_api.settings import Settings


@pytest.fixture
def sync_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
    app.dependency_overrides.clear()


def _login(client: TestClient) -> str:
    email = f"ws-{uuid.uuid4().hex[:8]}@example.com"
    client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    response = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    token: str = response.json()["access_token"]
    return token


def test_events_for_own_todos_only(sync_client: TestClient) -> None:
    alice, bob = _login(sync_client), _login(sync_client)
    as_alice = {"Authorization": f"Bearer {alice}"}
    with sync_client.websocket_connect(f"/api/v1/ws/todos?token={alice}") as ws:
        assert ws.receive_json() == {"type": "subscribed"}
        sync_client.post(
            "/api/v1/todos", json={"title": "bob's"}, headers={"Authorization": f"Bearer {bob}"}
        )
        created = sync_client.post("/api/v1/todos", json={"title": "mine"}, headers=as_alice)
        todo_id = created.json()["id"]
        event = ws.receive_json()
        # Bob's event was published first; receiving Alice's proves it was not delivered.
        assert event["type"] == "created"
        assert event["todo"] == created.json()
        sync_client.patch(f"/api/v1/todos/{todo_id}", json={"completed": True}, headers=as_alice)
        updated = ws.receive_json()
        assert updated["type"] == "updated"
        assert updated["todo"]["completed"] is True
        sync_client.delete(f"/api/v1/todos/{todo_id}", headers=as_alice)
        assert ws.receive_json()["type"] == "deleted"


def test_header_auth(sync_client: TestClient) -> None:
    token = _login(sync_client)
    bearer = {"Authorization": f"Bearer {token}"}
    with sync_client.websocket_connect("/api/v1/ws/todos", headers=bearer) as ws:
        assert ws.receive_json() == {"type": "subscribed"}
    key = sync_client.post("/api/v1/api-keys", json={"name": "ws"}, headers=bearer).json()["key"]
    with sync_client.websocket_connect("/api/v1/ws/todos", headers={"X-API-Key": key}) as ws:
        assert ws.receive_json() == {"type": "subscribed"}
        created = sync_client.post("/api/v1/todos", json={"title": "k"}, headers=bearer)
        assert ws.receive_json()["todo"]["id"] == created.json()["id"]


@pytest.mark.parametrize(
    "headers", [{"Authorization": "Bearer forged"}, {"X-API-Key": "tdk_forged"}]
)
def test_bad_header_auth_closes(sync_client: TestClient, headers: dict[str, str]) -> None:
    with (
        sync_client.websocket_connect("/api/v1/ws/todos", headers=headers) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 1008


def test_binary_auth_message_closes(sync_client: TestClient) -> None:
    with sync_client.websocket_connect("/api/v1/ws/todos") as ws:
        ws.send_bytes(b"\x00binary")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_client_leaving_before_auth(sync_client: TestClient) -> None:
    with sync_client.websocket_connect("/api/v1/ws/todos") as ws:
        ws.close()
    # The server is still healthy afterwards.
    assert sync_client.get("/api/v1/health/live").status_code == 200


def test_first_message_auth(sync_client: TestClient) -> None:
    token = _login(sync_client)
    with sync_client.websocket_connect("/api/v1/ws/todos") as ws:
        ws.send_json({"type": "auth", "token": token})
        assert ws.receive_json() == {"type": "subscribed"}


@pytest.mark.parametrize("message", ['{"type": "auth", "token": "forged"}', "not json", "{}"])
def test_bad_first_message_closes(sync_client: TestClient, message: str) -> None:
    with sync_client.websocket_connect("/api/v1/ws/todos") as ws:
        ws.send_text(message)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_bad_query_token_closes(sync_client: TestClient) -> None:
    url = "/api/v1/ws/todos?token=forged"
    with sync_client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 1008


def test_refresh_token_cannot_subscribe(sync_client: TestClient) -> None:
    email = "wsr@example.com"
    sync_client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    pair = sync_client.post(
        "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    ).json()
    url = f"/api/v1/ws/todos?token={pair['refresh_token']}"
    with sync_client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 1008


def test_auth_timeout_closes(backend: Backend) -> None:
    app = create_app(make_settings(backend, ws_auth_timeout_seconds=0.2))
    with (
        TestClient(app) as client,
        client.websocket_connect("/api/v1/ws/todos") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 1008
