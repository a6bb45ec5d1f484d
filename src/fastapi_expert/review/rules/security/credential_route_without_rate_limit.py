from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi_expert.review.model.fastapi_model import (
    Dependency,
    FastAPIModel,
    Route,
    keyword,
    literal_str,
)
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.review.rules.security._web import words
from fastapi_expert.types import Severity

_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# -- what the route is, from its path and its endpoint's name -----------------

_LOGIN_WORDS = frozenset({"login", "signin", "logon", "authenticate", "authentication"})
_OTP_WORDS = frozenset({"otp", "totp", "hotp", "mfa", "2fa", "twofa", "twofactor", "passcode"})
_VERIFY_WORDS = frozenset({"verify", "verification", "confirm", "confirmation"})
_RESET_STEP_WORDS = frozenset({"reset", "recover", "recovery", "lost", "request"})
# Routes that share a word with a credential route but check nothing an attacker can guess:
# the provider's redirect back (`/login/callback`), logout, token revocation, introspection,
# refresh (a long secret), key sets and provider metadata, SSO redirects, account creation,
# and enrolment of a second factor (the user just saw the secret).
_NOT_A_CHECK = frozenset(
    {
        "callback", "callbacks", "logout", "signout", "logoff", "revoke", "revocation",
        "introspect", "introspection", "refresh", "jwks", "metadata", "provider", "providers",
        "authorize", "sso", "saml", "redirect", "exchange", "apikey", "apikeys", "keys",
        "validate", "validation", "register", "registration", "signup", "setup", "enroll",
        "enrol", "enable", "disable", "qr", "qrcode", "status",
    }
)

# -- what the route reads ---------------------------------------------------------

_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase"})
_PASSWORD_ACTIONS = frozenset(
    {
        "forgot", "reset", "change", "update", "set", "verify", "check", "validate", "hash", "hashed",
        "send", "request", "recover",
    }
)
# A short code is what can be guessed: `code`, `otp`, `pin`, `verification_code`; not a
# `status_code`, a `country_code` or a link's long `token`.
_CODE_WORDS = frozenset({"otp", "totp", "hotp", "pin", "passcode"})
_CODE_QUALIFIERS = frozenset(
    {
        "verification", "verify", "otp", "mfa", "totp", "sms", "email", "phone", "confirmation",
        "confirm", "security", "backup", "one", "time", "auth", "factor", "login", "reset", "2fa",
        "user",
    }
)
_IDENTITY_WORDS = frozenset({"email", "username", "phone", "mobile", "login"})
_LOGIN_FORMS = frozenset(
    {
        "fastapi.security.OAuth2PasswordRequestForm",
        "fastapi.security.OAuth2PasswordRequestFormStrict",
        "fastapi.security.oauth2.OAuth2PasswordRequestForm",
        "fastapi.security.oauth2.OAuth2PasswordRequestFormStrict",
    }
)
_BASIC = frozenset(
    {
        "fastapi.security.HTTPBasic", "fastapi.security.http.HTTPBasic",
        "fastapi.security.HTTPBasicCredentials", "fastapi.security.http.HTTPBasicCredentials",
    }
)
_PASSWORD_BEARERS = frozenset(
    {"fastapi.security.OAuth2PasswordBearer", "fastapi.security.oauth2.OAuth2PasswordBearer"}
)
# `fastapi.security` classes that read a credential the route checks, or declare scopes: on
# a login route they are the credential, not proof that the caller is signed in already.
_NOT_SIGNED_IN = frozenset(
    {
        "OAuth2PasswordRequestForm", "OAuth2PasswordRequestFormStrict", "SecurityScopes",
        "HTTPBasic", "HTTPBasicCredentials", "HTTPAuthorizationCredentials",
    }
)
_SIGNED_IN_QUALIFIERS = frozenset({"user", "account", "member", "principal", "admin", "superuser"})
_REQUIRED = frozenset(
    {
        "user", "login", "auth", "admin", "authenticated", "superuser", "staff", "role", "roles",
        "scope", "scopes", "permission", "permissions", "session",
    }
)

# -- what limits the rate ---------------------------------------------------------

_LIMIT_WORDS = frozenset(
    {
        "limiter", "limiters", "ratelimit", "ratelimiter", "ratelimited", "ratelimiting",
        "throttle", "throttled", "throttler", "throttling", "slowapi",
    }
)
_RATE_LIMIT_WORDS = frozenset({"limit", "limits", "limited", "limiting"})
# Lockout and anti-automation an endpoint (or what it calls) may do by itself.
_LOCKOUT_WORDS = frozenset(
    {
        "lockout", "lockouts", "locked", "attempt", "attempts", "captcha", "recaptcha",
        "hcaptcha", "turnstile", "backoff",
    }
)
_CONCURRENCY_WORDS = frozenset({"capacity", "concurrency", "concurrent", "semaphore"})
_HTTP_METHODS = ("POST", "PUT", "PATCH")
_LOOKOUT_DEPTH = 2  # calls followed from the endpoint when looking for lockout logic


@dataclass(frozen=True)
class _Reads:
    """What a route reads from the request, by the names it gives it."""

    password: bool
    code: bool
    code_in_signature: bool
    identity: bool


def _tokens(text: str) -> set[str]:
    """Lower-case words of a path or identifier: `reset-password` -> reset, password;
    `verify_2fa` -> verify, 2fa (the part whole too: `2fa`, `signin`)."""
    found: set[str] = set()
    for part in _SPLIT.split(text):
        if part:
            found.add(part.lower())
            found.update(words(part))
    return found


