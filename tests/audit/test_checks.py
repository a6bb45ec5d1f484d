"""Each runtime check on a small app built here, with its near-misses.

No `from __future__ import annotations`: FastAPI resolves string annotations in the
module's globals, and these apps use dependencies defined inside the tests.
"""

import json
from collections.abc import Callable
from typing import Annotated, Any

import anyio
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Security, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from pydantic import BaseModel

from .helpers import audit, codes, findings

oauth2 = OAuth2PasswordBearer(tokenUrl="/token")
lenient = OAuth2PasswordBearer(tokenUrl="/token", auto_error=False)


class Item(BaseModel):
    name: str


def current_user(token: Annotated[str, Depends(oauth2)]) -> str:
    return token


def token_route(app: FastAPI) -> None:
    @app.post("/token", summary="Log in")
    def login() -> dict[str, str]:
        return {"access_token": "x"}


# FX408 unauthenticated-mutating-route ---------------------------------------------


def test_unauthenticated_post_in_an_app_that_authenticates() -> None:
    app = FastAPI()
    token_route(app)

    @app.get("/items", dependencies=[Depends(current_user)])
    def list_items() -> list[str]:
        return []

    @app.post("/items")
    def create_item(item: Item) -> Item:
        return item

    found = findings(app, "FX408", probe=False)
    assert [f.message.split(" changes")[0] for f in found] == ["`POST /items`"]


def test_an_app_with_no_auth_at_all_is_not_missing_auth() -> None:
    app = FastAPI()

    @app.post("/items")
    def create_item(item: Item) -> Item:
        return item

    assert findings(app, "FX408", probe=False) == []


def test_an_app_that_authenticates_in_a_middleware_is_left_alone() -> None:
    # The middleware runs before every route, so no route needs a dependency of its
    # own (the static FX408 reads the code the same way).
    from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
    from starlette.middleware.authentication import AuthenticationMiddleware

    class HeaderBackend(AuthenticationBackend):
        async def authenticate(self, conn: Any) -> tuple[AuthCredentials, SimpleUser] | None:
            user = conn.headers.get("x-user")
            return (AuthCredentials(["authenticated"]), SimpleUser(user)) if user else None

    app = FastAPI()
    app.add_middleware(AuthenticationMiddleware, backend=HeaderBackend())
    token_route(app)

    @app.get("/items", dependencies=[Depends(current_user)])
    def list_items() -> list[str]:
        return []

    @app.post("/items")
    def create_item(item: Item) -> Item:
        return item

    assert findings(app, "FX408", probe=False) == []


def test_security_with_scopes_counts_as_auth_and_router_dependencies_are_read() -> None:
    app = FastAPI()
    token_route(app)
    router = APIRouter(prefix="/admin", dependencies=[Security(current_user, scopes=["admin"])])

    @router.delete("/items/{item_id}")
    def delete_item(item_id: int, scopes: SecurityScopes) -> None:
        return None

    app.include_router(router)

    @app.put("/items/{item_id}")
    def replace_item(item_id: int, user: Annotated[str, Security(oauth2, scopes=["items:write"])]) -> Item:
        return Item(name=user)

    result = audit(app, probe=False)
    assert [f for f in result.findings if f.code == "FX408"] == []
    table = {r.path: r for r in result.app.routes}
    assert table["/admin/items/{item_id}"].auth_label == "OAuth2PasswordBearer[admin]"
    assert table["/items/{item_id}"].auth_label == "OAuth2PasswordBearer[items:write]"


def test_a_websocket_without_auth_is_flagged_and_one_reading_a_token_is_not() -> None:
    app = FastAPI()
    token_route(app)

    @app.get("/me", dependencies=[Depends(current_user)])
    def me() -> dict[str, str]:
        return {}

    @app.websocket("/ws/open")
    async def open_socket(websocket: WebSocket) -> None:
        await websocket.close()

    @app.websocket("/ws/events")
    async def events(websocket: WebSocket, token: str | None = None) -> None:
        await websocket.close()

    found = findings(app, "FX408", probe=False)
    assert len(found) == 1 and "`WS /ws/open`" in found[0].message


