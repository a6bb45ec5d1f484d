"""Domain events of the todos feature.

The todos router only *emits* events; other features (the WebSocket fan-out today,
webhooks tomorrow) subscribe in the app factory. So todos does not import them, and
the generator can leave any of them out.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection

logger = logging.getLogger(__name__)

EventType = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class TodoEvent:
    type: EventType
    owner_id: uuid.UUID
    todo_json: str  # the TodoRead representation, serialised once for every consumer


TodoEventHandler = Callable[[TodoEvent], Awaitable[None]]


async def emit(conn: HTTPConnection, event: TodoEvent) -> None:
    """Run after the commit. A failing consumer is logged: the change itself is durable."""
    handlers: list[TodoEventHandler] = conn.app.state.todo_event_handlers
    for handler in handlers:
        try:
            await handler(event)
        except Exception:
            logger.exception("todo event handler failed", extra={"event": event.type})
