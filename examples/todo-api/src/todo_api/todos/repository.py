"""Data access for todos. Every query is scoped by owner: there is no unscoped getter."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from todo_api.todos import cursor as cursors
from todo_api.todos.models import PRIORITY_RANK, Todo, TodoTag
from todo_api.todos.schemas import TodoCreate, TodoSort, TodoUpdate


@dataclass(frozen=True)
class TodoFilters:
    completed: bool | None = None
    q: str | None = None
    tag: str | None = None
    due_before: datetime | None = None


async def get_owned(session: AsyncSession, owner_id: uuid.UUID, todo_id: uuid.UUID) -> Todo | None:
    return await session.scalar(select(Todo).where(Todo.id == todo_id, Todo.owner_id == owner_id))


async def list_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    *,
    filters: TodoFilters,
    sort: TodoSort,
    limit: int,
    cursor: str | None,
) -> tuple[list[Todo], str | None]:
    query = select(Todo).where(Todo.owner_id == owner_id)
    if filters.completed is not None:
        query = query.where(Todo.completed.is_(filters.completed))
    if filters.q:
        # Bound parameter + autoescape: `%`, `_` and quotes in q are matched literally.
        query = query.where(func.lower(Todo.title).contains(filters.q.lower(), autoescape=True))
    if filters.tag:
        query = query.where(
            exists().where(TodoTag.todo_id == Todo.id, TodoTag.tag == filters.tag.lower())
        )
    if filters.due_before is not None:
        query = query.where(Todo.due_at < filters.due_before)
    if cursor is not None:
        query = query.where(cursors.after(sort, cursors.decode_cursor(sort, cursor)))
    keys = cursors.sort_keys(sort)
    query = query.order_by(*(k.expression.desc() if k.descending else k.expression for k in keys))
    # One extra row tells whether another page exists, without a COUNT(*).
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursors.encode_cursor(sort, cursors.row_values(sort, rows[-1]))
    return rows, next_cursor


def new_todo(owner_id: uuid.UUID, payload: TodoCreate, now: datetime) -> Todo:
    return Todo(
        owner_id=owner_id,
        title=payload.title,
        description=payload.description,
        due_at=payload.due_at,
        priority_rank=PRIORITY_RANK[payload.priority],
        completed=False,
        created_at=now,
        updated_at=now,
        tags=[TodoTag(tag=tag) for tag in sorted(set(payload.tags))],
    )


def apply_update(todo: Todo, payload: TodoUpdate, now: datetime) -> None:
    changes: dict[str, Any] = payload.model_dump(exclude_unset=True)
    for field in ("title", "priority", "completed"):
        # These are not nullable: an explicit null means "leave as is".
        if field in changes and changes[field] is None:
            del changes[field]
    if "title" in changes:
        todo.title = changes["title"]
    if "description" in changes:
        todo.description = changes["description"]
    if "due_at" in changes:
        todo.due_at = changes["due_at"]
    if "priority" in changes:
        todo.priority_rank = PRIORITY_RANK[changes["priority"]]
    if "completed" in changes:
        todo.completed = changes["completed"]
    if changes.get("tags") is not None:
        wanted = set(changes["tags"])
        # Keep rows that stay (same primary key), add the new ones, drop the rest: a
        # wholesale replacement could INSERT a key before DELETE-ing its old row.
        todo.tags = [t for t in todo.tags if t.tag in wanted] + [
            TodoTag(tag=tag) for tag in sorted(wanted - set(todo.tag_names))
        ]
    # Always touch the row, so the version (ETag) moves even for a tags-only change.
    todo.updated_at = now
