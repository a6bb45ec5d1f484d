from __future__ import annotations

import ast
import re
from collections import defaultdict

from fastapi_expert.review.model.fastapi_model import (
    SECURITY_SCHEME_PREFIXES,
    Dependency,
    FastAPIModel,
    Route,
)
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import HTTP_MUTATING
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.review.rules.security._web import words
from fastapi_expert.types import ChainLink, Severity

# Words of a dependency's (or helper's) name that say "this authenticates".
_AUTH_WORDS = frozenset(
    {
        "auth", "authn", "authz", "authenticate", "authenticated", "authentication",
        "authorize", "authorized", "authorization", "oauth", "jwt", "bearer",
        "permission", "permissions", "apikey", "superuser",
    }
)
# The same for compound names the word split does not see (`verifytoken`, `CurrentUser`).
_AUTH_FRAGMENTS = (
    "current_user", "currentuser", "authenticat", "authoriz", "api_key", "apikey",
    "login_required", "verify_token", "verifytoken", "verify_jwt",
)
# `get_user`, `current_user`, `get_current_active_user`, `get_authenticated_user`.
_USER_QUALIFIERS = frozenset(
    {"get", "current", "active", "authenticated", "logged", "signed", "verified", "request"}
)
# `require_admin`, `requires_login`, `require_scopes`: what a `require_*` name guards.
_REQUIRED = frozenset(
    {
        "user", "admin", "login", "role", "roles", "scope", "scopes", "staff", "owner",
        "member", "key", "token", "session", "signed", "logged", "superuser", "superadmin",
    }
)
# A name with one of these is a cursor, a CSRF check or a counter, not authentication:
# `verified_page_token`, `next_cursor`, `verify_csrf_token`, `token_usage`.
_NOT_AUTH_WORDS = frozenset(
    {
        "page", "paging", "pagination", "paginate", "cursor", "continuation", "next", "prev",
        "previous", "resume", "sync", "cache", "csrf", "xsrf", "usage", "count", "counter",
        "budget", "tokenizer",
    }
)
# Path / endpoint-name words of routes that are unauthenticated by nature.
EXEMPT_WORDS = frozenset(
    {
        "login", "logout", "signin", "token", "register", "registration",
        "signup", "forgot", "webhook", "webhooks", "health", "healthz", "livez",
        "readyz", "auth", "oauth", "oauth2", "callback", "refresh", "verify",
        "verification", "confirm", "activate", "invite", "invitation", "reset", "recover",
        "recovery", "otp", "mfa", "public", "contact", "subscribe", "unsubscribe", "newsletter",
    }
)
EXEMPT_PHRASES = ("password-reset", "reset-password", "password_reset", "reset_password",
                   "sign-in", "sign-up", "sign_in", "sign_up")
_AUTH_MIDDLEWARE_WORDS = frozenset({"auth", "authentication", "jwt", "token", "session", "apikey"})
_NOT_AUTH = frozenset(
    {"OAuth2PasswordRequestForm", "OAuth2PasswordRequestFormStrict", "SecurityScopes"}
)
_SPLIT = re.compile(r"[^A-Za-z0-9]+")
# An endpoint whose name starts with one of these reads, whatever its HTTP method: RPC-style
# APIs send every call as a POST (`POST /api/backends/list_types`, `POST /server/get_info`).
_READ_VERBS = frozenset(
    {
        "list", "get", "read", "search", "query", "find", "fetch", "count", "describe", "show",
        "lookup", "retrieve", "view", "browse",
    }
)
# ...unless another word of its name or path says it writes (`get_or_create`, `fetch_and_store`).
_WRITE_WORDS = frozenset(
    {
        "create", "add", "update", "delete", "remove", "set", "save", "store", "upsert", "write",
        "insert", "register", "submit", "stop", "start", "run", "apply", "assign", "modify", "edit",
        "change", "patch", "put", "post", "reset", "cancel", "kill", "terminate", "import", "upload",
        "send", "refresh", "rotate", "revoke", "grant", "enable", "disable", "move", "copy", "rename",
        "merge", "restart", "trigger", "execute", "approve", "reject", "clear", "purge", "lock",
        "unlock", "mark", "claim", "release", "schedule", "deploy", "attach", "detach", "join",
        "leave", "invite", "accept", "decline", "generate", "issue", "new", "make", "build", "pause",
        "resume", "retry", "archive", "restore", "sync", "transfer", "link", "unlink", "publish",
        "push", "pull", "reserve", "book", "pay", "charge", "refund", "consume", "ack", "increment",
        "decrement", "toggle", "init", "initialize", "provision", "sign", "upgrade", "migrate",
    }
)
# Calls a redirect-only endpoint may make: building the response and the URL it points to.
_RESPONSE_PREFIXES = (
    "fastapi.responses.", "starlette.responses.", "fastapi.datastructures.", "starlette.datastructures.",
)
_PURE_BUILTINS = frozenset({"builtins.str", "builtins.len", "builtins.int", "builtins.bool", "builtins.dict"})
_URL_METHODS = frozenset(
    {
        "replace", "include_query_params", "replace_query_params", "remove_query_params", "url_for",
        "url_path_for", "format", "join", "strip", "lstrip", "rstrip", "removeprefix", "removesuffix",
        "startswith", "endswith", "lower", "get", "make_absolute_url",
    }
)


