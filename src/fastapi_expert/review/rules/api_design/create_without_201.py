from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.rules.api_design.numeric_status_code import status_module_name
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    annotation_classes,
    inherited_fields,
    model_class,
)
from fastapi_expert.types import Edit, Fix

# Words of a path segment that mark a POST as an operation, not a collection insert, as
# word sequences: a segment matches when they are whole words of it, split on `-`, `_`,
# `.` and camelCase (`sign-in`, `signIn`, `sign_in`, `signin`), so `signin` is not found
# inside `signing-keys` nor `hook` inside `webhooks`.
_OPERATION_PHRASES: tuple[tuple[str, ...], ...] = (
    ("login",), ("log", "in"), ("logout",), ("log", "out"), ("signin",), ("sign", "in"),
    ("signout",), ("sign", "out"), ("token",), ("refresh",), ("verify",), ("webhook",), ("hook",),
    ("callback",), ("search",), ("query",), ("graphql",), ("graph", "ql"), ("rpc",), ("oauth",),
    ("oauth2",), ("o", "auth"), ("o", "auth2"), ("authenticate",), ("authorize",), ("introspect",),
    ("dry", "run"), ("dryrun",),
)
# Their plurals name a collection when they end the path of an endpoint named for creating
# (`POST /webhooks` of `create_webhook`), but a namespace before it (`/webhooks/github`: a
# receiver).
_OPERATION_PLURALS: tuple[tuple[str, ...], ...] = (
    ("tokens",), ("webhooks",), ("hooks",), ("callbacks",), ("searches",), ("queries",),
)
# First word of a last path segment (or endpoint name) that names an action.
_ACTION_VERBS = frozenset(
    {
        "run", "send", "resend", "cancel", "start", "stop", "restart", "execute", "exec",
        "approve", "reject", "publish", "unpublish", "archive", "unarchive", "restore", "reset",
        "retry", "confirm", "complete", "close", "reopen", "open", "submit", "validate", "check",
        "calculate", "compute", "process", "import", "export", "sync", "trigger", "notify", "test",
        "ping", "preview", "predict", "classify", "infer", "generate", "render", "convert",
        "transform", "translate", "summarize", "summarise", "analyze", "analyse", "estimate",
        "evaluate", "score", "rank", "recommend", "match", "lookup", "resolve", "parse", "extract",
        "compress", "encrypt", "decrypt", "sign", "redeem", "apply", "assign", "unassign",
        "transfer", "move", "copy", "clone", "duplicate", "merge", "split", "lock", "unlock",
        "enable", "disable", "activate", "deactivate", "suspend", "resume", "pause", "mark",
        "flag", "like", "unlike", "follow", "unfollow", "subscribe", "unsubscribe", "join",
        "leave", "invite", "accept", "decline", "share", "ack", "acknowledge", "heartbeat",
        "invalidate", "revoke", "rotate", "renew", "charge", "refund", "pay", "checkout", "echo",
        "count", "sort", "filter", "batch", "replay", "rerun", "dispatch", "schedule",
        "reschedule", "enqueue", "upsert", "update", "delete", "remove", "get", "fetch", "list",
        "set", "read", "clear", "install", "uninstall", "reinstall", "upgrade", "downgrade",
        "migrate", "provision", "deprovision", "deploy", "undeploy", "initialize", "init",
        "bootstrap", "seed", "reload", "rebuild", "reindex", "purge", "prune", "flush", "cleanup",
    }
)
# First word of an endpoint name that says it creates something.
_CREATE_VERBS = frozenset({"create", "add", "register", "new", "insert", "make", "post", "signup", "enroll", "upload"})
# Last path segment that says the POST creates something (`/auth/register`, `/items/new`).
_CREATE_SEGMENTS = frozenset({"register", "registration", "signup", "sign-up", "new", "create", "add"})
# First word of an endpoint name that stores or replaces state in place: an upsert, not a create.
_UPSERT_VERBS = frozenset(
    {"store", "save", "set", "update", "upsert", "sync", "put", "replace", "persist", "configure", "write", "patch"}
)
# Plural-looking path segments that name one resource, not a collection.
_SINGULAR_PLURALS = frozenset(
    {"settings", "preferences", "options", "status", "stats", "statistics", "metrics", "analytics", "news",
     "details", "progress", "access", "address", "credentials", "permissions", "config", "configs", "bus"}
)
_JSON_RESPONSES = frozenset(
    {
        "fastapi.responses.JSONResponse", "fastapi.responses.ORJSONResponse",
        "fastapi.responses.UJSONResponse", "starlette.responses.JSONResponse",
    }
)
_RESPONSE_MODULES = ("fastapi.responses.", "starlette.responses.")
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def first_word(name: str) -> str:
    words = _WORD.findall(name)
    return words[0].lower() if words else ""


