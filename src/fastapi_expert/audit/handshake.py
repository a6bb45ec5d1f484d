"""One WebSocket handshake sent to the app in process, over ASGI.

httpx's `ASGITransport` speaks only HTTP, so the probe drives the ASGI app
itself: a `websocket` scope, a receive that hands over `websocket.connect`, and a
send that records what the app answers. Nothing leaves the process.

What a server would tell the client is what gets recorded: `websocket.accept`
is 101; `websocket.close` before accepting is 403 (uvicorn's and hypercorn's
answer); a denial response (`websocket.http.response.*`, an extension advertised
here as servers do, and what Starlette sends for an `HTTPException` raised in a
WebSocket dependency) keeps its own status and body; an app that raises, or
returns without answering, gets 500. https://asgi.readthedocs.io/en/latest/specs/www.html#websocket
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

ACCEPTED = 101
CLOSED_BEFORE_ACCEPT = 403
NO_ANSWER = 500
_DECISIVE = frozenset({"websocket.accept", "websocket.close", "websocket.http.response.start"})
# A fixed, valid Sec-WebSocket-Key (16 bytes, base64): the app never checks it.
_KEY = b"ZmFzdGFwaS1leHBlcnQhIQ=="


@dataclass(frozen=True)
class Handshake:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED


def websocket_scope(path: str, host: str) -> dict[str, Any]:
    """What a server hands the app for `wss://host/path`, with no credentials at all."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "wss",
        "server": (host, 443),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": b"",
        "headers": [
            (b"host", host.encode("ascii", "replace")),
            (b"connection", b"upgrade"),
            (b"upgrade", b"websocket"),
            (b"sec-websocket-version", b"13"),
            (b"sec-websocket-key", _KEY),
        ],
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }


class _Client:
    """The client side of the ASGI conversation: connect, then wait for the answer."""

    def __init__(self) -> None:
        import anyio

        self.messages: list[MutableMapping[str, Any]] = []
        self.decided = anyio.Event()
        self._connected = False

    async def receive(self) -> MutableMapping[str, Any]:
        if not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        # A real client says nothing before the handshake is answered, and hangs
        # up right after: the probe has learnt what it came for.
        await self.decided.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.messages.append(message)
        if _answers(message):
            self.decided.set()


def _answers(message: MutableMapping[str, Any]) -> bool:
    """Does the app's message settle the handshake (accepted, refused, or denied in full)?"""
    kind = message.get("type")
    if kind == "websocket.http.response.body":
        return not message.get("more_body", False)
    return kind in {"websocket.accept", "websocket.close"}


def _headers(message: MutableMapping[str, Any]) -> dict[str, str]:
    return {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in message.get("headers") or ()}


def _outcome(messages: list[MutableMapping[str, Any]], raised: BaseException | None) -> Handshake:
    first = next((m for m in messages if m.get("type") in _DECISIVE), None)
    if first is None:
        error = f"{type(raised).__name__} raised before the handshake" if raised is not None else None
        return Handshake(NO_ANSWER, error=error or "the app returned without answering the handshake")
    if first["type"] == "websocket.accept":
        return Handshake(ACCEPTED, _headers(first))
    if first["type"] == "websocket.close":
        return Handshake(CLOSED_BEFORE_ACCEPT, body=f"closed before accepting (code {first.get('code', 1000)})")
    body = b"".join(bytes(m.get("body", b"")) for m in messages if m.get("type") == "websocket.http.response.body")
    return Handshake(int(first.get("status", NO_ANSWER)), _headers(first), body.decode("utf-8", "replace"))


async def handshake(app: Any, path: str, host: str, timeout: float) -> Handshake:
    """Open a WebSocket to `path` without credentials and report the app's answer.

    Raises TimeoutError when the app has not answered within `timeout`. Once it
    has, a slow clean-up (a dependency's code after `yield`) is cut without
    losing the answer.
    """
    import anyio

    client = _Client()
    raised: Exception | None = None
    with anyio.move_on_after(timeout) as deadline:
        try:
            await app(websocket_scope(path, host), client.receive, client.send)
        except Exception as exc:  # the user's code may raise anything; a server answers 500
            raised = exc
    if deadline.cancelled_caught and not client.decided.is_set():
        raise TimeoutError(f"no answer to the handshake within {timeout:g} s")
    return _outcome(client.messages, raised)
