"""Pluggable notifications (e-mail, chat, push...). The default one only logs."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Protocol

from fastapi import Depends
from starlette.requests import HTTPConnection

logger = logging.getLogger(__name__)


class Notifier(Protocol):
    async def notify(self, user_id: uuid.UUID, event: str, payload: dict[str, str]) -> None: ...


class LoggingNotifier:
    async def notify(self, user_id: uuid.UUID, event: str, payload: dict[str, str]) -> None:
        logger.info("notification", extra={"user_id": str(user_id), "event": event, **payload})


async def get_notifier(conn: HTTPConnection) -> Notifier:
    notifier: Notifier = conn.app.state.resources.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(get_notifier)]
