from __future__ import annotations

import ast

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import add_import_edit, module_imports
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import lifespan_functions
from fastapi_expert.review.rules.performance._scope import name_uses
from fastapi_expert.review.rules.security._crypto import (
    is_test,
    local_value,
    module_uses,
    terminal_name,
    words,
)
from fastapi_expert.review.rules.security._web import request_functions
from fastapi_expert.review.rules.security.hardcoded_secret import is_label_value
from fastapi_expert.types import Edit, Fix, Severity

_SECRET_LAST = frozenset({"token", "secret", "signature", "hmac", "apikey"})
# A digest is a secret only as a MAC or the hash of a credential (`token_digest`,
# `expected_hmac_digest`); `config_digest`, `request_digest`, `archive.digest` fingerprint
# content, to tell versions apart.
_DIGEST_LAST = frozenset({"digest", "hexdigest"})
_DIGEST_OF = frozenset(
    {"token", "key", "secret", "password", "passwd", "hmac", "mac", "signature", "sig", "auth", "api", "apikey", "webhook", "signing", "session", "credential"}
)
_KEY_QUALIFIERS = frozenset({"api", "secret", "signing", "access", "private", "hmac", "webhook", "shared"})
_HASH_OF = frozenset({"password", "passwd", "pwd", "pw", "pass", "token", "key", "secret", "apikey"})
# `page_token`, `next_token`, `cache_token`: cursors and registry versions, not secrets.
_NOT_SECRET_QUALIFIERS = frozenset(
    {
        "cache", "page", "next", "prev", "previous", "continuation", "pagination", "cursor", "sync", "resume",
        "change", "lexer", "parser",
        # optimistic-concurrency tokens: the row's current version, sent back by the client
        "version", "revision", "concurrency",
    }
)
_NOT_VALUES = frozenset({"builtins.len", "builtins.int", "builtins.bool", "builtins.type", "builtins.id", "builtins.hash"})


_WEB_PACKAGES = ("fastapi", "starlette")
_CLI_PACKAGES = ("argparse", "click", "typer")

def _runs_for_request(ctx: FileContext) -> bool:
    """Can the current node run while serving a request? In a route, dependency or
    middleware or a function they call, or else anywhere in a web module (imports
    FastAPI / Starlette) that is not a command-line tool."""
    func = ctx.function()
    if func is not None and func.node in request_functions(ctx.project):
        return True
    return module_uses(ctx, _WEB_PACKAGES) and not module_uses(ctx, _CLI_PACKAGES)


# How many callers up a start-up-only function is looked for (a lifespan calls a
# `configure_*` helper, which calls a check, which may define an inner one).
_STARTUP_DEPTH = 4


def _runs_only_at_startup(project: Project, func: FunctionInfo, depth: int = 0) -> bool:
    """Is `func` an app's lifespan or start-up/shutdown handler, or is every use of its
    name a call from one (up to four callers up)? The server runs those before the first
    request and after the last, so no client can time a comparison there. Its callers
    are found by name (any other use of the name, a reference or a call from request
    code, leaves it checked). Asked only for a comparison about to be reported."""
    if func.node in lifespan_functions(project):
        return True
    if depth >= _STARTUP_DEPTH or func.node in request_functions(project):
        return False
    uses = [(caller, call) for caller, call in name_uses(project, func.name) if caller is not func]
    return bool(uses) and all(
        caller is not None and call is not None and _runs_only_at_startup(project, caller, depth + 1)
        for caller, call in uses
    )


def is_secret_value_name(name: str | None) -> bool:
    """`token`, `x_api_key`, `expected_signature`, `token_digest`, `hashed_password`, `token_hash`;
    not `token_type`, `token_expires`, `api_key_id`, `config_digest`."""
    if not name:
        return False
    ws = words(name)
    if not ws:
        return False
    last = ws[-1]
    if last in _SECRET_LAST:
        return not (len(ws) > 1 and ws[-2] in _NOT_SECRET_QUALIFIERS)
    if last in _DIGEST_LAST:
        return any(w in _DIGEST_OF for w in ws[:-1])
    if last == "key":
        return len(ws) > 1 and ws[-2] in _KEY_QUALIFIERS
    if last in {"hash", "hashed"}:
        return any(w in _HASH_OF for w in ws[:-1])
    if last in {"password", "passwd", "pwd"}:
        return "hashed" in ws
    return False


