"""Probes: in-process requests over ASGI (httpx `ASGITransport`), never a socket.

Safety: before the first request every API endpoint function is swapped, on the
`Dependant` FastAPI calls it through, for a stub that answers at once with a
marker header (a WebSocket endpoint: a stub that accepts with the marker and
closes). Middleware, exception handlers and dependencies (authentication
included) run for real; no endpoint does, so no probe can change data even when
a route lets an unauthenticated request through (the marker proves it did).
Routes whose endpoint cannot be swapped (streaming generators, plain Starlette
routes, anything inside an opaque mount) get no request that could reach them.
The originals are put back after.

Routes inside mounted apps are probed through the audited app, at their full
path, so the parent's middleware runs as in production; a mount the audit
entered is seen through (only the routes listed under it can answer).
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from fastapi_expert.audit import handshake
from fastapi_expert.audit.checks.shadowed_route import sample_path
from fastapi_expert.audit.lifespan import run_lifespan
from fastapi_expert.audit.loader import AppLoadError, LoadedApp
from fastapi_expert.audit.model import AppInfo, Exchange, InFlight, ProbeResults, RouteInfo
from fastapi_expert.audit.mounts import sample_host
from fastapi_expert.audit.samples import body_schema, sample_body

MARKER = "x-fastapi-expert-probe"
UNTRUSTED_ORIGIN = "https://untrusted.fastapi-expert.invalid"
MAX_BODY_ROUTES = 10
_BODY_CAPTURE = 4000


def _is_coroutine(call: Any) -> bool:
    # Mirrors FastAPI's own test: the endpoint (through partials) or its __call__.
    while isinstance(call, functools.partial):
        call = call.func
    # A callable instance (`class Endpoint: async def __call__`) is awaited too.
    dunder_call = vars(type(call)).get("__call__") if not inspect.isroutine(call) else None
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(dunder_call)


def _stub(original: Any) -> Callable[..., Any]:
    from starlette.responses import Response

    def reached() -> Response:
        return Response(status_code=200, headers={MARKER: "reached-endpoint"})

    if _is_coroutine(original):

        async def async_stub(**_: Any) -> Response:
            return reached()

        return async_stub

    def sync_stub(**_: Any) -> Response:
        return reached()

    return sync_stub


def _websocket_stub(websocket_param: str) -> Callable[..., Any]:
    # FastAPI awaits a WebSocket endpoint and passes the connection under the
    # name the endpoint gave it; accepting with the marker proves who accepted.
    async def websocket_stub(**values: Any) -> None:
        websocket = values[websocket_param]
        await websocket.accept(headers=[(MARKER.encode(), b"reached-endpoint")])
        await websocket.close()

    return websocket_stub


def _replacement(route: RouteInfo, dependant: Any, original: Any) -> Callable[..., Any] | None:
    """The stub for this route's endpoint, or None when it cannot have one."""
    if route.kind == "http" and not route.is_generator:
        return _stub(original)
    websocket_param = getattr(dependant, "websocket_param_name", None)
    if route.kind == "websocket" and websocket_param:
        return _websocket_stub(str(websocket_param))
    return None  # a plain Starlette route or WebSocket, a streaming endpoint


class _Swapped:
    """Endpoint functions replaced by stubs, and how to put them back."""

    def __init__(self) -> None:
        self.patched: set[int] = set()
        self._undo: list[tuple[Any, Any]] = []
        # One Dependant can serve several RouteInfo (an app mounted at two paths):
        # swapped once, so the original is what gets put back.
        self._stubbed: set[int] = set()

    def swap(self, routes: list[RouteInfo]) -> None:
        for route in routes:
            dependant = getattr(route.view, "dependant", None)
            original = getattr(dependant, "call", None)
            if dependant is None or original is None:
                continue
            if id(dependant) in self._stubbed:
                self.patched.add(id(route))
                continue
            stub = _replacement(route, dependant, original)
            if stub is None:
                continue
            try:
                dependant.call = stub
            except (AttributeError, TypeError):  # a frozen or slotted object we cannot patch
                continue
            self._undo.append((dependant, original))
            self._stubbed.add(id(dependant))
            self.patched.add(id(route))

    def restore(self) -> None:
        for dependant, original in reversed(self._undo):
            dependant.call = original
        self._undo.clear()
        self._stubbed.clear()


