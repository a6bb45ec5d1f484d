"""Read the route table, middleware and OpenAPI from the objects FastAPI built.

Routes are read through FastAPI's own helpers: `fastapi.routing.iter_route_contexts`
where it exists (FastAPI >= 0.16x keeps included routers nested in `app.routes`
and gives each route an effective context with its full path and dependencies),
and `app.routes` otherwise (FastAPI 0.115-0.15x copies every included route,
prefix and dependencies applied, into `app.routes`). Both give an object with
`path`, `methods`, `dependant`, `response_model`...: the rest reads only those.
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

from fastapi_expert.audit.loader import LoadedApp, relative
from fastapi_expert.audit.model import (
    AppInfo,
    MiddlewareInfo,
    RouteInfo,
    SchemeDeclaration,
    SecurityUse,
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
        self.credential_params: list[str] = []
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
            self.path_params += [_field_name(f) for f in getattr(node, "path_params", ())]
            for kind in ("query_params", "header_params", "cookie_params"):
                for model_field in getattr(node, kind, ()):
                    name = _field_name(model_field).lower().replace("-", "_")
                    if name.removeprefix("x_") in CREDENTIAL_PARAMS:
                        self.credential_params.append(f"{_field_name(model_field)} ({kind.split('_')[0]})")
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


def build_route(view: Any, app: Any, locator: _Locator) -> RouteInfo | None:
    from fastapi.routing import APIRoute, APIWebSocketRoute
    from fastapi.security.base import SecurityBase
    from starlette.routing import Host, Mount, Route, WebSocketRoute

    original = getattr(view, "original_route", view)
    path = str(getattr(view, "path", None) or getattr(original, "path", "") or "")
    endpoint = getattr(view, "endpoint", None)
    name = str(getattr(view, "name", None) or "")
    if isinstance(original, APIRoute):
        kind = "http"
    elif isinstance(original, APIWebSocketRoute | WebSocketRoute):
        kind = "websocket"
    elif isinstance(original, Mount | Host):
        kind = "mount"
    elif isinstance(original, Route):
        kind = "route"
    else:
        return None  # a route kind this version of the audit does not know
    methods = tuple(sorted(getattr(view, "methods", None) or ())) if kind in {"http", "route"} else ()
    if kind == "route" and "HEAD" in methods and "GET" in methods:
        methods = tuple(m for m in methods if m != "HEAD")
    framework_paths = {
        getattr(app, "openapi_url", None),
        getattr(app, "docs_url", None),
        getattr(app, "redoc_url", None),
        getattr(app, "swagger_ui_oauth2_redirect_url", None) if getattr(app, "docs_url", None) else None,
    }
    framework = kind == "route" and path in framework_paths
    location = locator.of_function(endpoint) if endpoint is not None and not framework else locator.fallback
    dependant = getattr(view, "dependant", None) if kind in {"http", "websocket"} else None
    tree = _Tree(dependant, SecurityBase)
    info = RouteInfo(
        kind=kind,
        path=path,
        methods=methods,
        name=name,
        location=location,
        endpoint=endpoint,
        security=tuple(dict.fromkeys(tree.security)),
        manual_credentials=tuple(dict.fromkeys(tree.credential_params)) if not tree.security else (),
        auth_dependencies=() if tree.security else tuple(d for d in tree.dependencies if looks_like_auth(d)),
        reads_security_scopes=tree.reads_scopes,
        dependencies=tuple(tree.dependencies),
        framework=framework,
        path_param_names=_path_param_names(path),
        declared_path_params=tuple(dict.fromkeys(tree.path_params)),
        view=view,
        path_regex=getattr(view, "path_regex", None),
        param_convertors=dict(getattr(view, "param_convertors", None) or {}),
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


def _declared_schemes(root: Path, used: set[int]) -> list[SchemeDeclaration]:
    from fastapi.security.base import SecurityBase

    out = []
    seen: set[int] = set()
    for module in _user_modules(root):
        for variable, value in list(vars(module).items()):
            if not isinstance(value, SecurityBase) or id(value) in seen:
                continue
            seen.add(id(value))
            filename = str(getattr(module, "__file__", ""))
            line = 1
            try:
                for number, text in enumerate(source_lines(Path(filename).read_text(encoding="utf-8")), start=1):
                    if re.match(rf"^{re.escape(variable)}\s*(:[^=]*)?=", text):
                        line = number
                        break
            except (OSError, UnicodeDecodeError):
                pass
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


def inspect_app(loaded: LoadedApp, *, app_dir: str | None = None, production: bool = False) -> AppInfo:
    import fastapi

    app = loaded.app
    app_location = _app_location(loaded)
    locator = _Locator(app_location)
    pairs: list[tuple[Any, RouteInfo]] = []
    errors: list[str] = []
    for view in route_views(app):
        try:
            info = build_route(view, app, locator)
        except Exception as exc:  # one unreadable route must not hide the others
            errors.append(f"reading route {getattr(view, 'path', view)!r} failed: {type(exc).__name__}: {exc}")
            continue
        if info is not None:
            pairs.append((view, info))
    routes = [info for _, info in pairs]
    openapi, error, error_route = _openapi(app, pairs)
    used: set[int] = set()
    for info in routes:
        used |= info.scheme_ids
    reason = "--production" if production else production_of(app)
    docs = tuple(
        url for url in (getattr(app, "docs_url", None), getattr(app, "redoc_url", None), getattr(app, "openapi_url", None)) if url
    )
    handlers: dict[Any, Callable[..., Any]] = dict(getattr(app, "exception_handlers", {}) or {})
    return AppInfo(
        target=loaded.target,
        location=app_location,
        routes=routes,
        middleware=_middleware(app, app_location, locator),
        exception_handlers=[k.__name__ if isinstance(k, type) else str(k) for k in handlers],
        debug=bool(getattr(app, "debug", False)),
        docs_urls=docs,
        production=reason is not None,
        production_reason=reason,
        openapi=openapi,
        openapi_error=error,
        openapi_error_route=error_route,
        schemes=_declared_schemes(Path(app_dir or "."), used),
        fastapi_version=str(fastapi.__version__),
        internal_errors=errors,
    )
