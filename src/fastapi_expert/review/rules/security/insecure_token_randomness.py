from __future__ import annotations

import ast
from itertools import pairwise

from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import is_test, local_value
from fastapi_expert.review.rules.security._web import emit, words
from fastapi_expert.types import Severity

_RANDOM_FUNCS = frozenset(
    {"choice", "choices", "randint", "randrange", "getrandbits", "random", "sample", "randbytes"}
)
_RANDOM_RECEIVERS = ("random.", "random.Random.")
_UUIDS = {"uuid.uuid1": "uuid1", "uuid.uuid4": "uuid4"}

# Words of a name that make the value a secret.
_SECRET_WORDS = frozenset(
    {"token", "secret", "otp", "nonce", "password", "passwd", "pwd", "salt", "csrf", "xsrf",
     "session", "sid", "reset", "verification", "passcode", "pin"}
)
# Two-word secrets: `api_key`, `access_key`...
_KEY_PREFIXES = frozenset({"api", "access", "private", "signing", "secret", "auth", "encryption", "hmac"})
# `code` is a secret in `reset_code`, `otp_code`, `code`; not in `status_code`.
_PUBLIC_CODES = frozenset(
    {"status", "country", "zip", "postal", "error", "color", "colour", "currency", "language",
     "lang", "http", "exit", "return", "response", "area", "region", "iso", "locale", "event",
     "type", "item", "product", "sku", "airport", "dial", "phone", "state", "city", "short",
     "source", "qr", "bar", "barcode", "hex", "ascii", "char", "key"}
)
# Not secret even though they contain a word above.
_PUBLIC_NAMES = frozenset({"session_name", "token_type", "token_count", "tokens"})
# A `uuid4()` named with one of these identifies an owner or a request (`lock_token`,
# `owner_token`, `trace_token`, `idempotency_token`): it is never checked as a secret.
_UUID_ID_WORDS = frozenset(
    {"lock", "locks", "locked", "owner", "ownership", "trace", "tracing", "correlation",
     "idempotency", "idempotent",
     # optimistic concurrency: the row's current version, which editors read and send back
     "version", "revision", "etag"}
)
# A call named with one of these takes or gives back a reservation, lock or lease; a
# `uuid4()` handed to it (`acquire_reservation(owner=token)`, `_release_busy(rag, token)`)
# names the owner that holds it.
_SLOT_API_WORDS = frozenset(
    {"acquire", "release", "reserve", "reservation", "lock", "unlock", "lease", "slot", "busy", "claim"}
)
_OWNER_KEYWORDS = frozenset({"owner", "owner_token", "owner_id", "holder"})
# Calls a value passes through unchanged in kind (`str(uuid4())`, `"".join(...)`, a hash or
# an encoding of it): the name the result is bound to names the value itself. Any other
# call takes the value and gives back something else (`token = var.set(uuid4())`).
_PASS_THROUGH = frozenset({"str", "bytes", "repr", "format", "int", "hex", "map", "list", "tuple"})
_PASS_THROUGH_MODULES = ("hashlib.", "hmac.", "base64.", "binascii.")


# Code whose `session_id` / `token` names an anonymous usage-reporting session (sent out
# with telemetry, never given to a client to authenticate with): the word may be on the
# value's own name, on an enclosing function or class, or on the module.
_TELEMETRY_WORDS = frozenset(
    {"telemetry", "analytics", "tracking", "tracker", "metrics", "instrumentation", "heartbeat"}
)


# A function or class named with one of these hands out or takes back a slot of a lock,
# limiter or lease (`LimitManager.acquire`, `release_slot`): a `uuid4()` it makes names the
# borrower that holds the slot, an in-process identity nobody presents as a credential.
_SLOT_WORDS = frozenset(
    {"acquire", "release", "borrow", "borrower", "lease", "leases", "limiter", "semaphore",
     "slot", "slots", "mutex", "lock", "locks"}
)
# ...unless the value's own name says it is a credential (`acquire_access_token`).
_CREDENTIAL_WORDS = frozenset(
    {"access", "refresh", "auth", "api", "apikey", "session", "reset", "csrf", "xsrf", "otp", "password",
     "secret", "bearer", "jwt", "invite", "invitation", "verification"}
)


