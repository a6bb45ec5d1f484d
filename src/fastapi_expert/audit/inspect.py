"""Read the route table, middleware and OpenAPI from the objects FastAPI built.

Routes are read through FastAPI's own helpers: `fastapi.routing.iter_route_contexts`
where it exists (FastAPI >= 0.16x keeps included routers nested in `app.routes`
and gives each route an effective context with its full path and dependencies),
and `app.routes` otherwise (FastAPI 0.115-0.15x copies every included route,
prefix and dependencies applied, into `app.routes`). Both give an object with
`path`, `methods`, `dependant`, `response_model`...: the rest reads only those.

What `app.mount()` or a `Host` routes to is read the same way when it is a route
table (`mounts.py` says which): its routes follow the mount in `AppInfo.routes`,
at their full path, and the mounted app's middleware, handlers and OpenAPI
document go to `AppInfo.sub_apps`.
"""

from __future__ import annotations

import ast
import enum
import inspect as pyinspect
import os
import re
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi_expert.audit import mounts
from fastapi_expert.audit.loader import LoadedApp, relative
from fastapi_expert.audit.model import (
    AppInfo,
    MiddlewareInfo,
    RouteInfo,
    SchemeDeclaration,
    SecurityUse,
    SubAppInfo,
)
from fastapi_expert.review.source import source_lines
from fastapi_expert.types import Location

PRODUCTION_VALUES = frozenset({"prod", "production", "live"})
ENVIRONMENT_VARIABLES = ("ENVIRONMENT", "ENV", "APP_ENV", "APP_ENVIRONMENT", "FASTAPI_ENV", "STAGE", "DEPLOY_ENV")
_SETTINGS_ATTRS = ("settings", "config", "configuration")
_ENV_ATTRS = ("environment", "env", "app_env", "stage", "environment_name")
# Parameter names that carry credentials read by the handler itself (WebSockets
# cannot use header-based security schemes from a browser).
CREDENTIAL_PARAMS = frozenset(
    {"token", "access_token", "api_key", "apikey", "authorization", "jwt", "ticket", "auth_token", "session_token"}
)
# The static FX408's heuristic for dependencies that authenticate without a
# `fastapi.security` scheme under them (`get_current_user`, `require_api_key`).
_AUTH_FRAGMENTS = (
    "current_user", "currentuser", "auth", "verify_token", "api_key", "apikey",
    "require_", "jwt", "permission", "login_required", "token",
)
_NOT_AUTH = frozenset({"OAuth2PasswordRequestForm", "OAuth2PasswordRequestFormStrict", "SecurityScopes"})
_GENERIC_INNER_NAMES = frozenset(
    {"dependency", "dep", "_dependency", "inner", "_inner", "wrapper", "checker", "func", "call", "_call"}
)


def looks_like_auth(name: str) -> bool:
    """A dependency named like authentication."""
    if name in _NOT_AUTH:
        return False
    low = name.lower()
    return any(fragment in low for fragment in _AUTH_FRAGMENTS)


