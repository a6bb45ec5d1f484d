from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

PASSWORD_MIN_LENGTH = 8
# Argon2 accepts any length, but an unbounded input is a cheap CPU DoS.
PASSWORD_MAX_LENGTH = 128


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery",
                    "full_name": "Ada",
                }
            ]
        },
    )

    email: EmailStr
    password: str = Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description="8 to 128 characters, not only whitespace, not the e-mail address.",
    )
    full_name: str | None = Field(default=None, max_length=200)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str) -> str:
        return value.lower()

    @field_validator("password")
    @classmethod
    def _password_policy(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("password may not be only whitespace")
        return value

    @model_validator(mode="after")
    def _password_not_email(self) -> UserCreate:
        if self.password.lower() == self.email:
            raise ValueError("password may not equal the e-mail address")
        return self


class UserRead(BaseModel):
    """A user as the API shows it: never any secret."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: EmailStr
    full_name: str | None
    created_at: datetime