def test_login_and_auth_dependency_by_name_are_not_flagged() -> None:
    app = FastAPI()

    def require_api_key(request: Request) -> None:
        if request.headers.get("x-key") != "k":
            raise HTTPException(403)

    @app.post("/orders", dependencies=[Depends(require_api_key)])
    def create_order() -> dict[str, int]:
        return {}

    @app.post("/auth/register")
    def register() -> dict[str, int]:
        return {}

    result = audit(app, probe=False)
    assert [f for f in result.findings if f.code == "FX408"] == []
    assert {r.path: r.auth_label for r in result.app.user_routes}["/orders"] == "require_api_key()"


# FX426 auth-not-enforced (probe) ---------------------------------------------------


def lenient_app() -> FastAPI:
    app = FastAPI()
    token_route(app)
    created: list[str] = []

    def optional_user(token: Annotated[str | None, Depends(lenient)]) -> str | None:
        return token  # never raises: a missing token passes as None

    @app.post("/notes", summary="Add a note")
    def add_note(user: Annotated[str | None, Depends(optional_user)]) -> dict[str, int]:
        created.append("note")  # must never run during the audit
        return {"count": len(created)}

    app.state.created = created
    return app


def test_a_dependency_that_does_not_raise_lets_the_probe_through_without_running_the_endpoint() -> None:
    app = lenient_app()
    found = findings(app, "FX426")
    assert len(found) == 1 and "`POST /notes`" in found[0].message
    assert app.state.created == []  # the endpoint was swapped for a stub
    assert findings(lenient_app(), "FX426", probe=False) == []


def test_typed_path_parameters_get_samples_that_validate() -> None:
    # `/orgs/fx-sample/...` would be a 422 for `org_id: int`, hiding the lenient auth.
    import enum
    import uuid

    class Shelf(str, enum.Enum):
        top = "top shelf"
        bottom = "bottom"

    app = FastAPI()
    token_route(app)

    def optional_user(token: Annotated[str | None, Depends(lenient)]) -> str | None:
        return token

    def org_member(org_id: int, user: Annotated[str | None, Depends(optional_user)]) -> int:
        return org_id  # the path parameter is declared by a dependency

    @app.put("/orgs/{org_id}/shelves/{shelf}/books/{book_id}", summary="Shelve a book")
    def shelve(shelf: Shelf, book_id: uuid.UUID, org: Annotated[int, Depends(org_member)]) -> dict[str, str]:
        return {"shelf": shelf.value}

    result = audit(app)
    (exchange,) = result.probes.of("unauthenticated") if result.probes else []
    assert exchange.path == "/orgs/7/shelves/top%20shelf/books/00000000-0000-4000-8000-000000000007"
    found = [f for f in result.findings if f.code == "FX426"]
    assert len(found) == 1 and "reached the endpoint" in found[0].message


def test_proper_auth_answers_401_and_draws_nothing() -> None:
    app = FastAPI()
    token_route(app)

    @app.post("/notes", summary="Add a note")
    def add_note(user: Annotated[str, Depends(current_user)]) -> dict[str, int]:
        raise AssertionError("the endpoint must not run")

    result = audit(app)
    assert [f for f in result.findings if f.code == "FX426"] == []
    unauthenticated = result.probes.of("unauthenticated") if result.probes else []
    assert [e.status for e in unauthenticated] == [401]


def test_a_crashing_auth_dependency_is_a_500_not_a_401() -> None:
    app = FastAPI()
    token_route(app)

    def broken_user(token: Annotated[str | None, Depends(lenient)]) -> str:
        return token.upper()  # type: ignore[union-attr]  # AttributeError on None

    @app.get("/me", summary="Me")
    def me(user: Annotated[str, Depends(broken_user)]) -> dict[str, str]:
        return {"user": user}

    found = findings(app, "FX426")
    assert len(found) == 1 and "answered 500" in found[0].message


# FX416 dangling-security-scheme ----------------------------------------------------


def test_token_url_matching_no_route() -> None:
    app = FastAPI()
    scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")

    @app.get("/me", summary="Me")
    def me(token: Annotated[str, Depends(scheme)]) -> dict[str, str]:
        return {}

    found = findings(app, "FX416", probe=False)
    assert len(found) == 1 and "'/auth/token'" in found[0].message
    token_route(app)  # /token, not /auth/token
    assert len(findings(app, "FX416", probe=False)) == 1


