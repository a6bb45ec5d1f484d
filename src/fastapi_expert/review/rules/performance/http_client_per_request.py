from __future__ import annotations

import ast

from fastapi_expert.review.rules._util import keyword
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import (
    call_name,
    created_per_request,
)
from fastapi_expert.types import Severity

HTTP_CLIENTS = frozenset(
    {
        "httpx.AsyncClient",
        "httpx.Client",
        "httpx._client.AsyncClient",
        "httpx._client.Client",
        "aiohttp.ClientSession",
        "aiohttp.client.ClientSession",
        "requests.Session",
        "requests.session",
        "requests.sessions.Session",
    }
)


class HttpClientPerRequest(Rule):
    """Flags an HTTP client (`httpx.AsyncClient`, `aiohttp.ClientSession`) built for each request.

    ## What it does
    Finds `httpx.AsyncClient()`, `httpx.Client()`, `aiohttp.ClientSession()` and
    `requests.Session()` constructed while serving a request, including as
    `async with httpx.AsyncClient() as client:`: in a route endpoint, in a
    dependency, or in a project function one of them calls. Clients created in
    the `lifespan` handler or at module level, clients kept for reuse
    (`app.state.http = ...`, `self._client = ...`, a `global`, or a local the
    function then keeps: `state.session = session`, `cache.set(key, client)`;
    likewise a client a called function returns that is kept so), clients built
    in a method that keeps its result on the instance and returns it early while
    set (`if self._specs: return self._specs`, a TTL cache), clients built in a
    function that first answers from a module-level cache it fills itself
    (`try: return CACHE[key]` / `if key in CACHE: return CACHE[key]` /
    `hit = CACHE.get(key)`, then `CACHE[key] = data`: one client per cache
    miss, not per request), and clients
    wrapping an ASGI app or a custom `transport=` are not flagged.

    ## Why is this bad?
    A client object owns a connection pool. A new one per request means no
    keep-alive: every outbound call pays DNS, TCP and TLS handshakes again (tens
    of milliseconds, plus CPU for TLS), and sockets pile up in `TIME_WAIT` under
    load. httpx and aiohttp both document one long-lived client per application;
    create it in `lifespan`, keep it on `app.state`, and hand it out with a
    dependency.

    ## References
    - https://www.python-httpx.org/advanced/clients/#why-use-a-client
    - https://docs.aiohttp.org/en/stable/client_reference.html#client-session
    - https://fastapi.tiangolo.com/advanced/events/#lifespan
    """

    code = "FX505"
    name = "http-client-per-request"
    summary = "A new HTTP client (and connection pool) is created on every request."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from contextlib import asynccontextmanager

            import httpx
            from fastapi import FastAPI, Request

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                async with httpx.AsyncClient(base_url="https://api.github.com", timeout=10) as client:
                    app.state.http = client
                    yield

            app = FastAPI(lifespan=lifespan)

            @app.get("/repos/{owner}")
            async def repos(owner: str, request: Request):
                response = await request.app.state.http.get(f"/users/{owner}/repos")
                return response.json()
            """
        ),
        Valid(
            """
            import httpx
            from fastapi import FastAPI

            app = FastAPI()
            weather = httpx.AsyncClient(base_url="https://api.weather.example", timeout=5)

            @app.get("/forecast/{city}")
            async def forecast(city: str):
                return (await weather.get("/forecast", params={"q": city})).json()
            """
        ),
        Valid(
            """
            import time
            from abc import ABC, abstractmethod

            import httpx

            class SpecService(ABC):
                @abstractmethod
                async def search(self) -> list[dict]: ...

                async def get_default(self) -> dict:
                    return (await self.search())[0]

            class RemoteSpecService(SpecService):
                def __init__(self, url: str) -> None:
                    self.url = url
                    self._specs: list[dict] = []
                    self._expires = 0.0

                async def _fetch(self) -> list[dict]:
                    if self._specs and time.monotonic() < self._expires:
                        return self._specs
                    async with httpx.AsyncClient(timeout=10) as client:
                        specs = (await client.get(f"{self.url}/specs")).json()
                    self._specs = specs
                    self._expires = time.monotonic() + 60
                    return specs

                async def search(self) -> list[dict]:
                    return await self._fetch()

                async def get_default(self) -> dict:
                    return (await self._fetch())[0]
            """,
            filename="app/specs.py",
            files={
                "app/routes.py": """
                    from fastapi import APIRouter, Depends

                    from app.specs import RemoteSpecService, SpecService

                    router = APIRouter()
                    _service = RemoteSpecService("http://runtime-api")

                    def get_specs() -> SpecService:
                        return _service

                    @router.get("/specs/default")
                    async def default_spec(specs: SpecService = Depends(get_specs)) -> dict:
                        return await specs.get_default()
                """
            },
        ),
        Valid(
            """
            from typing import Any

            import httpx
            from cachetools import TTLCache
            from fastapi import FastAPI

            app = FastAPI()
            _RATES: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=50, ttl=300)
            _HOLIDAYS: dict[str, list[str]] = {}

            async def exchange_rates(base: str) -> dict[str, Any]:
                hit = _RATES.get(base)
                if hit is not None:
                    return hit
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(f"https://rates.example.com/latest/{base}")
                    response.raise_for_status()
                _RATES[base] = response.json()
                return _RATES[base]

            async def holidays(country: str) -> list[str]:
                try:
                    return _HOLIDAYS[country]
                except KeyError:
                    pass
                async with httpx.AsyncClient(timeout=5) as client:
                    days = (await client.get(f"https://holidays.example.com/{country}")).json()
                _HOLIDAYS[country] = days
                return days

            @app.get("/rates/{base}")
            async def rates(base: str) -> dict[str, Any]:
                return await exchange_rates(base)

            @app.get("/holidays/{country}")
            async def list_holidays(country: str) -> list[str]:
                return await holidays(country)
            """
        ),
        Valid(
            # The shared session is rebuilt only when closed, and kept on the module for the next request.
            """
            import aiohttp
            from fastapi import FastAPI

            from app import state

            app = FastAPI()

            async def new_session() -> aiohttp.ClientSession:
                return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

            async def shared_session() -> aiohttp.ClientSession:
                session = state.http_session
                if session is None or session.closed:
                    session = await new_session()
                    state.http_session = session
                return session

            @app.get("/proxy/status")
            async def status():
                async with (await shared_session()).get("https://upstream.example.com/status") as response:
                    return {"status": response.status}
            """,
            filename="app/main.py",
            files={"app/state.py": "http_session = None\n"},
        ),
    )
    invalid = (
        Invalid(
            """
            import httpx
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/repos/{owner}")
            async def repos(owner: str):
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.get(f"https://api.github.com/users/{owner}/repos")
                return response.json()
            """,
            lines=(8,),
        ),
        Invalid(
            """
            from aiohttp import ClientSession
            from fastapi import Depends, FastAPI

            app = FastAPI()

            async def get_http():
                session = ClientSession()
                try:
                    yield session
                finally:
                    await session.close()

            @app.get("/status")
            async def status(http: ClientSession = Depends(get_http)):
                async with http.get("https://status.example.com/api") as r:
                    return await r.json()
            """,
            lines=(7,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        target = call_name(ctx, node)
        if target is None or target not in HTTP_CLIENTS:
            return
        if keyword(node, "app") is not None or keyword(node, "transport") is not None:
            return
        scope = created_per_request(ctx, node)
        if scope is None:
            return
        ctx.report(
            node,
            f"`{target.split('.')[0]}.{target.rsplit('.', 1)[-1]}()` creates a new HTTP connection pool on every request (in {scope.describe()}), "
            "so no connection is reused; create one client in the `lifespan` handler, keep it on `app.state`, "
            "and share it.",
            chain=scope.chain(),
        )