_ENUM_BASES = frozenset({"enum.Enum", "enum.StrEnum", "enum.IntEnum", "enum.Flag", "enum.IntFlag"})
# Last word of a class name that says its attributes are members (`SecretTypeEnum`, `AuthKind`).
_ENUM_NAME_LAST = frozenset({"enum", "type", "types", "kind", "kinds", "mode", "modes", "choice", "choices"})


def _enum_member(ctx: FileContext, expr: ast.expr) -> bool:
    """`SecretTypeEnum.signature`, `AuthKind.token`: a member of an enum (a project class
    deriving from `enum.Enum`, or a class of another package named like one), a constant
    that says *which kind* of secret is configured, not a secret value."""
    if not isinstance(expr, ast.Attribute) or not isinstance(expr.value, ast.Name | ast.Attribute):
        return False
    symbol = ctx.project.lookup(ctx.resolve(expr.value))
    if isinstance(symbol, ClassInfo):
        return bool(ctx.project.class_bases(symbol) & _ENUM_BASES)
    owner = terminal_name(expr.value) or ""
    ws = words(owner)
    return owner[:1].isupper() and not owner.isupper() and bool(ws) and ws[-1] in _ENUM_NAME_LAST


def _hmac_digest(ctx: FileContext, expr: ast.expr) -> bool:
    """`hmac.new(key, body, sha256).hexdigest()`, `hmac.digest(key, body, "sha256")`: a MAC
    computed right there, a secret whatever it is named."""
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    if (ctx.resolve(func) or "").startswith("hmac."):
        return True
    return (
        isinstance(func, ast.Attribute)
        and func.attr in _DIGEST_LAST
        and any(isinstance(n, ast.Call) and (ctx.resolve(n.func) or "").startswith("hmac.") for n in ast.walk(func.value))
    )


def _literal_constant(ctx: FileContext, expr: ast.expr) -> ast.Constant | None:
    """The literal a module-level constant (`AUTH_METHOD_API_KEY`, `_GROUP_DATE_API_KEY`) is
    bound to, in this module or imported; None for anything else."""
    name = terminal_name(expr) if isinstance(expr, ast.Name | ast.Attribute) else None
    if not name or not name.strip("_").isupper():
        return None
    symbol = ctx.project.lookup(ctx.resolve(expr))
    if isinstance(symbol, tuple) and isinstance(symbol[1], ast.Constant):
        return symbol[1]
    return None


def _label_constant(ctx: FileContext, expr: ast.expr) -> bool:
    """A constant bound to a literal that cannot be a secret: not a string (`_GROUP_DATE_API_KEY
    = 31`, a bit mask), or a string that names a kind or marks a case (`AUTH_METHOD_API_KEY =
    "api_key"`, `PTU_SENTINEL_API_KEY = "__ptu_flat_cost__"`). A literal that may be a
    default credential (`DEFAULT_API_KEY = "owner.apikey"`) stays a secret."""
    constant = _literal_constant(ctx, expr)
    if constant is None:
        return False
    if not isinstance(constant.value, str | bytes):
        return True
    name = terminal_name(expr) or ""
    return isinstance(constant.value, str) and (is_label_value(constant.value, name) or "sentinel" in words(name))


def _excluding_filter(ctx: FileContext, node: ast.Compare) -> bool:
    """`[key for key in keys if key.token != hashed_key]`: a `!=` that is the whole filter of a
    comprehension drops the one matching item from a collection (the key being updated,
    the session to keep); it selects, and grants nothing whatever the timing."""
    if not isinstance(node.ops[0], ast.NotEq):
        return False
    child: ast.AST = node
    for parent in reversed(ctx.ancestors):
        if isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.And):
            child = parent  # `row.token is not None and row.token != keep`: still the item's test
            continue
        return isinstance(parent, ast.comprehension) and any(c is child for c in parent.ifs)
    return False


def _is_cursor_name(name: str | None) -> bool:
    ws = words(name or "")
    return len(ws) > 1 and ws[-1] == "token" and ws[-2] in _NOT_SECRET_QUALIFIERS


def _is_value(ctx: FileContext, expr: ast.expr) -> bool:
    """Could this operand be a secret string? Not a literal, None, or `len(...)`."""
    if isinstance(expr, ast.Constant):
        return False
    if isinstance(expr, ast.Tuple | ast.List) and all(isinstance(e, ast.Constant) for e in expr.elts):
        return False
    if isinstance(expr, ast.Call) and ctx.resolve(expr.func) in _NOT_VALUES:
        return False
    return not (isinstance(expr, ast.Attribute) and expr.attr in {"length", "size"})


