"""Routes inside mounted apps and routers: read from the sub-app's own objects,
checked like the app's own, probed through the parent at their full path.

No `from __future__ import annotations`: FastAPI resolves string annotations in the
module's globals, and these apps use dependencies defined inside the tests.
"""

import json
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import OAuth2PasswordBearer
from fastapi.staticfiles import StaticFiles
from starlette.routing import Host, Mount, Router

from fastapi_expert.audit import report
from fastapi_expert.audit.model import RouteInfo

from .helpers import audit, findings

oauth2 = OAuth2PasswordBearer(tokenUrl="/token")
lenient = OAuth2PasswordBearer(tokenUrl="/token", auto_error=False)


def current_user(token: Annotated[str, Depends(oauth2)]) -> str:
    return token


def optional_user(token: Annotated[str | None, Depends(lenient)]) -> str | None:
    return token  # never raises: a missing token passes as None


def parent_app() -> FastAPI:
    """An app that authenticates its own routes, so FX408 applies."""
    app = FastAPI()

    @app.post("/token", summary="Log in")
    def login() -> dict[str, str]:
        return {"access_token": "x"}

    @app.get("/me", summary="Me", dependencies=[Depends(current_user)])
    def me() -> dict[str, str]:
        return {}

    return app


class PathRecorder:
    """A pure ASGI middleware that records every HTTP/WebSocket path it sees."""

    def __init__(self, app: Any, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in {"http", "websocket"}:
            self.seen.append(scope["path"])
        await self.app(scope, receive, send)


class RecordingApp:
    """An arbitrary ASGI callable: what it is mounted as must never be probed."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in {"http", "websocket"}:
            self.calls.append(scope["path"])
            response = PlainTextResponse("legacy")
            await response(scope, receive, send)


def table(result: Any) -> dict[str, RouteInfo]:
    return {r.display_path: r for r in result.app.routes}


# Inspection ---------------------------------------------------------------------------------


def test_an_unauthenticated_post_of_a_mounted_app_is_found_at_its_full_path() -> None:
    app = parent_app()
    v1 = FastAPI()

    @v1.post("/items", summary="Create an item")
    def create_item() -> dict[str, int]:
        return {}

    app.mount("/v1", v1)
    result = audit(app, probe=False)
    found = [f for f in result.findings if f.code == "FX408"]
    assert [f.message.split(" changes")[0] for f in found] == ["`POST /v1/items`"]
    routes = table(result)
    assert routes["/v1/items"].mount == "/v1" and routes["/v1"].entered and routes["/v1"].mounted_app == "FastAPI"
    assert routes["/v1/docs"].framework  # the sub-app's own docs, not user routes
    document = json.loads(report.render_json(result))
    row = next(r for r in document["routes"] if r["path"] == "/v1/items")
    assert (row["mount"], row["host"], row["mounted_app"], row["entered"]) == ("/v1", None, None, None)
    mount_row = next(r for r in document["routes"] if r["path"] == "/v1")
    assert (mount_row["kind"], mount_row["mounted_app"], mount_row["entered"]) == ("mount", "FastAPI", True)
    assert document["summary"]["mounted_apps"][0]["path"] == "/v1"


def test_a_nested_mount_and_a_mounted_router_are_read_with_their_full_paths() -> None:
    app = parent_app()
    v1 = FastAPI()
    admin = APIRouter()

    @admin.delete("/users/{user_id:int}")
    def delete_user(user_id: int, user: Annotated[str | None, Depends(optional_user)]) -> None:
        raise AssertionError("the endpoint must not run")

    v1.mount("/admin", admin)
    app.mount("/v1", v1)
    result = audit(app)
    routes = table(result)
    inner = routes["/v1/admin/users/{user_id:int}"]
    assert inner.mount == "/v1/admin" and inner.auth_label == "OAuth2PasswordBearer"
    assert [sub.path for sub in result.app.sub_apps] == ["/v1", "/v1/admin"]
    # Its own mounts lead to it: they do not shadow it.
    assert [f for f in result.findings if f.code == "FX112"] == []
    # Probed through the parent: the lenient scheme lets the request reach the stub.
    enforced = [f for f in result.findings if f.code == "FX426"]
    assert len(enforced) == 1 and "`DELETE /v1/admin/users/{user_id:int}`" in enforced[0].message
    paths = [e.path for e in result.probes.of("unauthenticated")] if result.probes else []
    assert "/v1/admin/users/7" in paths


def test_a_route_declared_before_a_mount_shadows_the_mounted_one() -> None:
    app = FastAPI()

    @app.get("/v1/items", summary="Old items")
    def old_items() -> dict[str, int]:
        return {}

    v1 = FastAPI()

    @v1.get("/items", summary="Items")
    def items() -> dict[str, int]:
        return {}

    app.mount("/v1", v1)
    found = findings(app, "FX112", probe=False)
    assert len(found) == 1 and found[0].message.startswith("`GET /v1/items` is never reached: the earlier `GET /v1/items`")


def test_a_mount_with_a_path_parameter_and_one_at_the_root() -> None:
    app = parent_app()
    tenant = FastAPI()

    @tenant.get("/items", summary="Items")
    def items(user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        return {}

    root = FastAPI()

    @root.get("/reports", summary="Reports")
    def reports(user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        return {}

    app.mount("/t/{tenant}", tenant)
    app.mount("/", root)
    result = audit(app)
    routes = table(result)
    assert routes["/t/{tenant}/items"].mount == "/t/{tenant}" and routes["/reports"].mount == "/"
    # `{tenant}` belongs to the mount: not an undeclared parameter of the inner route.
    assert [f for f in result.findings if f.code == "FX709"] == []
    probed = {e.path for e in result.probes.exchanges} if result.probes else set()
    assert {"/t/fx-sample/items", "/reports", "/t/fx-sample/fastapi-expert-probe/does-not-exist"} <= probed
    enforced = sorted(f.message.split(" requires")[0] for f in result.findings if f.code == "FX426")
    assert enforced == ["`GET /reports`", "`GET /t/{tenant}/items`"]


def test_static_files_and_an_arbitrary_asgi_app_stay_opaque_and_are_never_probed(tmp_path: Path) -> None:
    app = parent_app()
    (tmp_path / "index.html").write_text("<p>hi</p>")
    legacy = RecordingApp()
    app.mount("/static", StaticFiles(directory=tmp_path), name="static")
    app.mount("/legacy", legacy)
    app.mount("/", legacy)  # catches every other path: even the not-found probe stays out

    @app.post("/items", summary="Create")
    def create(user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        return {}

    result = audit(app)
    routes = table(result)
    assert (routes["/static"].mounted_app, routes["/static"].entered) == ("StaticFiles", False)
    assert (routes["/legacy"].mounted_app, routes["/legacy"].entered) == ("RecordingApp", False)
    assert not [r for r in result.app.routes if r.mount is not None]
    assert legacy.calls == []
    text = report.render_text(result)
    assert "static [StaticFiles, opaque]" in text


def test_a_protected_route_of_a_mounted_app_is_probed_through_the_parent_middleware() -> None:
    seen: list[str] = []
    ran: list[str] = []
    app = parent_app()
    app.add_middleware(PathRecorder, seen=seen)
    v1 = FastAPI()

    @v1.get("/lenient", summary="Lenient")
    def lenient_route(user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        ran.append("lenient")
        return {}

    @v1.get("/strict", summary="Strict")
    def strict_route(user: Annotated[str, Depends(current_user)]) -> dict[str, int]:
        ran.append("strict")
        return {}

    app.mount("/v1", v1)
    result = audit(app)
    enforced = [f for f in result.findings if f.code == "FX426"]
    assert len(enforced) == 1 and "`GET /v1/lenient`" in enforced[0].message
    statuses = {e.path: e.status for e in result.probes.of("unauthenticated")} if result.probes else {}
    assert statuses == {"/me": 401, "/v1/lenient": 200, "/v1/strict": 401}
    assert {"/v1/lenient", "/v1/strict"} <= set(seen)  # through the parent's middleware
    assert ran == []


def test_endpoints_inside_mounts_are_swapped_once_and_put_back() -> None:
    ran: list[str] = []
    app = parent_app()
    v1 = FastAPI()

    async def create(user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        ran.append("create")
        return {}

    v1.post("/items", summary="Create")(create)
    app.mount("/v1", v1)
    app.mount("/v1-again", v1)  # the same app at two paths: one Dependant, swapped once
    result = audit(app)
    inner = [r for r in result.app.routes if r.name == "create"]
    assert [r.path for r in inner] == ["/v1/items", "/v1-again/items"]
    assert all(r.view.dependant.call is create for r in inner)
    reached = [e.path for e in result.probes.exchanges if e.reached_endpoint] if result.probes else []
    assert {"/v1/items", "/v1-again/items"} <= set(reached)
    assert ran == []


def test_undocumented_operation_reads_the_document_that_lists_the_route() -> None:
    app = FastAPI()
    v1 = FastAPI()

    @v1.get("/bare")
    def bare() -> dict[str, int]:
        return {}

    @v1.get("/hidden", include_in_schema=False)
    def hidden() -> dict[str, int]:
        return {}

    router = APIRouter()

    @router.get("/plain")
    def plain() -> dict[str, int]:
        return {}

    app.mount("/v1", v1)
    app.mount("/r", router)  # a mounted Router generates no OpenAPI document
    result = audit(app, probe=False)
    found = [f for f in result.findings if f.code == "FX702"]
    assert [f.message.split(" has")[0] for f in found] == ["`GET /v1/bare`"]
    sub = result.app.sub_apps[0]
    assert sub.openapi is not None and "/bare" in sub.openapi["paths"]
    assert result.app.openapi is not None and "/v1/bare" not in result.app.openapi["paths"]


def test_operation_ids_are_unique_per_document_and_generation_failures_name_the_sub_app() -> None:
    app = FastAPI()

    @app.get("/a", summary="A", operation_id="read")
    def a() -> dict[str, int]:
        return {}

    v1 = FastAPI()

    @v1.get("/a", summary="A", operation_id="read")  # another document: no clash
    def a1() -> dict[str, int]:
        return {}

    @v1.get("/b", summary="B", operation_id="read")  # same document: a clash
    def b1() -> dict[str, int]:
        return {}

    app.mount("/v1", v1)
    duplicated = findings(app, "FX113", probe=False)
    assert len(duplicated) == 1 and duplicated[0].message.startswith("`GET /v1/b` has operationId 'read'")

    broken = FastAPI()

    @broken.get("/hooks", summary="Hooks")
    def hooks() -> Any:
        return {}

    broken.openapi = lambda: 1 / 0  # type: ignore[method-assign]
    app.mount("/broken", broken)
    failed = findings(app, "FX010", probe=False)
    assert len(failed) == 1 and "the FastAPI mounted at `/broken`" in failed[0].message


def test_a_sub_app_has_its_own_middleware_handlers_and_debug_flag() -> None:
    app = parent_app()
    v1 = FastAPI(debug=True)

    @v1.middleware("http")
    async def timing(request: Request, call_next: Any) -> Any:
        return await call_next(request)

    @v1.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> PlainTextResponse:
        raise RuntimeError("the sub-app's 404 handler is broken")

    @v1.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    app.mount("/v1", v1)
    result = audit(app)
    assert result.app.middleware == []  # the parent's list is the parent's
    sub = result.app.sub_apps[0]
    assert [m.name for m in sub.middleware] == ["BaseHTTPMiddleware(timing)"] and "404" in sub.exception_handlers
    by_code = {f.code: f for f in result.findings}
    assert "the FastAPI mounted at `/v1`" in by_code["FX510"].message
    assert "the FastAPI mounted at `/v1`" in by_code["FX413"].message
    # The not-found probe inside the sub-app runs its own (crashing) 404 handler.
    assert "`GET /v1/fastapi-expert-probe/does-not-exist`" in by_code["FX712"].message


def test_routes_under_a_host_are_probed_with_that_host() -> None:
    app = parent_app()
    api = FastAPI()

    @api.get("/account", summary="Account")
    def account(user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        return {}

    app.router.routes.append(Host("{tenant}.example.com", app=api))
    result = audit(app)
    routes = table(result)
    inner = routes["{tenant}.example.com/account"]
    assert inner.path == "/account" and inner.host == "{tenant}.example.com" and inner.mount is None
    enforced = [f for f in result.findings if f.code == "FX426"]
    assert len(enforced) == 1 and "`GET {tenant}.example.com/account`" in enforced[0].message
    document = json.loads(report.render_json(result))
    assert next(r for r in document["routes"] if r["path"] == "/account")["host"] == "{tenant}.example.com"


def test_a_mount_with_a_custom_default_is_read_but_not_probed_inside() -> None:
    calls: list[str] = []

    async def fallback(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await PlainTextResponse("fallback")(scope, receive, send)

    app = parent_app()
    router = Router(routes=[Mount("/inner", routes=[])], default=fallback)
    app.mount("/x", router)

    @app.post("/items", summary="Create")
    def create(user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        return {}

    result = audit(app)
    mount = table(result)["/x"]
    assert mount.entered and not mount.transparent
    assert calls == []


# Bad input ------------------------------------------------------------------------------------


class Hostile:
    """An ASGI app that raises on any attribute access (a lazy proxy gone wrong)."""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(f"no attribute access here ({name})")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("the audit must not call it")


class BrokenRoutes(FastAPI):
    """A FastAPI app whose route table cannot be read."""

    @property
    def routes(self) -> Any:  # type: ignore[override]
        raise RuntimeError("routes are loaded lazily and failed")


def test_a_mount_whose_app_raises_on_attribute_access_is_opaque() -> None:
    app = parent_app()
    app.mount("/hostile", Hostile())
    result = audit(app)
    mount = table(result)["/hostile"]
    assert (mount.mounted_app, mount.entered) == ("Hostile", False)
    assert not [f for f in result.findings if f.code == "FX002"]


def test_a_mounted_app_whose_routes_cannot_be_read_is_reported_and_the_rest_audited() -> None:
    app = parent_app()
    app.mount("/broken", BrokenRoutes())
    v1 = FastAPI()

    @v1.post("/items", summary="Create")
    def create() -> dict[str, int]:
        return {}

    app.mount("/v1", v1)
    result = audit(app, probe=False)
    internal = [f for f in result.findings if f.code == "FX002"]
    assert len(internal) == 1 and "reading the routes mounted at '/broken' failed: RuntimeError" in internal[0].message
    assert not table(result)["/broken"].entered
    assert any(f.code == "FX408" and "`POST /v1/items`" in f.message for f in result.findings)


def test_cyclic_mounts_neither_hang_nor_crash() -> None:
    app = parent_app()
    app.mount("/loop", app)  # an app mounted inside itself
    a, b = FastAPI(), FastAPI()

    @b.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    a.mount("/b", b)
    b.mount("/a", a)  # and two mounted inside each other
    app.mount("/a", a)
    started = time.perf_counter()
    result = audit(app)
    assert time.perf_counter() - started < 10
    routes = table(result)
    assert (routes["/loop"].mounted_app, routes["/loop"].entered) == ("FastAPI", False)
    assert routes["/a/b/a"].entered is False and "/a/b/ping" in routes
    assert [sub.path for sub in result.app.sub_apps] == ["/a", "/a/b"]
    probed = [e.path for e in result.probes.exchanges] if result.probes else []
    assert not [p for p in probed if p.startswith(("/loop", "/a/b/a/"))]
