"""Drive an app's ASGI lifespan by hand, with timeouts.

httpx's `ASGITransport` sends no lifespan events, and asgi-lifespan would be one
more dependency for forty lines. The protocol:
https://asgi.readthedocs.io/en/latest/specs/lifespan.html
"""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi_expert.audit.loader import AppLoadError


@asynccontextmanager
async def run_lifespan(asgi: Any, timeout: float) -> AsyncIterator[dict[str, Any]]:
    """Start the app, yield the lifespan state, shut it down.

    Raises `AppLoadError` when start-up fails or takes longer than `timeout`.
    """
    import anyio

    state: dict[str, Any] = {}
    to_app_send, to_app_receive = anyio.create_memory_object_stream[MutableMapping[str, Any]](4)
    from_app_send, from_app_receive = anyio.create_memory_object_stream[MutableMapping[str, Any]](4)
    failure: list[BaseException] = []

    async def receive() -> MutableMapping[str, Any]:
        return await to_app_receive.receive()

    async def send(message: MutableMapping[str, Any]) -> None:
        await from_app_send.send(message)

    async def main() -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
        try:
            await asgi(scope, receive, send)
        except BaseException as exc:  # the user's start-up code may raise anything
            if isinstance(exc, anyio.get_cancelled_exc_class()):
                raise
            failure.append(exc)
        finally:
            # Wakes the waiter below if the app returned without answering.
            from_app_send.close()

    async def wait_for(kind: str) -> None:
        with anyio.move_on_after(timeout) as scope:
            try:
                message = await from_app_receive.receive()
            except anyio.EndOfStream:
                message = {}
        if scope.cancelled_caught:
            raise AppLoadError(f"the app's lifespan {kind} did not finish within {timeout:g} s")
        if message.get("type") == f"lifespan.{kind}.complete":
            return
        if failure:
            exc = failure[0]
            raise AppLoadError(f"the app's lifespan {kind} failed: {type(exc).__name__}: {exc}") from exc
        if message.get("type") == f"lifespan.{kind}.failed":
            detail = str(message.get("message", "")).strip().splitlines()
            raise AppLoadError(f"the app's lifespan {kind} failed: {detail[-1] if detail else 'no message'}")
        # The app returned without speaking the protocol: it has no lifespan (uvicorn's "auto").

    # Errors are carried out of the task group by hand: raised inside it, anyio
    # would wrap them in an ExceptionGroup and the one clear line would be lost.
    error: BaseException | None = None
    async with to_app_send, to_app_receive, from_app_send, from_app_receive, anyio.create_task_group() as group:
        group.start_soon(main)
        try:
            await to_app_send.send({"type": "lifespan.startup"})
            await wait_for("startup")
        except AppLoadError as exc:
            error = exc
            group.cancel_scope.cancel()
        if error is None:
            try:
                yield state
            except BaseException as exc:  # the audit's own failure, re-raised below
                error = exc
            finally:
                try:
                    await to_app_send.send({"type": "lifespan.shutdown"})
                    await wait_for("shutdown")
                except (AppLoadError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass  # a failing shutdown does not change what the audit found
                group.cancel_scope.cancel()
    if error is not None:
        raise error