def _in_test_position(ctx: FileContext, node: ast.Compare) -> bool:
    """The comparison decides an `if`/`while`/`assert`/`return`/ternary/comprehension filter,
    possibly through `and`/`or`/`not` (not inside a call: `.where(Key.hash == h)` is SQL)."""
    child: ast.AST = node
    for anc in reversed(ctx.ancestors):
        if isinstance(anc, ast.BoolOp) or (isinstance(anc, ast.UnaryOp) and isinstance(anc.op, ast.Not)):
            child = anc
            continue
        if isinstance(anc, ast.If | ast.While | ast.IfExp | ast.Assert):
            return anc.test is child
        if isinstance(anc, ast.Return):
            return anc.value is child
        if isinstance(anc, ast.comprehension):
            return any(c is child for c in anc.ifs)
        return False
    return False


_OPTIONAL_READERS = frozenset({"os.getenv", "os.environ.get"})


def _optional_annotation(annotation: ast.expr | None) -> bool:
    """`str | None`, `Optional[str]`, `Union[str, None]`."""
    if annotation is None:
        return False
    for node in ast.walk(annotation):
        if isinstance(node, ast.Constant) and node.value is None:
            return True
        if isinstance(node, ast.Name | ast.Attribute) and (terminal_name(node) or "") == "Optional":
            return True
    return False


def _may_be_none(ctx: FileContext, expr: ast.expr) -> bool:
    """Can the operand be `None`: a parameter typed `X | None` or defaulting to `None`
    (`Depends(APIKeyHeader(..., auto_error=False))` gives `None` for a missing header), or a
    name bound to `os.getenv(name)` or `mapping.get(key)` without a default?"""
    func = ctx.function()
    if isinstance(expr, ast.Name) and func is not None:
        args = func.node.args
        positional = [*args.posonlyargs, *args.args]
        padded: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults = dict(zip([a.arg for a in positional], [*padded, *args.defaults], strict=True))
        defaults.update(zip([a.arg for a in args.kwonlyargs], args.kw_defaults, strict=True))
        for param in [*positional, *args.kwonlyargs]:
            if param.arg == expr.id:
                default = defaults.get(param.arg)
                return _optional_annotation(param.annotation) or (
                    isinstance(default, ast.Constant) and default.value is None
                )
    value = local_value(ctx, expr) if isinstance(expr, ast.Name) else expr
    if not isinstance(value, ast.Call) or len(value.args) > 1 or any(k.arg == "default" for k in value.keywords):
        return False
    # `os.getenv(name)`, and `mapping.get(key)` (`env_vars.get(...)`, `request.headers.get(...)`).
    if ctx.resolve(value.func) in _OPTIONAL_READERS:
        return True
    return isinstance(value.func, ast.Attribute) and value.func.attr == "get" and len(value.args) == 1


_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def _is_log_call(ctx: FileContext, stmt: ast.stmt) -> bool:
    """`logger.warning(...)`, `logging.info(...)`, `warnings.warn(...)`, `print(...)`."""
    if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
        return False
    func = stmt.value.func
    if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
        return True
    return ctx.resolve(func) in {"warnings.warn", "builtins.print"}


def _only_logs(ctx: FileContext, node: ast.Compare) -> bool:
    """Does the comparison decide an `if` with no `else` whose body only logs (`if
    old.ssh_key != new.ssh_key: logger.warning("key changed")`)? That is a change check:
    the code goes on the same way whatever the result, so nothing is granted on a match
    and the stored value is not an oracle that answers repeated guesses."""
    for anc in reversed(ctx.ancestors):
        if isinstance(anc, ast.If):
            if not any(n is node for n in ast.walk(anc.test)):
                return False
            return not anc.orelse and all(_is_log_call(ctx, stmt) for stmt in anc.body)
        if not isinstance(anc, ast.BoolOp | ast.UnaryOp):
            return False
    return False


def _hashes(ctx: FileContext, expr: ast.expr, name: str) -> bool:
    """Does `expr` contain a hash of the local `name`: `get_token_hash(token)`,
    `hashlib.sha256(token.encode()).hexdigest()`, `hash_api_key(key)`?"""
    for node in ast.walk(expr):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        callee = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        target = ctx.resolve(func) or ""
        hashing = target.startswith(("hashlib.", "hmac.")) or (
            callee != "hash" and bool({"hash", "digest", "hexdigest"} & set(words(callee)))
        )
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if hashing and any(isinstance(n, ast.Name) and n.id == name for a in arguments for n in ast.walk(a)):
            return True
    return False