# A name ending in `<party>_id` (`csrf_client_id`, `session_device_id`) says which client,
# device or worker something belongs to: the party sends it openly next to the secret it was
# issued (a CSRF token the server makes), so it is an identity, never the secret itself.
# (`session_id` stays a secret: there the id *is* the session's credential.)
_PARTY_WORDS = frozenset(
    {"client", "device", "installation", "install", "instance", "browser", "machine", "worker", "agent",
     "node", "host", "tab", "window", "process"}
)


def _uuid_identifier(name: str) -> bool:
    parts = words(name)
    if set(parts) & _UUID_ID_WORDS:
        return True
    if len(parts) > 1 and parts[-1] in {"id", "uuid"} and parts[-2] in _PARTY_WORDS:
        return True
    return any(a == "request" and b == "id" for a, b in pairwise(parts))


def _enclosing_names(ctx: FileContext) -> list[str]:
    """The names of the functions and classes around the current node, innermost first."""
    names: list[str] = []
    func = ctx.function()
    while func is not None:
        names += [func.name, func.class_name or ""]
        func = func.parent
    cls = ctx.in_class()
    if cls is not None:
        names.append(cls.name)
    return [n for n in names if n]


def _borrower_identity(ctx: FileContext, name: str) -> bool:
    """`token = uuid4()` in `LimitManager.acquire()`: the identity of a slot's borrower."""
    if set(words(name)) & _CREDENTIAL_WORDS:
        return False
    return any(set(words(n)) & _SLOT_WORDS for n in _enclosing_names(ctx))


def _in_telemetry_code(ctx: FileContext) -> bool:
    """Is the call in telemetry code: a function, class or module named for it
    (`_fetch_or_set_telemetry_session`, `class AnalyticsClient`, `app/telemetry.py`)?"""
    names = [ctx.module.name.rsplit(".", 1)[-1], *_enclosing_names(ctx)]
    return any(set(words(n)) & _TELEMETRY_WORDS for n in names if n)


def _callee_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _passes_through(call: ast.Call, ctx: FileContext) -> bool:
    """Does `call`'s result still hold the argument's value (`str(v)`, `"".join(v)`, a
    `hashlib` digest or `base64` encoding of it)?"""
    func = call.func
    if isinstance(func, ast.Name) and func.id in _PASS_THROUGH:
        return True
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Constant):
        return True  # `"".join(...)`, `"{}-{}".format(...)`
    if isinstance(func, ast.Attribute) and func.attr in {"encode", "decode", "hex", "upper", "lower"}:
        return True
    return (ctx.resolve(func) or "").startswith(_PASS_THROUGH_MODULES)


def _handed_to_slot_api(ctx: FileContext, name: str) -> bool:
    """Is the value named `name` handed, in the current function, to a call that takes or
    releases a reservation, lock or lease (`acquire_reservation(..., owner=token)`,
    `_acquire_destructive_busy(rag, destructive_token)`, `reserve_slot(rag, ticket.token)`)?
    It then names the owner of that slot: an in-process identity, not a credential."""
    func = ctx.function()
    if func is None:
        return False

    def mentions(expr: ast.expr) -> bool:
        return (isinstance(expr, ast.Name) and expr.id == name) or (
            isinstance(expr, ast.Attribute) and expr.attr == name
        )

    for node in ast.walk(func.node):
        if not isinstance(node, ast.Call):
            continue
        if any(k.arg in _OWNER_KEYWORDS and mentions(k.value) for k in node.keywords):
            return True
        if set(words(_callee_name(node))) & _SLOT_API_WORDS and any(
            mentions(a) for a in [*node.args, *(k.value for k in node.keywords)]
        ):
            return True
    return False


def _caller_supplied_fallback(ctx: FileContext, child: ast.AST, parent: ast.BoolOp) -> bool:
    """`session_id = request.session_id or str(uuid4())`: the `uuid4()` only fills in for a
    value the caller may give (an operand before it reads a parameter), so whoever calls
    picks the value: it is an identifier, never a secret."""
    if not isinstance(parent.op, ast.Or) or parent.values[0] is child:
        return False
    func = ctx.function()
    params: set[str] = set()
    while func is not None:  # an enclosing function's parameters reach a nested one too
        args = func.node.args
        params |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]} - {"self", "cls"}
        func = func.parent
    if not params:
        return False
    before = parent.values[: next(i for i, v in enumerate(parent.values) if v is child)]
    names = [n for v in before for n in ast.walk(v) if isinstance(n, ast.Name)]
    if any(n.id in params for n in names):
        return True
    # One local hop: `processed_inputs = dict(arguments)`, then `processed_inputs.pop("session_id")`.
    return any(
        isinstance(m, ast.Name) and m.id in params
        for n in names
        if (bound := local_value(ctx, n)) is not n
        for m in ast.walk(bound)
    )


