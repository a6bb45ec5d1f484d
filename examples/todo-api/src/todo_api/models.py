"""Imports every ORM model so that `Base.metadata` is complete (Alembic, tests)."""

from todo_api.api_keys.models import ApiKey
from todo_api.audit.models import AuditEntry
from todo_api.auth.models import RefreshToken
from todo_api.db import Base
from todo_api.todos.models import Todo, TodoTag
from todo_api.users.models import User

__all__ = ["ApiKey", "AuditEntry", "Base", "RefreshToken", "Todo", "TodoTag", "User"]
