from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from todo_api.clock import utc_now
from todo_api.db import Base, UTCDateTime


class Priority(str, enum.Enum):
    low = "low"
    normal = "normal"
    high = "high"


# Stored as a rank so that `sort=priority` is a plain indexed integer ordering.
PRIORITY_RANK = {Priority.low: 0, Priority.normal: 1, Priority.high: 2}
RANK_PRIORITY = {rank: priority for priority, rank in PRIORITY_RANK.items()}


class Todo(Base):
    __tablename__ = "todos"
    __table_args__ = (
        # Every listing is "this owner's todos ordered by X": one composite index per sort.
        Index("ix_todos_owner_created", "owner_id", "created_at", "id"),
        Index("ix_todos_owner_due", "owner_id", "due_at", "id"),
        Index("ix_todos_owner_priority", "owner_id", "priority_rank", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority_rank: Mapped[int] = mapped_column(SmallInteger, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # Optimistic concurrency: SQLAlchemy adds "AND version = :old" to every UPDATE, so a
    # concurrent writer is detected (StaleDataError) instead of silently overwritten.
    # It is also the ETag.
    version: Mapped[int] = mapped_column(Integer)

    tags: Mapped[list[TodoTag]] = relationship(
        back_populates="todo",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="TodoTag.tag",
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API

    @property
    def priority(self) -> Priority:
        return RANK_PRIORITY[self.priority_rank]

    @property
    def tag_names(self) -> list[str]:
        return [tag.tag for tag in self.tags]


class TodoTag(Base):
    __tablename__ = "todo_tags"
    __table_args__ = (Index("ix_todo_tags_tag", "tag"),)

    todo_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("todos.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)

    todo: Mapped[Todo] = relationship(back_populates="tags")