def _name_words(route: Route) -> set[str]:
    """Words of the route's static path segments and of its endpoint's name."""
    found: set[str] = set()
    for path in route.full_paths or [route.path or ""]:
        for segment in path.split("/"):
            if segment and not segment.startswith("{"):
                found |= _tokens(segment)
    if route.endpoint is not None:
        found |= _tokens(route.endpoint.name)
    return found


def _is_password_name(name: str) -> bool:
    """`password`, `new_password`, `passwd`; not `forgot_password` or `reset_password` (an
    action named after the password, not the password)."""
    ws = words(name)
    return bool(ws) and ws[-1] in _PASSWORD_WORDS and ws[0] not in _PASSWORD_ACTIONS


def _is_code_name(name: str) -> bool:
    ws = words(name)
    if not ws:
        return False
    if set(ws) & _CODE_WORDS or name.lower() in _OTP_WORDS:
        return True
    return ws[-1] in {"code", "codes"} and (len(ws) == 1 or ws[-2] in _CODE_QUALIFIERS)


def _is_identity_name(name: str) -> bool:
    ws = words(name)
    return bool(ws) and (ws[-1] in _IDENTITY_WORDS or ws[-2:] in (["user", "name"], ["phone", "number"]))


# -- names a route reads ------------------------------------------------------------


def _class_fields(project: Project, cls: ClassInfo) -> set[str]:
    """Field names of a request model (annotated class attributes), with the project bases'."""
    found: set[str] = set()
    classes = [cls]
    for base in project.class_bases(cls):
        symbol = project.lookup(base)
        if isinstance(symbol, ClassInfo):
            classes.append(symbol)
    for one in classes:
        for stmt in one.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                found.add(stmt.target.id)
        init = one.methods.get("__init__")
        if init is not None:
            found |= _parameters(init)
    return found


def _is_schema(project: Project, cls: ClassInfo) -> bool:
    return any(b.startswith("pydantic.") for b in project.class_bases(cls))


def _parameters(func: FunctionInfo) -> set[str]:
    args = func.node.args
    return {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.arg not in {"self", "cls"}}


def _security_class(project: Project, dep: Dependency) -> str | None:
    """The `fastapi.security` class a dependency is, subclasses or an instance of one."""
    target = dep.target or ""
    if target.startswith("fastapi.security."):
        return target
    symbol = project.lookup(target)
    if isinstance(symbol, tuple) and isinstance(symbol[1], ast.Call):
        # `security = HTTPBasic()`, then `Depends(security)`
        target = project.resolve(symbol[0], symbol[1].func) or ""
        if target.startswith("fastapi.security."):
            return target
        symbol = project.lookup(target)
    if isinstance(symbol, ClassInfo):
        return next((b for b in sorted(project.class_bases(symbol)) if b.startswith("fastapi.security.")), None)
    return None


def _reads(project: Project, route: Route) -> _Reads:
    """Names of the values the route reads: its endpoint's parameters and the fields of
    their models, the parameters and fields of the dependencies it declares itself, and
    the attributes and keys its body reads (`form.password.data`, `data["password"]`).
    Deeper dependencies (a session, a repository) say nothing of the request's body."""
    endpoint = route.endpoint
    signature: set[str] = set()
    names: set[str] = set()
    # The login form or HTTP Basic, declared by the route or by a dependency it declares
    # (`get_login_form(form=Depends(OAuth2PasswordRequestForm))`). Deeper, it is someone
    # else's credential: the OAuth client's id and secret that a token endpoint checks.
    near = [*route.dependencies, *(child for dep in route.dependencies for child in dep.children)]
    password = any(_security_class(project, dep) in _LOGIN_FORMS | _BASIC for dep in near)
    if endpoint is not None:
        signature = _parameters(endpoint)
        args = endpoint.node.args
        injected = {dep.param for dep in route.dependencies if dep.param is not None}
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            kind = project.annotation_type(endpoint.module, arg.annotation)
            password = password or kind in _BASIC
            symbol = project.lookup(kind)
            if isinstance(symbol, ClassInfo) and (arg.arg not in injected or _is_schema(project, symbol)):
                # A request model: `body: LoginRequest`, or `body: LoginBody = Depends(parse_login_body)`.
                # Not a dependency's other results (`user: User = Depends(...)`, an ORM row whose
                # `hashed_password` is not read from the request).
                names |= _class_fields(project, symbol)
        names |= _body_names(endpoint)
    for dep in route.dependencies:
        symbol = project.lookup(dep.target)
        if isinstance(symbol, FunctionInfo):
            names |= _parameters(symbol)
        elif isinstance(symbol, ClassInfo):
            names |= _class_fields(project, symbol)
    names |= signature
    return _Reads(
        password=password or any(_is_password_name(n) for n in names),
        code=any(_is_code_name(n) for n in names),
        code_in_signature=any(_is_code_name(n) for n in signature),
        identity=any(_is_identity_name(n) for n in names),
    )


def _body_names(func: FunctionInfo) -> set[str]:
    """Attributes the endpoint reads (not the methods it calls: `manager.forgot_password()`
    reads no password) and the string keys it looks up (`form["password"]`, `data.get("otp")`)."""
    called = {id(node.func) for node in own_nodes(func.node) if isinstance(node, ast.Call)}
    keys: list[ast.expr] = []
    found: set[str] = set()
    for node in own_nodes(func.node):
        if isinstance(node, ast.Attribute) and id(node) not in called:
            found.add(node.attr)
        elif isinstance(node, ast.Subscript):
            keys.append(node.slice)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"get", "getlist", "pop"}:
            keys.extend(node.args[:1])
    for key in keys:
        text = literal_str(key)
        if text is not None and _IDENTIFIER.match(text):
            found.add(text)
    return found