def _looks_like_auth(name: str | None, *, getter: bool = True) -> bool:
    """Is a dependency or helper named like authentication? `get_current_user`,
    `get_user`, `authenticate`, `require_auth`, `verify_token`, `verify_jwt`,
    `api_key_auth`, `get_token_header`; not `verified_page_token`,
    `verify_csrf_token`, `next_cursor`, `get_author`. With `getter=False` a plain
    `get_user` does not count (called in a body it is usually a lookup by id)."""
    if not name:
        return False
    last = name.rsplit(".", 1)[-1]
    ws = words(last)
    if not ws or set(ws) & _NOT_AUTH_WORDS:
        return False
    if set(ws) & _AUTH_WORDS or any(fragment in last.lower() for fragment in _AUTH_FRAGMENTS):
        return True
    if ws[-1] == "user" and len(ws) > 1 and ws[-2] in _USER_QUALIFIERS:
        return getter or ws[-2] != "get"
    if "current" in ws and "user" in ws:
        return True
    for i, w in enumerate(ws):
        if w in {"require", "requires", "required"} and set(ws[:i] + ws[i + 1 :]) & _REQUIRED:
            return True
    return "token" in ws
def _exempt(route: Route) -> str | None:
    """Why the route needs no auth dependency, if it is an auth/health/webhook route."""
    texts = [*route.full_paths, route.path or ""]
    if route.endpoint is not None:
        texts.append(route.endpoint.name)
    for text in texts:
        low = text.lower()
        if any(p in low for p in EXEMPT_PHRASES):
            return "auth"
        for part in _SPLIT.split(text):
            found = set(words(part)) | {part.lower()}
            if found & {"webhook", "webhooks"}:
                return "webhook"
            if found & EXEMPT_WORDS:
                return "auth"
    return None


def _reads(route: Route) -> bool:
    """Is the endpoint named for a read (`list_backend_types`, `get_server_info`), with no
    word of its name or of its path's last segment saying it writes? The method alone does
    not make a route change state: RPC-style APIs POST their reads."""
    if route.endpoint is None:
        return False
    name = words(route.endpoint.name)
    if not name or name[0] not in _READ_VERBS:
        return False
    segments = [s for s in (route.path or "").split("/") if s and not s.startswith("{")]
    last = words(segments[-1]) if segments else []
    return not (set(name) | set(last)) & _WRITE_WORDS


def _only_redirects(model: FastAPIModel, route: Route) -> bool:
    """Does the endpoint do nothing but answer a redirect built from the request (`return
    RedirectResponse(url.replace(path=url.path + "/"))`, the trailing-slash redirect a
    catch-all route answers for every method)? It takes no dependency, awaits nothing,
    assigns no attribute or item, and calls only response and URL builders: it cannot
    change state, whatever methods it answers."""
    func = route.endpoint
    if func is None or route.dependencies:
        return False
    project, module = model.project, route.module
    # The decorators (`@router.post(...)`) and the signature are not the body.
    header = func.node.decorator_list + [func.node.args] + ([func.node.returns] if func.node.returns else [])
    outside = {id(n) for part in header for n in ast.walk(part)}
    returns = 0
    for node in own_nodes(func.node):
        if id(node) in outside:
            continue
        if isinstance(node, ast.Await | ast.AsyncFor | ast.AsyncWith | ast.Global | ast.Nonlocal | ast.Delete):
            return False
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                return False
        elif isinstance(node, ast.Return):
            value = node.value
            target = project.resolve(module, value.func) if isinstance(value, ast.Call) else None
            if target is None or not (target.startswith(_RESPONSE_PREFIXES) and target.endswith("RedirectResponse")):
                return False
            returns += 1
        elif isinstance(node, ast.Call):
            target = project.resolve(module, node.func) or ""
            if target.startswith(_RESPONSE_PREFIXES) or target in _PURE_BUILTINS:
                continue
            if not (isinstance(node.func, ast.Attribute) and node.func.attr in _URL_METHODS):
                return False
    return returns > 0


# What an endpoint that changes nothing may await and call on its own request and response.
_REQUEST_READERS = frozenset({"json", "form", "body"})
_COOKIE_WRITERS = frozenset({"set_cookie", "delete_cookie"})


def _body_nodes(func: FunctionInfo) -> list[ast.AST]:
    """The nodes of the endpoint's body: not its decorators, signature or docstring."""
    node = func.node
    header = node.decorator_list + [node.args] + ([node.returns] if node.returns else [])
    outside = {id(n) for part in header for n in ast.walk(part)}
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        outside |= {id(n) for n in ast.walk(body[0])}
    return [n for n in own_nodes(node) if id(n) not in outside]


_RAW_CONNECTION = ("Request", "Response")


def _changes_nothing(model: FastAPIModel, route: Route) -> bool:
    """Does the endpoint change no server state, whatever its method? It takes no
    dependency, awaits nothing but its own request's body (`await request.json()`),
    assigns only local names, and calls nothing but response and URL builders, `.get`
    and cookie setters on its own response; and either it sets a cookie (a route that
    copies a value into the caller's own cookie) or it declares no input but the raw
    request and response (a stub that answers `{"status": "ok"}`). No credential would
    protect anything there. A stub that declares a body or a parameter stands for a
    route still to be written: it is judged by its name and method."""
    func = route.endpoint
    if func is None or route.dependencies:
        return False
    project, module = model.project, route.module
    args = func.node.args
    declared = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    raw_only = all(
        a is not None and (project.resolve(module, a) or "").rsplit(".", 1)[-1] in _RAW_CONNECTION
        for a in declared
    )
    sets_cookie = False
    for node in _body_nodes(func):
        if isinstance(node, ast.AsyncFor | ast.AsyncWith | ast.Global | ast.Nonlocal | ast.Delete):
            return False
        if isinstance(node, ast.Await):
            value = node.value
            if not (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr in _REQUEST_READERS
                and not value.args
            ):
                return False
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                return False
        elif isinstance(node, ast.Call):
            callee = node.func
            if isinstance(callee, ast.Attribute) and callee.attr in _COOKIE_WRITERS:
                sets_cookie = True
                continue
            if isinstance(callee, ast.Attribute) and callee.attr in _URL_METHODS | _REQUEST_READERS:
                continue
            target = project.resolve(module, callee) if isinstance(callee, ast.Name | ast.Attribute) else None
            if target is None or not (target.startswith(_RESPONSE_PREFIXES) or target in _PURE_BUILTINS):
                return False
    return sets_cookie or raw_only


