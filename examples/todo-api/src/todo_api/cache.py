"""Read cache: in-process by default, Redis when configured.

The cache is an optimisation, never the source of truth: a failing backend is logged
and treated as a miss, writes invalidate after their transaction committed, and entries
expire after `CACHE_TTL_SECONDS` whatever happens.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Annotated, Protocol

from fastapi import Depends
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection

from todo_api.autopipeline import AutoPipeline

logger = logging.getLogger(__name__)


class Cache(Protocol):
    """Entries expire after the TTL the cache was built with (`CACHE_TTL_SECONDS`)."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryCache:
    """Bounded LRU with per-entry expiry. Per process: fine for one worker only."""

    def __init__(self, ttl_seconds: int, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._ttl_seconds = ttl_seconds
        self._max_entries = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            self._entries.pop(key, None)
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes) -> None:
        self._entries[key] = (time.monotonic() + self._ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)


class RedisCache:
    """Shared by every worker, so an invalidation on one is seen by all."""

    def __init__(self, redis: Redis, pipeline: AutoPipeline, prefix: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._pipeline = pipeline  # reads are batched with other requests' commands
        self._prefix = prefix
        self._ttl_seconds = ttl_seconds

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._pipeline.execute("GET", f"{self._prefix}:{key}")
        except RedisError:
            logger.warning("cache get failed; treating as a miss", exc_info=True)
            return None
        # The client is created without decode_responses, so values are bytes.
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes) -> None:
        try:
            await self._redis.set(f"{self._prefix}:{key}", value, ex=self._ttl_seconds)
        except RedisError:
            logger.warning("cache set failed", exc_info=True)

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(f"{self._prefix}:{key}")
        except RedisError:
            # The entry expires after its TTL; log loudly since readers may see stale data.
            logger.error("cache invalidation failed", exc_info=True)


def cache_of(conn: HTTPConnection) -> Cache:
    cache: Cache = conn.app.state.resources.cache
    return cache


async def get_cache(conn: HTTPConnection) -> Cache:
    return cache_of(conn)


CacheDep = Annotated[Cache, Depends(get_cache)]
