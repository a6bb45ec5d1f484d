"""WS /ws/todos: live events about the caller's todos.

Authentication: an access token in the `token` query parameter, or as the first
message `{"type": "auth", "token": "..."}` within WS_AUTH_TIMEOUT_SECONDS (browsers
cannot set headers on a WebSocket, and query strings end up in access logs, so the
first-message form is preferred). After authenticating, the server sends
`{"type": "subscribed"}` and then `{"type": "created"|"updated"|"deleted", "todo": {...}}`.
"""

from __future__ import annotations

import asyncio

import anyio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, WebSocketException, status

from todo_api.auth.deps import principal_from_access_token
from todo_api.problems import ProblemError
from todo_api.pubsub import Broker, BrokerDep
from todo_api.settings import Settings, SettingsDep
from todo_api.todos.events import TodoEvent

router = APIRouter(tags=["realtime"])

MAX_AUTH_MESSAGE_BYTES = 8192


def channel_for(user_id: uuid.UUID) -> str:
    return f"todos:{user_id}"


async def _authenticate(websocket: WebSocket, settings: Settings, token: str | None) -> uuid.UUID:
    if token is None:
        try:
            with anyio.fail_after(settings.ws_auth_timeout_seconds):
                message = await websocket.receive_text()
        except TimeoutError as exc:
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION, "auth timeout") from exc
        if len(message) > MAX_AUTH_MESSAGE_BYTES:
            raise WebSocketException(status.WS_1009_MESSAGE_TOO_BIG, "auth message too big")
        try:
            data = json.loads(message)
            token = str(data["token"]) if data.get("type") == "auth" else None
        except (ValueError, KeyError, TypeError, AttributeError):
            token = None
        if token is None:
            raise WebSocketException(status.WS_1008_POLICY_VIOLATION, "expected an auth message")
    try:
        return principal_from_access_token(settings, token).user_id
    except ProblemError as exc:
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, "invalid token") from exc


@router.websocket("/ws/todos", name="todo_events")
async def todo_events(
    websocket: WebSocket,
    settings: SettingsDep,
    broker: BrokerDep,
    token: Annotated[str | None, Query(max_length=4096)] = None,
) -> None:
    await websocket.accept()
    user_id = await _authenticate(websocket, settings, token)
    async with broker.subscribe(channel_for(user_id)) as queue:
        await websocket.send_json({"type": "subscribed"})
        # Two directions at once: forward events, and notice when the client leaves
        # (receive raises on disconnect) so the subscription is released promptly.
        forward = asyncio.create_task(_forward(websocket, queue))
        try:
            while True:
                await websocket.receive_text()  # clients may send pings; ignored
        except WebSocketDisconnect:
            pass
        finally:
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await forward


async def _forward(websocket: WebSocket, queue: asyncio.Queue[str]) -> None:
    while True:
        message = await queue.get()
        await websocket.send_text(message)


def make_event_publisher(broker: Broker) -> Callable[[TodoEvent], Awaitable[None]]:
    """The todos feature's event handler that feeds this feature's broker."""

    async def publish(event: TodoEvent) -> None:
        # The todo JSON is spliced in as-is: it was serialised once by the router.
        message = f'{{"type":"{event.type}","todo":{event.todo_json}}}'
        await broker.publish(channel_for(event.owner_id), message)

    return publish
