"""Automatic pipelining of the hot Redis commands (the technique of ioredis and rueidis).

Every cached read costs two Redis commands (the rate-limit increment, then the cache
read). Sent one by one, each pays a connection check-out, a write system call, a read
and the event-loop wake-ups around them, which with redis-py costs more CPU than the
rest of the request. Under concurrency, many requests issue a command in the same
event-loop iteration: this class queues them and, on the next iteration, sends the
whole batch as ONE non-transactional pipeline (one write, one read, one pooled
connection), then hands each caller its own reply.

Semantics are those of sending the commands separately: each command is independent
(no MULTI), each caller gets its own result or its own error (a failed command does not
fail the others), and a connection failure fails the whole batch with the exception
raised by redis-py, which the callers already handle (fail open / cache miss). A lone
request waits at most one event-loop iteration more than it would otherwise.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis


class AutoPipeline:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pending: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._flush_scheduled = False
        self._running: set[asyncio.Task[None]] = set()  # strong references (asyncio docs)

    def execute(self, *args: Any) -> asyncio.Future[Any]:
        """Queue one command (`"GET", key`...); await the result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((args, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for args, _ in batch:
                    pipe.execute_command(*args)
                replies = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # handed to every waiting caller, who handles it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():  # the caller was cancelled meanwhile
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def drain(self) -> None:
        """Wait for the batches in flight (at shutdown, before the client is closed)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
