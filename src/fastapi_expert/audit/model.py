"""What the audit knows about an app, as plain data (no FastAPI import).

`inspect.py` fills these from FastAPI's objects, `probes.py` adds what the app
answered, and the checks read only these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi_expert.types import Location

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class SecurityUse:
    """One security scheme required somewhere in a route's dependency tree."""

    scheme_name: str
    scheme_class: str
    scopes: tuple[str, ...] = ()
    auto_error: bool = True
    token_url: str | None = None

    @property
    def label(self) -> str:
        return f"{self.scheme_name}[{' '.join(self.scopes)}]" if self.scopes else self.scheme_name


@dataclass
class RouteInfo:
    """One entry of the route table, with everything the checks need."""

    kind: str  # "http" (APIRoute), "websocket", "route" (plain Starlette), "mount"
    path: str
    methods: tuple[str, ...]
    name: str
    location: Location
    endpoint: Callable[..., Any] | None = None
    security: tuple[SecurityUse, ...] = ()
    # Credentials read by hand (a WebSocket's `token` query parameter): auth without
    # a FastAPI security scheme, shown in the table and counted as authentication.
    manual_credentials: tuple[str, ...] = ()
    # Dependencies named like authentication (`get_current_user`, `require_api_key`)
    # with no FastAPI security scheme under them: the static FX408's heuristic.
    auth_dependencies: tuple[str, ...] = ()
    reads_security_scopes: bool = False
    dependencies: tuple[str, ...] = ()
    response_model: str | None = None
    status_code: int | None = None
    tags: tuple[str, ...] = ()
    summary: str | None = None
    description: str = ""
    operation_id: str | None = None
    include_in_schema: bool = True
    framework: bool = False  # FastAPI's own /docs, /redoc, /openapi.json routes
    path_param_names: tuple[str, ...] = ()
    declared_path_params: tuple[str, ...] = ()
    has_json_body: bool = False
    returns_value: bool = True
    response_class: str = "JSONResponse"
    is_generator: bool = False
    has_return_annotation: bool = False
    scheme_ids: frozenset[int] = frozenset()
    # The object FastAPI routes requests through (an APIRoute, or a RouteContext on
    # FastAPI >= 0.16x); the probes patch `view.dependant.call` on it.
    view: Any = field(default=None, repr=False, compare=False)
    path_regex: Any = field(default=None, repr=False, compare=False)
    param_convertors: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def authenticated(self) -> bool:
        return bool(self.security or self.manual_credentials or self.auth_dependencies)

    @property
    def auth(self) -> list[str]:
        labels = [s.label for s in self.security]
        labels += [f"{d}()" for d in self.auth_dependencies]
        labels += [f"{c} in handler" for c in self.manual_credentials]
        return list(dict.fromkeys(labels))

    @property
    def auth_label(self) -> str:
        return ", ".join(self.auth) or "public"

    @property
    def method_label(self) -> str:
        if self.kind == "websocket":
            return "WS"
        if self.kind == "mount":
            return "MOUNT"
        return ",".join(self.methods)

    @property
    def is_mutating(self) -> bool:
        return self.kind == "websocket" or bool(MUTATING_METHODS & set(self.methods))

    def title(self) -> str:
        return f"`{self.method_label} {self.path}`"

    def to_dict(self) -> dict[str, object]:
        return {
            "methods": list(self.methods) if self.kind != "websocket" else ["WEBSOCKET"],
            "kind": self.kind,
            "path": self.path,
            "name": self.name,
            "auth": self.auth,
            "public": not self.authenticated,
            "dependencies": list(self.dependencies),
            "response_model": self.response_model,
            "status_code": self.status_code,
            "tags": list(self.tags),
            "operation_id": self.operation_id,
            "source": {"path": self.location.path, "line": self.location.line},
        }


@dataclass(frozen=True)
class MiddlewareInfo:
    """One `app.add_middleware()` entry; `AppInfo.middleware` lists them outermost
    first, as `app.user_middleware` does (each `add_middleware` wraps the others)."""

    name: str
    qualname: str
    options: dict[str, Any]
    base_http: bool
    location: Location


@dataclass(frozen=True)
class SchemeDeclaration:
    """A security scheme object found at module level in the user's code."""

    variable: str
    scheme_name: str
    scheme_class: str
    token_url: str | None
    location: Location
    used: bool


@dataclass
class AppInfo:
    """The app as FastAPI built it."""

    target: str
    location: Location
    routes: list[RouteInfo]
    middleware: list[MiddlewareInfo]
    exception_handlers: list[str]
    debug: bool
    docs_urls: tuple[str, ...]
    production: bool
    production_reason: str | None
    openapi: dict[str, Any] | None
    openapi_error: str | None
    openapi_error_route: RouteInfo | None
    schemes: list[SchemeDeclaration]
    fastapi_version: str
    # Routes the audit could not read (a bug of ours, or a route kind it does not
    # know): reported as FX002, the other routes are still audited.
    internal_errors: list[str] = field(default_factory=list)

    @property
    def user_routes(self) -> list[RouteInfo]:
        return [r for r in self.routes if not r.framework]

    @property
    def authenticates(self) -> bool:
        return any(r.authenticated for r in self.user_routes) or any(
            _is_auth_middleware(m) for m in self.middleware
        )


def _is_auth_middleware(middleware: MiddlewareInfo) -> bool:
    low = middleware.name.lower()
    return "authentication" in low or low.startswith("auth") or "jwt" in low


@dataclass(frozen=True)
class Exchange:
    """One probe request and what the app answered (or that it did not)."""

    probe: str  # "preflight", "unauthenticated", "malformed-json", "wrong-content-type", "not-found", "wrong-method"
    method: str
    path: str
    route: RouteInfo | None
    status: int | None
    headers: dict[str, str]
    body: str
    reached_endpoint: bool
    timed_out: bool = False
    error: str | None = None
    origin: str | None = None

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class InFlight:
    """The request being sent right now, for the watchdog in `probes.probe_sync`."""

    probe: str
    method: str
    path: str
    route: RouteInfo | None
    since: float


@dataclass
class ProbeResults:
    exchanges: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0
    in_flight: InFlight | None = None

    def of(self, probe: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.probe == probe]


@dataclass
class AuditData:
    """Everything a check reads."""

    app: AppInfo
    probes: ProbeResults | None = None
