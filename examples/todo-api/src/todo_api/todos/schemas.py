from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from todo_api.todos.models import Priority

MAX_TAGS = 10

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=50, pattern=r"^[\w:.-]+$"
    ),
]


def _to_utc(value: datetime | None) -> datetime | None:
    # Store and return one canonical zone, whatever offset the client sent.
    return value.astimezone(timezone.utc) if value is not None else None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class TodoCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Write the release notes",
                    "description": "Cover the new rate limits",
                    "due_at": "2030-01-31T17:00:00Z",
                    "priority": "high",
                    "tags": ["work", "docs"],
                }
            ]
        },
    )

    title: Title
    description: Description | None = None
    due_at: UtcDatetime | None = Field(
        default=None, description="With a time zone (e.g. `Z`); stored in UTC."
    )
    priority: Priority = Priority.normal
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)


class TodoUpdate(BaseModel):
    """Partial update: only the fields present are changed (`null` clears optional ones)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"completed": True}]})

    title: Title | None = None
    description: Description | None = None
    due_at: UtcDatetime | None = None
    priority: Priority | None = None
    completed: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)


class TodoRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    completed: bool
    due_at: datetime | None
    priority: Priority
    tags: list[str] = Field(validation_alias=AliasChoices("tag_names", "tags"))
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Increases with every change; the ETag is derived from it.")


class TodoPage(BaseModel):
    items: list[TodoRead]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class TodoSort(str, Enum):
    created_at = "created_at"
    created_at_desc = "-created_at"
    due_at = "due_at"
    priority = "priority"
