"""Rate limiting with the `limits` library: in-process by default, Redis when configured.

Limits are keyed per user for authenticated calls and per client IP for anonymous ones
(behind a proxy, run uvicorn with `--proxy-headers --forwarded-allow-ips` so the IP is
the client's). The fixed-window strategy costs one counter increment per request; it
may let through up to twice the limit across a window boundary, which is acceptable for
abuse protection. (It is the `limits` fixed-window strategy, driven through its storage
API so that one increment also yields the remaining count.) Storage failures fail
*open*: the limiter is not the source of truth and an outage of Redis should not take
the API down with it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request, Response, status
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection

from todo_api.problems import ProblemError
from todo_api.settings import Settings, SettingsDep

logger = logging.getLogger(__name__)


@lru_cache(maxsize=64)
def parse_limit(expression: str) -> RateLimitItem:
    return parse(expression)


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window resets
    window: int


class RateLimiter:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis | None) -> RateLimiter:
        if settings.redis_url and redis is not None:
            # Share the application's connection pool instead of opening a second one.
            storage: Storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=f"{settings.redis_key_prefix}:rl",
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]
            )
        else:
            storage = MemoryStorage()
        return cls(storage)

    async def hit(self, expression: str, scope: str, key: str) -> RateLimitResult:
        item = parse_limit(expression)
        window = item.get_expiry()
        storage_key = item.key_for(scope, key)
        try:
            # What FixedWindowRateLimiter.hit() + get_window_stats() do, fused: the
            # counter returned by the increment is the usage, so the separate read of
            # the counter (one more Redis round trip per request) is skipped.
            used = await self._storage.incr(storage_key, window)
            reset_at = await self._storage.get_expiry(storage_key)
        except (RedisError, OSError):
            logger.warning("rate limiter unavailable; allowing the request", exc_info=True)
            return RateLimitResult(True, item.amount, item.amount, window, window)
        reset_after = max(0, math.ceil(reset_at - time.time()))
        remaining = max(0, item.amount - used)
        return RateLimitResult(used <= item.amount, item.amount, remaining, reset_after, window)

    async def reset(self) -> None:
        await self._storage.reset()


async def get_rate_limiter(conn: HTTPConnection) -> RateLimiter:
    limiter: RateLimiter = conn.app.state.resources.rate_limiter
    return limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


async def enforce(
    limiter: RateLimiter, response: Response, expression: str, scope: str, key: str
) -> None:
    """Count one hit; set RateLimit-* headers, or raise 429 with Retry-After."""
    result = await limiter.hit(expression, scope, key)
    headers = {
        "RateLimit-Limit": str(result.limit),
        "RateLimit-Remaining": str(result.remaining),
        "RateLimit-Reset": str(result.reset_after),
        "RateLimit-Policy": f"{result.limit};w={result.window}",
    }
    if not result.allowed:
        raise ProblemError(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "Rate limit exceeded; retry after the number of seconds in Retry-After.",
            type_="urn:todo-api:problem:rate-limited",
            headers=headers | {"Retry-After": str(max(1, result.reset_after))},
        )
    response.headers.update(headers)


def limit_by_ip(
    scope: str, expression_of: Callable[[Settings], str]
) -> Callable[..., Awaitable[None]]:
    """Dependency factory for anonymous routes (e.g. login): one bucket per client IP."""

    async def dependency(
        request: Request, response: Response, settings: SettingsDep, limiter: RateLimiterDep
    ) -> None:
        if settings.rate_limit_enabled:
            await enforce(limiter, response, expression_of(settings), scope, client_ip(request))

    return dependency
