"""Where a route is served when it sits inside `app.mount()` or a `Host`.

Starlette hands a request that matches a `Mount` to the mounted app with the
prefix moved to `root_path`; a `Host` does the same for requests whose `Host`
header matches, without touching the path. The audit reads the routes of what is
mounted when it is a route table it understands (a FastAPI or Starlette app, a
`Router`/`APIRouter`, `Mount(routes=[...])`), and keeps anything else (StaticFiles,
a WSGI app, an app wrapped in ASGI middleware, any callable) opaque: it could
rewrite paths or serve anything, so nothing inside can be predicted or probed.

Only functions import Starlette, like the rest of `inspect`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

# Mount inside mount inside mount...: past this the routes are left opaque (a
# guard against pathological nesting; real apps use two or three levels).
MAX_DEPTH = 8


@dataclass(frozen=True)
class Where:
    """The place a route table is served from: which mounts and hosts lead to it."""

    prefix: str = ""  # the full path of the enclosing mount ("" at the top, and for a mount at "/")
    mount: str | None = None  # what RouteInfo.mount shows: that path ("/" for the root), None at the top
    hosts: tuple[str, ...] = ()  # `Host` patterns, outermost first
    host_regexes: tuple[re.Pattern[str], ...] = ()
    owner: Any = None  # the nearest FastAPI/Starlette app: its docs URLs are framework routes
    parents: tuple[int, ...] = ()  # id() of each mount RouteInfo above
    apps: tuple[int, ...] = ()  # id() of each table entered, to stop at a cycle
    depth: int = 0

    @property
    def host(self) -> str | None:
        return self.hosts[-1] if self.hosts else None


def top(app: Any) -> Where:
    return Where(owner=app, apps=(id(app),))


def mounted_object(view: Any) -> Any:
    """What a `Mount` or `Host` routes to, before a Mount's own `middleware=` wrapping.

    `Mount(app, middleware=[...])` keeps the unwrapped app as `_base_app` (and
    reads its `routes` from there); the wrapping middleware still runs for real
    during the probes, it is only not listed.
    """
    base = getattr(view, "_base_app", None)
    return base if base is not None else getattr(view, "app", None)


def is_route_table(obj: Any) -> bool:
    """A FastAPI/Starlette app or a Router: an object whose routes Starlette matches itself.

    `type(obj)` and not `isinstance`: an object may lie about `__class__`, and this
    must not run the user's attribute hooks.
    """
    from starlette.applications import Starlette
    from starlette.routing import Router

    return issubclass(type(obj), Starlette | Router)


def is_app(obj: Any) -> bool:
    """An app with its own middleware stack and exception handlers (not a bare Router)."""
    from starlette.applications import Starlette

    return issubclass(type(obj), Starlette)


def is_fastapi(obj: Any) -> bool:
    from fastapi import FastAPI

    return issubclass(type(obj), FastAPI)


def only_routes(table: Any) -> bool:
    """Does a request the table's routes do not match get only a 404 (or a slash redirect)?

    Starlette's `Router.not_found` answers it; a custom `default=` app is code the
    audit cannot see, so the probes treat such a mount as opaque.
    """
    from starlette.routing import Router

    router = table.router if is_app(table) else table
    default = getattr(router, "default", None)
    return getattr(default, "__func__", None) is Router.not_found


def can_enter(obj: Any, where: Where) -> bool:
    return is_route_table(obj) and id(obj) not in where.apps and where.depth < MAX_DEPTH


def inside(where: Where, view: Any, mount_info_id: int, full_path: str, obj: Any) -> Where:
    """Where the routes of `obj`, mounted by `view`, are served."""
    from starlette.routing import Host

    child = replace(
        where,
        owner=obj if is_app(obj) else None,
        parents=(*where.parents, mount_info_id),
        apps=(*where.apps, id(obj)),
        depth=where.depth + 1,
    )
    if isinstance(getattr(view, "original_route", view), Host):
        return replace(
            child,
            hosts=(*where.hosts, str(view.host)),
            host_regexes=(*where.host_regexes, view.host_regex),
        )
    return replace(child, prefix=full_path, mount=full_path or "/")


def full_regex(where: Where, own_path: str, view: Any, *, mount: bool) -> tuple[Any, dict[str, Any]]:
    """The regex and convertors that match the route's full path (what a client sends).

    At the top the route's own are already that; below a mount they are compiled
    from the prefix and the route's path, as Starlette matches them in two steps.
    """
    if not where.prefix:
        return getattr(view, "path_regex", None), dict(getattr(view, "param_convertors", None) or {})
    from starlette.routing import compile_path

    regex, _, convertors = compile_path(where.prefix + own_path + ("/{path:path}" if mount else ""))
    if mount:
        convertors.pop("path", None)
    return regex, convertors


def sample_host(patterns: tuple[str, ...]) -> str | None:
    """A `Host` header the innermost pattern matches (`{tenant}.example.com` gives
    `fx-sample.example.com`); None when the route sits under no Host."""
    if not patterns:
        return None
    return re.sub(r"{[^}]*}", "fx-sample", patterns[-1]).split(":")[0]
