from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.rules.api_design.delete_with_body import body_lists_items
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

_VERBS = ("get", "create", "add", "update", "delete", "remove", "fetch", "list", "set", "save", "make", "do")
# A verb that is the whole segment, or followed by a separator or a capital:
# `getUser`, `get_users`, `delete`, `update-order` -- but not `settings`, `updates`,
# `address`, `listings`, `docs`, `download`.
_VERB_LED = re.compile(rf"^({'|'.join(_VERBS)})(?:$|[-_.]|(?=[A-Z]))")
_MIXED_CASE = re.compile(r"[a-z][A-Z]")
# Nouns that happen to be verb-led compounds.
_NOUNS = frozenset({"add-on", "add-ons", "add_on", "add_ons", "addOns", "get-started", "get_started", "set-up", "make-up"})
_HTML_RESPONSES = frozenset({"fastapi.responses.HTMLResponse", "starlette.responses.HTMLResponse"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DELETE_VERBS = frozenset({"delete", "remove"})


def _is_page(ctx: FileContext, route: Route) -> bool:
    """Is the route a page of a server-rendered site rather than an API operation?
    One endpoint that answers GET and a write method shows a form and handles its
    submission (`/users/create` with GET and POST); a route answering with
    `HTMLResponse` (its own `response_class` or its router's default) is a page.
    A browser form can only GET or POST, so such URLs name the action."""
    methods = set(route.methods)
    if "GET" in methods and methods & _WRITE_METHODS:
        return True
    candidates = [(route.module, route.keyword("response_class"))]
    owner = ctx.project.fastapi.objects.get(route.router)
    if owner is not None:
        candidates.append((owner.module, owner.keyword("default_response_class")))
    for module, expr in candidates:
        if expr is not None:
            return ctx.project.resolve(module, expr) in _HTML_RESPONSES
    return False


def _bulk_delete(ctx: FileContext, route: Route, verb: str) -> bool:
    """Is the route a bulk delete: a POST whose path ends in `delete`/`remove`
    (`/sessions/delete`, `/keys/remove`) and whose body lists the targets
    (`{"ids": [...]}`)? No single URL names them, and a DELETE must not carry
    the list in a body (FX711), so `POST .../delete` is the usual way to say it."""
    if route.methods != ("POST",) or route.endpoint is None or route.path is None:
        return False
    if route.path.rstrip("/").rsplit("/", 1)[-1] != verb or verb.lower() not in _DELETE_VERBS:
        return False
    return body_lists_items(ctx.project, route.endpoint, route.path)


# A word boundary inside a camelCase segment: before a capital that follows a lowercase
# letter or digit (`dagRuns`), and before the capital that starts a word after an
# acronym (`getHTTPStatus`), so acronyms stay whole.
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _hyphenated(segment: str) -> str:
    """`clearDagRuns` -> `clear-dag-runs`, `externalLogUrl` -> `external-log-url`."""
    return re.sub(r"[-_]+", "-", _CAMEL_BOUNDARY.sub("-", segment)).lower()


# Endpoint names a protocol fixes, by the path segment that opens its namespace: SCIM 2.0
# (RFC 7644 §3.2) serves `/scim/v2/ServiceProviderConfig` and `/scim/v2/ResourceTypes`,
# and identity providers (Okta, Entra ID) call exactly those URLs.
_PROTOCOL_NAMES: dict[str, frozenset[str]] = {"scim": frozenset({"ServiceProviderConfig", "ResourceTypes"})}


def _fixed_names(paths: list[str]) -> frozenset[str]:
    """The camelCase names a protocol fixes for a route under its namespace."""
    out: frozenset[str] = frozenset()
    for path in paths:
        for segment in path.split("/"):
            out |= _PROTOCOL_NAMES.get(segment.lower(), frozenset())
    return out


def _problems(
    path: str, after_parameter: bool = False, fixed: frozenset[str] = frozenset()
) -> tuple[str | None, list[str]]:
    """(the first static segment that names an action, every camelCase one, in
    order); one segment can be both (`getUser`). `after_parameter`: the prefixes
    the route is included with all end in a path parameter (`/orders/{order_id}`).
    `fixed`: names a protocol prescribes, not camelCase by choice."""
    verb: str | None = None
    cases: list[str] = []
    segments = [s for s in path.split("/") if s]
    for i, segment in enumerate(segments):
        if "{" in segment or ":" in segment:
            continue  # path parameters (also `{path:path}` and converters)
        # `/orders/{id}/cancel`: a controller-style action on one resource is accepted.
        after = segments[i - 1].startswith("{") if i > 0 else after_parameter
        action = i == len(segments) - 1 and after
        if verb is None and not action and _VERB_LED.match(segment) and segment not in _NOUNS:
            verb = segment
        if _MIXED_CASE.search(segment) and segment not in cases and segment not in fixed:
            cases.append(segment)
    return verb, cases


def _after_parameter(path: str, full_paths: list[str]) -> bool:
    """Does every full path put a path parameter right before the route's own path
    (`APIRouter(prefix="/orders/{order_id}")` with `@router.post("/cancel")`)? Then
    the route's first segment is an action on one resource, as if written in full."""
    prefixes = [full[: len(full) - len(path)] for full in full_paths if path and full.endswith(path)]
    return bool(prefixes) and len(prefixes) == len(full_paths) and all(
        p.rstrip("/").rsplit("/", 1)[-1].startswith("{") for p in prefixes
    )


def _listed(items: list[str]) -> str:
    """`a`, `a` and `b`, `a`, `b` and `c` (each in backquotes)."""
    quoted = [f"`{item}`" for item in items]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _message(shown: str, verb: str | None, cases: list[str]) -> str:
    """The message for the route whose full path is `shown`: the action, the
    camelCase segments, or both when the path has both (in one segment or more)."""
    if verb is None:
        noun, be = ("segment", "is") if len(cases) == 1 else ("segments", "are")
        return (
            f"Path {noun} {_listed(cases)} in `{shown}` {be} camelCase; use lowercase, "
            f"hyphen-separated words ({_listed([_hyphenated(c) for c in cases])})."
        )
    if not cases:
        return (
            f"Path `{shown}` names an action (`{verb}`); name the resource "
            "(`/users/{id}`, `/items`) and let the HTTP method be the verb."
        )
    head = f"Path `{shown}` names an action (`{verb}`)"
    if verb in cases:
        head += ", in camelCase"
    others = [c for c in cases if c != verb]
    if not others:
        return (
            f"{head}; name the resource in lowercase, hyphen-separated words "
            "(`/users/{id}`, `/user-profiles`) and let the HTTP method be the verb."
        )
    noun, be = ("segment", "is") if len(others) == 1 else ("segments", "are")
    return (
        f"{head}, and its {noun} {_listed(others)} {be} camelCase; name the resource "
        f"(`/users/{{id}}`, `/items`) in lowercase, hyphen-separated words "
        f"({_listed([_hyphenated(c) for c in others])}) and let the HTTP method be the verb."
    )


class VerbInPath(Rule):
    """Flags route paths that name actions (`/getUser`, `/items/delete/{id}`) or use camelCase.

    ## What it does
    Looks at every static segment of an HTTP route's path for a verb-led name:
    `get`, `create`, `add`, `update`, `delete`, `remove`, `fetch`, `list`, `set`,
    `save`, `make` or `do`, as the whole segment or followed by a separator or a
    capital (`/getUser`, `/create_item`, `/items/delete/{id}`, `/update-order`),
    and for mixed-case segments (`/userProfiles`). Nouns that merely start with
    those letters (`/settings`, `/updates`, `/address`) are not verbs. An action
    as the last segment right after a path parameter (`/orders/{id}/cancel`) is an
    accepted controller-style sub-resource and is not reported. Pages of a
    server-rendered site are not API resources and are left alone: one endpoint
    that answers both GET and a write method (the form page `/users/create`
    shown on GET and submitted with POST: an HTML form can send no other
    method), or a route answering with `HTMLResponse`. The message names the
    route's full path (with its router and include prefixes) when it is known,
    every camelCase segment of the route's own path (`/dagRuns/{id}/taskGroups`),
    and both problems when a path has both: an action in camelCase (`/getUser`),
    or an action next to a camelCase segment (`/taskRuns/delete`). A camelCase
    action right after a path parameter (`/dags/{dag_id}/clearDagRuns`) is told
    only its case, with the segment in lowercase, hyphen-separated words
    (`clear-dag-runs`): the action on one resource is accepted. A bulk delete
    is accepted too: a POST whose path ends in `delete` or `remove` and whose
    body lists the targets (a list parameter, or a model with a list field:
    `POST /sessions/delete` with `{"session_ids": [...]}`), since no single URL
    names them and a DELETE should carry no body (FX711). Names a protocol fixes
    are not camelCase by choice: SCIM 2.0's `ServiceProviderConfig` and
    `ResourceTypes` under a `/scim` path (RFC 7644).

    ## Why is this bad?
    In an HTTP API the method is the verb and the path names the resource:
    `GET /users/{id}`, `POST /items`, `DELETE /items/{id}`. Verbs in paths
    duplicate (or contradict) the method, multiply endpoints per resource, defeat
    HTTP caching and tooling that reason about resources, and make the
    generated OpenAPI client awkward. Paths are case-sensitive, so camelCase
    segments invite `/userprofiles` vs `/userProfiles` mismatches; lowercase with
    hyphens is the common convention.

    ## References
    - https://www.rfc-editor.org/rfc/rfc9110#name-methods
    - https://learn.microsoft.com/en-us/azure/architecture/best-practices/api-design#organize-the-api-design-around-resources
    - https://google.aip.dev/121
    - https://www.rfc-editor.org/rfc/rfc7644#section-3.2
    """

    code = "FX706"
    name = "verb-in-path"
    summary = "Route path names an action or uses camelCase; name resources and let the method be the verb."
    severity = Severity.INFO

    valid = (
        Valid(
            """
            from fastapi import APIRouter

            router = APIRouter()


            @router.post("/orders/{order_id}/cancel")
            def cancel_order(order_id: int):
                return {"id": order_id, "state": "cancelled"}


            @router.get("/settings")
            def read_settings():
                return {}


            @router.get("/users/me")
            def read_me():
                return {}


            @router.get("/items/{item_id}")
            def read_item(item_id: int):
                return {"id": item_id}
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from fastapi.security import OAuth2PasswordRequestForm

            app = FastAPI()


            @app.post("/auth/token")
            def login(form: OAuth2PasswordRequestForm):
                return {"access_token": form.username}


            @app.get("/updates")
            def list_updates():
                return []
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Request
            from fastapi.responses import HTMLResponse, RedirectResponse
            from fastapi.templating import Jinja2Templates

            router = APIRouter(prefix="/admin/projects")
            templates = Jinja2Templates(directory="templates")


            @router.api_route("/create", methods=["GET", "POST"])
            async def create_project(request: Request):
                if request.method == "POST":
                    form = await request.form()
                    return RedirectResponse(f"/admin/projects?created={form['name']}", status_code=303)
                return templates.TemplateResponse(request, "projects/create.html")


            @router.get("/add-from-template", response_class=HTMLResponse)
            async def add_from_template_page(request: Request):
                return templates.TemplateResponse(request, "projects/add_from_template.html")
            """
        ),
        Valid(
            # The parameter comes from the router's prefix: the same action on one
            # order as `/orders/{order_id}/delete` written in full.
            """
            from fastapi import APIRouter, FastAPI

            order = APIRouter(prefix="/orders/{order_id}")


            @order.post("/delete")
            def delete_order(order_id: int):
                return {"id": order_id, "state": "deleted"}


            app = FastAPI()
            app.include_router(order, prefix="/api")
            """
        ),
        Valid(
            # A bulk delete: the ids travel in a POST body, as a DELETE must not carry
            # one; and SCIM 2.0 endpoints, whose names RFC 7644 fixes.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()


            class DeleteSessions(BaseModel):
                session_ids: list[str]


            @router.post("/v1/sessions/delete", status_code=204)
            async def delete_sessions(body: DeleteSessions) -> None:
                return None


            @router.get("/scim/v2/ServiceProviderConfig")
            async def service_provider_config() -> dict[str, str]:
                return {}


            @router.get("/scim/v2/ResourceTypes/{type_id}")
            async def resource_type(type_id: str) -> dict[str, str]:
                return {}
            """
        ),
        Valid(
            # The request models come in by a star import; the body still lists the keys.
            """
            from fastapi import APIRouter

            from app.types import *

            router = APIRouter()


            @router.post("/key/delete")
            async def delete_keys(data: KeyRequest) -> None:
                return None
            """,
            filename="app/keys.py",
            files={
                "app/types.py": """
                    from typing import List, Optional

                    from pydantic import BaseModel

                    class KeyRequest(BaseModel):
                        keys: Optional[List[str]] = None
                        key_aliases: Optional[List[str]] = None
                """
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI

            app = FastAPI()


            @app.get("/getUser/{user_id}")
            def get_user(user_id: int):
                return {"id": user_id}


            @app.post("/items/delete/{item_id}")
            def delete_item(item_id: int):
                return None


            @app.post("/create_order")
            def create_order():
                return {}
            """,
            lines=(6, 11, 16),
        ),
        Invalid(
            """
            from fastapi import APIRouter

            router = APIRouter(prefix="/accounts")


            @router.get("/userProfiles")
            def user_profiles():
                return []


            router.add_api_route("/fetchAll", user_profiles, methods=["GET"])
            """,
            lines=(6, 11),
        ),
        Invalid(
            # A camelCase action on one job (accepted as an action, not as camelCase), an
            # action in camelCase, an action next to a camelCase segment, and two
            # camelCase segments.
            """
            from fastapi import APIRouter

            router = APIRouter(prefix="/jobs")


            @router.post("/{job_id}/clearTaskRuns")
            def clear_task_runs(job_id: int):
                return []


            @router.get("/getTaskRuns")
            def get_task_runs():
                return []


            @router.post("/taskRuns/delete")
            def delete_task_runs():
                return None


            @router.patch("/taskRuns/{run_id}/stepGroups")
            def patch_step_groups(run_id: int):
                return None
            """,
            lines=(6, 11, 16, 21),
        ),
        Invalid(
            # One model deleted by an id in the body: `DELETE /models/{id}` says it.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()


            class ModelRef(BaseModel):
                id: str


            @router.post("/model/delete")
            async def delete_model(body: ModelRef) -> None:
                return None


            @router.get("/ServiceProviderConfig")
            async def service_provider_config() -> dict[str, str]:
                return {}
            """,
            lines=(11, 16),
        ),
    )

    def __init__(self) -> None:
        self._routes: dict[str, dict[int, Route]] = {}

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        routes = self._routes.get(ctx.module.path)
        if routes is None:
            routes = {id(r.node): r for r in ctx.project.fastapi.routes if r.module is ctx.module}
            self._routes[ctx.module.path] = routes
        route = routes.get(id(node))
        if route is None or route.is_websocket or route.path is None:
            return
        fixed = _fixed_names([route.path, *route.full_paths])
        verb, cases = _problems(route.path, _after_parameter(route.path, route.full_paths), fixed)
        if verb is not None and _bulk_delete(ctx, route, verb):
            verb = None
        if (verb is None and not cases) or _is_page(ctx, route):
            return
        # Only the route's own path is checked (a prefix is the include's business),
        # but the message shows the full path so the reader finds the URL.
        ctx.report(node, _message(route.display_path, verb, cases))
