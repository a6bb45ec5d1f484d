from __future__ import annotations

import ast
import re
from typing import NamedTuple

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.api_design.numeric_status_code import status_module_name
from fastapi_expert.review.rules.api_design.undocumented_http_exception import status_value
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
    ("dry", "run"), ("dryrun",), ("otlp",),
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
        "ingest",
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


# Methods that address one resource or its collection: a route answering one of them
# at or under a path gives what was created there a URL to read or change it by.
_ADDRESSING_METHODS = frozenset({"GET", "PUT", "PATCH", "DELETE"})


class Addressing(NamedTuple):
    """What the project's routes address: every path key (parameters blanked) a
    GET/PUT/PATCH/DELETE route answers, with each of its leading parts (`/items/{}`
    gives `/items` and `/items/{}`, so one set lookup asks "is anything at or under
    `/items`?"), and every type a GET route answers with."""

    paths: frozenset[str]
    read_types: frozenset[str]


def addressing(ctx: FileContext) -> Addressing:
    """A GET addresses its own path (`GET /items` lists what a POST there made);
    a GET/PUT/PATCH/DELETE of an item addresses the collection above its path
    parameter (`DELETE /items/{id}`: `/items`). A static path below does not:
    `GET /ui_events/enabled` reads a flag, not an event; `DELETE /decisions`
    with a body names no item by URL. Answer types are kept when they are
    project classes: `dict[str, Any]` tells nothing."""
    paths: set[str] = set()
    read_types: set[str] = set()
    for route in ctx.project.fastapi.routes:
        if route.is_websocket or not _ADDRESSING_METHODS.intersection(route.methods):
            continue
        reads = "GET" in route.methods
        for key in _path_keys(route):
            parts = key.split("/")
            paths.update("/".join(parts[:i]) for i in range(1, len(parts)) if parts[i] == "{}")
            if reads:
                paths.add(key)
        if reads:
            answer = _answer_type(ctx, route)
            if answer is not None and isinstance(ctx.project.lookup(answer), ClassInfo):
                read_types.add(answer)
    return Addressing(frozenset(paths), frozenset(read_types))


def _addressable(ctx: FileContext, route: Route, addressed: Addressing) -> bool:
    """Does the API give what a POST to this collection path makes a URL of its
    own: a GET of the collection (`GET /items`), a GET/PUT/PATCH/DELETE of one of
    its items (`GET /items/{id}`), or a GET elsewhere answering the type the POST
    answers (`POST /templates/{id}/runs` returning the `Run` that `GET /runs/{id}`
    reads)? `POST /v1/embeddings`, `POST /v1/logs` (an OTLP receiver) or
    `POST /slack/events` have none: they compute an answer or take in data, and
    201 would name a resource (by `Location`, else by the request URL) that no one
    can fetch."""
    if any(key in addressed.paths for key in _path_keys(route)):
        return True
    answer = _answer_type(ctx, route)
    return answer is not None and answer in addressed.read_types


def _suggests_creation(
    ctx: FileContext, route: Route, endpoint: FunctionInfo | None, addressed: Addressing
) -> bool:
    """Does the endpoint name (`create_order`, `add_address`, `register`) or the
    path (a plural collection `/orders`, `/auth/register`) say the POST creates?
    A collection path whose GET answers the same type as the POST is a read with a
    body, unless the endpoint name says it creates (`add_locks` returning the list).
    A collection no route reads or changes is a computation or an intake, whatever
    the endpoint is called (`create_embedding` of `POST /v1/embeddings`)."""
    if endpoint is not None and first_word(endpoint.name) in _UPSERT_VERBS:
        return False  # `store_provider_tokens`, `save_settings`: an upsert
    named = _named_create(endpoint)
    if not named and _describes_read(route, endpoint):
        return False  # documented as `Get the next run of each flow.`: a read with a body
    path = (route.full_paths or [route.path or ""])[0]
    static = [s for s in path.split("/") if s and not s.startswith("{")]
    last = static[-1] if static else ""
    if last.lower() in _CREATE_SEGMENTS:
        return True  # `/auth/register`, `/items/new`: the path says it creates
    if last and _is_collection(last):
        if not _addressable(ctx, route, addressed):
            return False
        return named or not _mirrors_get(ctx, route)
    if named and endpoint is not None and first_word(endpoint.name) == "upload" and last and first_word(last) != "upload":
        return False  # `upload_logo` to `/upload/logo`: the one logo is replaced, not added to a collection
    return named  # `create_order` on a path that tells nothing (`""`, `/profile`)


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


# First words of a last path segment that name an action on top of `_ACTION_VERBS`: as an
# endpoint name `make_order` may create, but a path `/agents/{id}/make_public` changes a flag.
_PATH_ACTION_VERBS = _ACTION_VERBS | {"make"}