def _hands_request_over(model: FastAPIModel, route: Route) -> bool:
    """Is the endpoint only `return await handler.handle(request)`, with `handler` an
    object of another package (Slack Bolt's `AsyncSlackRequestHandler(app)`, a GraphQL or
    RPC app)? The caller speaks that package's protocol (Slack's servers, a GraphQL
    client), which authenticates in its own way (a signed request, per-resolver checks):
    a user dependency on the route would refuse the very sender it exists for."""
    func = route.endpoint
    if func is None or route.dependencies:
        return False
    body = [s for s in func.node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return | ast.Expr) or body[0].value is None:
        return False
    call = body[0].value.value if isinstance(body[0].value, ast.Await) else body[0].value
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return False
    args = func.node.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    passed = [*call.args, *(k.value for k in call.keywords)]
    if not any(isinstance(a, ast.Name) and a.id in params for a in passed):
        return False
    project = model.project
    owner = project.resolve(route.module, call.func.value) if isinstance(call.func.value, ast.Name) else None
    if owner is None:
        return False
    symbol = project.lookup(owner)
    if symbol is None:
        return project.find_module(owner.split(".", 1)[0]) is None  # imported from another package
    if not isinstance(symbol, tuple):
        return False
    value_module, value = symbol
    if not isinstance(value, ast.Call):
        return False
    built_by = project.resolve(value_module, value.func)
    return (
        built_by is not None
        and project.lookup(built_by) is None
        and project.find_module(built_by.split(".", 1)[0]) is None
    )


def _authenticates(model: FastAPIModel, dep: Dependency) -> bool:
    """Does this node of a dependency tree authenticate? (Its children are
    visited separately by `Route.all_dependencies()`.)"""
    last = (dep.target or "").rsplit(".", 1)[-1]
    if last in _NOT_AUTH:
        return False  # the login form and scope declarations live in fastapi.security too
    if dep.is_security or (dep.target or "").startswith(SECURITY_SCHEME_PREFIXES):
        return True
    symbol = model.project.lookup(dep.target)
    if isinstance(symbol, ClassInfo) and any(
        b.startswith(SECURITY_SCHEME_PREFIXES) for b in model.project.class_bases(symbol)
    ):
        return True
    if _looks_like_auth(dep.target):
        return not _user_lookup(symbol)
    return _scheme_instance(model, dep)


def _unseen_owner_auth(model: FastAPIModel, route: Route) -> Dependency | None:
    """Authentication declared on a router the model did not see built, above the route.

    `authenticated = VersionedAPIRouter(dependencies=[Security(require_auth)])` (a
    router class from another package) followed by `authenticated.include_router(child)`:
    the model keeps that include under an owner with no constructor, so the owner's own
    `dependencies=` never reach the child's routes. Read them from the call the owner's
    name is bound to."""
    project = model.project
    for inc in model.include_chain(route.router):
        parent = model.objects.get(inc.parent)
        if parent is None or parent.node is not None or not isinstance(inc.node.func, ast.Attribute):
            continue
        symbol = project.lookup(project.resolve(inc.module, inc.node.func.value))
        if not isinstance(symbol, tuple):
            continue
        module, call = symbol
        if not isinstance(call, ast.Call):
            continue
        deps_expr = next((k.value for k in call.keywords if k.arg == "dependencies"), None)
        if not isinstance(deps_expr, ast.List | ast.Tuple):
            continue
        for dep in model.list_dependencies(module, list(deps_expr.elts)):
            found = next((d for d in dep.walk() if _authenticates(model, d)), None)
            if found is not None:
                return found
    return None


def _auth_path(model: FastAPIModel, dep: Dependency) -> list[Dependency] | None:
    """The dependencies from `dep` down to the first one that authenticates (depth first,
    in the order of `Route.all_dependencies()`), or None."""
    if _authenticates(model, dep):
        return [dep]
    for child in dep.children:
        below = _auth_path(model, child)
        if below is not None:
            return [dep, *below]
    return None


def _is_scheme(model: FastAPIModel, dep: Dependency) -> bool:
    """A `fastapi.security` scheme (or a subclass, or an instance of either): it only reads
    the credential from the request; the dependency above it checks it."""
    target = dep.target or ""
    if target.startswith(SECURITY_SCHEME_PREFIXES):
        return True
    symbol = model.project.lookup(target)
    if isinstance(symbol, ClassInfo) and any(
        b.startswith(SECURITY_SCHEME_PREFIXES) for b in model.project.class_bases(symbol)
    ):
        return True
    return _scheme_instance(model, dep)