# -- what the route is ---------------------------------------------------------------


def _token_urls(project: Project) -> list[str]:
    """The `tokenUrl` of every `OAuth2PasswordBearer` the project builds, as written (the
    constant tail of an f-string: `f"{settings.API_V1_STR}/login/access-token"`)."""
    urls: list[str] = []
    for module in project.modules:
        if module.is_test or not module.spells("OAuth2PasswordBearer"):
            continue
        for call in module.nodes_of(ast.Call):
            if not isinstance(call.func, ast.Name | ast.Attribute) or project.resolve(module, call.func) not in _PASSWORD_BEARERS:
                continue
            value = keyword(call, "tokenUrl")
            if value is None and call.args:
                value = call.args[0]
            url = literal_str(value)
            if url is None and isinstance(value, ast.JoinedStr) and value.values:
                url = literal_str(value.values[-1])
            url = (url or "").split("?")[0].strip("/")
            if url:
                urls.append(url)
    return urls


def _is_token_url(route: Route, urls: list[str]) -> bool:
    for path in route.full_paths:
        clean = path.rstrip("/")
        if any(clean == "/" + url or clean.endswith("/" + url) for url in urls):
            return True
    return False


def _kind(route: Route, reads: _Reads, token_url: bool) -> str | None:
    """What the route checks or sends, if it is a credential route: "password" (login,
    token), "code" (one-time code) or "mail" (a reset or sign-in mail sent on request)."""
    ws = _name_words(route)
    if ws & _NOT_A_CHECK:
        return None
    if token_url or ws & _LOGIN_WORDS or "token" in ws or {"sign", "in"} <= ws or {"log", "in"} <= ws:
        if reads.password:
            return "password"
        if ws & _LOGIN_WORDS and reads.code:
            return "code"  # passwordless login by a mailed code
    if reads.code and (ws & _OTP_WORDS or {"two", "factor"} <= ws or ws & _VERIFY_WORDS or "magic" in ws):
        return "code"
    if "forgot" in ws or "magic" in ws or ("password" in ws and ws & _RESET_STEP_WORDS):
        if reads.code:
            return "code"
        if reads.identity and not reads.password:
            return "mail"  # the request step: `POST /forgot-password {"email": ...}`
        # The reset itself with the link's token and a new password: the token is a long
        # random secret, not something to guess.
    return None


def _second_factor(route: Route) -> bool:
    ws = _name_words(route)
    return bool(ws & _OTP_WORDS) or {"two", "factor"} <= ws


def _signed_in(project: Project, route: Route) -> bool:
    """Does the route require a signed-in caller already (a bearer token, an API key,
    `Depends(get_current_user)`, Starlette's `@requires("authenticated")`)? Then it does
    not check a credential an anonymous attacker can guess. A scheme reached only through
    an optional dependency (`get_optional_session`) or built with `auto_error=False` lets
    anonymous callers through, and does not count."""
    if any(_requires_sign_in(project, dep, 0) for dep in route.dependencies):
        return True
    if route.endpoint is not None:
        for deco in route.endpoint.node.decorator_list:
            func = deco.func if isinstance(deco, ast.Call) else deco
            target = project.resolve(route.module, func) if isinstance(func, ast.Name | ast.Attribute) else None
            name = (target or ast.unparse(func)).rsplit(".", 1)[-1]
            if target == "starlette.authentication.requires" or "login_required" in name or name == "requires_auth":
                return True
    return False


def _requires_sign_in(project: Project, dep: Dependency, depth: int) -> bool:
    name = (dep.target or "").rsplit(".", 1)[-1]
    ws = words(name)
    if depth > 8 or set(ws) & {"optional", "maybe"}:
        return False
    scheme = _security_class(project, dep)
    if scheme is not None:
        return scheme.rsplit(".", 1)[-1] not in _NOT_SIGNED_IN and not _lets_anonymous_in(project, dep)
    if dep.is_security or _named_signed_in(name, ws):
        return True
    return any(_requires_sign_in(project, child, depth + 1) for child in dep.children)


def _named_signed_in(name: str, ws: list[str]) -> bool:
    """`get_current_user`, `current_active_user`, `Authenticated()`, `require_admin`."""
    if not ws:
        return False
    if "authenticated" in ws or "login_required" in name.lower():
        return True
    if "current" in ws and set(ws) & _SIGNED_IN_QUALIFIERS:
        return True
    if ws[0] in {"get", "current"} and ws[-1] == "user" and len(ws) <= 4:
        return True
    if "user" in ws and set(ws) & {"session", "token", "jwt", "bearer", "cookie"}:
        return True  # `get_user_from_session_token`: the caller holds a session already
    return ws[0] in {"require", "requires"} and bool(set(ws[1:]) & _REQUIRED)


def _lets_anonymous_in(project: Project, dep: Dependency) -> bool:
    """Is the scheme built with `auto_error=False` (here or where its instance is bound)?"""
    calls = [dep.marker]
    given = dep.marker.args[0] if dep.marker.args else None
    if isinstance(given, ast.Call):
        calls.append(given)
    symbol = project.lookup(dep.target)
    if isinstance(symbol, tuple) and isinstance(symbol[1], ast.Call):
        calls.append(symbol[1])
    return any(
        k.arg == "auto_error" and isinstance(k.value, ast.Constant) and k.value.value is False
        for call in calls
        for k in call.keywords
    )