def route_views(app: Any) -> list[Any]:
    """Every route as FastAPI routes requests to it, full path and all."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # FastAPI < 0.16x: included routes are already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


class _Locator:
    """Source locations of functions and names, relative to the cwd, cached."""

    def __init__(self, fallback: Location) -> None:
        self.fallback = fallback
        self._cache: dict[int, Location] = {}

    def of_function(self, func: Any) -> Location:
        key = id(func)
        if key not in self._cache:
            self._cache[key] = self._locate(func)
        return self._cache[key]

    def _locate(self, func: Any) -> Location:
        target = pyinspect.unwrap(func) if callable(func) else func
        if not (pyinspect.isfunction(target) or pyinspect.ismethod(target) or pyinspect.isclass(target)):
            target = type(target)
        try:
            filename = pyinspect.getsourcefile(target)
            lines, start = pyinspect.getsourcelines(target)
        except (OSError, TypeError):
            return self.fallback
        if filename is None:
            return self.fallback
        line = max(start, 1)
        width = len(lines[0].rstrip("\n")) if lines else 1
        return Location(relative(filename), line, 1, line, width + 1)


def _name_of(call: Any) -> str:
    target = pyinspect.unwrap(call) if callable(call) else call
    while hasattr(target, "func") and not hasattr(target, "__name__"):  # functools.partial
        target = target.func
    qualname = str(getattr(target, "__qualname__", "") or "")
    outer, _, inner = qualname.rpartition(".<locals>.")
    if outer and inner in _GENERIC_INNER_NAMES:
        # A dependency built by a factory (`Depends(limit_by_ip("token"))`) says
        # more under the factory's name than under its own (`dependency`).
        return outer.rsplit(".", 1)[-1] + "()"
    name = getattr(target, "__name__", None)
    return str(name) if name else type(target).__name__


def _scopes(node: Any) -> tuple[str, ...]:
    # FastAPI >= 0.12x: parent + own OAuth scopes; earlier: `security_scopes`.
    own = getattr(node, "own_oauth_scopes", None)
    parent = getattr(node, "parent_oauth_scopes", None)
    if own is not None or parent is not None:
        return tuple(dict.fromkeys([*(parent or []), *(own or [])]))
    return tuple(getattr(node, "security_scopes", None) or ())


def token_urls(scheme: Any) -> list[str]:
    flows = getattr(getattr(scheme, "model", None), "flows", None)
    urls = []
    for flow_name in ("password", "clientCredentials", "authorizationCode"):
        flow = getattr(flows, flow_name, None)
        url = getattr(flow, "tokenUrl", None)
        if isinstance(url, str):
            urls.append(url)
    return urls


def _security_use(scheme: Any, scopes: tuple[str, ...]) -> SecurityUse:
    urls = token_urls(scheme)
    return SecurityUse(
        scheme_name=str(getattr(scheme, "scheme_name", None) or type(scheme).__name__),
        scheme_class=type(scheme).__name__,
        scopes=scopes,
        auto_error=bool(getattr(scheme, "auto_error", True)),
        token_url=urls[0] if urls else None,
    )


def _walk(dependant: Any) -> Iterator[Any]:
    seen: set[int] = set()
    stack = [dependant]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed(list(getattr(node, "dependencies", ()) or ())))


def _field_name(model_field: Any) -> str:
    return str(getattr(model_field, "alias", None) or getattr(model_field, "name", ""))


def _declared_type(model_field: Any) -> Any:
    """The annotation a parameter is declared with (Pydantic 2's `FieldInfo.annotation`,
    Pydantic 1's `ModelField.type_`), or None."""
    annotation = getattr(getattr(model_field, "field_info", None), "annotation", None)
    return annotation if annotation is not None else getattr(model_field, "type_", None)


def _is_form(model_field: Any) -> bool:
    info = getattr(model_field, "field_info", None)
    return any(cls.__name__ in {"Form", "File"} for cls in type(info).__mro__)


class _Tree:
    """What one route's dependency tree holds."""

    def __init__(self, dependant: Any, security_base: type) -> None:
        self.security: list[SecurityUse] = []
        self.scheme_ids: set[int] = set()
        self.dependencies: list[str] = []
        self.path_params: list[str] = []
        # The type each path parameter is declared with (first declaration wins):
        # a probe's sample path must pass validation, or a 422 hides what it tests.
        self.path_param_types: dict[str, Any] = {}
        self.credential_params: list[str] = []
        self.credentials_in_dependencies = False
        self.reads_scopes = False
        self.json_body = False
        if dependant is None:
            return
        endpoint = getattr(dependant, "call", None)
        for node in _walk(dependant):
            call = getattr(node, "call", None)
            unwrapped = pyinspect.unwrap(call) if callable(call) else call
            if isinstance(unwrapped, security_base):
                self.security.append(_security_use(unwrapped, _scopes(node)))
                self.scheme_ids.add(id(unwrapped))
            elif call is not None and call is not endpoint:
                self.dependencies.append(_name_of(call))
            if getattr(node, "security_scopes_param_name", None):
                self.reads_scopes = True
            for model_field in getattr(node, "path_params", ()):
                name = _field_name(model_field)
                self.path_params.append(name)
                self.path_param_types.setdefault(name, _declared_type(model_field))
            for kind in ("query_params", "header_params", "cookie_params"):
                for model_field in getattr(node, kind, ()):
                    name = _field_name(model_field).lower().replace("-", "_")
                    if name.removeprefix("x_") in CREDENTIAL_PARAMS:
                        self.credential_params.append(f"{_field_name(model_field)} ({kind.split('_')[0]})")
                        self.credentials_in_dependencies |= node is not dependant
            body = getattr(node, "body_params", ())
            if body and not any(_is_form(f) for f in body):
                self.json_body = True
        self.dependencies = list(dict.fromkeys(self.dependencies))


def _type_label(model: Any) -> str | None:
    if model is None:
        return None
    if isinstance(model, type):
        return model.__name__
    return re.sub(r"\b(?:[A-Za-z_][\w]*\.)+([A-Za-z_]\w*)", r"\1", repr(model)).replace("typing.", "")


def _returns_value(func: Any) -> bool:
    """Does the endpoint's source hold a `return <value>`? (True when unknown.)"""
    try:
        source = textwrap.dedent(pyinspect.getsource(pyinspect.unwrap(func)))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return True
    top = tree.body[0] if tree.body else None
    if not isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef):
        return True
    stack: list[ast.AST] = list(top.body)
    while stack:
        node = stack.pop()
        value = node.value if isinstance(node, ast.Return) else None
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            return True
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _has_return_annotation(func: Any) -> bool:
    target = pyinspect.unwrap(func)
    annotations = getattr(target, "__annotations__", None) or {}
    return "return" in annotations