def _segment_words(segment: str) -> list[list[str]]:
    """The words of a path segment, read two ways: split on `-`, `_`, `.` only
    (`oauth2`, `signin`), and split on camelCase too (`signIn` -> `sign`, `in`)."""
    parts = [p for p in re.split(r"[-_.]+", segment) if p]
    plain = [p.lower() for p in parts]
    camel = [w.lower() for p in parts for w in _WORD.findall(p)]
    return [plain] if camel == plain else [plain, camel]


def _has_phrase(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(
        tuple(words[i : i + len(phrase)]) == phrase for phrase in phrases for i in range(len(words) - len(phrase) + 1)
    )


def _names_operation(path: str, *, named_create: bool) -> bool:
    """Does a static segment of `path` name an operation (`/auth/sign-in`, `/token`,
    `/github/webhook`, `/webhooks/github`), as whole words? A plural ending the path
    (`/webhooks`, `/api-tokens`) is the collection of such things when the endpoint is
    named for creating (`create_webhook`); otherwise it may as well be a receiver
    (`POST /webhooks` of `handle_webhooks`), and is still an operation."""
    static = [s for s in path.split("/") if s and not s.startswith("{")]
    for i, segment in enumerate(static):
        last = i == len(static) - 1
        for words in _segment_words(segment):
            if _has_phrase(words, _OPERATION_PHRASES) or (
                (not last or not named_create) and _has_phrase(words, _OPERATION_PLURALS)
            ):
                return True
    return False


def _named_create(endpoint: FunctionInfo | None) -> bool:
    """Is the endpoint named for creating (`create_order`, `add_address`, `user_create`)?"""
    if endpoint is None:
        return False
    words = {w.lower() for w in _WORD.findall(endpoint.name)}
    return first_word(endpoint.name) in _CREATE_VERBS or bool(words & {"create", "register", "signup"})


# First words of a description that says the endpoint reads (`Get the next run of each
# flow.`, `List gateways`): a read sent as POST, its filters in the body.
_READ_DESCRIPTIONS = frozenset(
    {
        "get", "gets", "list", "lists", "read", "reads", "fetch", "fetches", "retrieve", "retrieves",
        "find", "finds", "count", "counts", "query", "queries", "search", "searches", "lookup",
        "look", "looks", "show", "shows", "describe", "describes",
    }
)
# ...unless another word of its first sentence says it writes (`Get or create the flow`).
_WRITE_DESCRIPTIONS = frozenset(
    {
        "create", "creates", "add", "adds", "insert", "inserts", "register", "registers", "store",
        "stores", "save", "saves", "write", "writes", "upsert", "upserts", "generate", "generates",
        "update", "updates", "submit", "submits",
    }
)


def _describes_read(route: Route, endpoint: FunctionInfo | None) -> bool:
    """Does the route's `summary=` or its endpoint's docstring open with a read verb
    (`Get the next flow run by flow id.`), with no word of that first sentence
    saying it writes?"""
    texts: list[str] = []
    summary = route.keyword("summary")
    if isinstance(summary, ast.Constant) and isinstance(summary.value, str):
        texts.append(summary.value)
    if endpoint is not None:
        doc = ast.get_docstring(endpoint.node)
        if doc:
            texts.append(doc)
    for text in texts:
        sentence = re.split(r"(?<=[.!?])\s|\n\s*\n", text.strip(), maxsplit=1)[0]
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", sentence)]
        if words and words[0] in _READ_DESCRIPTIONS and not set(words) & _WRITE_DESCRIPTIONS:
            return True
    return False


def _is_response_class(ctx: FileContext, qualname: str | None) -> bool:
    if qualname is None:
        return False
    if qualname in {"fastapi.Response", "starlette.responses.Response"} or (
        qualname.startswith(_RESPONSE_MODULES) and qualname.endswith("Response")
    ):
        return True
    symbol = ctx.project.lookup(qualname)
    return isinstance(symbol, ClassInfo) and any(
        b == "fastapi.Response" or b.startswith(_RESPONSE_MODULES) for b in ctx.project.class_bases(symbol)
    )


def _returns_response(ctx: FileContext, module: ModuleInfo, call: ast.Call) -> bool:
    """Is `call` a `Response` built in place: a response class (also a project
    subclass), or a library call named `*Response` (`templates.TemplateResponse(...)`
    of Starlette's `Jinja2Templates`)? A project class named so (`ItemResponse`) is
    a model unless it derives from a response class."""
    target = ctx.project.resolve(module, call.func)
    if _is_response_class(ctx, target):
        return True
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name.endswith("Response") and not isinstance(ctx.project.lookup(target or ""), ClassInfo)


def _sets_own_status(ctx: FileContext, endpoint: FunctionInfo) -> bool:
    """Does the endpoint build its own Response or set `response.status_code`?
    FastAPI sends a returned `Response` as it is: the decorator's `status_code=`
    does not apply to it."""
    module = endpoint.module
    for node in own_nodes(endpoint.node):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            if _returns_response(ctx, module, node.value):
                return True
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "status_code" for t in targets):
                return True
    return False


