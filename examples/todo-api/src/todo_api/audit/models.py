from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from todo_api.clock import utc_now
from todo_api.db import Base, UTCDateTime


class AuditEntry(Base):
    """Append-only activity log, written in the background after the response."""

    __tablename__ = "audit_log"

    # BigInteger on PostgreSQL, INTEGER on SQLite (where only INTEGER is a rowid alias).
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