def test_token_url_of_an_included_router_route_matches() -> None:
    app = FastAPI()
    scheme = OAuth2PasswordBearer(tokenUrl="api/v1/auth/token")  # relative, as in FastAPI's docs
    router = APIRouter(prefix="/auth")

    @router.post("/token")
    def login() -> dict[str, str]:
        return {}

    api = APIRouter(prefix="/api/v1")
    api.include_router(router)
    app.include_router(api)

    @app.get("/me")
    def me(token: Annotated[str, Depends(scheme)]) -> dict[str, str]:
        return {}

    assert findings(app, "FX416", probe=False) == []


def test_scopes_never_checked_and_checked() -> None:
    app = FastAPI()
    token_route(app)

    @app.get("/unchecked")
    def unchecked(token: Annotated[str, Security(oauth2, scopes=["admin"])]) -> dict[str, str]:
        return {}

    def checked_user(scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]) -> str:
        if "admin" not in scopes.scopes:
            raise HTTPException(403)
        return token

    @app.get("/checked")
    def checked(user: Annotated[str, Security(checked_user, scopes=["admin"])]) -> dict[str, str]:
        return {}

    found = findings(app, "FX416", probe=False)
    assert len(found) == 1 and "`GET /unchecked`" in found[0].message


# FX112 shadowed-route ----------------------------------------------------------------


def test_fixed_path_after_a_parameterised_one_is_shadowed() -> None:
    app = FastAPI()

    @app.get("/orders/{order_id}")
    def get_order(order_id: int) -> dict[str, int]:
        return {}

    @app.get("/orders/summary")
    def summary() -> dict[str, int]:
        return {}

    @app.post("/orders/summary")  # another method: reachable
    def post_summary() -> dict[str, int]:
        return {}

    @app.get("/files/{name}")
    def get_file(name: str) -> dict[str, int]:
        return {}

    @app.get("/files/{file_id:int}")  # ints are strings too: shadowed
    def get_file_by_id(file_id: int) -> dict[str, int]:
        return {}

    found = findings(app, "FX112", probe=False)
    assert sorted(f.message.split(" is never")[0] for f in found) == ["`GET /files/{file_id:int}`", "`GET /orders/summary`"]


def test_fixed_path_first_is_not_shadowed() -> None:
    app = FastAPI()

    @app.get("/orders/summary")
    def summary() -> dict[str, int]:
        return {}

    @app.get("/orders/{order_id}")
    def get_order(order_id: int) -> dict[str, int]:
        return {}

    assert findings(app, "FX112", probe=False) == []


# FX113 duplicate-operation-id --------------------------------------------------------


def test_duplicate_operation_ids() -> None:
    app = FastAPI()

    @app.get("/a", operation_id="read")
    def a() -> dict[str, int]:
        return {}

    @app.get("/b", operation_id="read")
    def b() -> dict[str, int]:
        return {}

    found = findings(app, "FX113", probe=False)
    assert len(found) == 1 and "`GET /b`" in found[0].message
    clean = FastAPI()

    @clean.get("/a")
    def a2() -> dict[str, int]:
        return {}

    @clean.get("/b")
    def b2() -> dict[str, int]:
        return {}

    assert findings(clean, "FX113", probe=False) == []


# FX302 missing-response-model ----------------------------------------------------------


def test_missing_response_model_and_near_misses() -> None:
    app = FastAPI()

    @app.get("/untyped")
    def untyped():  # type: ignore[no-untyped-def]
        return {"secret": 1}

    @app.get("/typed")
    def typed() -> Item:
        return Item(name="x")

    @app.get("/model", response_model=Item)
    def model():  # type: ignore[no-untyped-def]
        return {"name": "x"}

    @app.delete("/gone", status_code=204)
    def gone():  # type: ignore[no-untyped-def]
        pass

    @app.post("/nothing")
    def nothing():  # type: ignore[no-untyped-def]
        return None

    @app.get("/text", response_class=PlainTextResponse)
    def text():  # type: ignore[no-untyped-def]
        return "hi"

    found = findings(app, "FX302", probe=False)
    assert [f.message.split(" has")[0] for f in found] == ["`GET /untyped`"]


# FX709 undeclared-path-parameter --------------------------------------------------------