def _path_param_names(path: str) -> tuple[str, ...]:
    return tuple(m.group(1) for m in re.finditer(r"{([a-zA-Z_]\w*)(?::[^}]*)?}", path))


def _kind(original: Any) -> str | None:
    from fastapi.routing import APIRoute, APIWebSocketRoute
    from starlette.routing import Host, Mount, Route, WebSocketRoute

    if isinstance(original, APIRoute):
        return "http"
    if isinstance(original, APIWebSocketRoute | WebSocketRoute):
        return "websocket"
    if isinstance(original, Mount | Host):
        return "mount"
    if isinstance(original, Route):
        return "route"
    return None  # a route kind this version of the audit does not know


def build_route(view: Any, app: Any, locator: _Locator, where: mounts.Where | None = None) -> RouteInfo | None:
    """One route as FastAPI built it; `where` says which mounts and hosts lead to it
    (`app` is the app whose route table lists it, None under a bare Router)."""
    from fastapi.security.base import SecurityBase
    from starlette.routing import Host

    where = where if where is not None else mounts.top(app)
    original = getattr(view, "original_route", view)
    own_path = str(getattr(view, "path", None) or getattr(original, "path", "") or "")
    endpoint = getattr(view, "endpoint", None)
    name = str(getattr(view, "name", None) or "")
    kind = _kind(original)
    if kind is None:
        return None
    is_host = isinstance(original, Host)
    path = where.prefix + own_path
    methods = tuple(sorted(getattr(view, "methods", None) or ())) if kind in {"http", "route"} else ()
    if kind == "route" and "HEAD" in methods and "GET" in methods:
        methods = tuple(m for m in methods if m != "HEAD")
    framework_paths = {
        getattr(app, "openapi_url", None),
        getattr(app, "docs_url", None),
        getattr(app, "redoc_url", None),
        getattr(app, "swagger_ui_oauth2_redirect_url", None) if getattr(app, "docs_url", None) else None,
    }
    framework = kind == "route" and own_path in framework_paths
    location = locator.of_function(endpoint) if endpoint is not None and not framework else locator.fallback
    dependant = getattr(view, "dependant", None) if kind in {"http", "websocket"} else None
    tree = _Tree(dependant, SecurityBase)
    # A Host matches on the Host header, not the path: it has no path regex.
    regex, convertors = (None, {}) if is_host else mounts.full_regex(where, own_path, view, mount=kind == "mount")
    info = RouteInfo(
        kind=kind,
        path=path,
        methods=methods,
        name=name,
        location=location,
        endpoint=endpoint,
        security=tuple(dict.fromkeys(tree.security)),
        manual_credentials=tuple(dict.fromkeys(tree.credential_params)) if not tree.security else (),
        credentials_in_dependencies=tree.credentials_in_dependencies and not tree.security,
        auth_dependencies=() if tree.security else tuple(d for d in tree.dependencies if looks_like_auth(d)),
        reads_security_scopes=tree.reads_scopes,
        dependencies=tuple(tree.dependencies),
        framework=framework,
        path_param_names=_path_param_names(own_path),
        declared_path_params=tuple(dict.fromkeys(tree.path_params)),
        path_param_types=tree.path_param_types,
        view=view,
        path_regex=regex,
        param_convertors=convertors,
        mount=where.mount,
        host=str(getattr(view, "host", "")) if is_host else where.host,
        host_regexes=(*where.host_regexes, view.host_regex) if is_host else where.host_regexes,
        parents=where.parents,
    )
    info.scheme_ids = frozenset(tree.scheme_ids)
    if kind == "http":
        info.response_model = _type_label(getattr(view, "response_model", None))
        info.status_code = getattr(view, "status_code", None)
        info.tags = tuple(str(t.value if isinstance(t, enum.Enum) else t) for t in getattr(view, "tags", None) or ())
        info.summary = getattr(view, "summary", None)
        info.description = str(getattr(view, "description", "") or "")
        info.operation_id = getattr(view, "operation_id", None) or getattr(view, "unique_id", None)
        info.include_in_schema = bool(getattr(view, "include_in_schema", True))
        info.has_json_body = tree.json_body and getattr(view, "body_field", None) is not None
        info.returns_value = _returns_value(endpoint) if not _has_return_annotation(endpoint) else True
        info.has_return_annotation = _has_return_annotation(endpoint)
        response_class = getattr(view, "response_class", None)
        response_class = getattr(response_class, "value", response_class)  # DefaultPlaceholder
        info.response_class = getattr(response_class, "__name__", "JSONResponse")
        call = getattr(dependant, "call", None)
        info.is_generator = pyinspect.isgeneratorfunction(call) or pyinspect.isasyncgenfunction(call)
    elif kind == "route":
        info.include_in_schema = bool(getattr(view, "include_in_schema", True))
    return info