def _is_collection(segment: str) -> bool:
    """A plural noun naming a collection (`orders`, `git-providers`, `line_items`)."""
    word = segment.lower()
    last = re.split(r"[-_.]", word)[-1]
    return (
        last.endswith("s")
        and not last.endswith(("ss", "us", "is"))
        and last not in _SINGULAR_PLURALS
        and word not in _SINGULAR_PLURALS
    )


# A path parameter, whatever its name or converter: `/items/{id}` is `/items/{item_id:int}`.
_PATH_PARAM = re.compile(r"\{[^}]*\}")


def _answer_type(ctx: FileContext, route: Route) -> str | None:
    """What the route answers with, comparable across modules: its `response_model=`
    (resolved when it is a name), else its endpoint's return annotation; None when
    neither says (an empty type tells nothing about what two routes share)."""
    expr = route.keyword("response_model")
    module = route.module
    if expr is None and route.endpoint is not None:
        expr, module = route.endpoint.node.returns, route.endpoint.module
    if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
        return None
    if isinstance(expr, ast.Name | ast.Attribute):
        resolved = ctx.project.resolve(module, expr)
        if resolved is not None:
            return resolved
    return ast.dump(expr)


def _path_keys(route: Route) -> set[str]:
    """The route's full paths with parameters blanked; a route of a router no
    include reaches is keyed by its router and own path, so two unrelated
    routers' `/items` are not taken for one URL."""
    if route.full_paths:
        return {_PATH_PARAM.sub("{}", p.rstrip("/")) for p in route.full_paths}
    if route.path is None:
        return set()
    return {f"{route.router} {_PATH_PARAM.sub('{}', route.path.rstrip('/'))}"}


def _mirrors_get(ctx: FileContext, route: Route) -> bool:
    """Does the same URL answer GET with the same type? Then the POST returns what
    the GET reads: a read whose filters travel in a body (too long or too nested
    for a query string), not an insert into a collection. A collection's GET lists
    (`list[Item]`, a page) and its POST returns the one item it created."""
    answer = _answer_type(ctx, route)
    keys = _path_keys(route)
    if answer is None or not keys:
        return False
    return any(
        other is not route
        and "GET" in other.methods
        and not other.is_websocket
        and keys & _path_keys(other)
        and _answer_type(ctx, other) == answer
        for other in ctx.project.fastapi.routes
    )


