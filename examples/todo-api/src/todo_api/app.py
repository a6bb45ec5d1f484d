"""The app factory: the ONE place where features are wired together.

Each feature is a router module plus, at most, a line here. Leaving a feature out (as
the generator does on request) means deleting its package and its lines below.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from todo_api import __version__
from todo_api.api_keys.router import router as api_keys_router
from todo_api.auth.router import router as auth_router
from todo_api.health.router import router as health_router
from todo_api.logs import configure_logging
from todo_api.middleware import RequestIdMiddleware, SecurityHeadersMiddleware
from todo_api.problems import install_problem_handlers, problem_responses
from todo_api.realtime.router import make_event_publisher
from todo_api.realtime.router import router as realtime_router
from todo_api.resources import open_resources
from todo_api.settings import Settings
from todo_api.todos.events import TodoEventHandler
from todo_api.todos.router import router as todos_router
from todo_api.users.router import router as users_router

API_PREFIX = "/api/v1"

DESCRIPTION = """
A multi-user todo API: the reference service of **fastapi-expert**.

* Authenticate with `POST /api/v1/auth/token` (OAuth2 password flow) and send
  `Authorization: Bearer <access_token>`, or create an API key and send `X-API-Key`.
* Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem details.
* Lists are keyset-paginated (`next_cursor`); reads carry `ETag`s.
"""

TAGS = [
    {"name": "auth", "description": "Accounts, logins and token rotation."},
    {"name": "users", "description": "The calling user."},
    {"name": "api-keys", "description": "Long-lived keys for scripts (bearer token required)."},
    {"name": "todos", "description": "The caller's todos."},
    {"name": "realtime", "description": "WebSocket events."},
    {"name": "health", "description": "Probes for orchestrators."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application. Without arguments (uvicorn --factory) settings come from env."""
    settings = settings or Settings()
    settings.check_production()  # refuse unsafe production settings before serving anything
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            handlers: list[TodoEventHandler] = app.state.todo_event_handlers
            handlers.append(make_event_publisher(resources.broker))  # feature: realtime
            # Everything allocated so far lives as long as the process: move it out of
            # the collector's reach so full collections stay short (fewer latency spikes).
            gc.freeze()
            try:
                yield
            finally:
                handlers.clear()

    docs = settings.docs_enabled
    app = FastAPI(
        title=settings.app_name,
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.todo_event_handlers = []

    install_problem_handlers(app)

    # 400 (a body that is not JSON at all) and 500 can happen on any route.
    api = APIRouter(prefix=API_PREFIX, responses=problem_responses(400, 500))
    api.include_router(auth_router)  # feature: auth
    api.include_router(users_router)  # feature: users
    api.include_router(api_keys_router)  # feature: api-keys
    api.include_router(todos_router)  # feature: todos
    api.include_router(realtime_router)  # feature: realtime
    api.include_router(health_router)  # feature: health
    app.include_router(api)

    # Middleware runs outermost-last-added: request ID wraps everything, so even CORS
    # rejections and 500s carry it in the log line and the response.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,  # bearer tokens, no cookies: credentials mode not needed
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "If-Match", "If-None-Match"],
        expose_headers=[
            "ETag",
            "Location",
            "Retry-After",
            "X-Request-ID",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        ],
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        hsts=settings.is_production,
        docs_paths=frozenset({"/docs", "/docs/oauth2-redirect"}),
    )
    app.add_middleware(RequestIdMiddleware, access_log=settings.access_log)
    return app