def _app_location(loaded: LoadedApp) -> Location:
    filename = getattr(loaded.module, "__file__", None) or "<unknown>"
    attr = loaded.target.partition(":")[2].split(".")[0]
    line = 1
    try:
        lines = source_lines(Path(filename).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        lines = []
    patterns = [re.compile(rf"^{re.escape(attr)}\s*(:[^=]*)?=[^=]"), re.compile(rf"^(async\s+)?def\s+{re.escape(attr)}\b")]
    for number, text in enumerate(lines, start=1):
        if any(p.match(text) for p in patterns):
            line = number
            break
    width = len(lines[line - 1]) + 1 if lines else 1
    return Location(relative(filename) if filename != "<unknown>" else filename, line, 1, line, width)


def _middleware_location(cls_name: str, dispatch: Any, app_location: Location, locator: _Locator) -> Location:
    if dispatch is not None:
        return locator.of_function(dispatch)
    try:
        lines = source_lines(Path(app_location.path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return app_location
    for number, text in enumerate(lines, start=1):
        if cls_name in text and ("add_middleware" in text or "Middleware(" in text):
            return Location(app_location.path, number, 1, number, len(text) + 1)
    for number, text in enumerate(lines, start=1):
        if "add_middleware(" in text:
            window = " ".join(lines[number - 1 : number + 2])
            if cls_name in window:
                return Location(app_location.path, number, 1, number, len(text) + 1)
    return app_location


def _middleware(app: Any, app_location: Location, locator: _Locator) -> list[MiddlewareInfo]:
    from starlette.middleware.base import BaseHTTPMiddleware

    out = []
    for entry in getattr(app, "user_middleware", ()):
        cls = getattr(entry, "cls", None)
        options = dict(getattr(entry, "kwargs", None) or getattr(entry, "options", None) or {})
        if cls is None:
            continue
        dispatch = options.get("dispatch") if isinstance(cls, type) and issubclass(cls, BaseHTTPMiddleware) else None
        name = getattr(cls, "__name__", type(cls).__name__)
        if dispatch is not None and name == "BaseHTTPMiddleware":
            name = f"BaseHTTPMiddleware({_name_of(dispatch)})"
        out.append(
            MiddlewareInfo(
                name=name,
                qualname=f"{getattr(cls, '__module__', '')}.{getattr(cls, '__qualname__', name)}",
                options=options,
                base_http=isinstance(cls, type) and issubclass(cls, BaseHTTPMiddleware),
                location=_middleware_location(getattr(cls, "__name__", name), dispatch, app_location, locator),
            )
        )
    return out


def production_of(app: Any) -> str | None:
    """Why the app says it runs in production (None when it does not say so)."""
    for variable in ENVIRONMENT_VARIABLES:
        value = os.environ.get(variable)
        if value and value.strip().lower() in PRODUCTION_VALUES:
            return f"{variable}={value}"
    state = getattr(getattr(app, "state", None), "_state", None) or {}
    for key in _SETTINGS_ATTRS:
        settings = state.get(key)
        if settings is None:
            continue
        for attr in _ENV_ATTRS:
            value = getattr(settings, attr, None)
            value = value.value if isinstance(value, enum.Enum) else value
            if isinstance(value, str) and value.lower() in PRODUCTION_VALUES:
                return f"app.state.{key}.{attr} is {value!r}"
        for attr in ("is_production", "production"):
            if getattr(settings, attr, None) is True:
                return f"app.state.{key}.{attr} is True"
    return None


def _openapi(app: Any, views: list[tuple[Any, RouteInfo]]) -> tuple[dict[str, Any] | None, str | None, RouteInfo | None]:
    from fastapi.openapi.utils import get_openapi

    try:
        # FastAPI warns (UserWarning) on duplicate operation ids; FX113 reports them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(app.openapi()), None, None
    except Exception as exc:  # any error in the user's models breaks generation
        message = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    for view, info in views:
        if info.kind != "http" or not info.include_in_schema:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                get_openapi(title="audit", version="0", routes=[view])
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}".strip().splitlines()[0], info
    return None, message, None


def _user_modules(root: Path) -> Iterator[ModuleType]:
    root = root.resolve()
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        path = Path(filename).resolve()
        if "site-packages" in path.parts or "dist-packages" in path.parts:
            continue
        if path.is_relative_to(root) and not any(part.startswith(".venv") for part in path.relative_to(root).parts):
            yield module


def _assignment_line(filename: str, variable: str) -> int:
    """The line of `variable = ...` at module level in `filename` (1 when not found)."""
    try:
        lines = source_lines(Path(filename).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return 1
    pattern = re.compile(rf"^{re.escape(variable)}\s*(:[^=]*)?=")
    return next((number for number, text in enumerate(lines, start=1) if pattern.match(text)), 1)


def _declared_schemes(root: Path, used: set[int]) -> list[SchemeDeclaration]:
    from fastapi.security.base import SecurityBase

    out = []
    seen: set[int] = set()
    for module in _user_modules(root):
        for variable, value in list(vars(module).items()):
            # type(), not isinstance(): a module-level proxy may raise on `__class__`.
            if not issubclass(type(value), SecurityBase) or id(value) in seen:
                continue
            seen.add(id(value))
            filename = str(getattr(module, "__file__", ""))
            line = _assignment_line(filename, variable)
            urls = token_urls(value)
            out.append(
                SchemeDeclaration(
                    variable=f"{module.__name__}.{variable}",
                    scheme_name=str(getattr(value, "scheme_name", None) or type(value).__name__),
                    scheme_class=type(value).__name__,
                    token_url=urls[0] if urls else None,
                    location=Location(relative(filename), line, 1, line, 2),
                    used=id(value) in used,
                )
            )
    return out


def _handler_names(app: Any) -> list[str]:
    handlers: dict[Any, Callable[..., Any]] = dict(getattr(app, "exception_handlers", {}) or {})
    return [k.__name__ if isinstance(k, type) else str(k) for k in handlers]


def _docs_urls(app: Any) -> tuple[str, ...]:
    urls = (getattr(app, "docs_url", None), getattr(app, "redoc_url", None), getattr(app, "openapi_url", None))
    return tuple(str(url) for url in urls if url)


def _in_document(paths: dict[str, Any], view: Any, info: RouteInfo) -> bool:
    # FastAPI keys operations by the route's path without convertors (`path_format`).
    own = info.path.removeprefix(info.mount or "")
    item = paths.get(str(getattr(view, "path_format", None) or own))
    return isinstance(item, dict) and any(m.lower() in item for m in info.methods)


def _mark_in_openapi(own: list[tuple[Any, RouteInfo]], document: dict[str, Any] | None, *, generates: bool) -> None:
    """Set `in_openapi` for the HTTP routes of one route table from its app's document."""
    http = [(view, info) for view, info in own if info.kind == "http"]
    if not generates:  # a mounted Router or Starlette app: no document lists these
        for _, info in http:
            info.in_openapi = False
        return
    if document is None:  # generation failed (FX010 says where): include_in_schema stands
        return
    paths = document.get("paths") or {}
    found = {id(info): _in_document(paths, view, info) for view, info in http}
    if not any(found.values()):
        return  # a custom `openapi()` keys paths its own way: include_in_schema stands
    for _, info in http:
        info.in_openapi = found[id(info)]


class _Tables:
    """Reads the audited app's route table and, depth first, the tables of what it
    mounts, in the order Starlette matches them (a mount's routes right after it)."""

    def __init__(self, locator: _Locator, root: Path, app: Any, app_location: Location) -> None:
        self.locator = locator
        self.root = root
        self.routes: list[RouteInfo] = []
        self.sub_apps: list[SubAppInfo] = []
        self.errors: list[str] = []
        # Where each table's source is, to find the `mount(` lines in it.
        self._sources: dict[int, Location] = {id(app): app_location}

    def read(self, table: Any, where: mounts.Where) -> list[tuple[Any, RouteInfo]]:
        own: list[tuple[Any, RouteInfo]] = []
        for view in route_views(table):
            info = self._build(view, where)
            if info is None:
                continue
            own.append((view, info))
            self.routes.append(info)
            if info.kind == "mount":
                self._enter(view, info, where)
        return own

    def _build(self, view: Any, where: mounts.Where) -> RouteInfo | None:
        try:
            return build_route(view, where.owner, self.locator, where)
        except Exception as exc:  # one unreadable route must not hide the others
            path = where.prefix + str(getattr(view, "path", view))
            self.errors.append(f"reading route {path!r} failed: {type(exc).__name__}: {exc}")
            return None

    def _enter(self, view: Any, info: RouteInfo, where: mounts.Where) -> None:
        obj = mounts.mounted_object(view)
        info.mounted_app = type(obj).__name__
        source = self._sources.get(where.apps[-1], self.locator.fallback)
        info.location = _mount_location(source, view) or source
        if not mounts.can_enter(obj, where):
            return  # opaque: not a route table, or one already entered above (a cycle)
        child = mounts.inside(where, view, id(info), info.path, obj)
        first_route, first_app = len(self.routes), len(self.sub_apps)
        try:
            self._sources[id(obj)] = self._object_location(obj, info.location)
            transparent = mounts.only_routes(obj)
            own = self.read(obj, child)
            sub = self._sub_app(obj, child, own, info)
        except Exception as exc:  # the user's object raised: the mount stays opaque
            del self.routes[first_route:], self.sub_apps[first_app:]
            self.errors.append(
                f"reading the routes mounted at {info.display_path!r} failed: {type(exc).__name__}: {exc}; "
                "the mount is audited as opaque"
            )
            return
        info.entered, info.transparent = True, transparent
        self.sub_apps.insert(first_app, sub)

    def _sub_app(self, obj: Any, where: mounts.Where, own: list[tuple[Any, RouteInfo]], mount: RouteInfo) -> SubAppInfo:
        location = self._sources[id(obj)]
        sub = SubAppInfo(
            path=where.prefix,
            host=where.host,
            kind=type(obj).__name__,
            location=location,
            middleware=[],
            exception_handlers=[],
            debug=False,
            docs_urls=(),
            routes=[info for _, info in own],
            mount=mount,
        )
        sub.is_app = mounts.is_app(obj)
        if sub.is_app:  # a bare Router has no middleware stack nor handlers
            sub.middleware = _middleware(obj, location, self.locator)
            sub.exception_handlers = _handler_names(obj)
            sub.debug = bool(getattr(obj, "debug", False))
        sub.is_fastapi = mounts.is_fastapi(obj)
        if sub.is_fastapi:
            sub.docs_urls = tuple(where.prefix + url for url in _docs_urls(obj))
            sub.openapi, sub.openapi_error, sub.openapi_error_route = _openapi(obj, own)
        _mark_in_openapi(own, sub.openapi, generates=sub.is_fastapi)
        return sub

    def _object_location(self, obj: Any, fallback: Location) -> Location:
        """Where the mounted app is assigned to a module-level name, else the mount line."""
        for module in _user_modules(self.root):
            for variable, value in list(vars(module).items()):
                if value is obj:
                    filename = str(getattr(module, "__file__", ""))
                    line = _assignment_line(filename, variable)
                    return Location(relative(filename), line, 1, line, 2)
        return fallback


def _mount_location(source: Location, view: Any) -> Location | None:
    """The `app.mount("/v1", ...)` (or `Host("api.example.com", ...)`) line in `source`'s file."""
    needle = str(getattr(view, "host", None) or getattr(view, "path", "") or "")
    if not needle:
        return None
    try:
        lines = source_lines(Path(source.path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    quoted = (f'"{needle}"', f"'{needle}'")
    for number, text in enumerate(lines, start=1):
        if ("mount(" in text.lower() or "host(" in text.lower()) and any(q in text for q in quoted):
            return Location(source.path, number, 1, number, len(text) + 1)
    return None


def inspect_app(loaded: LoadedApp, *, app_dir: str | None = None, production: bool = False) -> AppInfo:
    import fastapi

    app = loaded.app
    app_location = _app_location(loaded)
    locator = _Locator(app_location)
    tables = _Tables(locator, Path(app_dir or "."), app, app_location)
    own = tables.read(app, mounts.top(app))
    routes = tables.routes
    openapi, error, error_route = _openapi(app, own)
    _mark_in_openapi(own, openapi, generates=True)
    used: set[int] = set()
    for info in routes:
        used |= info.scheme_ids
    reason = "--production" if production else production_of(app)
    return AppInfo(
        target=loaded.target,
        location=app_location,
        routes=routes,
        middleware=_middleware(app, app_location, locator),
        exception_handlers=_handler_names(app),
        debug=bool(getattr(app, "debug", False)),
        docs_urls=_docs_urls(app),
        production=reason is not None,
        production_reason=reason,
        openapi=openapi,
        openapi_error=error,
        openapi_error_route=error_route,
        schemes=_declared_schemes(Path(app_dir or "."), used),
        fastapi_version=str(fastapi.__version__),
        internal_errors=tables.errors,
        sub_apps=tables.sub_apps,
    )
