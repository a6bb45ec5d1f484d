from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "ci"}]})

    name: str = Field(min_length=1, max_length=100)


class ApiKeyRead(BaseModel):
    """An API key as listed: the prefix identifies it, the secret is never shown again."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown only in this response: store it now.")