# Words of an endpoint name for a protocol's receiver, whose success answer the protocol
# fixes: OTLP/HTTP's `POST /v1/traces`, `/v1/logs`, `/v1/metrics` answer 200 OK.
_PROTOCOL_RECEIVERS = frozenset({"otlp"})


def _documents_200(ctx: FileContext, route: Route) -> bool:
    """Does `responses=` document a 200 answer (`responses={200: {"model": ...}}`)?
    The author wrote down what success looks like, and it is 200."""
    responses = route.keyword("responses")
    if not isinstance(responses, ast.Dict):
        return False
    for key in responses.keys:
        if isinstance(key, ast.Constant) and key.value in {"200", "2XX"}:
            return True
        if status_value(ctx.project, route.module, key) == 200:
            return True
    return False


def _exempt(ctx: FileContext, route: Route, addressed: Addressing) -> bool:
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
    if segments and first_word(segments[-1]) in _PATH_ACTION_VERBS:
        return True
    response_class_expr = route.keyword("response_class")
    response_class = ctx.project.resolve(route.module, response_class_expr) if response_class_expr is not None else None
    if response_class is not None and response_class not in _JSON_RESPONSES:
        return True
    if _documents_200(ctx, route):
        return True
    endpoint = route.endpoint
    if endpoint is not None:
        if first_word(endpoint.name) in _ACTION_VERBS:
            return True
        if {w.lower() for w in _WORD.findall(endpoint.name)} & _PROTOCOL_RECEIVERS:
            return True  # `otlp_traces`: OTLP/HTTP answers 200 by its spec
        if _sets_own_status(ctx, endpoint):
            return True
    if not _suggests_creation(ctx, route, endpoint, addressed):
        return True
    return _command_without_result(ctx, route, endpoint)


