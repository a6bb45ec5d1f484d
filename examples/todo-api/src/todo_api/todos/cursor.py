"""Opaque keyset-pagination cursors.

Keyset (seek) pagination stays O(page) however deep the client pages and never skips or
repeats rows when others are inserted, unlike OFFSET. The cursor is the sort key of the
last row returned, base64url-encoded JSON: opaque to clients, and harmless if forged
since every query is also filtered by owner.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_

from todo_api.db import UTCDateTime
from todo_api.todos.models import Todo
from todo_api.todos.schemas import TodoSort

# Todos without a due date sort after all dated ones.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=timezone.utc)


class InvalidCursorError(ValueError):
    pass


@dataclass(frozen=True)
class SortKey:
    expression: ColumnElement[Any]
    descending: bool
    kind: str  # "datetime" | "int" | "uuid": how the value travels in the cursor


def sort_keys(sort: TodoSort) -> list[SortKey]:
    created = Todo.created_at.expression
    ident = Todo.id.expression
    if sort is TodoSort.created_at:
        return [SortKey(created, False, "datetime"), SortKey(ident, False, "uuid")]
    if sort is TodoSort.created_at_desc:
        return [SortKey(created, True, "datetime"), SortKey(ident, True, "uuid")]
    if sort is TodoSort.due_at:
        due = func.coalesce(Todo.due_at, literal(FAR_FUTURE, UTCDateTime()))
        return [SortKey(due, False, "datetime"), SortKey(ident, False, "uuid")]
    return [
        SortKey(Todo.priority_rank.expression, True, "int"),
        SortKey(created, True, "datetime"),
        SortKey(ident, True, "uuid"),
    ]


def row_values(sort: TodoSort, todo: Todo) -> list[Any]:
    if sort in (TodoSort.created_at, TodoSort.created_at_desc):
        return [todo.created_at, todo.id]
    if sort is TodoSort.due_at:
        return [todo.due_at or FAR_FUTURE, todo.id]
    return [todo.priority_rank, todo.created_at, todo.id]


def encode_cursor(sort: TodoSort, values: list[Any]) -> str:
    encoded = [
        v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v
        for v in values
    ]
    raw = json.dumps({"s": sort.value, "v": encoded}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: TodoSort, cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(data, dict) or data.get("s") != sort.value:
            raise InvalidCursorError("cursor belongs to another sort order")
        keys = sort_keys(sort)
        raw_values = data["v"]
        if not isinstance(raw_values, list) or len(raw_values) != len(keys):
            raise InvalidCursorError("malformed cursor")
        values: list[Any] = []
        for key, raw in zip(keys, raw_values, strict=True):
            if key.kind == "datetime":
                value: Any = datetime.fromisoformat(str(raw))
                if value.tzinfo is None:
                    raise InvalidCursorError("malformed cursor")
            elif key.kind == "uuid":
                value = uuid.UUID(str(raw))
            elif isinstance(raw, int) and not isinstance(raw, bool):
                value = raw
            else:
                raise InvalidCursorError("malformed cursor")
            values.append(value)
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursorError("malformed cursor") from exc
    return values


def after(sort: TodoSort, values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the sort order (lexicographic, mixed directions)."""
    keys = sort_keys(sort)
    alternatives = []
    for i, key in enumerate(keys):
        equal_prefix = [keys[j].expression == values[j] for j in range(i)]
        beyond = key.expression < values[i] if key.descending else key.expression > values[i]
        alternatives.append(and_(*equal_prefix, beyond))
    return or_(*alternatives)
