"""API keys: random, shown once, stored as a SHA-256 hash, looked up by a public prefix.

A key has 256 bits of entropy, so a fast hash is enough (a slow password hash protects
low-entropy secrets; here it would only slow every request down).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from todo_api.api_keys.models import ApiKey

KEY_SCHEME = "tdk_"
PREFIX_LENGTH = len(KEY_SCHEME) + 8
MAX_KEY_LENGTH = 128


def generate_key() -> tuple[str, str, str]:
    """Return (key, prefix, hash)."""
    key = KEY_SCHEME + secrets.token_urlsafe(32)
    return key, key[:PREFIX_LENGTH], hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def authenticate(session: AsyncSession, key: str) -> ApiKey | None:
    if not key.startswith(KEY_SCHEME) or len(key) > MAX_KEY_LENGTH:
        return None
    candidate = await session.scalar(select(ApiKey).where(ApiKey.prefix == key[:PREFIX_LENGTH]))
    if candidate is None:
        return None
    # Constant-time comparison: timing must not reveal how much of the hash matched.
    if not hmac.compare_digest(candidate.key_hash, hash_key(key)):
        return None
    return candidate


async def owned_key(session: AsyncSession, user_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id)
    )