# -- what limits it ---------------------------------------------------------------------


def _limit_words(ws: Iterable[str]) -> bool:
    found = set(ws)
    return bool(found & _LIMIT_WORDS) or ("rate" in found and bool(found & _RATE_LIMIT_WORDS))


def _names_limit(name: str | None) -> bool:
    return bool(name) and _limit_words(_tokens((name or "").rsplit(".", 1)[-1]))


def _code_limits(funcs: Iterable[ast.AST], *, lockout: bool) -> bool:
    """Does this code name a limiter or a lockout (`limiter.hit(...)`, `user.failed_login_attempts
    += 1`, a captcha check) or answer 429? A limiter in code that also names a concurrency cap
    (`self._limiter = anyio.CapacityLimiter(100)`) caps requests in flight, not attempts per
    minute: there only a 429 counts."""
    found: set[str] = set()
    for func in funcs:
        for node in own_nodes(func):
            text: str | None = None
            if isinstance(node, ast.Name):
                text = node.id
            elif isinstance(node, ast.Attribute):
                text = node.attr
                if text.startswith("HTTP_429"):
                    return True
            elif isinstance(node, ast.Constant):
                if node.value == 429 and not isinstance(node.value, bool):
                    return True
                if isinstance(node.value, str) and len(node.value) < 200:
                    text = node.value
            if text is not None:
                found |= _tokens(text)
    if found & _CONCURRENCY_WORDS:
        return False
    return _limit_words(found) or (lockout and bool(found & _LOCKOUT_WORDS)) or {"too", "many"} <= found


def _project_limits(project: Project, model: FastAPIModel) -> bool:
    """Does an app of the project limit every request: a limiter middleware (slowapi's, or
    one named for rate limiting or throttling, or whose code calls a limiter), or a slowapi
    `Limiter` with `default_limits` / `application_limits`?"""
    for mw in model.middleware:
        if (mw.target or "").startswith("slowapi.") or _names_limit(mw.target):
            return True
        symbol = project.lookup(mw.target)
        if isinstance(symbol, FunctionInfo) and _code_limits([symbol.node], lockout=False):
            return True
        if isinstance(symbol, ClassInfo) and _code_limits([m.node for m in symbol.methods.values()], lockout=False):
            return True
    for obj in model.apps:
        listed = obj.keyword("middleware")
        if listed is not None and _limit_words(_tokens(ast.unparse(listed))):
            return True
    for module in project.modules:
        if module.is_test or not module.imports_module("slowapi"):
            continue
        for call in module.nodes_of(ast.Call):
            callee = project.resolve(module, call.func) if isinstance(call.func, ast.Name | ast.Attribute) else None
            if callee is None or not callee.startswith("slowapi."):
                continue
            if "Middleware" in callee or any(k.arg in {"default_limits", "application_limits"} for k in call.keywords):
                return True
    return False


def _route_limits(project: Project, route: Route) -> bool:
    """Is the route limited by a decorator (`@limiter.limit("5/minute")`), a dependency at
    any level (`Depends(RateLimiter(times=5, seconds=60))`, a router's `dependencies=`), or
    lockout logic in its endpoint, its dependencies or what they call?"""
    endpoint = route.endpoint
    if endpoint is not None:
        for deco in endpoint.node.decorator_list:
            func = deco.func if isinstance(deco, ast.Call) else deco
            if _limit_words(_tokens(ast.unparse(func))):
                return True
    roots: list[FunctionInfo] = [endpoint] if endpoint is not None else []
    for dep in route.all_dependencies():
        if _names_limit(dep.target) or _limit_words(_tokens(ast.unparse(dep.marker))):
            return True
        symbol = project.lookup(dep.target)
        if isinstance(symbol, FunctionInfo):
            roots.append(symbol)
        elif isinstance(symbol, ClassInfo):
            roots.extend(symbol.methods.values())
    return _named_dependencies_limit(project, route) or _calls_limit(project, roots)


def _named_dependencies_limit(project: Project, route: Route) -> bool:
    """Does a router of the route, or an `include_router`, take its `dependencies=` from
    a name the project model does not follow (`APIRouter(dependencies=auth_dependencies)`
    with `auth_dependencies = [Depends(login_rate_limiter)] if limits_on() else []`), and
    does that name's value name a limiter?"""
    model = project.fastapi
    calls: list[tuple[ModuleInfo, ast.Call]] = []
    owner = model.objects.get(route.router)
    if owner is not None and owner.node is not None:
        calls.append((owner.module, owner.node))
    for inc in model.include_chain(route.router):
        calls.append((inc.module, inc.node))
        parent = model.objects.get(inc.parent)
        if parent is not None and parent.node is not None:
            calls.append((parent.module, parent.node))
    for module, call in calls:
        deps = keyword(call, "dependencies")
        if isinstance(deps, ast.Name):
            value = _value_of(project, module, call, deps.id)
            if value is not None and _limit_words(_tokens(ast.unparse(value))):
                return True
    return False