def _allowed_hosts(info: AppInfo) -> list[str]:
    """Host headers TrustedHostMiddleware lets through (`*.example.com` as `probe.example.com`)."""
    out = []
    for middleware in info.middleware:
        if middleware.name == "TrustedHostMiddleware":
            out += [str(h).replace("*.", "probe.", 1) for h in middleware.options.get("allowed_hosts") or () if h != "*"]
    return out


def _host(info: AppInfo) -> str:
    """A Host header TrustedHostMiddleware lets through."""
    return next(iter(_allowed_hosts(info)), "testserver")


WEBSOCKET = "WEBSOCKET"  # the "method" of a handshake, for the matching below


def _reaches(route: RouteInfo, path: str, host: str) -> bool:
    """Could Starlette hand a request for `host` + `path` to `route`?"""
    if not all(regex.match(host) for regex in route.host_regexes):
        return False
    if route.path_regex is None:
        return route.kind == "mount"  # a Host: every path of its host
    return bool(route.path_regex.match(path))


def _matching(path: str, method: str, routes: list[RouteInfo], host: str) -> list[RouteInfo]:
    out = []
    for route in routes:
        if not _reaches(route, path, host):
            continue
        if route.kind == "mount":
            if not route.transparent:  # opaque: anything inside may answer
                out.append(route)
        elif method == WEBSOCKET:
            if route.kind == "websocket":  # HTTP routes never match a handshake
                out.append(route)
        elif method in route.methods:  # nor WebSocket routes (no methods) a request
            out.append(route)
    return out


def _safe_target(path: str, method: str, routes: list[RouteInfo], patched: set[int], host: str) -> bool:
    """Only stubs (or nothing at all) can answer `method path` on `host`."""
    kind = "websocket" if method == WEBSOCKET else "http"
    return all(r.kind == kind and id(r) in patched for r in _matching(path, method, routes, host))


def _route_host(route: RouteInfo, default: str, info: AppInfo) -> str | None:
    """The Host header that reaches `route`: the default one, else one of the
    allowed hosts or a sample of its `Host` pattern; None when none does."""
    candidates = [default, *_allowed_hosts(info)]
    sample = sample_host((route.host,) if route.host else ())
    if sample is not None:
        candidates.append(sample)
    return next((h for h in candidates if all(r.match(h) for r in route.host_regexes)), None)


def _checked_before_endpoint(route: RouteInfo) -> bool:
    """Is the route's authentication done by code that runs during the probes?

    Security schemes and dependencies do; credentials the endpoint reads itself
    (`token: str | None = None` on a WebSocket handler) are checked by the
    endpoint, which never runs, so a request without them proves nothing.
    """
    return bool(route.security or route.auth_dependencies or route.credentials_in_dependencies)


class _Prober:
    def __init__(self, client: Any, app: Any, timeout: float, results: ProbeResults) -> None:
        self.client = client
        self.app = app  # what the client talks to: for the WebSocket handshakes
        self.timeout = timeout
        self.results = results

    async def send(
        self,
        probe: str,
        method: str,
        path: str,
        route: RouteInfo | None = None,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        host: str | None = None,
    ) -> Exchange:
        import anyio
        import httpx

        exchange: Exchange
        self.results.in_flight = InFlight(probe, method, path, route, time.perf_counter())
        # A route under a `Host` is reached only with its Host header (else the client's).
        sent = {**(headers or {}), "Host": host} if host is not None else headers
        try:
            with anyio.fail_after(self.timeout):
                response = await self.client.request(method, path, headers=sent, content=content)
        except TimeoutError:
            exchange = Exchange(probe, method, path, route, None, {}, "", False, timed_out=True, origin=_origin(headers))
        except httpx.HTTPError as exc:
            exchange = Exchange(probe, method, path, route, None, {}, "", False, error=str(exc), origin=_origin(headers))
        else:
            lowered = {k.lower(): v for k, v in response.headers.items()}
            exchange = Exchange(
                probe,
                method,
                path,
                route,
                response.status_code,
                lowered,
                response.text[:_BODY_CAPTURE],
                MARKER in lowered,
                origin=_origin(headers),
            )
        self.results.in_flight = None
        self.results.exchanges.append(exchange)
        return exchange

    async def handshake(self, probe: str, path: str, route: RouteInfo, host: str) -> Exchange:
        """Open a WebSocket without credentials (`WS path`), recorded like a request."""
        self.results.in_flight = InFlight(probe, "WS", path, route, time.perf_counter())
        try:
            answer = await handshake.handshake(self.app, path, host, self.timeout)
        except TimeoutError:
            exchange = Exchange(probe, "WS", path, route, None, {}, "", False, timed_out=True)
        else:
            exchange = Exchange(
                probe,
                "WS",
                path,
                route,
                answer.status,
                answer.headers,
                answer.body[:_BODY_CAPTURE],
                answer.accepted and MARKER in answer.headers,
                error=answer.error,
            )
        self.results.in_flight = None
        self.results.exchanges.append(exchange)
        return exchange