def test_undeclared_path_parameter_and_one_declared_by_a_dependency() -> None:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def get_item() -> dict[str, int]:
        return {}

    def team(team_id: int) -> int:
        return team_id

    @app.get("/teams/{team_id}/members")
    def members(current_team: Annotated[int, Depends(team)]) -> dict[str, int]:
        return {}

    found = findings(app, "FX709", probe=False)
    assert len(found) == 1 and "`item_id`" in found[0].message


# FX702 undocumented-operation ----------------------------------------------------------


def test_operation_without_summary_or_description() -> None:
    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, int]:
        return {}

    @app.get("/docstring")
    def documented() -> dict[str, int]:
        """Returns the counters."""
        return {}

    @app.get("/summary", summary="Counters")
    def summarised() -> dict[str, int]:
        return {}

    @app.get("/hidden", include_in_schema=False)
    def hidden() -> dict[str, int]:
        return {}

    found = findings(app, "FX702", probe=False)
    assert [f.message.split(" has")[0] for f in found] == ["`GET /bare`"]


# FX406 cors-wildcard-with-credentials ----------------------------------------------------


def cors_app(**options: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_methods=["*"], **options)

    @app.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    return app


def test_cors_any_origin_with_credentials_is_found_and_confirmed_by_a_preflight() -> None:
    found = findings(cors_app(allow_origins=["*"], allow_credentials=True), "FX406")
    assert len(found) == 1 and "preflight" in found[0].message
    assert len(findings(cors_app(allow_origin_regex=".*", allow_credentials=True), "FX406", probe=False)) == 1


def test_cors_near_misses() -> None:
    assert findings(cors_app(allow_origins=["*"]), "FX406") == []
    assert findings(cors_app(allow_origins=["https://app.example.com"], allow_credentials=True), "FX406") == []


# FX420 / FX424 / FX425: production settings ------------------------------------------------


def test_production_app_without_hardening(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    app = FastAPI()

    @app.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    assert {"FX420", "FX424", "FX425"} <= codes(app)
    assert "production" in findings(app, "FX420", probe=False)[0].message


def test_settings_on_app_state_say_production() -> None:
    class Settings:
        environment = "production"

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = Settings()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["api.example.com"])

    @app.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    result = audit(app)
    assert result.app.production and "app.state.settings.environment" in (result.app.production_reason or "")
    found = {f.code for f in result.findings}
    assert "FX420" not in found and "FX424" not in found
    assert "FX425" in found  # no HSTS header and no HTTPS redirect


def test_not_production_draws_no_production_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    app = FastAPI()

    @app.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    assert not {"FX420", "FX424", "FX425"} & codes(app)


# FX510 base-http-middleware, FX413 debug, FX423 headers ---------------------------------------


class SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def test_base_http_middleware_debug_and_missing_headers() -> None:
    app = FastAPI(debug=True)

    @app.middleware("http")
    async def add_timing(request: Request, call_next: Callable[[Request], Any]) -> Any:
        return await call_next(request)

    @app.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    result = audit(app)
    found = {f.code: f for f in result.findings}
    assert {"FX510", "FX413", "FX423"} <= set(found)
    assert "add_timing" in found["FX510"].message
    assert found["FX510"].location.line > 1  # points at the dispatch function


def test_pure_asgi_security_headers_draw_nothing() -> None:
    app = FastAPI()
    app.add_middleware(SecurityHeaders)

    @app.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    assert codes(app) == set()


# FX010 openapi-generation-failed ------------------------------------------------------------


def test_openapi_generation_failure_names_the_route() -> None:
    class Hook(BaseModel):
        callback: Callable[[], None]

    app = FastAPI()

    @app.get("/fine", summary="Fine")
    def fine() -> dict[str, int]:
        return {}

    @app.get("/hooks", summary="Hooks", response_model=Hook)
    def hooks() -> Any:
        return {}

    found = findings(app, "FX010", probe=False)
    assert len(found) == 1 and "`GET /hooks`" in found[0].message


# FX011 probe-timed-out ------------------------------------------------------------------------