def _found_by_hash_of(ctx: FileContext, func: FunctionInfo, name: str, before: int) -> set[str]:
    """Locals of `func` (assigned before line `before`) whose value comes, through other
    locals, from an expression that hashes `name`: the hash itself, the query filtered on
    it, the row that query returned (`res = await session.execute(select(User).where(
    User.token_hash == get_token_hash(token)))`, `user = res.scalar()`)."""
    bindings: list[tuple[list[str], ast.expr]] = []
    for node in own_nodes(func.node):
        if getattr(node, "lineno", before) >= before:
            continue
        targets: list[ast.expr]
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.For | ast.AsyncFor):
            targets, value = [node.target], node.iter
        else:
            continue
        names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and n.id != name]
        if names:
            bindings.append((names, value))
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for names, value in bindings:
            if set(names) <= found:
                continue
            if _hashes(ctx, value, name) or any(isinstance(n, ast.Name) and n.id in found for n in ast.walk(value)):
                found.update(names)
                changed = True
    return found


def _checked_after_hash_lookup(ctx: FileContext, node: ast.Compare) -> bool:
    """`if user.token.plaintext() != token` where `user` was found by the hash of `token`:
    only a guess whose digest matches reaches the comparison, so it leaks nothing a
    guess could use (the plaintext check only guards against a digest collision)."""
    func = ctx.function()
    if func is None:
        return False
    left, right = node.left, node.comparators[0]
    for presented, other in ((left, right), (right, left)):
        if not isinstance(presented, ast.Name):
            continue
        found = _found_by_hash_of(ctx, func, presented.id, node.lineno)
        if found and any(isinstance(n, ast.Name) and n.id in found for n in ast.walk(other)):
            return True
    return False


