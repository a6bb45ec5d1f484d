"""Rate limiting: fixed-window counters, in process by default, in Redis when configured.

Limits are keyed per user for authenticated calls and per client IP for anonymous ones
(behind a proxy, run uvicorn with `--proxy-headers --forwarded-allow-ips` so the IP is
the client's). A fixed window costs one counter increment per request; it may let
through up to twice the limit across a window boundary, which is acceptable for abuse
protection. Storage failures fail *open*: the limiter is not the source of truth and an
outage of Redis should not take the API down with it.

The `limits` library parses the expressions (`120/minute`) and names the keys
(`LIMITER/<scope>/<key>/<amount>/<multiples>/<unit>`, under `<REDIS_KEY_PREFIX>:rl:`).
The counting itself is done here because `limits`' storages cost more than the request
they protect: its Redis storage needs two round trips to learn the count and the window's
remaining time (its `incr` script, then `TTL`), its memory storage takes a lock and
starts an expiry task on every hit. Here a hit is one atomic Lua script in Redis (sent
through the automatic pipeline, so concurrent requests share round trips; see
`autopipeline.py`), or a dictionary update in process.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request, Response, status
from limits import RateLimitItem, parse
from redis.exceptions import NoScriptError, RedisError
from starlette.requests import HTTPConnection

from todo_api.autopipeline import AutoPipeline
from todo_api.problems import ProblemError
from todo_api.settings import Settings, SettingsDep

logger = logging.getLogger(__name__)

# KEYS[1] the counter; ARGV[1] the window in seconds. Atomic on the server. The TTL
# branch also repairs a counter that somehow lost its expiry (it would never reset).
INCR_WITH_TTL = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    return {used, tonumber(ARGV[1])}
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {used, ttl}
"""
_INCR_WITH_TTL_SHA = hashlib.sha1(INCR_WITH_TTL.encode()).hexdigest()  # noqa: S324 - Redis' id


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


class MemoryCounters:
    """Fixed-window counters of one process (one worker only).

    What `limits`' MemoryStorage does for a fixed window, without the locks and the
    expiry task it starts on every increment: the event loop runs one coroutine at a
    time and nothing awaits between the read and the write, so the update is atomic.
    Expired windows are pruned when the table is full; if it is still full (a flood of
    distinct keys), the oldest half is dropped, which only ever forgets counts.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._max_keys = max_keys

    def incr(self, key: str, window: int) -> tuple[int, float]:
        now = time.monotonic()
        expires_at, used = self._windows.get(key, (0.0, 0))
        if expires_at <= now:
            expires_at, used = now + window, 0
            if len(self._windows) >= self._max_keys:
                self._prune(now)
        used += 1
        self._windows[key] = (expires_at, used)
        return used, expires_at - now

    def _prune(self, now: float) -> None:
        live = {k: v for k, v in self._windows.items() if v[0] > now}
        if len(live) >= self._max_keys:
            live = dict(list(live.items())[len(live) // 2 :])
        self._windows = live


class RateLimiter:
    """Fixed-window counters in process, or in Redis (one command per hit).

    `limits` parses the expressions (`120/minute`) and names the keys.
    """

    def __init__(self, redis: AutoPipeline | None = None, prefix: str = "") -> None:
        """Without `redis` (the app's automatic pipeline), counts in process."""
        self._memory = MemoryCounters()
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings, redis: AutoPipeline | None) -> RateLimiter:
        if settings.redis_url and redis is not None:
            # Shares the application's Redis client (and its connection pool).
            return cls(redis, prefix=f"{settings.redis_key_prefix}:rl")
        return cls()

    async def _incr(self, storage_key: str, window: int) -> tuple[int, float]:
        """Count one hit; return (hits in the window, seconds until it resets)."""
        if self._redis is None:
            return self._memory.incr(storage_key, window)
        key = f"{self._prefix}:{storage_key}"
        try:
            reply = await self._redis.execute("EVALSHA", _INCR_WITH_TTL_SHA, 1, key, window)
        except NoScriptError:  # first call on this server (or after SCRIPT FLUSH): load it
            reply = await self._redis.execute("EVAL", INCR_WITH_TTL, 1, key, window)
        used, ttl = reply
        return int(used), float(ttl)

    async def hit(self, expression: str, scope: str, key: str) -> RateLimitResult:
        item = parse_limit(expression)
        window = item.get_expiry()
        try:
            used, reset_in = await self._incr(item.key_for(scope, key), window)
        except (RedisError, OSError):
            logger.warning("rate limiter unavailable; allowing the request", exc_info=True)
            return RateLimitResult(True, item.amount, item.amount, window, window)
        reset_after = max(0, math.ceil(reset_in))
        remaining = max(0, item.amount - used)
        return RateLimitResult(used <= item.amount, item.amount, remaining, reset_after, window)


def rate_limiter_of(conn: HTTPConnection) -> RateLimiter:
    limiter: RateLimiter = conn.app.state.resources.rate_limiter
    return limiter


async def get_rate_limiter(conn: HTTPConnection) -> RateLimiter:
    return rate_limiter_of(conn)


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
