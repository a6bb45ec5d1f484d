"""Activity recording, run as a background task after the response was sent.

The client's request has already been committed when this runs, so nothing promised to
the client depends on it: a failure here is logged and swallowed, never re-raised (an
exception in a background task would only end up in the server log anyway, after
possibly skipping the tasks queued behind it).
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from todo_api.audit.models import AuditEntry
from todo_api.notifier import Notifier

logger = logging.getLogger(__name__)


async def record_activity(
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: Notifier,
    *,
    user_id: uuid.UUID | None,
    action: str,
    target: str | None,
    request_id: str | None,
) -> None:
    try:
        # Its own session: the request's session is closed once the response is sent.
        async with sessionmaker() as session:
            session.add(
                AuditEntry(user_id=user_id, action=action, target=target, request_id=request_id)
            )
            await session.commit()
    except Exception:
        logger.exception("audit entry lost", extra={"action": action, "target": target})
    if user_id is None:
        return
    try:
        await notifier.notify(user_id, action, {"target": target or ""})
    except Exception:
        logger.exception("notification failed", extra={"action": action})
