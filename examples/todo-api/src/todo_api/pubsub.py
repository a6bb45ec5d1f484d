"""Event fan-out for WebSockets: in-process by default, Redis pub/sub when configured.

With several workers a client's WebSocket lives on one worker while the request that
changed a todo may run on another, so events must travel through a shared broker.
Each worker keeps ONE Redis subscription (a pattern on the channel prefix) and fans
messages out to its local sockets, instead of one Redis connection per socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Protocol

from fastapi import Depends
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection

logger = logging.getLogger(__name__)

# A slow consumer must not grow memory without bound: beyond this, events are dropped
# for that socket (and logged). Clients can always resynchronise with GET /todos.
QUEUE_SIZE = 256


class Broker(Protocol):
    async def publish(self, channel: str, message: str) -> None: ...

    def subscribe(
        self, channel: str
    ) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[str]]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalHub:
    """Channel -> local subscriber queues."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}

    def deliver(self, channel: str, message: str) -> None:
        for queue in self._subscribers.get(channel, ()):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                logger.warning("dropping event for a slow subscriber", extra={"channel": channel})

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[channel]


class MemoryBroker:
    """Single-process broker."""

    def __init__(self) -> None:
        self._hub = LocalHub()

    async def publish(self, channel: str, message: str) -> None:
        self._hub.deliver(channel, message)

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[str]]:
        return self._hub.subscribe(channel)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisBroker:
    """Publishes to Redis; one pattern subscription per worker delivers to local sockets."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:events:"
        self._hub = LocalHub()
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(self._prefix + channel, message)

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[str]]:
        return self._hub.subscribe(channel)

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.psubscribe(self._prefix + "*")
        self._task = asyncio.create_task(self._listen(self._pubsub), name="redis-broker")

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    channel = _text(message["channel"]).removeprefix(self._prefix)
                    self._hub.deliver(channel, _text(message["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                # redis-py re-subscribes on reconnect; back off so an outage is not a busy loop.
                logger.warning("redis subscription interrupted; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def get_broker(conn: HTTPConnection) -> Broker:
    broker: Broker = conn.app.state.resources.broker
    return broker


BrokerDep = Annotated[Broker, Depends(get_broker)]