def _declared(
    model: FastAPIModel, module: ModuleInfo, expr: ast.expr, depth: int = 0
) -> tuple[list[Dependency], bool]:
    """The dependencies a `dependencies=` value declares, and whether part of it could not
    be read. The model reads list literals; this also follows what it leaves out: a name
    bound to a list (`dependencies=AUTH`), a project function that builds the list
    (`dependencies=get_dependencies()`, read as every `Depends(...)` it creates), a sum of
    those, and `*starred` items of a literal."""
    project = model.project
    if depth > 4:
        return [], True
    if isinstance(expr, ast.List | ast.Tuple):
        deps: list[Dependency] = []
        unknown = False
        for elt in expr.elts:
            if isinstance(elt, ast.Starred):
                found, missing = _declared(model, module, elt.value, depth + 1)
                deps += found
                unknown = unknown or missing
        return deps, unknown  # the plain items are the model's
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        left, left_unknown = _declared_value(model, module, expr.left, depth + 1)
        right, right_unknown = _declared_value(model, module, expr.right, depth + 1)
        return left + right, left_unknown or right_unknown
    if isinstance(expr, ast.Name | ast.Attribute):
        symbol = project.lookup(project.resolve(module, expr))
        if isinstance(symbol, tuple):
            value_module, value = symbol
            if isinstance(value, ast.expr):
                return _declared_value(model, value_module, value, depth + 1)
        return [], True
    if isinstance(expr, ast.Call):
        symbol = project.lookup(project.resolve(module, expr.func))
        if isinstance(symbol, FunctionInfo):
            # In source order: the first one written is the one a message names.
            calls = (node for node in own_nodes(symbol.node) if isinstance(node, ast.Call))
            markers: list[ast.expr] = sorted(
                (call for call in calls if model.marker(symbol.module, call)), key=lambda m: (m.lineno, m.col_offset)
            )
            return model.list_dependencies(symbol.module, markers), False
        return [], True
    return [], True


def _declared_value(
    model: FastAPIModel, module: ModuleInfo, expr: ast.expr, depth: int
) -> tuple[list[Dependency], bool]:
    """`_declared` for a value the model never saw: a list literal's plain items count too."""
    if isinstance(expr, ast.List | ast.Tuple):
        plain = [e for e in expr.elts if not isinstance(e, ast.Starred)]
        starred, unknown = _declared(model, module, expr, depth)
        return model.list_dependencies(module, plain) + starred, unknown
    return _declared(model, module, expr, depth)


def _computed_dependencies(model: FastAPIModel, route: Route) -> tuple[list[Dependency], bool]:
    """The dependencies of the route's levels (app, include, router, decorator) that are
    given as something other than a list literal, and whether one could not be read."""
    levels: list[tuple[ModuleInfo, ast.expr | None]] = []
    for inc in model.include_chain(route.router):
        parent = model.objects.get(inc.parent)
        if parent is not None:
            levels.append((parent.module, parent.keyword("dependencies")))
        levels.append((inc.module, next((k.value for k in inc.node.keywords if k.arg == "dependencies"), None)))
    owner = model.objects.get(route.router)
    if owner is not None:
        levels.append((owner.module, owner.keyword("dependencies")))
    levels.append((route.module, route.keyword("dependencies")))
    deps: list[Dependency] = []
    unknown = False
    for module, expr in levels:
        if expr is None:
            continue
        found, missing = _declared(model, module, expr)
        deps += found
        unknown = unknown or missing
    return deps, unknown


def _user_lookup(symbol: object) -> bool:
    """`def get_user(user_id: int, db=...)`: loads a user named by the request, it does
    not authenticate anyone."""
    if not isinstance(symbol, FunctionInfo) or words(symbol.name)[-2:] != ["get", "user"]:
        return False
    args = symbol.node.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    return any(n == "id" or n.endswith("_id") for n in names)


def _scheme_instance(model: FastAPIModel, dep: Dependency) -> bool:
    """`Depends(oauth2_scheme)` where `oauth2_scheme = OAuth2PasswordBearer(...)`
    (or an instance of a project subclass of a `fastapi.security` class)."""
    project = model.project
    symbol = project.lookup(dep.target)
    if not isinstance(symbol, tuple):
        return False
    module, value = symbol
    if not isinstance(value, ast.Call):
        return False
    cls = project.resolve(module, value.func) or ""
    if cls.rsplit(".", 1)[-1] in _NOT_AUTH:
        return False
    if cls.startswith(SECURITY_SCHEME_PREFIXES):
        return True
    found = project.lookup(cls)
    return isinstance(found, ClassInfo) and any(
        b.startswith(SECURITY_SCHEME_PREFIXES) for b in project.class_bases(found)
    )


