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
    path: str  # the full URL path: mount prefixes, router prefixes and the route's own path
    methods: tuple[str, ...]
    name: str
    location: Location
    endpoint: Callable[..., Any] | None = None
    security: tuple[SecurityUse, ...] = ()
    # Credentials read by hand (a WebSocket's `token` query parameter): auth without
    # a FastAPI security scheme, shown in the table and counted as authentication.
    manual_credentials: tuple[str, ...] = ()
    # Some of them are read by a dependency, which runs for real during the probes;
    # those read by the endpoint itself are checked by code the probes never run.
    credentials_in_dependencies: bool = False
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
    # The parameters of the route's own path in the app that lists it (a mount's
    # `{tenant}` belongs to the parent, which may read it in middleware).
    path_param_names: tuple[str, ...] = ()
    declared_path_params: tuple[str, ...] = ()
    has_json_body: bool = False
    returns_value: bool = True
    response_class: str = "JSONResponse"
    is_generator: bool = False
    has_return_annotation: bool = False
    scheme_ids: frozenset[int] = frozenset()
    # Is the operation in the OpenAPI document of the app that serves it? False
    # under a mounted `Router` or Starlette app (they generate no document) and
    # when the sub-app's document leaves it out.
    in_openapi: bool = True
    # Where the route sits: the full path of the mount it is served under (None
    # for the audited app's own routes) and the `Host` pattern above it, if any.
    mount: str | None = None
    host: str | None = None
    # For kind "mount": what is mounted (`FastAPI`, `Router`, `StaticFiles`...) and
    # whether the audit read the routes inside (a FastAPI or Starlette app, a
    # `Router`) or kept it opaque (anything else: never probed inside).
    mounted_app: str | None = None
    entered: bool = False
    # An entered mount whose app answers only through the routes listed under it
    # (or a 404): the probes look through it. A custom `Router(default=...)` is
    # code the audit cannot see, so such a mount is opaque to the probes.
    transparent: bool = False
    # The object FastAPI routes requests through (an APIRoute, or a RouteContext on
    # FastAPI >= 0.16x); the probes patch `view.dependant.call` on it.
    view: Any = field(default=None, repr=False, compare=False)
    path_regex: Any = field(default=None, repr=False, compare=False)
    param_convertors: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    path_param_types: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # Compiled `Host` patterns the request's host must match, outermost first.
    host_regexes: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    # id() of each mount entry (a RouteInfo of kind "mount") the route sits in,
    # outermost first: those lead to it rather than shadow it.
    parents: tuple[int, ...] = field(default=(), repr=False, compare=False)

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

    @property
    def display_path(self) -> str:
        """The path, after its `Host` pattern when it has one (`api.example.com/items`)."""
        return f"{self.host}{self.path}" if self.host else self.path

    def title(self) -> str:
        return f"`{self.method_label} {self.display_path}`"

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
            "mount": self.mount,
            "host": self.host,
            "mounted_app": self.mounted_app,
            "entered": self.entered if self.kind == "mount" else None,
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
class SubAppInfo:
    """An app or router mounted inside the audited one, whose routes the audit read.

    Its middleware and exception handlers are its own: they run (inside the
    parent's) only for the requests routed to it, and are not in the parent's
    lists. A `Router` has neither, nor an OpenAPI document.
    """

    path: str  # the prefix its routes get: the mount's full path ("" for a mount at "/" or a top `Host`)
    host: str | None
    kind: str  # the class name: "FastAPI", "Starlette", "APIRouter", "Router"...
    location: Location
    middleware: list[MiddlewareInfo]
    exception_handlers: list[str]
    debug: bool
    docs_urls: tuple[str, ...]  # full paths (mount prefix included)
    is_app: bool = False  # a FastAPI or Starlette app (a Router has no stack of its own)
    is_fastapi: bool = False
    openapi: dict[str, Any] | None = None
    openapi_error: str | None = None
    openapi_error_route: RouteInfo | None = None
    routes: list[RouteInfo] = field(default_factory=list, repr=False)  # its own table
    mount: RouteInfo | None = field(default=None, repr=False, compare=False)  # the Mount or Host entry

    @property
    def label(self) -> str:
        where = f"{self.host}{self.path}" if self.host else self.path
        return f"the {self.kind} mounted at `{where or '/'}`"

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path or "/",
            "host": self.host,
            "kind": self.kind,
            "routes": len(self.routes),
            "debug": self.debug,
            "middleware": [m.name for m in self.middleware],
            "exception_handlers": self.exception_handlers,
        }


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
    # Mounted apps and routers whose routes are in `routes`, outermost first.
    sub_apps: list[SubAppInfo] = field(default_factory=list)

    @property
    def user_routes(self) -> list[RouteInfo]:
        return [r for r in self.routes if not r.framework]

    def middleware_stacks(self) -> list[tuple[SubAppInfo | None, list[MiddlewareInfo]]]:
        """The app's middleware, then each mounted app's own (None: the audited app)."""
        return [(None, self.middleware), *((sub, sub.middleware) for sub in self.sub_apps if sub.middleware)]

    @property
    def authenticates(self) -> bool:
        """Does some route of the app require credentials itself?"""
        return any(r.authenticated for r in self.user_routes)

    @property
    def authenticates_in_middleware(self) -> bool:
        """Does an authentication middleware (Starlette's `AuthenticationMiddleware`,
        a JWT middleware) run before every route?"""
        return any(_is_auth_middleware(m) for m in self.middleware)


def _is_auth_middleware(middleware: MiddlewareInfo) -> bool:
    low = middleware.name.lower()
    return "authentication" in low or low.startswith("auth") or "jwt" in low


@dataclass(frozen=True)
class Exchange:
    """One probe request and what the app answered (or that it did not)."""

    probe: str  # "preflight", "unauthenticated", "malformed-json", "wrong-content-type", "not-found", "wrong-method"
    method: str  # "WS" for a WebSocket handshake (status 101 when accepted)
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