_SESSION_WORDS = frozenset({"session", "sid"})


def _session_only(name: str) -> bool:
    """`session_id`, `sid`: secret only because it names a session (not `session_token`)."""
    parts = words(name)
    return bool(set(parts) & _SESSION_WORDS) and not _secret_name("_".join(p for p in parts if p not in _SESSION_WORDS))


def _handed_to_client(ctx: FileContext, node: ast.Call, name: str) -> bool:
    """Does the current function give the value to someone as a bearer value: set it in a
    cookie or header, or return it (the caller may be the login route that does)? A
    `session_id` kept server-side (the key of a chat, a voice conversation, a sandbox's
    labels) names a conversation, not a login."""
    func = ctx.function()
    if func is None:
        return True  # module level: no use to judge by

    def mentions(expr: ast.AST | None) -> bool:
        return expr is not None and any(
            (isinstance(n, ast.Name) and n.id == name) or (isinstance(n, ast.Attribute) and n.attr == name) or n is node
            for n in ast.walk(expr)
        )

    for other in ast.walk(func.node):
        if isinstance(other, ast.Return) and mentions(other.value):
            return True
        if (
            isinstance(other, ast.Call)
            and isinstance(other.func, ast.Attribute)
            and other.func.attr == "set_cookie"
            and any(mentions(a) for a in [*other.args, *(k.value for k in other.keywords)])
        ):
            return True
        if isinstance(other, ast.Assign) and mentions(other.value):
            for target in other.targets:
                if isinstance(target, ast.Subscript) and _terminal(target.value) in {"cookies", "headers"}:
                    return True
    return False


def _terminal(expr: ast.expr) -> str:
    """`response.cookies` -> `cookies`."""
    return expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ""


def _secret_name(name: str | None) -> bool:
    if not name:
        return False
    if name.lower() in _PUBLIC_NAMES:
        return False
    parts = words(name)
    if not parts:
        return False
    if set(parts) & _SECRET_WORDS:
        return True
    for i, part in enumerate(parts):
        if part in {"key", "apikey"} and (part == "apikey" or (i > 0 and parts[i - 1] in _KEY_PREFIXES)):
            return True
        if part == "code" and (i == 0 or parts[i - 1] not in _PUBLIC_CODES):
            return True
    return False


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        key = target.slice.value
        return key if isinstance(key, str) else None
    return None


