"""Probes: in-process requests over ASGI (httpx `ASGITransport`), never a socket.

Safety: before the first request every API endpoint function is swapped, on the
`Dependant` FastAPI calls it through, for a stub that answers at once with a
marker header. Middleware, exception handlers and dependencies (authentication
included) run for real; no endpoint does, so no probe can change data even when
a route lets an unauthenticated request through (the marker proves it did).
Routes whose endpoint cannot be swapped (streaming generators, plain Starlette
routes) get no request that could reach them. The originals are put back after.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from fastapi_expert.audit.checks.shadowed_route import sample_path
from fastapi_expert.audit.lifespan import run_lifespan
from fastapi_expert.audit.loader import AppLoadError, LoadedApp
from fastapi_expert.audit.model import AppInfo, Exchange, InFlight, ProbeResults, RouteInfo

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


class _Swapped:
    """Endpoint functions replaced by stubs, and how to put them back."""

    def __init__(self) -> None:
        self.patched: set[int] = set()
        self._undo: list[tuple[Any, Any]] = []

    def swap(self, routes: list[RouteInfo]) -> None:
        for route in routes:
            if route.kind != "http" or route.is_generator:
                continue
            dependant = getattr(route.view, "dependant", None)
            original = getattr(dependant, "call", None)
            if dependant is None or original is None:
                continue
            try:
                dependant.call = _stub(original)
            except (AttributeError, TypeError):  # a frozen or slotted object we cannot patch
                continue
            self._undo.append((dependant, original))
            self.patched.add(id(route))

    def restore(self) -> None:
        for dependant, original in reversed(self._undo):
            dependant.call = original
        self._undo.clear()


def _host(info: AppInfo) -> str:
    """A Host header TrustedHostMiddleware lets through."""
    for middleware in info.middleware:
        if middleware.name == "TrustedHostMiddleware":
            for host in middleware.options.get("allowed_hosts") or ():
                if host != "*":
                    return str(host).replace("*.", "probe.", 1)
    return "testserver"


def _matching(path: str, method: str, routes: list[RouteInfo]) -> list[RouteInfo]:
    out = []
    for route in routes:
        if route.path_regex is None or not route.path_regex.match(path):
            continue
        if route.kind == "mount" or method in route.methods:
            out.append(route)
    return out


def _safe_target(path: str, method: str, routes: list[RouteInfo], patched: set[int]) -> bool:
    """Only stubs (or nothing at all) can answer `method path`."""
    return all(r.kind == "http" and id(r) in patched for r in _matching(path, method, routes))


class _Prober:
    def __init__(self, client: Any, timeout: float, results: ProbeResults) -> None:
        self.client = client
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
    ) -> Exchange:
        import anyio
        import httpx

        exchange: Exchange
        self.results.in_flight = InFlight(probe, method, path, route, time.perf_counter())
        try:
            with anyio.fail_after(self.timeout):
                response = await self.client.request(method, path, headers=headers, content=content)
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


def _origin(headers: dict[str, str] | None) -> str | None:
    return (headers or {}).get("Origin")


async def _probe_all(prober: _Prober, info: AppInfo, patched: set[int]) -> None:
    routes = info.routes
    api = [r for r in info.user_routes if r.kind == "http"]

    await prober.send("not-found", "GET", "/fastapi-expert-probe/does-not-exist")

    plain = [r for r in api if not r.path_param_names] or api
    if plain:
        target = plain[0]
        path = sample_path(target)
        # CORSMiddleware answers a preflight itself; without it OPTIONS reaches the
        # router, where only stubs may answer.
        has_cors = any(m.name == "CORSMiddleware" for m in info.middleware)
        if has_cors or _safe_target(path, "OPTIONS", routes, patched):
            await prober.send(
                "preflight",
                "OPTIONS",
                path,
                target,
                headers={"Origin": UNTRUSTED_ORIGIN, "Access-Control-Request-Method": "POST"},
            )
        allowed = {m for r in routes if r.path_regex is not None and r.path_regex.match(path) for m in r.methods}
        wrong = next((m for m in ("PATCH", "PUT", "DELETE", "POST", "GET") if m not in allowed), None)
        if wrong is not None and _safe_target(path, wrong, routes, patched):
            await prober.send("wrong-method", wrong, path, target)

    for route in api:
        if id(route) not in patched or not (route.security or route.auth_dependencies):
            continue
        method = "GET" if "GET" in route.methods else sorted(route.methods)[0]
        path = sample_path(route)
        if not _safe_target(path, method, routes, patched):
            continue
        body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
        headers = {"Content-Type": "application/json"} if body is not None else None
        await prober.send("unauthenticated", method, path, route, headers=headers, content=body)

    with_body = [r for r in api if r.has_json_body and id(r) in patched][:MAX_BODY_ROUTES]
    for route in with_body:
        body_method = next((m for m in ("POST", "PUT", "PATCH", "DELETE") if m in route.methods), None)
        path = sample_path(route)
        if body_method is None or not _safe_target(path, body_method, routes, patched):
            continue
        await prober.send(
            "malformed-json", body_method, path, route,
            headers={"Content-Type": "application/json"}, content=b'{"fastapi-expert-probe": ',
        )
        await prober.send(
            "wrong-content-type", body_method, path, route,
            headers={"Content-Type": "text/plain"}, content=b"fastapi-expert-probe=1",
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
                prober = _Prober(client, timeout, results)
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