def _origin(headers: dict[str, str] | None) -> str | None:
    return (headers or {}).get("Origin")


async def _probe_all(prober: _Prober, info: AppInfo, patched: set[int]) -> None:
    await _not_found(prober, info, patched)
    api = [r for r in info.user_routes if r.kind == "http"]
    await _preflight_and_wrong_method(prober, info, api, patched)
    await _unauthenticated(prober, info, patched)
    await _bad_bodies(prober, info, api, patched)


async def _not_found(prober: _Prober, info: AppInfo, patched: set[int]) -> None:
    """An unknown path to the app, and one inside each mounted app: each answers
    it with its own exception handlers."""
    default = _host(info)
    targets: list[tuple[str, RouteInfo | None, str | None]] = [("", None, default)]
    for sub in info.sub_apps:
        if sub.is_app and sub.mount is not None:
            # The mount's own path, `{tenant}` filled (a Host's is the prefix it sits under).
            prefix = sample_path(sub.mount) if sub.mount.path_regex is not None else sub.path
            targets.append((prefix, sub.mount, _route_host(sub.mount, default, info)))
    sent: set[tuple[str, str]] = set()
    for prefix, route, host in targets:
        path = f"{prefix}/fastapi-expert-probe/does-not-exist"
        if host is None or (path, host) in sent or not _safe_target(path, "GET", info.routes, patched, host):
            continue  # an opaque mount or a catch-all route would get it, or it went already (a mount at "/")
        sent.add((path, host))
        await prober.send("not-found", "GET", path, route, host=host)


async def _preflight_and_wrong_method(prober: _Prober, info: AppInfo, api: list[RouteInfo], patched: set[int]) -> None:
    routes = info.routes
    default = _host(info)
    plain = [r for r in api if not r.path_param_names and not r.host] or [r for r in api if not r.host]
    if not plain:
        return
    target = plain[0]
    path = sample_path(target)
    # CORSMiddleware answers a preflight itself; without it OPTIONS reaches the
    # router, where only stubs may answer.
    has_cors = any(m.name == "CORSMiddleware" for m in info.middleware)
    if has_cors or _safe_target(path, "OPTIONS", routes, patched, default):
        await prober.send(
            "preflight",
            "OPTIONS",
            path,
            target,
            headers={"Origin": UNTRUSTED_ORIGIN, "Access-Control-Request-Method": "POST"},
        )
    allowed = {m for r in routes if _reaches(r, path, default) for m in r.methods}
    wrong = next((m for m in ("PATCH", "PUT", "DELETE", "POST", "GET") if m not in allowed), None)
    if wrong is not None and _safe_target(path, wrong, routes, patched, default):
        await prober.send("wrong-method", wrong, path, target)


async def _unauthenticated(prober: _Prober, info: AppInfo, patched: set[int]) -> None:
    """A request (or a WebSocket handshake) without credentials to each protected route."""
    default = _host(info)
    for route in info.user_routes:
        if id(route) not in patched or not _checked_before_endpoint(route):
            continue
        host = _route_host(route, default, info)
        path = sample_path(route)
        if route.kind == "websocket":
            if host is not None and _safe_target(path, WEBSOCKET, info.routes, patched, host):
                await prober.handshake("unauthenticated", path, route, host)
            continue
        method = "GET" if "GET" in route.methods else sorted(route.methods)[0]
        if host is None or not _safe_target(path, method, info.routes, patched, host):
            continue
        body = _valid_body(route) if method in {"POST", "PUT", "PATCH"} else None
        headers = {"Content-Type": "application/json"} if body is not None else None
        await prober.send("unauthenticated", method, path, route, headers=headers, content=body, host=host)