class InsecureTokenRandomness(Rule):
    """Flags tokens, codes and secrets generated with `random` or `uuid`.

    ## What it does
    Finds calls to the `random` module (`random.choice`, `choices`, `randint`,
    `randrange`, `getrandbits`, `random`, `sample`, `randbytes`, and the same on
    a `random.Random()` instance) and to `uuid.uuid1()` / `uuid.uuid4()` whose
    value is stored in, passed as, or returned for something named like a
    secret: `token`, `secret`, `api_key`, `reset_*`, `otp`, a verification
    `code`, `session_id`, `nonce`, `password`, `csrf`... (assignment target,
    keyword argument, dict key, or the name of the function returning it).
    `random.SystemRandom()` is not flagged; neither is randomness for
    non-secrets (`delay = random.uniform(...)`, `id = uuid4()`), nor a
    `uuid4()` whose name says it identifies a lock owner, a trace or a request
    (`lock_token`, `owner_token`, `trace_token`, `request_id_token`,
    `correlation_token`, `idempotency_token`) or which client, device or worker
    holds a secret (`csrf_client_id`: the client sends it openly with the CSRF
    token the server issued it), nor a `uuid4()` made in
    telemetry code (a function, class or module named for telemetry,
    analytics, tracking, metrics or a heartbeat: the `session_id` of anonymous
    usage reports), nor a `uuid4()` made by a function or class that hands out
    or takes back the slot of a lock, limiter or lease (`LimitManager.acquire`,
    `release_slot`: the borrower's identity) unless its name says it is a
    credential (`access_token`), nor a `uuid4()` handed in the same function to a
    call that takes or gives back a reservation, lock or lease
    (`acquire_reservation(..., owner=token)`, `release_busy(rag, token)`: the
    slot's owner), nor a `version_token` (the row version editors send back), nor
    a `uuid4()` that only fills in for a value the caller may give
    (`session_id = request.session_id or str(uuid4())`: whoever calls picks it),
    nor a `uuid4()` `session_id` (or `sid`) that the function neither returns nor
    puts in a cookie or header (`set_cookie(...)`, `response.headers[...] = ...`):
    kept server-side, it keys a chat, a voice conversation or a sandbox, never a
    login: those are never checked as secrets. A value passed into a call is named by
    what it is bound to only through calls that keep it (`str(...)`, `"".join`,
    `hashlib`, `base64`): in `token = request_id.set(uuid4())` the name holds
    what `set` gave back. (`random` is flagged
    for such names all the same.) Test code is skipped (test files, and modules
    that import pytest such as a test suite shipped in the package).

    ## Why is this bad?
    `random` is a Mersenne Twister: after 624 observed 32-bit outputs (a few
    hundred tokens an attacker requested for themselves) every future value,
    including other users' reset codes and session ids, can be computed.
    `uuid1()` is built from the clock and the host's MAC address, so it is
    guessable from a neighbouring value (error). `uuid4()` is random in CPython,
    but UUIDs are identifiers, not secrets: RFC 9562 says not to assume they
    are hard to guess, their format spends 6 bits on fixed markers, and other
    code paths may swap the implementation (warning). Use the `secrets` module:
    `secrets.token_urlsafe(32)` for tokens, `secrets.randbelow(10**6)` or
    `secrets.choice` for numeric codes.

    ## References
    - https://docs.python.org/3/library/random.html (warning at the top)
    - https://docs.python.org/3/library/secrets.html
    - https://www.rfc-editor.org/rfc/rfc9562#section-8
    - https://cheatsheetseries.owasp.org/cheatsheets/Forgot_Password_Cheat_Sheet.html
    - https://owasp.org/www-community/vulnerabilities/Insecure_Randomness
    """

    code = "FX417"
    name = "insecure-token-randomness"
    summary = "A token, reset code or secret is generated with `random` or `uuid` instead of `secrets`."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            import random
            import secrets
            import uuid

            def new_reset_token() -> str:
                return secrets.token_urlsafe(32)

            def backoff_delay(attempt: int) -> float:
                delay = random.uniform(0, 2**attempt)
                return delay

            def new_order(total: float) -> dict:
                return {"id": uuid.uuid4(), "total": total, "reset_at": None}
            """
        ),
        Valid(
            """
            import random

            def sample_products(products: list[dict]) -> list[dict]:
                featured = random.sample(products, k=3)
                status_code = random.choice([200, 503])  # chaos testing
                return featured if status_code == 200 else []
            """
        ),
        Valid(
            """
            import uuid

            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import ComputeGroup

            async def lock_compute_groups(session: AsyncSession, limit: int = 10) -> list[ComputeGroup]:
                # Which worker owns the row lock; never sent to or checked against a client.
                lock_token = uuid.uuid4()
                query = select(ComputeGroup).where(ComputeGroup.lock_token.is_(None)).limit(limit)
                rows = (await session.scalars(query)).all()
                for row in rows:
                    row.lock_token = lock_token
                await session.commit()
                return list(rows)
            """,
            filename="app/tasks.py",
            files={"app/models.py": "class ComputeGroup:\n    lock_token = None\n"},
        ),
        Valid(
            """
            import platform
            from uuid import uuid4

            import httpx

            from app.settings_store import read_setting, write_setting

            async def load_telemetry_session() -> str:
                # Groups anonymous usage reports of one installation; never given to a client.
                session_id = await read_setting("telemetry_session_id")
                if session_id is None:
                    session_id = str(uuid4())
                    await write_setting("telemetry_session_id", session_id)
                return session_id

            async def send_usage_report() -> None:
                report = {"session_id": await load_telemetry_session(), "os": platform.system()}
                async with httpx.AsyncClient() as client:
                    await client.post("https://usage.example.com/v1/reports", json=report)
            """,
            filename="app/usage.py",
            files={
                "app/settings_store.py": (
                    "async def read_setting(key: str) -> str | None:\n    return None\n\n"
                    "async def write_setting(key: str, value: str) -> None:\n    pass\n"
                ),
            },
        ),
        Valid(
            """
            import uuid
            from datetime import datetime, timezone

            import httpx

            class ApiClient(httpx.AsyncClient):
                def __init__(self, base_url: str) -> None:
                    super().__init__(base_url=base_url)
                    # Names this client to the server, which issues (and checks) the CSRF token itself.
                    self.csrf_client_id = uuid.uuid4()
                    self.csrf_token: str | None = None
                    self.csrf_expires: datetime | None = None

                async def _ensure_csrf_token(self) -> str:
                    if self.csrf_token is None or (self.csrf_expires and self.csrf_expires < datetime.now(timezone.utc)):
                        answer = await self.get("/csrf-token", params={"client": str(self.csrf_client_id)})
                        self.csrf_token = answer.json()["token"]
                    return self.csrf_token
            """,
            filename="app/client.py",
        ),
        Valid(
            """
            from uuid import UUID, uuid4

            import anyio

            class SlotPool:
                \"\"\"Hands out slots of a capacity limiter to callers that give them back.\"\"\"

                def __init__(self, size: int) -> None:
                    self._limiter = anyio.CapacityLimiter(size)

                def acquire(self) -> UUID:
                    # The borrower's identity for the limiter; it never leaves the process.
                    token = uuid4()
                    self._limiter.acquire_on_behalf_of_nowait(token)
                    return token

                def release(self, token: UUID) -> None:
                    self._limiter.release_on_behalf_of(token)
            """,
            filename="app/worker/slots.py",
        ),
        Valid(
            """
            import contextvars
            from uuid import uuid4

            from fastapi import FastAPI, Request

            from app.pipeline import acquire_reservation, release_reservation, run_scan

            app = FastAPI()
            request_id: contextvars.ContextVar = contextvars.ContextVar("request_id")

            @app.middleware("http")
            async def attribute_request(request: Request, call_next):
                token = request_id.set(uuid4())  # the ContextVar's reset token; the UUID is a request id
                try:
                    return await call_next(request)
                finally:
                    request_id.reset(token)

            @app.post("/documents/scan")
            async def scan(session_id: str | None = None) -> dict[str, str]:
                session_id = session_id or str(uuid4())  # the caller may pick it: an identifier
                scanning_token = uuid4().hex
                await acquire_reservation("scan", owner=scanning_token)  # names the slot's owner
                try:
                    await run_scan(session_id)
                finally:
                    await release_reservation("scan", scanning_token)
                return {"session_id": session_id}

            def save_flow(flow) -> None:
                flow.version_token = uuid4()  # the version editors send back, not a credential

            async def on_slack_message(event: dict) -> None:
                # Keys the conversation's history on the server; no client ever presents it.
                session_id = str(uuid4())
                await run_scan(session_id)
            """,
            filename="app/main.py",
            files={
                "app/pipeline.py": (
                    "async def acquire_reservation(name: str, owner: str) -> None:\n    pass\n\n"
                    "async def release_reservation(name: str, owner: str) -> None:\n    pass\n\n"
                    "async def run_scan(session_id: str) -> None:\n    pass\n"
                ),
            },
        ),
    )
    invalid = (
        Invalid(
            """
            import random
            import string

            from fastapi import APIRouter

            router = APIRouter()

            def generate_otp() -> str:
                return "".join(random.choices(string.digits, k=6))

            @router.post("/password-reset")
            async def request_reset(email: str):
                reset_code = random.randint(100000, 999999)
                return {"sent": True, "code_length": len(str(reset_code))}
            """,
            lines=(9, 13),
        ),
        Invalid(
            """
            from uuid import uuid1, uuid4

            from app.models import ApiKey, Session

            def create_api_key(owner_id: int) -> ApiKey:
                return ApiKey(owner_id=owner_id, api_key=str(uuid4()))

            def open_session(user_id: int) -> Session:
                session_id = uuid1().hex
                return Session(id=session_id, user_id=user_id)
            """,
            lines=(6, 9),
            filename="app/services.py",
            files={"app/models.py": "class ApiKey:\n    pass\n\nclass Session:\n    pass\n"},
        ),
        Invalid(
            """
            from uuid import uuid4

            from app.models import Lease

            def acquire_lease(worker: str) -> Lease:
                # Handed to the worker, which presents it to renew the lease: a credential.
                return Lease(worker=worker, access_token=str(uuid4()))
            """,
            lines=(7,),
            filename="app/leases.py",
            files={"app/models.py": "class Lease:\n    def __init__(self, **kw: object) -> None:\n        pass\n"},
        ),
        Invalid(
            """
            from uuid import uuid4

            from fastapi import APIRouter, Response

            from app.store import sessions

            router = APIRouter()

            @router.post("/login")
            async def login(user_id: int, response: Response) -> None:
                session_id = str(uuid4())  # the cookie the browser presents from now on
                await sessions.set(session_id, user_id)
                response.set_cookie("session_id", session_id, httponly=True, secure=True)
            """,
            lines=(11,),
            filename="app/auth.py",
            files={"app/store.py": "class Sessions:\n    async def set(self, key: str, value: int) -> None:\n        pass\n\nsessions = Sessions()\n"},
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if is_test(ctx):
            return
        kind = self._kind(node, ctx)
        if kind is None:
            return
        name = self._secret_context(node, ctx, kind)
        if name is None or (
            kind == "uuid4"
            and (
                _uuid_identifier(name)
                or _in_telemetry_code(ctx)
                or _borrower_identity(ctx, name)
                or _handed_to_slot_api(ctx, name)
                or (_session_only(name) and not _handed_to_client(ctx, node, name))
            )
        ):
            return
        called = ast.unparse(node.func)
        func = ctx.function()
        if func is not None and name == func.name and name.isidentifier() and self._in_return(ctx):
            subject = f"`{name}()` returns a value from `{called}()`"
        else:
            subject = f"`{name}` comes from `{called}()`"
        if kind == "random":
            emit(
                ctx,
                Severity.ERROR,
                node,
                f"{subject}, whose Mersenne Twister output can be "
                "predicted from earlier values; use `secrets.token_urlsafe(32)` (or "
                "`secrets.randbelow` / `secrets.choice` for numeric codes).",
            )
        elif kind == "uuid1":
            emit(
                ctx,
                Severity.ERROR,
                node,
                f"{subject}, which is built from the clock and the MAC "
                "address and can be guessed; use `secrets.token_urlsafe(32)`.",
            )
        else:
            emit(
                ctx,
                Severity.WARNING,
                node,
                f"{subject}: a UUID is an identifier, not a secret "
                "(RFC 9562 says not to rely on it being unguessable); use "
                "`secrets.token_urlsafe(32)`.",
            )

    @staticmethod
    def _in_return(ctx: FileContext) -> bool:
        for parent in reversed(ctx.ancestors):
            if isinstance(parent, ast.Return):
                return True
            if isinstance(parent, ast.stmt):
                return False
        return False

    @staticmethod
    def _kind(node: ast.Call, ctx: FileContext) -> str | None:
        target = ctx.call_target(node) or ctx.resolve(node.func)
        if target is None:
            return None
        if target in _UUIDS:
            return _UUIDS[target]
        for prefix in _RANDOM_RECEIVERS:
            if target.startswith(prefix) and target[len(prefix) :] in _RANDOM_FUNCS:
                return "random"
        return None

    @staticmethod
    def _secret_context(node: ast.Call, ctx: FileContext, kind: str) -> str | None:
        """The secret-looking name the call's value goes to, if any."""
        child: ast.AST = node
        for parent in reversed(ctx.ancestors):
            if isinstance(parent, ast.Call) and child is not parent.func and not _passes_through(parent, ctx):
                return None  # `token = _request_id.set(uuid4())`: the name holds what the call gave back
            if kind == "uuid4" and isinstance(parent, ast.BoolOp) and _caller_supplied_fallback(ctx, child, parent):
                return None
            if isinstance(parent, ast.keyword):
                return parent.arg if _secret_name(parent.arg) else None
            if isinstance(parent, ast.Dict):
                for key, value in zip(parent.keys, parent.values, strict=True):
                    if value is child:
                        name = key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
                        return name if _secret_name(name) else None
                return None
            if isinstance(parent, ast.Assign):
                for target in parent.targets:
                    name = _target_name(target)
                    if _secret_name(name):
                        return name
                return None
            if isinstance(parent, ast.AnnAssign | ast.AugAssign):
                name = _target_name(parent.target)
                return name if _secret_name(name) else None
            if isinstance(parent, ast.Return):
                func = ctx.function()
                return func.name if func is not None and _secret_name(func.name) else None
            if isinstance(parent, ast.stmt | ast.Lambda | ast.Compare | ast.comprehension):
                return None
            if isinstance(parent, ast.Call) and child is parent.func:
                return None
            child = parent
        return None
