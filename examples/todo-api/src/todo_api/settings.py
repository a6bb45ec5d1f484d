"""Application settings, read from the environment (and an optional `.env` file).

Every value has a safe development default so `make run` works on a fresh machine;
`Settings.check_production()` refuses the development-only defaults when
`ENVIRONMENT=production`, so a forgotten variable fails loudly at start-up instead of
silently running with a public secret.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import Depends
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from starlette.requests import HTTPConnection

# Secrets that ship in this repository (or are popular placeholders). They may only be
# used outside production, where a leak costs nothing.
DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-0123456789"  # noqa: S105
KNOWN_WEAK_SECRETS = frozenset(
    {DEV_JWT_SECRET, "secret", "changeme", "change-me", "your-secret-key", "supersecret"}
)
MIN_SECRET_BYTES = 32


class Environment(str, Enum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """All configuration of the service. Field names are the environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    environment: Environment = Environment.development
    app_name: str = "Todo API"
    log_level: str = "INFO"
    access_log: bool = True
    docs_enabled: bool = True

    database_url: str = "sqlite+aiosqlite:///./todo.db"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_echo: bool = False
    # Only honoured outside production: lets throwaway dev/test databases skip Alembic.
    db_create_schema: bool = False

    redis_url: str | None = None
    redis_key_prefix: str = "todo-api"

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "todo-api"
    jwt_audience: str = "todo-api"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=14 * 86_400, ge=60)

    # Argon2 cost parameters; the defaults are OWASP's recommendation. Tests lower them
    # because they hash hundreds of passwords, production must not.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65_536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    rate_limit_enabled: bool = True
    rate_limit_default: str = "120/minute"
    rate_limit_auth: str = "20/minute"
    rate_limit_token: str = "5/minute"  # noqa: S105 - a rate, not a secret

    cache_ttl_seconds: int = Field(default=60, ge=1)
    ws_auth_timeout_seconds: float = Field(default=5.0, gt=0)
    page_size_default: int = Field(default=20, ge=1, le=100)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # CORS_ORIGINS="https://a.example,https://b.example" is friendlier than JSON.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    def check_production(self) -> None:
        """Raise `ValueError` when a production start-up would be unsafe."""
        if not self.is_production:
            return
        problems: list[str] = []
        secret = self.jwt_secret.get_secret_value()
        if secret in KNOWN_WEAK_SECRETS:
            problems.append("JWT_SECRET is a known default; set a random value")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            problems.append(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if "*" in self.cors_origins:
            problems.append("CORS_ORIGINS may not contain '*' in production")
        if self.db_create_schema:
            problems.append("DB_CREATE_SCHEMA is not allowed in production; run migrations")
        if self.argon2_memory_cost_kib < 19_456 or self.argon2_time_cost < 2:
            problems.append("Argon2 cost below OWASP's minimum (19 MiB, t=2)")
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))


async def get_settings(conn: HTTPConnection) -> Settings:
    """Dependency: the settings the app was built with (override it in tests)."""
    settings: Settings = conn.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