def _suggests_creation(ctx: FileContext, route: Route, endpoint: FunctionInfo | None) -> bool:
    """Does the endpoint name (`create_order`, `add_address`, `register`) or the
    path (a plural collection `/orders`, `/auth/register`) say the POST creates?
    A collection path whose GET answers the same type as the POST is a read with a
    body, unless the endpoint name says it creates (`add_locks` returning the list)."""
    if endpoint is not None:
        name_word = first_word(endpoint.name)
        if name_word in _UPSERT_VERBS:
            return False  # `store_provider_tokens`, `save_settings`: an upsert
        if _named_create(endpoint):
            return True  # `create_order`, `add_address`, `user_create`
    if _describes_read(route, endpoint):
        return False  # documented as `Get the next run of each flow.`: a read with a body
    path = (route.full_paths or [route.path or ""])[0]
    static = [s for s in path.split("/") if s and not s.startswith("{")]
    if not static:
        return False
    last = static[-1]
    if last.lower() in _CREATE_SEGMENTS:
        return True
    return _is_collection(last) and not _mirrors_get(ctx, route)


# Words that mark a bulk endpoint, in a static path segment (`/runs/bulk`, `/jobs/batch`,
# `/bulk-create`) or, for `bulk` only, in the endpoint name (`bulk_create_runs`): a
# `create_batch` endpoint may well create one Batch resource.
_BULK_SEGMENT_WORDS = frozenset({"bulk", "batch"})
_BULK_NAME_WORDS = frozenset({"bulk"})


def _is_bulk(route: Route, endpoint: FunctionInfo | None) -> bool:
    """Is the POST a bulk operation? It answers for many items at once, each of which
    may be created, updated or rejected: no single resource for a `Location`, and
    201 would claim a success the per-item results may deny."""
    path = (route.full_paths or [route.path or ""])[0]
    for segment in path.split("/"):
        if (
            segment
            and not segment.startswith("{")
            and {w.lower() for w in _WORD.findall(segment)} & _BULK_SEGMENT_WORDS
        ):
            return True
    return endpoint is not None and bool({w.lower() for w in _WORD.findall(endpoint.name)} & _BULK_NAME_WORDS)


# Fields of an answer that only acknowledges (`{"status": "ok"}`): it neither shows nor
# identifies what the request made.
_ACK_FIELDS = frozenset({"status", "ok", "success", "message", "msg", "detail", "result"})


def _ack_model(ctx: FileContext, qualname: str | None) -> bool:
    """Is `qualname` a model whose every field is an acknowledgment (`OkResponse.status`)?"""
    cls = model_class(ctx.project, qualname)
    if cls is None:
        return False
    names = [f.name for _owner, f in inherited_fields(ctx.project, cls)]
    return bool(names) and all(name in _ACK_FIELDS for name in names)


def _is_none(expr: ast.expr | None) -> bool:
    return expr is None or (isinstance(expr, ast.Constant) and expr.value is None)


def _acknowledges_only(ctx: FileContext, route: Route, endpoint: FunctionInfo) -> bool:
    """Does the endpoint answer with nothing that shows or identifies what it made:
    no value, or acknowledgment fields only (`-> OkResponse` holding `status = "ok"`,
    `return {"status": "ok"}`)?"""
    answer, module = route.keyword("response_model"), route.module
    if answer is None:
        answer, module = endpoint.node.returns, endpoint.module
    if not _is_none(answer):
        classes = annotation_classes(ctx.project, module, answer)
        if classes:
            return len(classes) == 1 and _ack_model(ctx, classes[0].qualname)
    for node in own_nodes(endpoint.node):
        if not isinstance(node, ast.Return) or _is_none(node.value):
            continue
        value = node.value
        if isinstance(value, ast.Dict):
            if not value.keys or not all(isinstance(k, ast.Constant) and k.value in _ACK_FIELDS for k in value.keys):
                return False
        elif not (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name | ast.Attribute)
            and _ack_model(ctx, ctx.project.resolve(endpoint.module, value.func))
        ):
            return False
    return True


