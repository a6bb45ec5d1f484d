"""WS /ws/todos: live events about the caller's todos.

Authentication, first match wins: an `Authorization: Bearer <access token>` or
`X-API-Key` header (non-browser clients); an access token in the `token` query
parameter; or the first message `{"type": "auth", "token": "..."}` within
WS_AUTH_TIMEOUT_SECONDS. Browsers cannot set headers on a WebSocket and query strings
tend to end up in proxy logs, so browsers should prefer the first-message form.
After authenticating, the server sends `{"type": "subscribed"}`, then
`{"type": "created"|"updated"|"deleted", "todo": {...}}` for each change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, WebSocketException, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todo_api.api_keys import service as api_key_service
from todo_api.auth.deps import principal_from_access_token
from todo_api.db import SessionmakerDep
from todo_api.problems import ProblemError
from todo_api.pubsub import Broker, BrokerDep
from todo_api.settings import Settings, SettingsDep
from todo_api.todos.events import TodoEvent

router = APIRouter(tags=["realtime"])

MAX_AUTH_MESSAGE_BYTES = 8192


def channel_for(user_id: uuid.UUID) -> str:
    return f"todos:{user_id}"


def _policy_violation(reason: str) -> WebSocketException:
    return WebSocketException(status.WS_1008_POLICY_VIOLATION, reason)


async def _from_headers(
    websocket: WebSocket,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> uuid.UUID | None:
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return _from_token(settings, credentials)
    api_key = websocket.headers.get("x-api-key")
    if api_key:
        async with sessionmaker() as session:
            key = await api_key_service.authenticate(session, api_key)
        if key is None:
            raise _policy_violation("invalid API key")
        return key.user_id
    return None


def _from_token(settings: Settings, token: str) -> uuid.UUID:
    try:
        return principal_from_access_token(settings, token).user_id
    except ProblemError as exc:
        raise _policy_violation("invalid token") from exc


async def _authenticate(websocket: WebSocket, settings: Settings, token: str | None) -> uuid.UUID:
    if token is None:
        try:
            with anyio.fail_after(settings.ws_auth_timeout_seconds):
                received = await websocket.receive()
        except TimeoutError as exc:
            raise _policy_violation("auth timeout") from exc
        if received["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(received.get("code", status.WS_1000_NORMAL_CLOSURE))
        message = received.get("text")
        if not isinstance(message, str):
            raise _policy_violation("expected a text auth message")
        if len(message) > MAX_AUTH_MESSAGE_BYTES:
            raise WebSocketException(status.WS_1009_MESSAGE_TOO_BIG, "auth message too big")
        try:
            data = json.loads(message)
            token = str(data["token"]) if data.get("type") == "auth" else None
        except (ValueError, KeyError, TypeError, AttributeError):
            token = None
        if token is None:
            raise _policy_violation("expected an auth message")
    return _from_token(settings, token)


@router.websocket("/ws/todos", name="todo_events")
async def todo_events(
    websocket: WebSocket,
    settings: SettingsDep,
    broker: BrokerDep,
    sessionmaker: SessionmakerDep,
    token: Annotated[str | None, Query(max_length=4096)] = None,
) -> None:
    await websocket.accept()
    try:
        user_id = await _from_headers(websocket, settings, sessionmaker)
        if user_id is None:
            user_id = await _authenticate(websocket, settings, token)
    except WebSocketDisconnect:
        return  # the client left before authenticating
    async with broker.subscribe(channel_for(user_id)) as queue:
        await websocket.send_json({"type": "subscribed"})
        # Two directions at once: forward events, and notice when the client leaves
        # (receive raises on disconnect) so the subscription is released promptly.
        forward = asyncio.create_task(_forward(websocket, queue))
        try:
            while True:
                # Anything the client sends (pings, text or bytes) is ignored; only the
                # disconnect matters.
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
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