def _valid_body(route: RouteInfo) -> bytes:
    """A JSON body the route's validation accepts (`{}` when none can be built), so
    that the answer is about the missing credentials, not a 422 for the body."""
    schema = body_schema(route.view) if route.has_json_body else None
    if schema is None:
        return b"{}"
    try:
        return json.dumps(sample_body(schema)).encode("utf-8")
    except (LookupError, TypeError, ValueError):  # no sample, or one JSON cannot write
        return b"{}"


async def _bad_bodies(prober: _Prober, info: AppInfo, api: list[RouteInfo], patched: set[int]) -> None:
    default = _host(info)
    with_body = [r for r in api if r.has_json_body and id(r) in patched][:MAX_BODY_ROUTES]
    for route in with_body:
        body_method = next((m for m in ("POST", "PUT", "PATCH", "DELETE") if m in route.methods), None)
        path = sample_path(route)
        host = _route_host(route, default, info)
        if body_method is None or host is None or not _safe_target(path, body_method, info.routes, patched, host):
            continue
        await prober.send(
            "malformed-json", body_method, path, route,
            headers={"Content-Type": "application/json"}, content=b'{"fastapi-expert-probe": ', host=host,
        )
        await prober.send(
            "wrong-content-type", body_method, path, route,
            headers={"Content-Type": "text/plain"}, content=b"fastapi-expert-probe=1", host=host,
        )


async def run_probes(
    loaded: LoadedApp, info: AppInfo, *, timeout: float, results: ProbeResults | None = None
) -> ProbeResults:
    """Start the app's lifespan, send every probe, stop it. Raises AppLoadError
    when the lifespan fails (the audit cannot talk to an app that did not start)."""
    import httpx

    started = time.perf_counter()
    swapped = _Swapped()
    swapped.swap(info.user_routes)
    results = results if results is not None else ProbeResults()
    results.in_flight = InFlight("lifespan", "LIFESPAN", "startup", None, started)
    try:
        async with run_lifespan(loaded.asgi, timeout) as state:

            async def app_with_state(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
                # What a server does with the lifespan state: a shallow copy per request.
                if scope["type"] in {"http", "websocket"}:
                    scope["state"] = dict(state)
                await loaded.asgi(scope, receive, send)

            results.in_flight = None
            transport = httpx.ASGITransport(app=app_with_state, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport, base_url=f"https://{_host(info)}", follow_redirects=False
            ) as client:
                prober = _Prober(client, app_with_state, timeout, results)
                await _probe_all(prober, info, swapped.patched)
            results.in_flight = InFlight("lifespan-shutdown", "LIFESPAN", "shutdown", None, time.perf_counter())
    finally:
        swapped.restore()
    results.seconds = time.perf_counter() - started
    return results


def probe_sync(loaded: LoadedApp, info: AppInfo, *, timeout: float) -> ProbeResults:
    """Run the probes on a fresh asyncio loop (as uvicorn would) in a watched thread.

    `anyio.fail_after` cuts a request that awaits forever, but not one whose code
    blocks the event loop (`time.sleep()` in an `async def` dependency): the
    watchdog here notices, reports that request as timed out and abandons the
    thread (a daemon: it dies with the process), so the audit still reports.
    """
    import anyio

    results = ProbeResults()
    outcome: list[BaseException] = []

    async def main() -> None:
        await run_probes(loaded, info, timeout=timeout, results=results)

    def target() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append(exc)

    started = time.perf_counter()
    thread = threading.Thread(target=target, name="fastapi-expert-probes", daemon=True)
    thread.start()
    grace = timeout + 1.0  # fail_after gets the first chance
    while thread.is_alive():
        thread.join(0.05)
        current = results.in_flight
        if current is None or not thread.is_alive() or time.perf_counter() - current.since < grace:
            continue
        results.seconds = time.perf_counter() - started
        if current.probe == "lifespan":
            raise AppLoadError(f"the app's lifespan startup did not finish within {timeout:g} s (it blocks the event loop)")
        # A snapshot: the abandoned thread may still append once it unblocks.
        snapshot = ProbeResults(list(results.exchanges), results.seconds)
        if current.probe != "lifespan-shutdown":  # a blocking shutdown changes nothing found
            snapshot.exchanges.append(
                Exchange(current.probe, current.method, current.path, current.route, None, {}, "", False, timed_out=True)
            )
        return snapshot  # the blocked thread is abandoned: it dies with the process
    if outcome:
        raise outcome[0]
    return results