def _command_without_result(ctx: FileContext, route: Route, endpoint: FunctionInfo | None) -> bool:
    """Is the POST an RPC-style command (`POST /services/register`: the path ends in a
    verb, not a collection) that answers only an acknowledgment? 201 names the
    created resource by its `Location` or, without one, by the request URL: here the
    URL is the command's, and the answer gives no id or URL to point to, so 200 is
    the honest answer. A POST to a collection (`/services`) still creates there."""
    if endpoint is None:
        return False
    path = (route.full_paths or [route.path or ""])[0]
    static = [s for s in path.split("/") if s and not s.startswith("{")]
    if not static or _is_collection(static[-1]):
        return False
    return _acknowledges_only(ctx, route, endpoint)


def _exempt(ctx: FileContext, route: Route) -> bool:
    path = route.path
    if path is None or route.methods != ("POST",) or route.is_websocket:
        return True
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1].startswith("{"):
        return True  # POST to one item: an action or a replace, not a collection insert
    if _is_bulk(route, route.endpoint):
        return True
    named_create = _named_create(route.endpoint)
    if any(_names_operation(p, named_create=named_create) for p in route.full_paths or [path]):
        return True
    if segments and first_word(segments[-1]) in _ACTION_VERBS:
        return True
    response_class_expr = route.keyword("response_class")
    response_class = ctx.project.resolve(route.module, response_class_expr) if response_class_expr is not None else None
    if response_class is not None and response_class not in _JSON_RESPONSES:
        return True
    endpoint = route.endpoint
    if endpoint is not None:
        if first_word(endpoint.name) in _ACTION_VERBS:
            return True
        if _sets_own_status(ctx, endpoint):
            return True
    if not _suggests_creation(ctx, route, endpoint):
        return True
    return _command_without_result(ctx, route, endpoint)


