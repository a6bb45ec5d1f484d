"""The WebSocket probe: a handshake without credentials to each protected WebSocket,
sent in process over ASGI with the endpoint swapped for a stub that accepts.

No `from __future__ import annotations`: FastAPI resolves string annotations in the
module's globals, and these apps use dependencies defined inside the tests.
"""

import time
from typing import Annotated, Any

import anyio
from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    HTTPException,
    WebSocket,
    WebSocketException,
    status,
)

from fastapi_expert.audit.model import Exchange

from .helpers import audit


def ws_current_user(websocket: WebSocket) -> str | None:
    return websocket.query_params.get("token")  # never refuses: a missing token passes as None


def ws_current_user_strict(websocket: WebSocket) -> str:
    token = websocket.query_params.get("token")
    if token is None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
    return token


def ws_current_user_http(websocket: WebSocket) -> str:
    token = websocket.query_params.get("token")
    if token is None:
        raise HTTPException(status_code=403, detail="Not authenticated")
    return token


def room_access(token: str | None = None) -> str:
    return token.upper()  # type: ignore[union-attr]  # AttributeError on None: the handshake crashes


def handshakes(result: Any) -> dict[str, Exchange]:
    return {e.path: e for e in result.probes.of("unauthenticated") if e.method == "WS"} if result.probes else {}


def test_a_protected_websocket_that_accepts_without_credentials_is_found() -> None:
    ran: list[str] = []
    app = FastAPI()

    @app.websocket("/ws/lenient")
    async def lenient(websocket: WebSocket, user: Annotated[str | None, Depends(ws_current_user)]) -> None:
        ran.append("lenient")
        await websocket.accept()

    @app.websocket("/ws/closes")
    async def closes(websocket: WebSocket, user: Annotated[str, Depends(ws_current_user_strict)]) -> None:
        ran.append("closes")

    @app.websocket("/ws/denies")
    async def denies(websocket: WebSocket, user: Annotated[str, Depends(ws_current_user_http)]) -> None:
        ran.append("denies")

    router = APIRouter(prefix="/api")  # an included router: FastAPI >= 0.16x keeps it nested

    @router.websocket("/ws/included")
    async def included(websocket: WebSocket, user: Annotated[str | None, Depends(ws_current_user)]) -> None:
        ran.append("included")

    app.include_router(router)
    result = audit(app)
    enforced = sorted(f.message for f in result.findings if f.code == "FX426")
    assert [m.split(" requires")[0] for m in enforced] == ["`WS /api/ws/included`", "`WS /ws/lenient`"]
    assert all("a WebSocket handshake without credentials passed its dependencies and was accepted" in m for m in enforced)
    answers = {path: (e.status, e.reached_endpoint) for path, e in handshakes(result).items()}
    assert answers == {
        "/ws/lenient": (101, True),
        "/ws/closes": (403, False),
        "/ws/denies": (403, False),
        "/api/ws/included": (101, True),
    }
    assert ran == []  # the stub accepted, not the endpoint
    routes = {r.path: r for r in result.app.routes}
    assert routes["/ws/lenient"].view.dependant.call is lenient  # put back after the probes
    assert routes["/api/ws/included"].view.dependant.call is included


def test_a_websocket_dependency_that_crashes_is_a_500_not_a_refusal() -> None:
    app = FastAPI()

    @app.websocket("/ws")
    async def socket(websocket: WebSocket, user: Annotated[str, Depends(room_access)]) -> None:
        await websocket.accept()

    result = audit(app)
    # A `token` parameter read by a dependency (not named like auth, no scheme):
    # that code runs during the probes, so the handshake tells something.
    route = next(r for r in result.app.routes if r.path == "/ws")
    assert route.credentials_in_dependencies and not route.auth_dependencies
    enforced = [f for f in result.findings if f.code == "FX426"]
    assert len(enforced) == 1 and "with 500 (AttributeError raised before the handshake)" in enforced[0].message


def test_a_dependency_that_accepts_then_waits_for_a_token_message_is_not_flagged() -> None:
    async def first_message_current_user(websocket: WebSocket) -> str:
        await websocket.accept()  # authenticates on the first message (no token in the URL)
        message = await websocket.receive_json()
        return str(message["token"])

    app = FastAPI()

    @app.websocket("/ws")
    async def socket(websocket: WebSocket, user: Annotated[str, Depends(first_message_current_user)]) -> None:
        raise AssertionError("the endpoint must not run")

    result = audit(app)
    assert handshakes(result)["/ws"].status == 101 and not handshakes(result)["/ws"].reached_endpoint
    assert [f for f in result.findings if f.code == "FX426"] == []


def test_credentials_the_handler_reads_itself_are_not_probed() -> None:
    app = FastAPI()

    @app.websocket("/ws/events")
    async def events(websocket: WebSocket, token: str | None = None) -> None:
        await websocket.accept()  # the handler checks the token: it never runs during the audit
        if token is None:
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION)

    result = audit(app)
    assert handshakes(result) == {}
    assert next(r for r in result.app.routes if r.path == "/ws/events").auth == ["token (query) in handler"]


def test_a_websocket_inside_a_mounted_app_is_probed_through_the_parent() -> None:
    seen: list[str] = []
    app = FastAPI()

    @app.middleware("http")  # does not see WebSockets: a pure ASGI one does
    async def passthrough(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    class Recorder:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "websocket":
                seen.append(scope["path"])
            await self.inner(scope, receive, send)

    app.add_middleware(Recorder)
    live = FastAPI()

    @live.websocket("/feed/{room}")
    async def feed(websocket: WebSocket, room: str, user: Annotated[str | None, Depends(ws_current_user)]) -> None:
        await websocket.accept()

    app.mount("/live", live)
    result = audit(app)
    assert list(handshakes(result)) == ["/live/feed/fx-sample"] and seen == ["/live/feed/fx-sample"]
    assert any(f.code == "FX426" and "`WS /live/feed/{room}`" in f.message for f in result.findings)


def test_a_hanging_websocket_dependency_is_cut_and_reported() -> None:
    app = FastAPI()

    async def stuck_current_user(websocket: WebSocket) -> str:
        await anyio.sleep(30)
        return "never"

    @app.websocket("/ws")
    async def socket(websocket: WebSocket, user: Annotated[str, Depends(stuck_current_user)]) -> None:
        await websocket.accept()

    started = time.perf_counter()
    result = audit(app, timeout=0.3)
    timed_out = [f for f in result.findings if f.code == "FX011"]
    assert len(timed_out) == 1 and "`WS /ws`" in timed_out[0].message
    assert time.perf_counter() - started < 5


def test_the_handshake_driver_on_bare_asgi_apps() -> None:
    from fastapi_expert.audit.handshake import handshake

    async def returns_silently(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    async def denies(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 401, "headers": [(b"x-a", b"1")]})
        await send({"type": "websocket.http.response.body", "body": b"no", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b" way"})

    async def accepts_then_lingers(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await anyio.sleep(30)  # cut without losing the answer

    async def main() -> list[Any]:
        return [
            await handshake(returns_silently, "/ws", "testserver", 1.0),
            await handshake(denies, "/ws", "testserver", 1.0),
            await handshake(accepts_then_lingers, "/ws", "testserver", 0.2),
        ]

    silent, denied, accepted = anyio.run(main)
    assert (silent.status, silent.error) == (500, "the app returned without answering the handshake")
    assert (denied.status, denied.headers, denied.body) == (401, {"x-a": "1"}, "no way")
    assert accepted.accepted