def _value_of(project: Project, module: ModuleInfo, at: ast.AST, name: str) -> ast.expr | None:
    """The value last assigned to `name` before `at`, in the function around `at` (the
    innermost one), else at module level."""
    line = getattr(at, "lineno", 0)
    around = [
        f for f in project.all_functions()
        if f.module is module and f.node.lineno <= line <= (f.node.end_lineno or f.node.lineno)
    ]
    if around:
        func = max(around, key=lambda f: f.node.lineno)
        values = [
            node.value
            for node in own_nodes(func.node)
            if isinstance(node, ast.Assign)
            and node.lineno < line
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        ]
        if values:
            return max(values, key=lambda v: v.lineno)
    return module.assignments.get(name)


def _calls_limit(project: Project, roots: list[FunctionInfo]) -> bool:
    """Do the roots, or the project functions they call (`_LOOKOUT_DEPTH` calls deep),
    name a limiter or a lockout, or call a function named for one (`check_rate_limit()`)?"""
    seen: set[ast.AST] = set()
    level = roots
    for depth in range(_LOOKOUT_DEPTH + 1):
        following: list[FunctionInfo] = []
        for func in level:
            if func.node in seen:
                continue
            seen.add(func.node)
            if _code_limits([func.node], lockout=True):
                return True
            if depth == _LOOKOUT_DEPTH:
                continue
            for site in project.calls.sites_of(func):
                if _names_limit(site.target):
                    return True
                if site.callee is not None:
                    following.append(site.callee)
        level = following
    return False


def _method(route: Route) -> str:
    return next((m for m in route.methods if m in _HTTP_METHODS), route.methods[0] if route.methods else "GET")


_WHAT = {
    "password": "checks a password",
    "code": "checks a one-time code",
    "mail": "sends a reset or sign-in mail on request",
}
_FIX = {
    "password": "limit it per client and per account (slowapi's `@limiter.limit(\"5/minute\")` on the route, "
    "or a lockout after a few failures)",
    "code": "limit it per client and per account (slowapi's `@limiter.limit(\"5/minute\")` on the route, "
    "or a lockout after a few failures)",
    "mail": "limit it per client and per address (slowapi's `@limiter.limit(\"5/hour\")` on the route)",
}
_ATTACK = {
    "password": "an attacker can try leaked and guessed passwords as fast as it answers (credential stuffing, brute force)",
    "code": "an attacker can try every value of the short code until one is accepted",
    "mail": "an attacker can make it mail any address over and over (inbox flooding, a burned sender reputation)",
}