class CreateWithout201(Rule):
    """Flags a POST route that creates a resource but answers 200 OK.

    ## What it does
    Finds POST path operations with no `status_code=` that create: the
    endpoint is named so (`create_*`, `add_*`, `register`, `new_*`, `insert_*`,
    ...) or the path names a collection (`POST /items`,
    `POST /users/{user_id}/orders`, with the router prefix) or a creation
    (`/auth/register`, `/items/new`). Endpoints that store or replace state in
    place are upserts, not creates (`store_*`, `save_*`, `set_*`, `update_*`,
    `upsert_*`, `sync_*`), and singular paths (`/settings`, `/profile`) are
    left alone unless the endpoint name says it creates. A POST to a collection
    path that answers the same type as the GET of that path (`response_model=`
    or return annotation) is a read whose filters travel in a body, and is left
    alone unless its name says it creates. So is a read sent as POST whose
    `summary=` or docstring opens with a read verb (`Get the next run of
    each flow.`, `List gateways`) and says nothing of creating or storing
    in that sentence (`Get or create ...` still creates). Also skipped are
    operations rather than inserts: paths with a segment holding `login`,
    `sign-in`, `token`, `refresh`, `verify`, `search`, `query`, `webhook`,
    `callback`, `graphql` and similar as whole words (split on `-`, `_`, `.`
    and camelCase: `signIn`, `sign_in`; not `signing-keys`), or their plural
    (`webhooks`, `tokens`, `searches`, ...) before the last segment
    (`/webhooks/github`, a receiver) or as the last segment of an endpoint not
    named for creating (`handle_webhooks`): `POST /webhooks` of
    `create_webhook` creates a webhook in the collection; paths whose last
    segment is a verb or verb-led (`/run`, `/send-invite`, `/install_system_types`,
    `/orders/{id}/cancel`) or a path parameter; endpoints named after such a
    verb (`def send_report`, `def install_plugins`); endpoints that return a
    `Response` they build (a response class, or a library call named
    `*Response` such as `templates.TemplateResponse(...)`: FastAPI sends it
    as it is, so the decorator's `status_code=` would not apply) or set
    `response.status_code` themselves; non-JSON `response_class=` (HTML
    forms, redirects); bulk endpoints (a `bulk` or `batch` path segment,
    `/runs/bulk`, or `bulk` in the endpoint name), which answer for many items
    at once, each created, updated or rejected: there is no single resource
    for a `Location`, and the per-item results carry the outcome; and
    RPC-style commands that only acknowledge (`POST /services/register`, a
    path ending in a verb rather than a collection, answering no value or
    only `status`/`ok`/`message` fields): 201 names the created resource by
    `Location` or else by the request URL, which here is the command's, and
    the answer gives no id to point to.

    ## Why is this bad?
    FastAPI answers 200 unless told otherwise. HTTP reserves `201 Created` for a
    request that created a resource (RFC 9110 §15.3.2), ideally with a `Location`
    header naming it; clients, API gateways and generated SDKs rely on it to tell
    a creation from an operation, and the OpenAPI schema documents 200 for an
    endpoint that creates.

    ## Fix safety
    The fix adds `status_code=status.HTTP_201_CREATED` to the decorator (and
    `from fastapi import status` when needed). It is unsafe: the response code
    changes, and clients or tests that check for `200` break.

    ## References
    - https://fastapi.tiangolo.com/tutorial/response-status-code/
    - https://www.rfc-editor.org/rfc/rfc9110#name-201-created
    - https://www.rfc-editor.org/rfc/rfc9110#name-post
    """

    code = "FX703"
    name = "create-without-201"
    summary = "POST route that creates a resource answers 200 instead of 201 Created."

    valid = (
        Valid(
            # Reads and clears with a body: `read_*` endpoints, a `clear*` segment, a dry run.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/ui/task_runs")

            class CountsFilter(BaseModel):
                since: str

            class ClearBody(BaseModel):
                dry_run: bool = True

            @router.post("/dashboard/counts")
            def read_dashboard_counts(body: CountsFilter) -> list[int]:
                return []

            @router.post("/clearTaskRuns")
            def clear_task_runs(body: ClearBody) -> list[int]:
                return []

            @router.post("/backfills/dry_run")
            def create_backfill_dry_run(body: ClearBody) -> list[str]:
                return []
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, status
            from fastapi.security import OAuth2PasswordRequestForm

            router = APIRouter()


            @router.post("/auth/token")
            def login(form: OAuth2PasswordRequestForm):
                return {"access_token": form.username, "token_type": "bearer"}


            @router.post("/orders/{order_id}/cancel")
            def cancel_order(order_id: int):
                return {"id": order_id, "state": "cancelled"}


            @router.post("/items/search")
            def search_items(q: str):
                return []


            @router.post("/items", status_code=status.HTTP_201_CREATED)
            def create_item(name: str):
                return {"name": name}
            """
        ),
        Valid(
            """
            from fastapi import FastAPI, Response

            app = FastAPI()


            @app.post("/uploads")
            def upload(response: Response, name: str):
                response.status_code = 202
                return {"queued": name}
            """
        ),
        Valid(
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/secrets")


            class ProviderTokens(BaseModel):
                github: str | None = None
                gitlab: str | None = None


            class UserSettings(BaseModel):
                theme: str = "light"


            @router.post("/git-providers")
            async def store_provider_tokens(info: ProviderTokens) -> dict[str, str]:
                return {"message": "Git providers stored"}


            @router.post("/settings")
            async def save_settings(settings: UserSettings) -> UserSettings:
                return settings


            @router.post("/profile")
            async def profile(settings: UserSettings) -> UserSettings:
                return settings
            """
        ),
        Valid(
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/api/v1")


            class Measurements(BaseModel):
                sensor: str
                values: list[float]


            class MeasurementsQuery(BaseModel):
                sensor: str
                window: str = "1h"
                fields: list[str] = []


            @router.get("/measurements", response_model=Measurements)
            def measurements(sensor: str, window: str = "1h"):
                return Measurements(sensor=sensor, values=[])


            @router.post("/measurements", response_model=Measurements)
            def measurements_selected(query: MeasurementsQuery):
                # the same read, with a field selection too long for a query string
                return Measurements(sensor=query.sensor, values=[])
            """
        ),
        Valid(
            # Bulk endpoints: a result per item (created or failed), no single new resource.
            """
            from typing import Literal
            from uuid import UUID

            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/pipelines")


            class RunRequest(BaseModel):
                parameters: dict[str, str] = {}


            class RunResult(BaseModel):
                run_id: UUID | None = None
                status: Literal["CREATED", "FAILED"]
                error: str | None = None


            class BulkResult(BaseModel):
                results: list[RunResult]


            @router.post("/{pipeline_id}/runs/bulk")
            async def bulk_create_runs(pipeline_id: UUID, runs: list[RunRequest]) -> BulkResult:
                return BulkResult(results=[])


            @router.post("/me/annotations/bulk", response_model=BulkResult)
            async def create_my_annotations_bulk(items: list[RunRequest]) -> BulkResult:
                return BulkResult(results=[])
            """
        ),
        Valid(
            # An RPC-style registry: verb paths that answer a bare acknowledgment.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/registry/{tenant}")


            class Ack(BaseModel):
                status: str = "ok"


            class Endpoint(BaseModel):
                name: str
                url: str


            @router.post("/endpoints/register")
            async def register_endpoint(tenant: str, body: Endpoint) -> Ack:
                return Ack()


            @router.post("/endpoints/{name}/mirrors/register")
            async def register_mirror(tenant: str, name: str, body: Endpoint):
                return {"status": "registered"}


            @router.post("/snapshots/upload_blob")
            async def upload_blob(tenant: str, body: Endpoint) -> None:
                return None
            """
        ),
        Valid(
            # A server-rendered page: the template response is sent as it is.
            """
            from fastapi import APIRouter, Request
            from fastapi.templating import Jinja2Templates

            router = APIRouter(prefix="/admin/apps")
            pages = Jinja2Templates(directory="templates")


            @router.post("/{app_id}/cipher-key")
            async def create_cipher_key(request: Request, app_id: int):
                return pages.TemplateResponse(request, "apps/cipher_key.html", {"app_id": app_id})
            """
        ),
        Valid(
            # Operations named by a whole word of a segment: a sign-in, a webhook receiver
            # (`webhook` last, or under a `/webhooks` namespace), a callback.
            """
            from fastapi import APIRouter

            router = APIRouter()


            @router.post("/auth/sign-in")
            def sign_in_user(email: str) -> dict[str, str]:
                return {"email": email}


            @router.post("/accounts/signIn")
            def accounts_signin(email: str) -> dict[str, str]:
                return {"email": email}


            @router.post("/webhooks/deliveries")
            def on_delivery(payload: dict[str, str]) -> dict[str, str]:
                return payload


            @router.post("/integrations/github/webhook")
            def github_events(payload: dict[str, str]) -> dict[str, str]:
                return payload


            @router.post("/billing/webhooks")
            def handle_billing_webhooks(payload: dict[str, str]) -> dict[str, str]:
                return payload
            """
        ),
        Valid(
            # An install of built-in types (an action), and a read sent as POST: the
            # docstring says it gets existing runs, filtered by ids too many for a query.
            """
            from uuid import UUID

            from fastapi import APIRouter, Body
            from pydantic import BaseModel

            router = APIRouter(prefix="/ui/jobs")


            class NextRun(BaseModel):
                id: UUID
                job_id: UUID


            @router.post("/install_builtin_job_types")
            async def install_builtin_job_types() -> None:
                return None


            @router.post("/next-runs")
            async def next_runs_by_job(
                job_ids: list[UUID] = Body(default=..., embed=True, max_length=200),
            ) -> dict[UUID, NextRun | None]:
                '''Get the next run of each job.'''
                return {job_id: None for job_id in job_ids}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()


            class ItemIn(BaseModel):
                name: str
                price: float


            @app.post("/items", response_model=ItemIn)
            async def create_item(item: ItemIn):
                return item
            """,
            lines=(12,),
            fixed="""
            from fastapi import FastAPI
            from pydantic import BaseModel
            from fastapi import status

            app = FastAPI()


            class ItemIn(BaseModel):
                name: str
                price: float


            @app.post("/items", response_model=ItemIn, status_code=status.HTTP_201_CREATED)
            async def create_item(item: ItemIn):
                return item
            """,
        ),
        Invalid(
            """
            from fastapi import APIRouter, status

            router = APIRouter(prefix="/users/{user_id}")


            @router.post(
                "/addresses",
                tags=["addresses"],
            )
            def add_address(user_id: int, street: str):
                return {"user_id": user_id, "street": street}
            """,
            lines=(6,),
            fixed="""
            from fastapi import APIRouter, status

            router = APIRouter(prefix="/users/{user_id}")


            @router.post(
                "/addresses",
                tags=["addresses"],
                status_code=status.HTTP_201_CREATED,
            )
            def add_address(user_id: int, street: str):
                return {"user_id": user_id, "street": street}
            """,
        ),
        Invalid(
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()


            class Hold(BaseModel):
                account: str
                reason: str


            @router.get("/holds", response_model=list[Hold])
            def holds():
                return []


            @router.post("/holds", response_model=list[Hold])
            def add_holds(new: list[Hold]):
                # creates, then answers the whole list like the GET does
                return new
            """,
            lines=(17,),
        ),
        Invalid(
            # A verb path that answers the created record, and a collection POST
            # that only acknowledges: both create something a client can be pointed to.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/registry")


            class Ack(BaseModel):
                status: str = "ok"


            class Endpoint(BaseModel):
                id: int
                name: str


            @router.post("/endpoints/register")
            async def register_endpoint(body: Endpoint) -> Endpoint:
                return body


            @router.post("/mirrors")
            async def add_mirror(body: Endpoint) -> Ack:
                return Ack()
            """,
            lines=(16, 21),
        ),
        Invalid(
            # `signing-keys` and `webhooks` are collections: no operation word (`signin`,
            # `hook`) hides inside them; a docstring that gets *or creates* still creates.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/apps/{app_id}")


            class Key(BaseModel):
                id: int
                url: str = ""


            @router.post("/signing-keys")
            def create_signing_key(app_id: int) -> Key:
                return Key(id=1)


            @router.post("/webhooks")
            def create_webhook(app_id: int, body: Key) -> Key:
                return body


            @router.post("/jobs")
            def jobs(app_id: int, body: Key) -> Key:
                '''Get or create the job of this key.'''
                return body
            """,
            lines=(12, 17, 22),
        ),
    )

    def __init__(self) -> None:
        self._routes: dict[str, dict[int, Route]] = {}

    def _route(self, node: ast.Call, ctx: FileContext) -> Route | None:
        routes = self._routes.get(ctx.module.path)
        if routes is None:
            routes = {id(r.node): r for r in ctx.project.fastapi.routes if r.module is ctx.module}
            self._routes[ctx.module.path] = routes
        return routes.get(id(node))

    @staticmethod
    def _insert_keyword(call: ast.Call, last: ast.AST, text: str, ctx: FileContext) -> list[Edit]:
        """Edits appending keyword `text` to `call`, one per line when the call is
        laid out one argument per line with the `)` on its own line."""
        line = getattr(last, "end_lineno", None) or call.lineno
        col = ctx.source.column(line, getattr(last, "end_col_offset", 0) or 0)
        close_line = call.end_lineno or line
        if close_line > line and not ctx.source.line_text(close_line).strip().startswith(")"):
            close_line = line  # unusual layout: stay inline
        if close_line == line:
            return [Edit(line, col, line, col, f", {text}")]
        between = ctx.source.line_text(line)[col - 1 :]
        edits = [] if between.lstrip().startswith(",") else [Edit(line, col, line, col, ",")]
        indent = ctx.source.indent_of(line)
        edits.append(Edit(close_line, 1, close_line, 1, f"{indent}{text},\n"))
        return edits

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        route = self._route(node, ctx)
        if route is None or route.keyword("status_code") is not None:
            return
        if any(k.arg is None for k in node.keywords) or _exempt(ctx, route):
            return
        fix = None
        ref = status_module_name(ctx)
        local = "status"
        elements: list[ast.AST] = [*node.args, *node.keywords]
        if ref is not None and elements:
            local, import_edit = ref
            last = max(elements, key=lambda n: (getattr(n, "end_lineno", 0), getattr(n, "end_col_offset", 0)))
            edits = self._insert_keyword(node, last, f"status_code={local}.HTTP_201_CREATED", ctx)
            if import_edit is not None:
                edits.append(import_edit)
            fix = Fix("Declare `status_code=HTTP_201_CREATED`", tuple(edits), safe=False)
        ctx.report(
            node,
            f"`POST {route.display_path}` creates a resource but answers 200 OK; declare "
            f"`status_code={local}.HTTP_201_CREATED` (and return a `Location` header).",
            fix=fix,
        )