def _shown(route: Route) -> str:
    """How the message names the route: `POST /items`; when the path is empty (a
    router prefix the model could not read, `APIRouter(prefix=API + ITEMS)` with
    `@router.post("")`), by its endpoint: `POST` of `create_item`."""
    if route.display_path not in ("", "<dynamic>") or route.endpoint is None:
        return f"`POST {route.display_path}`"
    return f"`POST` of `{route.endpoint.name}`"


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
    the answer gives no id to point to. A POST to a collection path that gives
    what it makes no URL is a computation or an intake (`POST /v1/embeddings`
    of `create_embedding`, a `POST /slack/events` receiver): no GET of the
    collection (`GET /v1/embeddings`), no GET/PUT/PATCH/DELETE of one of its
    items (`/v1/embeddings/{id}`; a static path below, `GET /events/enabled`,
    reads no item), and no GET elsewhere answering the project class the POST
    answers (`POST /templates/{id}/runs` returning the `Run` of
    `GET /runs/{id}` still creates). Also skipped: a last path segment led by
    `make` (`/agents/{id}/make_public`, a flag set on existing things); an
    `upload_*` endpoint whose path ends in a singular noun (`/upload/logo`,
    `/users/me/avatar`: the one file there is replaced);
    `ingest_*` endpoints and OTLP receivers (`otlp` in the endpoint name or
    path: OTLP/HTTP answers 200 by its spec); and routes whose `responses=`
    documents the 200 answer (`responses={200: {"model": Decision}}`): the
    author chose it.
    When the route's path could not be read (a prefix built from constants,
    `APIRouter(prefix=API + ITEMS)` with `@router.post("")`), the message names
    the route by its endpoint.

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
        Valid(
            # Computations and intakes: no route reads or changes anything at or under
            # `/v1/embeddings` or `/v1/logs`, so nothing was created that a URL could name.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/v1")


            class EmbeddingRequest(BaseModel):
                model: str
                input: list[str]


            class Embeddings(BaseModel):
                data: list[list[float]]


            @router.post("/embeddings")
            async def create_embedding(body: EmbeddingRequest) -> Embeddings:
                return Embeddings(data=[])


            @router.post("/logs")
            async def otlp_logs(body: dict[str, object]) -> dict[str, object]:
                return {"partialSuccess": {}}


            @router.get("/models")
            async def list_models() -> list[str]:
                return []
            """
        ),
        Valid(
            # A flag set on existing agents, and a POST whose `responses=` documents
            # the 200 it answers: the author chose 200 on purpose.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/v1/agents")


            class Agent(BaseModel):
                id: str
                public: bool = False


            class Decision(BaseModel):
                answers: list[str]


            @router.get("/{agent_id}")
            async def read_agent(agent_id: str) -> Agent:
                return Agent(id=agent_id)


            @router.post("/{agent_id}/make_public")
            async def make_agent_public(agent_id: str) -> Agent:
                return Agent(id=agent_id, public=True)


            @router.post("/decisions", responses={200: {"model": Decision}})
            async def create_decisions(body: dict[str, str]) -> Decision:
                return Decision(answers=[])


            @router.get("/decisions/{decision_id}")
            async def read_decision(decision_id: str) -> Decision:
                return Decision(answers=[])
            """
        ),
        Valid(
            # Decisions kept as one record: withdrawn by a DELETE of the collection with a
            # body, never read or changed by a URL of their own; the answer is a plain dict.
            """
            from typing import Any

            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter(prefix="/migration")


            class DecisionRequest(BaseModel):
                step: str
                option: str


            @router.post("/decisions")
            async def add_decision(request: DecisionRequest) -> dict[str, Any]:
                return {"decisions": [request.model_dump()]}


            @router.delete("/decisions")
            async def withdraw_decision(request: DecisionRequest) -> dict[str, Any]:
                return {"decisions": []}


            @router.get("/state")
            async def read_state() -> dict[str, Any]:
                return {"decisions": []}
            """
        ),
        Valid(
            # OTLP receivers answer 200 by the protocol's spec, even where a GET lists the
            # traces they take in; a GET of a flag below a collection reads no item of it.
            """
            from fastapi import APIRouter, Request
            from pydantic import BaseModel

            router = APIRouter()


            class TracePage(BaseModel):
                traces: list[dict[str, str]]


            class UIEvent(BaseModel):
                name: str


            @router.post("/v1/traces")
            async def otlp_traces(request: Request) -> dict[str, object]:
                return {"partialSuccess": {}}


            @router.post("/v1/logs")
            async def ingest_logs(request: Request) -> dict[str, object]:
                return {"partialSuccess": {}}


            @router.get("/v1/traces")
            async def list_traces() -> TracePage:
                return TracePage(traces=[])


            @router.post("/telemetry/ui_events")
            async def create_ui_event(event: UIEvent) -> UIEvent:
                return event


            @router.get("/telemetry/ui_events/enabled")
            async def ui_events_enabled() -> bool:
                return True
            """
        ),
        Valid(
            # An upload to a singular path replaces the one thing there.
            """
            from fastapi import APIRouter, UploadFile

            router = APIRouter()


            @router.post("/upload/logo")
            async def upload_logo(file: UploadFile) -> dict[str, str]:
                return {"message": "Logo uploaded"}


            @router.post("/users/me/avatar")
            async def upload_avatar(file: UploadFile) -> dict[str, str]:
                return {"message": "Avatar uploaded"}
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


            @app.get("/items/{item_id}", response_model=ItemIn)
            async def read_item(item_id: int):
                return ItemIn(name="", price=0)
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


            @app.get("/items/{item_id}", response_model=ItemIn)
            async def read_item(item_id: int):
                return ItemIn(name="", price=0)
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


            @router.get("/addresses")
            def list_addresses(user_id: int):
                return []
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


            @router.get("/addresses")
            def list_addresses(user_id: int):
                return []
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


            @router.delete("/mirrors/{mirror_id}")
            async def remove_mirror(mirror_id: int) -> None:
                return None
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


            @router.get("/signing-keys")
            def list_signing_keys(app_id: int) -> list[Key]:
                return []


            @router.get("/webhooks/{hook_id}")
            def read_webhook(app_id: int, hook_id: int) -> Key:
                return Key(id=hook_id)


            @router.patch("/jobs/{job_id}")
            def update_job(app_id: int, job_id: int, body: Key) -> Key:
                return body
            """,
            lines=(12, 17, 22),
        ),
        Invalid(
            # A run made from a template: read at `/runs/{id}`, which answers the same type.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()


            class Run(BaseModel):
                id: int
                template_id: int


            @router.post("/templates/{template_id}/runs")
            def create_template_run(template_id: int) -> Run:
                return Run(id=1, template_id=template_id)


            @router.get("/runs/{run_id}")
            def read_run(run_id: int) -> Run:
                return Run(id=run_id, template_id=0)
            """,
            lines=(12,),
        ),
        Invalid(
            # A prefix the model cannot read: the route is named by its endpoint.
            """
            from fastapi import APIRouter

            from app.constants import API, ITEMS

            router = APIRouter(prefix=API + ITEMS)


            @router.post("")
            def create_item(name: str) -> dict[str, str]:
                return {"name": name}


            @router.get("/{item_id}")
            def read_item(item_id: int) -> dict[str, str]:
                return {"name": ""}
            """,
            lines=(8,),
        ),
    )

    def __init__(self) -> None:
        self._routes: dict[str, dict[int, Route]] = {}
        self._addressing: tuple[Project, Addressing] | None = None

    def _addressed(self, ctx: FileContext) -> Addressing:
        """`addressing` of the project, built once per project."""
        if self._addressing is None or self._addressing[0] is not ctx.project:
            self._addressing = (ctx.project, addressing(ctx))
        return self._addressing[1]

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
        if any(k.arg is None for k in node.keywords) or _exempt(ctx, route, self._addressed(ctx)):
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
            f"{_shown(route)} creates a resource but answers 200 OK; declare "
            f"`status_code={local}.HTTP_201_CREATED` (and return a `Location` header).",
            fix=fix,
        )
