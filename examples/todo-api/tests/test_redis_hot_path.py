"""The Redis hot path: automatic pipelining, the one-command limiter, failing open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import RedisError, ResponseError

from conftest import User
from servers import free_port
from todo_api.autopipeline import AutoPipeline
from todo_api.ratelimit import RateLimiter
from todo_api.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.external]


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushall()
    try:
        yield client
    finally:
        await client.aclose()


class RoundTrips:
    """Counts the writes to Redis sockets: one per command, or one per pipeline."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = Connection.send_packed_command

        async def counting(conn: Connection, command: Any, check_health: bool = True) -> None:
            self.count += 1
            await original(conn, command, check_health)

        monkeypatch.setattr(Connection, "send_packed_command", counting)


async def test_concurrent_commands_share_one_round_trip(
    redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    await redis_client.set("k", b"v")
    pipeline = AutoPipeline(redis_client)
    trips = RoundTrips(monkeypatch)
    replies = await asyncio.gather(*(pipeline.execute("GET", "k") for _ in range(20)))
    assert replies == [b"v"] * 20
    assert trips.count == 1


async def test_a_failing_command_fails_alone(redis_client: Redis) -> None:
    await redis_client.set("k", b"v")
    await redis_client.rpush("a-list", b"x")
    pipeline = AutoPipeline(redis_client)
    results = await asyncio.gather(
        pipeline.execute("GET", "k"), pipeline.execute("GET", "a-list"), return_exceptions=True
    )
    ok, bad = results[0], results[1]
    assert ok == b"v"
    assert isinstance(bad, ResponseError)  # WRONGTYPE, for that caller only


async def test_connection_failure_reaches_every_caller() -> None:
    client = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        pipeline = AutoPipeline(client)
        results = await asyncio.gather(
            pipeline.execute("GET", "a"), pipeline.execute("GET", "b"), return_exceptions=True
        )
        assert all(isinstance(r, (RedisError, OSError)) for r in results)
        await pipeline.drain()
    finally:
        await client.aclose()


async def test_limiter_is_one_command_and_sets_the_window(
    redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = RateLimiter(AutoPipeline(redis_client), prefix="t:rl")
    first = await limiter.hit("2/minute", "user", "u1")  # loads the script (NOSCRIPT)
    trips = RoundTrips(monkeypatch)
    second = await limiter.hit("2/minute", "user", "u1")
    third = await limiter.hit("2/minute", "user", "u1")
    assert trips.count == 2  # one round trip per hit
    assert (first.allowed, first.remaining) == (True, 1)
    assert (second.allowed, second.remaining) == (True, 0)
    assert (third.allowed, third.remaining) == (False, 0)
    assert 0 < third.reset_after <= 60
    keys = [key async for key in redis_client.scan_iter(match="t:rl:*")]
    assert len(keys) == 1
    assert 0 < await redis_client.ttl(keys[0]) <= 60  # the window always expires


async def test_limiter_fails_open_when_redis_is_down() -> None:
    client = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        result = await RateLimiter(AutoPipeline(client), prefix="t:rl").hit("1/minute", "u", "x")
        assert result.allowed
    finally:
        await client.aclose()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # Redis backend only
async def test_cached_reads_are_batched_across_requests(
    client: httpx.AsyncClient,
    app: FastAPI,
    settings: Settings,
    alice: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert settings.redis_url is not None
    created = await client.post("/api/v1/todos", json={"title": "x"}, headers=alice.headers)
    url = f"/api/v1/todos/{created.json()['id']}"
    assert (await client.get(url, headers=alice.headers)).status_code == 200  # fill the cache
    trips = RoundTrips(monkeypatch)
    single = await client.get(url, headers=alice.headers)
    assert single.status_code == 200
    assert trips.count == 2  # alone: the limiter's command, then the cache read
    trips.count = 0
    responses = await asyncio.gather(*(client.get(url, headers=alice.headers) for _ in range(16)))
    assert all(r.status_code == 200 for r in responses)
    assert trips.count < 2 * 16  # concurrent requests share round trips
    remaining = sorted(int(r.headers["ratelimit-remaining"]) for r in responses)
    assert len(set(remaining)) == 16  # and every one of them was counted