class CredentialRouteWithoutRateLimit(Rule):
    """Flags a login, token, one-time-code or password-reset route that nothing limits.

    ## What it does
    Finds the routes an anonymous caller can use to check a credential or to
    trigger a mail, from their full path, their endpoint's name and what they
    read:

    - a login or token route (`/login`, `/auth/token`, `/signin`, the
      `tokenUrl` of an `OAuth2PasswordBearer` the project builds) that reads a
      password: `OAuth2PasswordRequestForm`, `HTTPBasic`, a parameter or a
      request-model field named `password`, `form.password` in the body;
    - a one-time-code check (`/2fa/verify`, `/otp`, `/mfa`, `/verify-email`,
      a magic link) that reads a short code (`code`, `otp`, `pin`,
      `verification_code`); a second factor (`otp`, `mfa`, `2fa`, `totp` in
      its name) even from a signed-in caller, since it is the last barrier
      once the password is known;
    - the request step of a password reset or a magic link (`/forgot-password`,
      `/password-recovery`, `POST /magic`) that reads an e-mail, a user name or
      a phone number.

    It reports such a route (POST, PUT or PATCH; GET when the code comes in
    the query) when nothing limits it: no limiter decorator on it
    (`@limiter.limit("5/minute")`, anything named for rate limiting or
    throttling), no such dependency at any level (fastapi-limiter's
    `Depends(RateLimiter(...))`, a project `Depends(login_rate_limit)`, on
    the route, its routers or the app, also through a variable:
    `APIRouter(dependencies=auth_dependencies)`), no lockout in the endpoint, its
    dependencies or what they call two calls deep (a failed-attempts counter,
    `locked_until`, a CAPTCHA check, a 429 answer). A project with an app-wide
    limiter (slowapi's `SlowAPIMiddleware`, a `Limiter(default_limits=...)`,
    a middleware named for rate limiting or whose code calls a limiter) gets
    no finding at all. A cap on requests in flight (`anyio.CapacityLimiter`,
    a semaphore) is not a rate limit: one client still posts one guess after
    another as fast as each is answered.

    Left alone: routes whose name says they check nothing guessable (OAuth
    `/callback`, logout, token refresh, revocation and introspection, JWKS
    and provider metadata, SSO redirects, sign-up, API-key management, the
    enrolment of a second factor), login routes that read no password (a
    redirect to an identity provider), routes of a caller who is signed in
    already (a required bearer token or API key, `Depends(get_current_user)`,
    a `get_user_from_session_token`, `@requires("authenticated")`: an API
    token issued to its owner, a code that confirms the e-mail of the account
    in session; a scheme reached only through an `optional` dependency or
    built with `auto_error=False` lets anyone in and does not count), an
    OAuth token endpoint whose only Basic credentials are the client's (two
    dependencies down: long server-made secrets), and the reset step that
    reads a link's token and a new password (the token is a long random
    secret).

    ## Why is this bad?
    Neither FastAPI nor Starlette limits anything: checked with FastAPI 0.165,
    200 wrong passwords posted to an `OAuth2PasswordRequestForm` route got 200
    `401` answers; with a `limits` moving window of 5 per minute as a
    dependency, the sixth got `429`. Without a limit, a login route lets
    anyone replay leaked password lists against every account (credential
    stuffing) or guess one account's password; a six-digit code has a million
    values, which an unthrottled client tries in hours; and a "forgot
    password" route sends mail to any address as often as it is asked. Limit these routes per client and per
    account (slowapi's `@limiter.limit("5/minute")`, fastapi-limiter's
    `RateLimiter`), or lock an account out for a while after a few failures.
    When the reverse proxy or API gateway limits the route, say so with
    `# noqa: FX415`.

    ## References
    - https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/
    - https://owasp.org/API-Security/editions/2023/en/0xa2-broken-authentication/
    - https://github.com/OWASP/ASVS/blob/v4.0.3/4.0/en/0x11-V2-Authentication.md#v22-general-authenticator-security
    - https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks
    - https://slowapi.readthedocs.io/en/latest/
    - https://github.com/long2ice/fastapi-limiter
    """

    code = "FX415"
    name = "credential-route-without-rate-limit"
    summary = "Login, token, one-time-code or password-reset route with no rate limiting."
    severity = Severity.WARNING

    valid = (
        Valid(
            # The router's dependencies come from a variable that holds the limiter (switched
            # off only by the operator).
            """
            import os

            from fastapi import APIRouter, Depends, FastAPI, Request
            from pydantic import BaseModel

            from app.limits import ip_rate_limiter
            from app.mail import send_reset_mail

            class ResetRequest(BaseModel):
                email: str

            async def _initiate_password_reset(body: ResetRequest) -> None:
                await send_reset_mail(body.email)

            def create_auth_router() -> APIRouter:
                login_rate_limiter = ip_rate_limiter(paths=["/auth/password-reset-email"])
                auth_dependencies = [Depends(login_rate_limiter)] if not os.getenv("DISABLE_RATE_LIMIT") else []
                router = APIRouter(prefix="/auth", dependencies=auth_dependencies)
                router.add_api_route("/password-reset-email", _initiate_password_reset, methods=["POST"])
                return router

            app = FastAPI()
            app.include_router(create_auth_router())
            """,
            filename="app/main.py",
            files={
                "app/limits.py": """
                    from fastapi import Request

                    def ip_rate_limiter(paths: list[str]):
                        async def limit(request: Request) -> None:
                            return None
                        return limit
                """,
                "app/mail.py": "async def send_reset_mail(email: str) -> None:\n    return None\n",
            },
        ),
        Valid(
            # slowapi's decorator limits the login route.
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI, Request
            from fastapi.security import OAuth2PasswordRequestForm
            from slowapi import Limiter, _rate_limit_exceeded_handler
            from slowapi.errors import RateLimitExceeded
            from slowapi.util import get_remote_address

            from app.auth import issue_token

            limiter = Limiter(key_func=get_remote_address)
            app = FastAPI()
            app.state.limiter = limiter
            app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)

            @app.post("/auth/token")
            @limiter.limit("5/minute")
            async def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
                return await issue_token(form.username, form.password)
            """,
        ),
        Valid(
            # An app-wide limiter (slowapi's middleware with default limits) covers every route.
            """
            from fastapi import FastAPI
            from pydantic import BaseModel
            from slowapi import Limiter
            from slowapi.middleware import SlowAPIMiddleware
            from slowapi.util import get_remote_address

            from app.auth import check_password

            app = FastAPI()
            app.state.limiter = Limiter(key_func=get_remote_address, default_limits=["60/minute"])
            app.add_middleware(SlowAPIMiddleware)

            class Credentials(BaseModel):
                email: str
                password: str

            @app.post("/login")
            async def login(body: Credentials) -> dict[str, str]:
                return await check_password(body.email, body.password)
            """,
        ),
        Valid(
            # fastapi-limiter's dependency on the router limits every route under it.
            """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi_limiter.depends import RateLimiter
            from pydantic import BaseModel

            from app.auth import check_code, send_reset_mail

            router = APIRouter(prefix="/auth", dependencies=[Depends(RateLimiter(times=5, seconds=60))])

            class ForgotPassword(BaseModel):
                email: str

            class TwoFactor(BaseModel):
                challenge_id: str
                code: str

            @router.post("/forgot-password", status_code=202)
            async def forgot_password(body: ForgotPassword) -> None:
                await send_reset_mail(body.email)

            @router.post("/2fa/verify")
            async def verify_second_factor(body: TwoFactor) -> dict[str, str]:
                return await check_code(body.challenge_id, body.code)

            app = FastAPI()
            app.include_router(router)
            """,
        ),
        Valid(
            # A per-account lockout in the service the endpoint calls.
            """
            from datetime import datetime, timedelta, timezone

            from fastapi import APIRouter, HTTPException
            from pydantic import BaseModel

            from app.db import users
            from app.security import make_token, verify_password

            router = APIRouter(prefix="/auth")

            class Login(BaseModel):
                username: str
                password: str

            def authenticate(username: str, password: str) -> dict:
                user = users.get(username)
                now = datetime.now(timezone.utc)
                if user["locked_until"] and user["locked_until"] > now:
                    raise HTTPException(status_code=423, detail="Account locked")
                if not verify_password(password, user["password_hash"]):
                    user["failed_attempts"] += 1
                    if user["failed_attempts"] >= 5:
                        user["locked_until"] = now + timedelta(minutes=15)
                    raise HTTPException(status_code=401)
                user["failed_attempts"] = 0
                return user

            @router.post("/login")
            def login(body: Login) -> dict[str, str]:
                return {"access_token": make_token(authenticate(body.username, body.password))}
            """,
            filename="app/routes/auth.py",
        ),
        Valid(
            # Near misses: the provider's callback, logout, refresh with a long secret,
            # revocation, a login that redirects to the identity provider (it reads no
            # password), and an API token issued to a caller already signed in.
            """
            from fastapi import APIRouter, Depends, Form, Request
            from fastapi.responses import RedirectResponse
            from fastapi.security import OAuth2PasswordBearer

            from app.auth import exchange_code, issue_api_token, oauth, refresh_session, revoke

            router = APIRouter(prefix="/auth")
            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")

            async def get_current_user(token: str = Depends(oauth2_scheme)) -> str:
                return token

            @router.post("/login")
            async def login(request: Request) -> RedirectResponse:
                return await oauth.google.authorize_redirect(request, str(request.url_for("callback")))

            @router.get("/login/callback")
            async def callback(code: str, state: str) -> RedirectResponse:
                await exchange_code(code, state)
                return RedirectResponse("/")

            @router.post("/logout")
            async def logout(user: str = Depends(get_current_user)) -> None:
                return None

            @router.post("/token/refresh")
            async def refresh_token(refresh_token: str = Form()) -> dict[str, str]:
                return await refresh_session(refresh_token)

            @router.post("/token/revoke")
            async def revoke_token(token: str = Form(), password: str = Form()) -> None:
                await revoke(token, password)

            @router.post("/token/api")
            async def create_api_token(name: str, user: str = Depends(get_current_user)) -> dict[str, str]:
                return await issue_api_token(user, name)
            """,
            filename="app/routes/auth.py",
        ),
        Valid(
            # The reset step reads the mailed link's token (a long random secret) and the
            # new password: nothing short to guess. Changing one's own password needs a session.
            """
            from fastapi import APIRouter, Depends
            from pydantic import BaseModel

            from app.deps import get_current_user
            from app.users import change_password, reset_password

            router = APIRouter()

            class NewPassword(BaseModel):
                token: str
                new_password: str

            class ChangePassword(BaseModel):
                current_password: str
                new_password: str

            @router.post("/reset-password")
            async def reset(body: NewPassword) -> None:
                await reset_password(body.token, body.new_password)

            @router.post("/users/me/password")
            async def change_my_password(body: ChangePassword, user=Depends(get_current_user)) -> None:
                await change_password(user, body.current_password, body.new_password)
            """,
        ),
        Valid(
            # A project middleware named for rate limiting limits every route of the app.
            """
            from fastapi import FastAPI, Form

            from app.auth import check_password
            from app.middleware import RateLimitMiddleware

            app = FastAPI()
            app.add_middleware(RateLimitMiddleware, requests=10, seconds=1)

            @app.post("/login")
            async def login(username: str = Form(), password: str = Form()) -> dict[str, str]:
                return await check_password(username, password)
            """,
        ),
        Valid(
            # A magic link checked by GET, with a per-e-mail limiter dependency.
            """
            from fastapi import Depends, FastAPI

            from app.auth import sign_in_with_code
            from app.limits import EmailRateLimiter

            app = FastAPI()

            @app.get("/auth/magic")
            async def sign_in_with_magic_link(
                code: str, email: str, limit=Depends(EmailRateLimiter(requests=10, window=86400))
            ) -> dict[str, str]:
                return await sign_in_with_code(email, code)
            """,
        ),
        Valid(
            # An OAuth2 token endpoint for the authorization-code grant: the OAuth client's
            # id and secret (HTTP Basic, two dependencies down) are long server-made secrets,
            # and `user.hashed_password` is an ORM row's column, not a value of the request.
            # The e-mail code confirms an address for the account already in session.
            """
            from fastapi import APIRouter, Depends, Form
            from fastapi.security import HTTPBasic, HTTPBasicCredentials

            from app.models import User
            from app.oauth import issue_tokens, load_client, load_grant, users

            router = APIRouter()
            client_basic = HTTPBasic(auto_error=False)

            async def authenticate_client(credentials: HTTPBasicCredentials | None = Depends(client_basic)) -> str:
                return await load_client(credentials)

            async def validate_grant(
                grant_type: str = Form(), code: str = Form(), client: str = Depends(authenticate_client)
            ) -> dict[str, str]:
                return await load_grant(grant_type, code, client)

            async def user_from_grant(grant: dict[str, str] = Depends(validate_grant)) -> User:
                return await users.get(grant["user_id"])

            async def get_user_from_session_token(session: str = Form()) -> User:
                return await users.from_session(session)

            @router.post("/oauth/token")
            async def token(grant: dict[str, str] = Depends(validate_grant), user: User = Depends(user_from_grant)):
                return await issue_tokens(grant, user.id, user.hashed_password)

            @router.post("/email/verify")
            async def verify_email(code: str = Form(), user: User = Depends(get_user_from_session_token)) -> None:
                await users.confirm_email(user, code)
            """,
        ),
    )
    invalid = (
        Invalid(
            # The OAuth2 password flow's token route, with no limit anywhere.
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends, HTTPException
            from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

            from app.core.security import create_access_token
            from app.crud import authenticate

            router = APIRouter(prefix="/login")
            reusable_oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/login/access-token")

            @router.post("/access-token")
            def login_access_token(form_data: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
                user = authenticate(email=form_data.username, password=form_data.password)
                if user is None:
                    raise HTTPException(status_code=400, detail="Incorrect email or password")
                return {"access_token": create_access_token(user.id), "token_type": "bearer"}
            """,
            filename="app/api/routes/login.py",
            files={
                "app/__init__.py": "",
                "app/main.py": """
                    from fastapi import FastAPI

                    from app.api.routes import login

                    app = FastAPI()
                    app.include_router(login.router, prefix="/api/v1")
                """,
            },
            lines=(12,),
        ),
        Invalid(
            # A JSON login whose request model has a password, and the second factor after
            # it: a signed-in session does not make a six-digit code safe to guess.
            """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel

            from app.auth import check_password, check_totp, get_pending_user

            app = FastAPI()

            class SignIn(BaseModel):
                email: str
                password: str

            class TotpCode(BaseModel):
                otp: str

            @app.post("/v1/sessions/signin")
            async def sign_in(body: SignIn) -> dict[str, str]:
                return await check_password(body.email, body.password)

            @app.post("/v1/sessions/mfa")
            async def second_factor(body: TotpCode, user=Depends(get_pending_user)) -> dict[str, str]:
                return await check_totp(user, body.otp)
            """,
            lines=(15, 19),
        ),
        Invalid(
            # HTTP Basic credentials checked by a token route, and the request step of a
            # password reset, which mails anyone who asks.
            """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi.security import HTTPBasic, HTTPBasicCredentials

            from app.auth import create_token, send_reset_mail, verify_auth

            security = HTTPBasic()
            router = APIRouter()

            @router.post("/token/login")
            def token_login(credentials: HTTPBasicCredentials = Depends(security)) -> dict[str, str]:
                verify_auth(credentials.username, credentials.password)
                return {"access_token": create_token(credentials.username)}

            @router.post("/password-recovery/{email}")
            def recover_password(email: str) -> dict[str, str]:
                send_reset_mail(email)
                return {"message": "Password recovery email sent"}

            app = FastAPI()
            app.include_router(router, prefix="/api/v1")
            """,
            lines=(9, 14),
        ),
        Invalid(
            # A limiter on another route does not limit this one.
            """
            from fastapi import FastAPI, Form, Request
            from slowapi import Limiter
            from slowapi.util import get_remote_address

            from app.auth import check_password, search_users

            limiter = Limiter(key_func=get_remote_address)
            app = FastAPI()
            app.state.limiter = limiter

            @app.get("/users/search")
            @limiter.limit("30/minute")
            async def search(request: Request, q: str) -> list[str]:
                return await search_users(q)

            @app.post("/auth/login")
            async def login(username: str = Form(), password: str = Form()) -> dict[str, str]:
                return await check_password(username, password)
            """,
            lines=(16,),
        ),
        Invalid(
            # A middleware that caps requests in flight is not a rate limit: one client can
            # still post one password after another as fast as each is answered.
            """
            import anyio
            from fastapi import FastAPI
            from pydantic import BaseModel
            from starlette.middleware.base import BaseHTTPMiddleware

            from app.auth import check_password

            class RequestLimitMiddleware(BaseHTTPMiddleware):
                def __init__(self, app, limit: int = 100) -> None:
                    super().__init__(app)
                    self._limiter = anyio.CapacityLimiter(limit)

                async def dispatch(self, request, call_next):
                    async with self._limiter:
                        return await call_next(request)

            app = FastAPI()
            app.add_middleware(RequestLimitMiddleware, limit=100)

            class Login(BaseModel):
                username: str
                password: str

            @app.post("/api/login")
            async def login(body: Login) -> dict[str, str]:
                return await check_password(body.username, body.password)
            """,
            lines=(24,),
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        project = ctx.project
        model = project.fastapi
        token_urls: list[str] | None = None
        found: list[tuple[Route, str]] = []
        for route in model.routes:
            if route.is_websocket or route.path is None or route.module.is_test:
                continue
            if token_urls is None:
                token_urls = _token_urls(project)
            kind = self._credential_kind(project, route, token_urls)
            if kind is not None:
                found.append((route, kind))
        if not found or _project_limits(project, model):
            return
        for route, kind in found:
            if not _route_limits(project, route):
                self._report(ctx, route, kind)

    @staticmethod
    def _credential_kind(project: Project, route: Route, token_urls: list[str]) -> str | None:
        ws = _name_words(route)
        token_url = _is_token_url(route, token_urls)
        if not token_url and not ws & (_LOGIN_WORDS | _OTP_WORDS | _VERIFY_WORDS | {"token", "in", "factor", "magic", "forgot", "password"}):
            return None  # most routes: their words alone rule them out
        reads = _reads(project, route)
        kind = _kind(route, reads, token_url)
        if kind is None:
            return None
        mutates = bool(set(route.methods) & set(_HTTP_METHODS))
        if not mutates and not (kind == "code" and "GET" in route.methods and reads.code_in_signature):
            return None
        if _signed_in(project, route) and (kind != "code" or not _second_factor(route)):
            # An API token issued to its owner, a code that confirms the e-mail of the
            # account in session. A second factor is checked after the password, and is
            # the last barrier once the password is known: it counts, session or not.
            return None
        return kind

    def _report(self, ctx: ProjectContext, route: Route, kind: str) -> None:
        name = route.endpoint.name if route.endpoint is not None else "?"
        ctx.report(
            route.module,
            route.node,
            f"`{_method(route)} {route.display_path}` (`{name}`) {_WHAT[kind]} and nothing limits how often: "
            f"{_ATTACK[kind]}; {_FIX[kind]}, or, if the proxy limits it, say so with `# noqa: FX415`.",
        )
