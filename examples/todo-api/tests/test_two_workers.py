"""Scale-out: two uvicorn processes sharing PostgreSQL and Redis.

A WebSocket client on worker 1 must receive the event caused by a POST on worker 2,
which only works when the fan-out goes through Redis pub/sub.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from conftest import PASSWORD, TEST_SECRET, _pg_admin
from servers import PostgresServer, run_uvicorn

pytestmark = [pytest.mark.anyio, pytest.mark.external, pytest.mark.slow]


@pytest.fixture
def shared_env(
    pg_server: PostgresServer, pg_template: str, redis_url: str
) -> Iterator[dict[str, str]]:
    name = f"workers_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE {pg_template}'))
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushall()
    finally:
        client.close()
    yield {
        "ENVIRONMENT": "test",
        "DATABASE_URL": pg_server.url(name),
        "REDIS_URL": redis_url,
        "JWT_SECRET": TEST_SECRET,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "64",
        "ARGON2_PARALLELISM": "1",
        "DB_POOL_SIZE": "3",
        "LOG_LEVEL": "WARNING",
    }
    asyncio.run(_pg_admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def two_workers(shared_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[int, int]]:
    # A sync fixture: starting and stopping processes blocks, so it stays off the event loop.
    with (
        run_uvicorn(shared_env, tmp_path / "worker1.log") as port1,
        run_uvicorn(shared_env, tmp_path / "worker2.log") as port2,
    ):
        yield port1, port2


async def test_websocket_event_crosses_workers(two_workers: tuple[int, int]) -> None:
    port1, port2 = two_workers
    with anyio.fail_after(30):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port2}") as worker2:
            email = "scale@example.com"
            await worker2.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            login = await worker2.post(
                "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
            )
            token = login.json()["access_token"]
            url = f"ws://127.0.0.1:{port1}/api/v1/ws/todos"
            async with connect(url, open_timeout=10) as websocket:
                await websocket.send(json.dumps({"type": "auth", "token": token}))
                assert json.loads(await websocket.recv()) == {"type": "subscribed"}
                created = await worker2.post(
                    "/api/v1/todos",
                    json={"title": "from worker 2"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert created.status_code == 201
                event = json.loads(await websocket.recv())
    assert event == {"type": "created", "todo": created.json()}