class UnauthenticatedMutatingRoute(Rule):
    """Flags a POST/PUT/PATCH/DELETE route with no authentication in an app that authenticates others.

    ## What it does
    Looks at every app whose routes use authentication somewhere: a security
    dependency (`OAuth2PasswordBearer`, `HTTPBearer`, `APIKeyHeader`, any
    `fastapi.security` scheme or `Security(...)`) anywhere in a route's
    dependency tree, or a dependency named like one (`get_current_user`,
    `get_user`, `authenticate`, `require_admin`, `verify_token`, `verify_jwt`,
    `api_key_auth`...). Names of pagination cursors, CSRF checks and counters
    (`verified_page_token`, `next_cursor`, `verify_csrf_token`) do not count as
    authentication, nor does a `get_user(user_id)` that loads a user by id, so an
    app whose only "token" is a page cursor is not taken for an authenticated
    one. In such an app it flags
    each route that changes state (POST, PUT, PATCH, DELETE) and has no such
    dependency at any level: route, router, `include_router` or app. Routes that
    are unauthenticated by nature are left alone (by path or endpoint name):
    login, token, register / signup, password reset / recovery, e-mail
    verification, OAuth callbacks, `public` paths, contact / newsletter forms,
    health checks, and webhooks (those
    authenticate by verifying the sender's signature in the body, not with a
    user dependency). So are routes that change no state whatever their method:
    an endpoint named for a read (`list_*`, `get_*`, `search_*`, `fetch_*`...)
    with no word of its name or of its path's last segment saying it writes
    (RPC-style APIs POST their reads: `POST /api/backends/list_types`), and an
    endpoint that only answers a redirect built from the request (no dependency,
    no `await`, no attribute or item assigned, no call but response and URL
    builders), such as the trailing-slash redirect of a catch-all route, or
    that changes nothing on the server (it awaits only its own request's body,
    assigns only local names, calls only response builders, `.get` and its
    response's cookie setters), and either sets a cookie (a route that copies
    a value into the caller's own cookie) or declares no input but the raw
    request and response (a telemetry stub answering `{"status": "ok"}`; a
    stub with a body or a parameter stands for a route still to be written,
    and is judged by its name). An endpoint that
    only hands its request to an object of another package (`return await
    slack_handler.handle(request)`: Slack Bolt's adapter, a GraphQL app) is
    left to that package: its caller speaks that protocol and authenticates
    its own way (Slack signs its requests). Nor is an endpoint that
    authenticates by hand (calls an auth helper, reads the `Authorization`
    header, verifies a signature), itself or in a project helper it calls, two
    calls deep (`user_id = await _session_cookie_user_id(request)`). A
    router built from a class of another package (cadwyn's
    `VersionedAPIRouter`) counts at the level where it is included: its own
    `dependencies=` authenticate what it includes, and the routes declared on it
    are not flagged, since the includes that mount it cannot be followed.
    `dependencies=` given as something other than a list literal is followed: a
    name bound to a list, a project function that builds the list
    (`APIRouter(dependencies=get_dependencies())`: every `Depends(...)` it
    creates counts, even under a condition), a sum of those, `*starred` items;
    a route under a `dependencies=` value that cannot be read is not flagged.
    A router that no app of the project includes (mounted by another package or
    a closed layer, or not at all) is judged only against the routes of its own
    router tree: the include that mounts it, and its `dependencies=`, are not in
    the code, so another app's authentication says nothing about it. That
    holds when every include of the project can be read (a loop over a written
    list of routers is read turn by turn); an include that cannot (a loop over
    a plugin loader's routers) may be the one that mounts it in an app, and then
    the apps' routes count too.
    The message suggests the dependency that checks the credential (the one
    above a bare security scheme), written as the other route writes it
    (`Depends(ProjectMember())` for an instance).

    ## Why is this bad?
    When most routes require a user, a mutating route without one is almost
    always a forgotten `Depends(get_current_user)`: anyone who can reach the
    API can create, change or delete data. FastAPI has no global "deny by
    default"; every route must ask for authentication itself. Put the auth
    dependency on the route, or once on the router (`APIRouter(dependencies=
    [Depends(get_current_user)])`) so new routes cannot forget it.

    ## References
    - https://fastapi.tiangolo.com/tutorial/security/first-steps/
    - https://fastapi.tiangolo.com/tutorial/bigger-applications/#another-module-with-apirouter
    - https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/
    - https://owasp.org/API-Security/editions/2023/en/0xa2-broken-authentication/
    """

    code = "FX408"
    name = "unauthenticated-mutating-route"
    summary = "A state-changing route has no authentication while the rest of the app requires it."
    severity = Severity.WARNING

    valid = (
        Valid(
            # A telemetry stub, a route that sets the caller's own cookie, a Slack events
            # endpoint served by Bolt's adapter (Slack signs its requests), and a route whose
            # helper reads the signed-in user from the session cookie.
            """
            from fastapi import Depends, FastAPI, Form, Request, Response
            from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
            from slack_bolt.async_app import AsyncApp

            from app.auth import get_current_user, get_authenticated_browser_user_id
            from app.flows import complete_flow

            app = FastAPI()
            slack_handler = AsyncSlackRequestHandler(AsyncApp(signing_secret="from-env"))

            @app.post("/notes", dependencies=[Depends(get_current_user)])
            async def create_note(note: dict):
                return note

            @app.post("/api/event_logging/batch")
            async def event_logging_batch(request: Request):
                \"\"\"Accepts the client's telemetry and drops it.\"\"\"
                return {"status": "ok"}

            @app.post("/set-session-cookie")
            async def set_session_cookie(request: Request, response: Response):
                body = await request.json()
                response.set_cookie(key="X-Session-id", value=body.get("session_id"), httponly=True, secure=True)
                return {"message": "Session cookie set"}

            @app.post("/slack/events")
            async def slack_endpoint(req: Request):
                return await slack_handler.handle(req)

            async def _session_user_id(request: Request) -> str | None:
                return await get_authenticated_browser_user_id(request)

            @app.post("/connect/complete")
            async def connect_complete(request: Request, flow: str = Form(...)) -> Response:
                return await complete_flow(flow, user_id=await _session_user_id(request))
            """,
            filename="app/main.py",
            files={
                "app/auth.py": """
                    from fastapi import Request

                    async def get_current_user(request: Request) -> str:
                        return "user"

                    async def get_authenticated_browser_user_id(request: Request) -> str | None:
                        return request.cookies.get("session")
                """,
                "app/flows.py": """
                    from fastapi import Response

                    async def complete_flow(flow: str, user_id: str | None) -> Response:
                        return Response(status_code=400 if user_id is None else 303)
                """,
            },
        ),
        Valid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends, FastAPI
            from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

            async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> dict:
                return {"token": token}

            router = APIRouter(prefix="/items", dependencies=[Depends(get_current_user)])

            @router.post("/")
            async def create_item(item: dict):
                return item

            @router.delete("/{item_id}")
            async def delete_item(item_id: int):
                return None

            app = FastAPI()
            app.include_router(router)

            @app.post("/token")
            async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
                return {"access_token": form.username, "token_type": "bearer"}

            @app.post("/webhooks/stripe")
            async def stripe_webhook(payload: dict):
                return {"received": True}
            """
        ),
        Valid(
            """
            from fastapi import FastAPI

            app = FastAPI()

            # No route of this app authenticates: an internal service, not a forgotten check.
            @app.post("/jobs")
            async def enqueue(job: dict):
                return job
            """
        ),
        Valid(
            """
            import base64
            import json

            from fastapi import Depends, FastAPI, Query

            app = FastAPI()

            def verified_page_token(page_token: str = Query(..., alias="page-token")) -> dict:
                # A base64 pagination cursor, not a credential: no route of this app authenticates.
                return json.loads(base64.b64decode(page_token))

            @app.get("/events/page")
            def next_page(cursor: dict = Depends(verified_page_token)) -> list[dict]:
                return []

            @app.patch("/runs/{run_id}/labels", status_code=204)
            def update_labels(run_id: int, labels: dict[str, str]) -> None:
                return None
            """
        ),
        Valid(
            """
            from cadwyn import VersionedAPIRouter
            from fastapi import APIRouter, Security

            from app.routes import settings, state
            from app.security import require_auth

            api_router = APIRouter()
            # Everything below needs a valid token: the router class comes from another package.
            authenticated = VersionedAPIRouter(dependencies=[Security(require_auth)])
            authenticated.include_router(state.router, prefix="/state")
            authenticated.include_router(settings.router, prefix="/settings")
            api_router.include_router(authenticated)
            """,
            filename="app/routes/__init__.py",
            files={
                "app/__init__.py": "",
                "app/security.py": """
                    from fastapi import Security
                    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

                    bearer = HTTPBearer()

                    def require_auth(creds: HTTPAuthorizationCredentials = Security(bearer)) -> str:
                        return creds.credentials
                """,
                "app/routes/state.py": """
                    from cadwyn import VersionedAPIRouter
                    from fastapi import Security

                    from app.security import require_auth

                    router = VersionedAPIRouter()

                    @router.patch("/{key}/owner")
                    def claim(key: str, token: str = Security(require_auth)) -> None:
                        return None

                    @router.put("/{key}", status_code=204)
                    def put_value(key: str, value: str) -> None:
                        return None
                """,
                "app/routes/settings.py": """
                    from fastapi import APIRouter, Security

                    from app.security import require_auth

                    router = APIRouter()

                    @router.get("/{name}")
                    def read_setting(name: str, token: str = Security(require_auth)) -> str:
                        return name

                    @router.delete("/{name}", status_code=204)
                    def delete_setting(name: str) -> None:
                        return None
                """,
            },
        ),
        Valid(
            """
            from fastapi import FastAPI, Security
            from fastapi.security import APIKeyHeader

            from app.routes import jobs

            app = FastAPI()
            app.include_router(jobs.router)
            runner_key = APIKeyHeader(name="X-Runner-Key")

            @app.post("/runner-events")
            async def runner_event(event: dict, key: str = Security(runner_key)) -> None:
                return None
            """,
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/routes/__init__.py": "",
                "app/security.py": """
                    import os
                    import secrets

                    from fastapi import Depends, HTTPException
                    from fastapi.security import APIKeyHeader

                    SERVICE_KEY = os.environ.get("SERVICE_KEY")
                    service_key_header = APIKeyHeader(name="X-Service-Key", auto_error=False)

                    def check_service_key(key: str | None = Depends(service_key_header)) -> None:
                        if SERVICE_KEY and not secrets.compare_digest(key or "", SERVICE_KEY):
                            raise HTTPException(status_code=401)

                    def router_dependencies() -> list:
                        # A single-user local install runs without a key.
                        return [Depends(check_service_key)] if SERVICE_KEY else []
                """,
                "app/routes/jobs.py": """
                    from fastapi import APIRouter

                    from app.security import router_dependencies

                    router = APIRouter(prefix="/jobs", dependencies=router_dependencies())

                    @router.post("")
                    async def start_job(spec: dict) -> dict:
                        return spec

                    @router.delete("/{job_id}", status_code=204)
                    async def cancel_job(job_id: str) -> None:
                        return None
                """,
            },
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends, FastAPI, Request, Security, status
            from fastapi.datastructures import URL
            from fastapi.responses import RedirectResponse, Response
            from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

            class ProjectAdmin:
                async def __call__(
                    self, project: str, creds: HTTPAuthorizationCredentials = Security(HTTPBearer())
                ) -> str:
                    return creds.credentials

            # RPC style: every call is a POST, reads included.
            api = APIRouter(prefix="/api")

            @api.post("/runtimes/list_types")
            async def list_runtime_types() -> list[str]:
                return ["docker", "kubernetes"]

            @api.post("/server/get_info")
            async def get_server_info() -> dict[str, str]:
                return {"version": "1.0"}

            @api.post("/projects/{project}/runtimes/create")
            async def create_runtime(project: str, admin: str = Depends(ProjectAdmin())) -> None:
                return None

            proxy = APIRouter(prefix="/proxy")

            @proxy.get("/{project}/{service}")
            @proxy.post("/{project}/{service}")
            @proxy.delete("/{project}/{service}")
            def add_trailing_slash(request: Request, project: str, service: str) -> Response:
                # The proxied service lives under `.../{service}/`, behind its own checks.
                url = URL(str(request.url))
                return RedirectResponse(url.replace(path=url.path + "/"), status.HTTP_308_PERMANENT_REDIRECT)

            app = FastAPI()
            app.include_router(api)
            app.include_router(proxy)
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi.security import HTTPBearer

            app = FastAPI()
            bearer = HTTPBearer()

            @app.delete("/projects/{name}", status_code=204)
            def delete_project(name: str, token: str = Depends(bearer)) -> None:
                return None
            """,
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/captcha.py": """
                    from fastapi import APIRouter
                    from pydantic import BaseModel

                    # Mounted by the hosted edition (not in this code base), behind its own auth.
                    router = APIRouter(prefix="/captcha")

                    class CaptchaResult(BaseModel):
                        score: float
                        action: str

                    @router.post("/log", status_code=201)
                    async def log_captcha(result: CaptchaResult) -> dict[str, str]:
                        return {"status": "logged"}
                """,
            },
        ),
    )
    invalid = (
        Invalid(
            # An include the review cannot read (a plugin loader) may mount the router
            # no read include mounts: it is judged against the app's routes.
            """
            from fastapi import APIRouter

            router = APIRouter(prefix="/captcha")

            @router.post("/log", status_code=201)
            async def log_captcha(score: float) -> dict[str, str]:
                return {"status": "logged"}
            """,
            filename="app/captcha.py",
            files={
                "app/__init__.py": "",
                "app/main.py": """
                    from fastapi import Depends, FastAPI
                    from fastapi.security import HTTPBearer
                    from plugins import load_routers

                    app = FastAPI()
                    bearer = HTTPBearer()

                    @app.delete("/projects/{name}", status_code=204)
                    def delete_project(name: str, token: str = Depends(bearer)) -> None:
                        return None

                    for router in load_routers("app"):
                        app.include_router(router)
                """,
            },
            lines=(5,),
        ),
        Invalid(
            # A router the app includes in a loop is the app's: judged against its routes.
            """
            from fastapi import APIRouter

            router = APIRouter(prefix="/items")

            @router.delete("/{item_id}", status_code=204)
            def delete_item(item_id: int) -> None:
                return None
            """,
            filename="app/items.py",
            files={
                "app/__init__.py": "",
                "app/main.py": """
                    from fastapi import Depends, FastAPI
                    from fastapi.security import HTTPBearer

                    from app import items

                    bearer = HTTPBearer()
                    ROUTERS = [(items, "/v1")]

                    def create_app() -> FastAPI:
                        app = FastAPI()

                        @app.delete("/projects/{name}", status_code=204)
                        def delete_project(name: str, token: str = Depends(bearer)) -> None:
                            return None

                        for module, prefix in ROUTERS:
                            app.include_router(module.router, prefix=prefix)
                        return app
                """,
            },
            lines=(5,),
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from fastapi.security import OAuth2PasswordBearer

            app = FastAPI()
            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

            async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> dict:
                return {"token": token}

            @app.get("/me")
            async def read_me(user: Annotated[dict, Depends(get_current_user)]):
                return user

            @app.post("/items")
            async def create_item(item: dict, user: Annotated[dict, Depends(get_current_user)]):
                return item

            @app.delete("/items/{item_id}")
            async def delete_item(item_id: int):
                return None

            @app.put("/items/{item_id}")
            async def replace_item(item_id: int, item: dict):
                return item
            """,
            lines=(20, 24),
        ),
        Invalid(
            """
            from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException

            async def verify_api_key(x_api_key: str = Header()) -> None:
                if x_api_key != "expected":
                    raise HTTPException(status_code=401)

            admin = APIRouter(prefix="/admin", dependencies=[Depends(verify_api_key)])
            public = APIRouter(prefix="/orders")

            @admin.post("/refunds")
            def refund(order_id: int):
                return {"refunded": order_id}

            @public.patch("/{order_id}")
            def update_order(order_id: int, changes: dict):
                return changes

            app = FastAPI()
            app.include_router(admin)
            app.include_router(public)
            """,
            lines=(14,),
        ),
        Invalid(
            """
            from fastapi import APIRouter, Depends, FastAPI, Security
            from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

            class ProjectMember:
                async def __call__(
                    self, project: str, creds: HTTPAuthorizationCredentials = Security(HTTPBearer())
                ) -> str:
                    return creds.credentials

            router = APIRouter(prefix="/projects/{project}")

            @router.get("/runs")
            async def list_runs(project: str, member: str = Depends(ProjectMember())) -> list[str]:
                return []

            @router.post("/runs/{run_id}/stop", status_code=204)
            async def stop_run(project: str, run_id: str) -> None:
                return None

            app = FastAPI()
            app.include_router(router)
            """,
            lines=(16,),
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import APIKeyHeader

            app = FastAPI()

            runner_key = APIKeyHeader(name="X-Runner-Key", auto_error=False)

            async def runner_for_key(key: str | None = Depends(runner_key)) -> str:
                if not key:
                    raise HTTPException(status_code=401)
                return key

            @app.post("/runners/heartbeat", status_code=204)
            async def heartbeat(runner: str = Depends(runner_for_key)) -> None:
                return None

            @app.delete("/runners/{runner_id}", status_code=204)
            async def remove_runner(runner_id: str) -> None:
                return None
            """,
            lines=(17,),
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI, Form
            from fastapi.responses import RedirectResponse
            from fastapi.security import HTTPBearer

            app = FastAPI()
            bearer = HTTPBearer()
            NOTES: list[str] = []

            @app.get("/notes")
            def list_notes(token: str = Depends(bearer)) -> list[str]:
                return NOTES

            @app.post("/notes")
            def add_note(text: str = Form()) -> RedirectResponse:
                NOTES.append(text)  # a write before the redirect
                return RedirectResponse("/notes", status_code=303)

            @app.post("/tags/get_or_create")
            def get_or_create_tag(name: str) -> dict[str, str]:
                return {"name": name}
            """,
            lines=(13, 18),
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        model = ctx.project.fastapi
        # Routes grouped by the top of their include chain: an app, or a router no app of
        # the project includes. When every include of the project is read, such a router
        # is mounted elsewhere (another package, a closed layer) or not at all, so the
        # `include_router(..., dependencies=...)` that would authenticate it is unknown:
        # its routes are judged only against routes of the same router tree, never
        # against another app's. An include that cannot be read may be the one that
        # mounts it in an app: then it is judged against the apps' routes too.
        groups: dict[str, list[Route]] = defaultdict(list)
        for route in model.routes:
            if route.is_websocket or route.module.is_test:
                continue
            groups[self._root(model, route)].append(route)
        protected_somewhere = {key: self._authenticated(model, routes) for key, routes in groups.items()}
        in_an_app = next(
            (
                found
                for key, found in protected_somewhere.items()
                if found is not None and (obj := model.objects.get(key)) is not None and obj.kind == "app"
            ),
            None,
        )
        apps_with_auth_middleware = {
            mw.app for mw in model.middleware if self._auth_middleware(mw.target)
        }
        for key, routes in groups.items():
            example = protected_somewhere[key]
            if example is None and model.unread_includes and key in model.objects and model.objects[key].kind != "app":
                example = in_an_app
            if example is None or key in apps_with_auth_middleware:
                continue
            for route in routes:
                if not set(route.methods) & HTTP_MUTATING or route.path is None:
                    continue
                if route.router not in model.objects:
                    # `router = VersionedAPIRouter()` (a router class of another package): the
                    # model saw neither its `dependencies=` nor the `include_router` calls that
                    # mount it, so whether an upper level authenticates is unknown.
                    continue
                if self._route_auth(model, route) is not None or _exempt(route) is not None:
                    continue
                if _reads(route) or _only_redirects(model, route) or _changes_nothing(model, route):
                    continue  # changes no state, whatever its method
                if _hands_request_over(model, route):
                    continue  # another package's protocol, authenticated its own way
                if _computed_dependencies(model, route)[1]:
                    continue  # `dependencies=` built in a way that cannot be read: unknown
                if _unseen_owner_auth(model, route) is not None:
                    continue
                if route.endpoint is not None and self._checks_inline(ctx.project, route.endpoint):
                    continue
                self._report(ctx, route, example)

    @staticmethod
    def _root(model: FastAPIModel, route: Route) -> str:
        """The app (or the router no app includes) at the top of the route's include chain."""
        chain = model.include_chain(route.router)
        return chain[0].parent if chain else route.router

    def _authenticated(self, model: FastAPIModel, routes: list[Route]) -> tuple[Route, list[Dependency]] | None:
        for route in routes:
            path = self._route_auth(model, route)
            if path is not None:
                return route, path
        return None

    @staticmethod
    def _route_auth(model: FastAPIModel, route: Route) -> list[Dependency] | None:
        """The dependencies from one the route declares (at any level) down to the
        one that authenticates."""
        for dep in [*route.dependencies, *_computed_dependencies(model, route)[0]]:
            path = _auth_path(model, dep)
            if path is not None:
                return path
        return None

    @staticmethod
    def _auth_middleware(target: str | None) -> bool:
        if not target:
            return False
        if target in {"starlette.middleware.authentication.AuthenticationMiddleware"}:
            return True
        return bool(set(words(target.rsplit(".", 1)[-1])) & _AUTH_MIDDLEWARE_WORDS)

    @classmethod
    def _checks_inline(cls, project: Project, func: FunctionInfo, depth: int = 0) -> bool:
        """Does the endpoint authenticate by hand (calls an auth helper, reads the
        Authorization header, verifies a signature), itself or in a project helper it
        calls (`user_id = await _session_cookie_user_id(request)`, whose body calls
        `get_authenticated_browser_user_id`), two calls deep?"""
        for node in own_nodes(func.node):
            if isinstance(node, ast.Call):
                callee = node.func
                name = callee.attr if isinstance(callee, ast.Attribute) else callee.id if isinstance(callee, ast.Name) else ""
                if _looks_like_auth(name, getter=False) or "signature" in name.lower():
                    return True
                if depth < 2 and isinstance(callee, ast.Name):
                    helper = project.lookup(project.resolve(func.module, callee))
                    if isinstance(helper, FunctionInfo) and helper.node is not func.node and (
                        cls._checks_inline(project, helper, depth + 1)
                    ):
                        return True
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.lower() in {"authorization", "x-api-key"}
            ):
                return True
        return False

    @staticmethod
    def _suggested(model: FastAPIModel, path: list[Dependency]) -> tuple[str, str]:
        """The dependency to name and the `Depends(...)` to suggest. A security scheme
        only reads the credential: the dependency above it, which checks it, is named
        instead. An instance built inline (`Depends(ProjectAdmin())`, `Depends(
        APIKeyHeader(name="X-Key"))`) is quoted as written: `Depends(ProjectAdmin)` would
        make FastAPI build an instance from query parameters and authenticate no one."""
        dep = path[-2] if len(path) > 1 and _is_scheme(model, path[-1]) else path[-1]
        name = (dep.target or "?").rsplit(".", 1)[-1]
        given = dep.marker.args[0] if dep.marker.args else next(
            (k.value for k in dep.marker.keywords if k.arg == "dependency"), None
        )
        shown = ast.unparse(given) if isinstance(given, ast.Call) else name
        return name, f"Depends({shown})"

    def _report(self, ctx: ProjectContext, route: Route, example: tuple[Route, list[Dependency]]) -> None:
        other, path = example
        method = next(m for m in route.methods if m in HTTP_MUTATING)
        name = route.endpoint.name if route.endpoint is not None else "?"
        dep_name, suggestion = self._suggested(ctx.project.fastapi, path)
        ctx.report(
            route.module,
            route.node,
            f"`{method} {route.display_path}` (`{name}`) has no authentication dependency while "
            f"other routes use `{dep_name}`; add it to the route or its router, e.g. "
            f"`dependencies=[{suggestion}]`.",
            chain=[
                ChainLink(
                    other.module.source.location(other.node),
                    f"`{' '.join(other.methods)} {other.display_path}` authenticates with `{dep_name}`",
                )
            ],
        )