class NonConstantTimeCompare(Rule):
    """Flags a token, API key, signature or hash compared with `==` / `!=`.

    ## What it does
    Finds `a == b` / `a != b` where one operand is named like a secret value
    (`token`, `x_api_key`, `settings.api_key`, `signature`, `expected_hmac`,
    `token_digest`, `hashed_password`, `request.headers.get("X-API-Key")`) or is
    an HMAC (`hmac.new(...).hexdigest()`) and the other is not a literal, `None`
    or a length, when the comparison decides an `if`, `while`, `assert`,
    `return` or conditional expression. A digest counts only as a MAC or the hash
    of a credential: `config_digest`, `request_digest` or `archive.digest`
    fingerprint content, and `version_token` is the row version a client sends
    back. A module constant bound to a literal that cannot be a secret is not
    one either: a number (`GROUP_BY_API_KEY = 0b0011`), a kind spelled like its
    name (`AUTH_METHOD_API_KEY = "api_key"`), a marker (`"__no_key__"`, a
    `..._SENTINEL_...` name). Nor is a `!=` that is a comprehension's filter, alone
    or joined by `and` (`[k for k in keys if k.token != hashed]`): it drops one
    item, granting nothing. Comparisons
    passed to a call (SQLAlchemy `.where(ApiKey.key_hash == digest)`) are SQL,
    not Python string comparison, and are not flagged; nor is `token_type ==
    "bearer"`, nor a member of an enum (`settings.secret_type ==
    SecretTypeEnum.signature`: a project class deriving from `enum.Enum`, or a
    class of another package named `...Enum`, `...Type`, `...Kind`, `...Mode`),
    which says which kind of secret is configured, not what it is. Nor is the
    check of a presented token against the row that was looked up by that
    token's hash (`user = find(token_hash=sha256(token))`, then `if
    user.token != token`): only a guess whose digest matches gets that far, so
    the timing tells an attacker nothing. Nor is a comparison that only
    decides whether to log (`if old.ssh_key != new.ssh_key:
    logger.warning(...)`, no `else`): a change check that grants nothing and
    goes on the same way whatever the result. Only code that can run for a request is checked: a route
    endpoint, a dependency, a middleware, a project function any of them calls
    (at any depth), or any code of a module that imports FastAPI or Starlette
    and is not a command-line tool (`argparse`, `click`, `typer`). A CLI
    comparing the token of its own config file with its argument is not
    flagged: nobody can time it. Nor is code that only an app's lifespan or
    start-up/shutdown handler runs (every use of the function's name is a call
    from one, up to four callers up), such as a start-up warning that a user
    still has the default API key: it runs before the first request, when no
    client can time it; a check that request code also calls stays flagged.
    Test files are skipped.

    ## Why is this bad?
    `==` on strings and bytes returns at the first differing character, so the
    time it takes leaks how many leading characters of a guess are right. An
    attacker who can time many requests recovers the secret one character at a
    time. `secrets.compare_digest` (the same function as
    `hmac.compare_digest`) takes the same time whatever the inputs.

    ## Fix safety
    The fix rewrites the comparison to `secrets.compare_digest(a, b)` (with
    `not` for `!=`) and adds `import secrets`. It is unsafe: `compare_digest`
    raises `TypeError` instead of returning `False` when the operands are not
    both `str` or both bytes-like, when a `str` holds non-ASCII characters, or
    when one of them is `None` (an unset optional setting); encode both sides to
    bytes, or check for `None` first. When an operand can be `None` (a
    parameter typed `X | None`, a header read with `auto_error=False`, a value
    of `os.getenv(name)` or `mapping.get(key)`), the message says to reject it
    first. The message shows the bytes form, `compare_digest(a.encode(),
    b.encode())`: a request header is text Starlette decodes as latin-1, so a
    client can send the non-ASCII characters that make the `str` form raise.

    ## References
    - https://docs.python.org/3/library/secrets.html#secrets.compare_digest
    - https://docs.python.org/3/library/hmac.html#hmac.compare_digest
    - https://fastapi.tiangolo.com/advanced/security/http-basic-auth/#timing-attacks
    - https://cwe.mitre.org/data/definitions/208.html
    """

    code = "FX412"
    name = "non-constant-time-compare"
    summary = "A token, API key or signature is compared with `==`, leaking it through timing."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            import secrets

            from fastapi import Depends, HTTPException, Security
            from fastapi.security import APIKeyHeader
            from sqlalchemy import select

            from app.db import AsyncSession, get_session
            from app.models import ApiKey
            from app.settings import settings

            api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)

            async def require_api_key(x_api_key: str | None = Security(api_key_header)) -> None:
                if x_api_key is None or x_api_key == "" or len(x_api_key) != 43:
                    raise HTTPException(status_code=401, detail="Missing API key")
                if not secrets.compare_digest(x_api_key.encode(), settings.api_key.encode()):
                    raise HTTPException(status_code=401, detail="Invalid API key")

            async def find_key(digest: str, session: AsyncSession = Depends(get_session)) -> ApiKey | None:
                result = await session.execute(select(ApiKey).where(ApiKey.key_hash == digest))
                return result.scalar_one_or_none()

            def is_bearer(token_type: str) -> bool:
                return token_type == "bearer"
            """
        ),
        Valid(
            """
            from fastapi.testclient import TestClient

            from app.main import app

            def test_login_returns_token():
                client = TestClient(app)
                token = client.post("/token", data={"username": "a", "password": "b"}).json()["access_token"]
                assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()["token"] == token
            """,
            filename="tests/test_auth.py",
        ),
        Valid(
            """
            import argparse

            from app.config import load_config, save_config

            def configure(args: argparse.Namespace) -> None:
                config = load_config()
                current = config.projects.get(args.name)
                if current is not None and current.token != args.token:
                    answer = input(f"Replace the token of project {args.name}? [y/N] ")
                    if answer.strip().lower() != "y":
                        return
                config.projects[args.name] = args
                save_config(config)

            def main() -> None:
                parser = argparse.ArgumentParser(prog="orders")
                parser.add_argument("--name", required=True)
                parser.add_argument("--token", required=True)
                configure(parser.parse_args())
            """,
            filename="app/cli.py",
            files={
                "app/config.py": (
                    "class Config:\n    projects: dict = {}\n\n"
                    "def load_config() -> Config:\n    return Config()\n\n"
                    "def save_config(config: Config) -> None:\n    pass\n"
                ),
            },
        ),
        Valid(
            """
            import enum
            import hashlib
            import hmac

            from fastapi import HTTPException, Request
            from hookschemas import SecretTypeEnum  # an enum of another package

            from app.config import settings

            class Fallback(str, enum.Enum):
                token = "token"
                deny = "deny"

            async def verify_hook(request: Request) -> None:
                received = request.headers.get("X-Hook-Secret", "")
                if settings.hook_secret_type == SecretTypeEnum.signature:
                    body = await request.body()
                    expected = hmac.new(settings.hook_secret.encode(), body, hashlib.sha256).hexdigest()
                    if not hmac.compare_digest(expected, received):
                        raise HTTPException(status_code=401)
                elif settings.hook_fallback == Fallback.token:
                    if not hmac.compare_digest(received.encode(), settings.hook_secret.encode()):
                        raise HTTPException(status_code=401)
                else:
                    raise HTTPException(status_code=401)
            """,
            filename="app/hooks.py",
            files={"app/config.py": "class Settings:\n    hook_secret = ''\n\nsettings = Settings()\n"},
        ),
        Valid(
            """
            import hashlib

            from fastapi import Depends, Header, HTTPException
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import Account

            def token_digest(token: str) -> str:
                return hashlib.sha256(token.encode()).hexdigest()

            async def account_for_token(
                token: str = Header(alias="X-Token"), session: AsyncSession = Depends(get_session)
            ) -> Account:
                digest = token_digest(token)
                result = await session.execute(select(Account).where(Account.token_digest == digest))
                account = result.scalar_one_or_none()
                # Found by the token's SHA-256: only the right token gets here; the plaintext
                # check guards against a digest collision.
                if account is None or account.decrypted_token() != token:
                    raise HTTPException(status_code=401)
                return account
            """,
            filename="app/auth.py",
            files={
                "app/db.py": "async def get_session():\n    yield None\n",
                "app/models.py": (
                    "class Account:\n    token_digest = ''\n\n"
                    "    def decrypted_token(self) -> str:\n        return ''\n"
                ),
            },
        ),
        Valid(
            """
            import logging

            from fastapi import APIRouter
            from pydantic import BaseModel

            from app.store import store

            logger = logging.getLogger(__name__)
            router = APIRouter()

            class Registration(BaseModel):
                project: str
                ssh_private_key: str

            @router.post("/registry/projects")
            async def register_project(body: Registration) -> None:
                old = await store.get_project(body.project)
                # A change check: the new key replaces the old one whatever the result.
                if old is not None and old.ssh_private_key != body.ssh_private_key:
                    logger.warning("SSH key of %s changed", body.project)
                await store.set_project(body.project, body.ssh_private_key)
            """,
            filename="app/registry.py",
            files={
                "app/store.py": (
                    "class Store:\n"
                    "    async def get_project(self, name: str) -> object:\n        return None\n\n"
                    "    async def set_project(self, name: str, key: str) -> None:\n        pass\n\n"
                    "store = Store()\n"
                ),
            },
        ),
        Valid(
            """
            import contextlib
            import logging

            from fastapi import FastAPI

            from app.db import session_scope
            from app.models import User

            logger = logging.getLogger(__name__)
            DEFAULT_USERNAME = "owner"
            DEFAULT_API_KEY = "owner.apikey"

            async def warn_about_default_credentials() -> None:
                # Run once by the lifespan, before the first request: nobody can time it.
                def has_default_key(user: User) -> bool:
                    return user.api_key == DEFAULT_API_KEY

                async with session_scope() as session:
                    owner = await User.get_by(session, username=DEFAULT_USERNAME)
                    if owner is not None and has_default_key(owner):
                        logger.warning("User %r still has the default API key", DEFAULT_USERNAME)

            async def configure_database() -> None:
                await warn_about_default_credentials()

            @contextlib.asynccontextmanager
            async def lifespan(app: FastAPI):
                await configure_database()
                yield

            app = FastAPI(lifespan=lifespan)
            """,
            filename="app/main.py",
            files={
                "app/db.py": "def session_scope():\n    return None\n",
                "app/models.py": (
                    "class User:\n    api_key = ''\n\n"
                    "    @classmethod\n    async def get_by(cls, session: object, **kw: object) -> 'User | None':\n"
                    "        return None\n"
                ),
            },
        ),
        Valid(
            """
            import hashlib

            from fastapi import FastAPI, Header, HTTPException

            from app.auth import AUTH_METHOD_API_KEY, current_auth_method
            from app.store import keys_of_team, save_archive

            app = FastAPI()
            GROUP_BY_API_KEY = 0b0011  # a grouping level, not a key
            UNUSED_SENTINEL_API_KEY = "__no_key__"

            @app.get("/usage")
            def usage(level: int, api_key: str) -> dict[str, bool]:
                return {
                    "by_key": level == GROUP_BY_API_KEY,  # an int constant is never a secret
                    "attributed": api_key != UNUSED_SENTINEL_API_KEY,  # a marker value
                    "integration": current_auth_method() == AUTH_METHOD_API_KEY,  # "api_key": a kind
                }

            @app.put("/skills/{name}")
            def upload(name: str, body: bytes, if_match: str = Header()) -> dict[str, str]:
                archive_digest = hashlib.sha256(body).hexdigest()
                if if_match != archive_digest:  # a content fingerprint, not a MAC
                    raise HTTPException(status_code=412)
                save_archive(name, body)
                return {"digest": archive_digest}

            @app.put("/teams/{team}/keys/{key_hash}")
            def update_key(team: str, key_hash: str, version_token: str, expected: str) -> list[str]:
                if version_token != expected:  # the row's version, sent back by the client
                    raise HTTPException(status_code=409)
                # `!=` as a filter drops the key being updated: it selects, it grants nothing.
                return [k.name for k in keys_of_team(team) if k.token is not None and k.token != key_hash]
            """,
            filename="app/main.py",
            files={
                "app/auth.py": (
                    "AUTH_METHOD_API_KEY = 'api_key'\n\n"
                    "def current_auth_method() -> str:\n    return 'session'\n"
                ),
                "app/store.py": (
                    "def keys_of_team(team: str) -> list:\n    return []\n\n"
                    "def save_archive(name: str, body: bytes) -> None:\n    pass\n"
                ),
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Header, HTTPException

            from app.settings import settings

            async def require_api_key(x_api_key: str = Header()) -> None:
                if x_api_key != settings.api_key:
                    raise HTTPException(status_code=401, detail="Invalid API key")
            """,
            lines=(6,),
            fixed="""
            from fastapi import Header, HTTPException

            from app.settings import settings
            import secrets

            async def require_api_key(x_api_key: str = Header()) -> None:
                if not secrets.compare_digest(x_api_key, settings.api_key):
                    raise HTTPException(status_code=401, detail="Invalid API key")
            """,
        ),
        Invalid(
            """
            import hashlib
            import hmac
            import secrets

            from fastapi import Request

            from app.settings import settings

            async def verify_webhook(request: Request) -> bool:
                body = await request.body()
                expected = hmac.new(settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
                return expected == request.headers.get("X-Signature", "")
            """,
            lines=(12,),
            fixed="""
            import hashlib
            import hmac
            import secrets

            from fastapi import Request

            from app.settings import settings

            async def verify_webhook(request: Request) -> bool:
                body = await request.body()
                expected = hmac.new(settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
                return secrets.compare_digest(expected, request.headers.get("X-Signature", ""))
            """,
        ),
        Invalid(
            """
            import os


            def key_matches(presented: str) -> bool:
                expected_api_key = os.environ["SERVICE_API_KEY"]
                return presented == expected_api_key


            def rotation_needed(stored_token: str, new_token: str) -> bool:
                # Called by the key-rotation script only: never runs for a request.
                return stored_token != new_token
            """,
            lines=(6,),
            filename="app/keys.py",
            files={
                "app/main.py": """
                    from fastapi import Depends, FastAPI, Header, HTTPException

                    from app.keys import key_matches

                    app = FastAPI()

                    def require_service_key(x_api_key: str = Header()) -> None:
                        if not key_matches(x_api_key):
                            raise HTTPException(status_code=401, detail="Invalid API key")

                    @app.post("/jobs", dependencies=[Depends(require_service_key)])
                    def enqueue(job: dict) -> dict:
                        return job
                    """,
            },
            fixed="""
            import os
            import secrets


            def key_matches(presented: str) -> bool:
                expected_api_key = os.environ["SERVICE_API_KEY"]
                return secrets.compare_digest(presented, expected_api_key)


            def rotation_needed(stored_token: str, new_token: str) -> bool:
                # Called by the key-rotation script only: never runs for a request.
                return stored_token != new_token
            """,
        ),
        Invalid(
            """
            import os

            from fastapi import Depends, HTTPException, Request
            from fastapi.security import APIKeyHeader

            SERVICE_API_KEY = os.getenv("SERVICE_API_KEY")
            api_key_header = APIKeyHeader(name="X-Service-Key", auto_error=False)

            def check_service_key(service_api_key: str | None = Depends(api_key_header)) -> None:
                # A missing header gives None: `compare_digest` would raise instead of refusing.
                if service_api_key != SERVICE_API_KEY:
                    raise HTTPException(status_code=401)

            def check_admin_api_key(admin_api_key: str = Depends(api_key_header)) -> None:
                if SERVICE_API_KEY == admin_api_key:
                    return
                raise HTTPException(status_code=403)

            def forwarded_by_proxy(request: Request) -> bool:
                return request.headers.get("X-Service-Key") == SERVICE_API_KEY
            """,
            lines=(11, 15, 20),
            filename="app/security.py",
        ),
        Invalid(
            """
            import contextlib

            from fastapi import Depends, FastAPI, Header, HTTPException

            DEFAULT_API_KEY = "owner.apikey"

            def is_default_key(api_key: str) -> bool:
                return api_key == DEFAULT_API_KEY

            @contextlib.asynccontextmanager
            async def lifespan(app: FastAPI):
                assert not is_default_key("rotated")
                yield

            def refuse_default_key(x_api_key: str = Header()) -> None:
                # The same check also runs for every request: a client can time it.
                if is_default_key(x_api_key):
                    raise HTTPException(status_code=403)

            app = FastAPI(lifespan=lifespan, dependencies=[Depends(refuse_default_key)])
            """,
            lines=(8,),
            filename="app/main.py",
        ),
    )

    def visit_Compare(self, node: ast.Compare, ctx: FileContext) -> None:
        if len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq | ast.NotEq) or is_test(ctx):
            return
        left, right = node.left, node.comparators[0]
        if not (_is_value(ctx, left) and _is_value(ctx, right)):
            return
        if any(_is_cursor_name(terminal_name(s)) for s in (left, right)):
            return  # `cache_token != current_token`: a version or page cursor
        secret = next(
            (
                s
                for s in (left, right)
                if (is_secret_value_name(terminal_name(s)) or _hmac_digest(ctx, s)) and not _enum_member(ctx, s)
            ),
            None,
        )
        if secret is None or not _in_test_position(ctx, node) or not _runs_for_request(ctx):
            return
        if _label_constant(ctx, left) or _label_constant(ctx, right) or _excluding_filter(ctx, node):
            return  # `context.method == AUTH_METHOD_API_KEY`, `[k for k in keys if k.token != mine]`
        other = right if secret is left else left
        other_name = terminal_name(other) or ""
        if (
            isinstance(other, ast.Name | ast.Attribute)
            and other_name.isupper()
            and not is_secret_value_name(other_name)
        ):
            return  # `token == END_ELEMENT`: an enum-like constant, not a secret
        func = ctx.function()
        if func is not None and func.name in {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__"}:
            return
        if _checked_after_hash_lookup(ctx, node) or _only_logs(ctx, node):
            return
        if func is not None and _runs_only_at_startup(ctx.project, func):
            return  # a start-up check (`user.api_key == DEFAULT_API_KEY`): no request times it
        negate = isinstance(node.ops[0], ast.NotEq)
        call = f"secrets.compare_digest({ctx.source.segment(left)}, {ctx.source.segment(right)})"
        fix = None
        bound = ctx.module.imports.get("secrets")
        if bound is None or bound == "secrets":
            edits: list[Edit] = [ctx.source.replace(node, f"not {call}" if negate else call)]
            if not module_imports(ctx, "secrets"):
                extra = add_import_edit(ctx, "import secrets")
                if extra is not None:
                    edits.append(extra)
            fix = Fix("Compare with `secrets.compare_digest()`", tuple(edits), safe=False)
        shown = ctx.source.segment(secret)
        if len(shown) > 40:
            shown = terminal_name(secret) or shown
        # Compare bytes: a header Starlette decodes as latin-1 can hold non-ASCII text,
        # on which `compare_digest(str, str)` raises `TypeError` (a crafted request, a 500).
        advice = "use `secrets.compare_digest(a.encode(), b.encode())`"
        optional = next((s for s in (left, right) if _may_be_none(ctx, s)), None)
        if optional is not None:
            # `compare_digest(None, "k")` raises `TypeError`: a missing header would become a 500.
            advice += (
                f" after rejecting a missing `{ctx.source.segment(optional)}` "
                "(`compare_digest` raises `TypeError` for `None`, and for a `str` holding non-ASCII text)"
            )
        else:
            advice += " (on a `str` holding non-ASCII text, `compare_digest` raises `TypeError`)"
        ctx.report(
            node,
            f"`{shown}` is compared with `{'!=' if negate else '=='}`, which leaks "
            f"how much of a guess matches through timing; {advice}.",
            fix=fix,
        )