def test_a_hanging_dependency_is_cut_and_reported() -> None:
    hanging = FastAPI()

    async def stuck() -> None:
        await anyio.sleep(30)

    @hanging.get("/stuck", summary="Stuck", dependencies=[Depends(stuck)])
    def stuck_route() -> dict[str, int]:
        return {}

    @hanging.middleware("http")
    async def hang_everything(request: Request, call_next: Callable[[Request], Any]) -> Any:
        if request.url.path.startswith("/fastapi-expert-probe"):
            await anyio.sleep(30)
        return await call_next(request)

    result = audit(hanging, timeout=0.3)
    timed_out = [f for f in result.findings if f.code == "FX011"]
    assert len(timed_out) == 1 and "not-found" in timed_out[0].message
    assert result.seconds < 10


# FX712 server-error-on-bad-request, FX419 internal-error-leak -------------------------------------


def test_a_crashing_validation_handler_and_a_leaking_one() -> None:
    app = FastAPI()

    @app.exception_handler(RequestValidationError)
    async def crash(request: Request, exc: RequestValidationError) -> JSONResponse:
        raise RuntimeError("handler bug")

    @app.post("/items", summary="Create")
    def create(item: Item) -> Item:
        return item

    found = findings(app, "FX712")
    assert {f.message.split(" answered")[0] for f in found} == {
        "`POST /items` with a malformed JSON body",
        "`POST /items` with a body with the wrong content type",
    }

    leaky = FastAPI()

    @leaky.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> PlainTextResponse:
        return PlainTextResponse('Traceback (most recent call last):\n  File "/srv/app/main.py", line 3', 404)

    @leaky.get("/ping", summary="Ping")
    def ping() -> dict[str, int]:
        return {}

    leaked = findings(leaky, "FX419")
    assert leaked and "stack trace" in leaked[0].message


def test_default_error_handling_draws_nothing() -> None:
    app = FastAPI()
    app.add_middleware(SecurityHeaders)

    @app.post("/items", summary="Create")
    def create(item: Item) -> Item:
        return item

    result = audit(app)
    assert result.findings == []
    statuses = {e.probe: e.status for e in result.probes.exchanges} if result.probes else {}
    assert statuses["not-found"] == 404 and statuses["malformed-json"] == 422
    assert statuses["wrong-method"] == 405


# The report formats -------------------------------------------------------------------------------


def test_json_report_shape() -> None:
    from fastapi_expert.audit import report

    app = FastAPI(debug=True)
    token_route(app)

    @app.get("/me", summary="Me")
    def me(user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
        return {}

    result = audit(app, probe=False)
    document = json.loads(report.render_json(result))
    assert set(document) == {"version", "routes", "findings", "summary"} and document["version"] == 1
    me_route = next(r for r in document["routes"] if r["path"] == "/me")
    assert me_route["auth"] == ["OAuth2PasswordBearer"] and me_route["dependencies"] == ["current_user"]
    assert set(document["findings"][0]) == {
        "code", "name", "severity", "path", "line", "column", "end_line", "end_column", "message", "fix", "chain",
    }
    assert report.render_markdown(result).startswith("### API audit")
    assert "OAuth2PasswordBearer" in report.render_text(result)


def test_a_dependency_blocking_the_event_loop_is_cut_by_the_watchdog() -> None:
    import time

    app = FastAPI()

    async def blocking() -> None:
        time.sleep(3)  # blocks the loop: anyio.fail_after cannot fire

    @app.get("/blocked", summary="Blocked")
    def blocked(_: Annotated[None, Depends(blocking)], user: Annotated[str, Depends(current_user)]) -> dict[str, int]:
        return {}

    token_route(app)
    started = time.perf_counter()
    result = audit(app, timeout=0.2)
    timed_out = [f for f in result.findings if f.code == "FX011"]
    assert len(timed_out) == 1 and "`GET /blocked`" in timed_out[0].message
    assert time.perf_counter() - started < 2.5


def test_what_counts_as_a_leak() -> None:
    import os

    from fastapi_expert.audit.checks.internal_error_leak import leaks

    assert leaks('Traceback (most recent call last):\n  File "x.py", line 1') == "a stack trace"
    assert leaks("/usr/lib/python3/site-packages/fastapi/routing.py") == "an internal path"
    assert leaks(f"cannot open {os.getcwd()}/app/main.py") == "an internal path"
    assert leaks('{"detail": "Not Found", "instance": "/api/v1/todos"}') is None
