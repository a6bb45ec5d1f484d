from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.module import ClassInfo
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import (
    PASSWORD_WORDS,
    arg,
    is_test,
    jwt_call,
    local_value,
    str_value,
    words,
)
from fastapi_expert.types import Severity

# Last word of a name that holds a secret; `key` only with one of _KEY_QUALIFIERS before it.
_SECRET_LAST = PASSWORD_WORDS | {"pass", "secret", "token", "apikey", "credential", "credentials"}
_KEY_QUALIFIERS = frozenset(
    {"secret", "api", "private", "signing", "sign", "encryption", "access", "jwt", "hmac", "master", "fernet", "aes", "client"}
)
# Words that make a secret-looking name a message, a setting about secrets, or a lookup key.
_NOT_SECRET = frozenset(
    {
        "invalid", "missing", "wrong", "bad", "expired", "error", "msg", "message", "detail",
        "header", "cookie", "field", "param", "env", "var", "name", "label", "prefix", "type",
        "url", "uri", "path", "file", "endpoint", "route", "placeholder", "hint", "help",
        "regex", "pattern", "template", "format", "column", "rate", "limit", "ttl", "timeout",
        "length", "max", "min", "count", "size",
        # Tokenizer / lexer tokens of ML and parsing code.
        "bos", "eos", "pad", "unk", "sep", "cls", "mask", "special", "stop", "start", "end",
        "image", "audio", "video",
        # Deliberate throwaway values (a production guard is expected elsewhere).
        "example", "dev", "development", "test", "testing", "dummy", "fake", "sample", "mock",
        # A marker value that stands in where no real secret is (`PTU_SENTINEL_API_KEY`).
        "sentinel",
        # An event hook: `on_pass`, `on_token` name what to do, not a secret.
        "on",
    }
)
_ALGORITHMS = frozenset(
    {f"{p}{n}" for p in ("hs", "rs", "es", "ps") for n in ("256", "384", "512")} | {"eddsa", "es256k", "none"}
)
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
_TEMPLATE = re.compile(
    r"^(\$\{.*\}|\{\{.*\}\}|<[^<>]*>|\[[^\[\]]*\]|\{[^{}]*\}|%\(.*\)s|\*+|x+|\.\.\.)$", re.IGNORECASE
)
# scheme://user:password@host -- password not a template.
CREDENTIAL_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:([^@/\s]+)@[^\s]+$")

_ENV_READERS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "decouple.config"})
_FIELD_FACTORIES = frozenset({"pydantic.Field", "pydantic.fields.Field", "sqlmodel.Field"})
_SECRET_WRAPPERS = frozenset({"pydantic.SecretStr", "pydantic.SecretBytes", "pydantic.types.SecretStr", "pydantic.types.SecretBytes", "starlette.datastructures.Secret"})


# Product-analytics services whose ingestion key is public by design: browsers and mobile
# apps send it with every event, and it can only write events (PostHog's project API key,
# Amplitude's API key, Mixpanel's project token). Their private keys carry other words
# (`POSTHOG_PERSONAL_API_KEY`, `AMPLITUDE_SECRET_KEY`) and stay secrets.
_PUBLIC_INGESTION_SERVICES = frozenset({"posthog", "amplitude", "mixpanel"})
_PRIVATE_WORDS = frozenset({"secret", "personal", "private", "admin", "management"})
# PostHog marks its keys: `phc_` is the public project key, `phx_` a personal (private) one.
_PUBLIC_KEY_PREFIXES = ("phc_",)


def is_public_ingestion_key(name: str, value: str) -> bool:
    """`POSTHOG_API_KEY = "phc_..."`, `AMPLITUDE_API_KEY = "c97d..."`: the write-only key
    of an analytics service, meant to be shipped to every client."""
    ws = set(words(name))
    if ws & _PRIVATE_WORDS:
        return False
    return bool(ws & _PUBLIC_INGESTION_SERVICES) or value.strip().startswith(_PUBLIC_KEY_PREFIXES)


def is_secret_name(name: str) -> bool:
    ws = words(name)
    if not ws or any(w in _NOT_SECRET for w in ws):
        return False
    last = ws[-1]
    if last in _SECRET_LAST:
        return True
    return last == "key" and len(ws) > 1 and ws[-2] in _KEY_QUALIFIERS


def looks_like_secret_value(value: str, name: str) -> bool:
    text = value.strip()
    if not text or any(c.isspace() for c in text):
        return False
    if text.lower() in _ALGORITHMS or _TEMPLATE.match(text) or _ENV_NAME.match(text):
        return False
    if re.fullmatch(r"\d+\s*(/|per)\s*[a-z]+", text.lower()):
        return False  # a rate limit such as "5/minute"
    if "://" in text or text.startswith("/"):
        return False  # a URL or a route; URLs with credentials are handled on their own
    if is_public_ingestion_key(name, text):
        return False
    if _names_a_collection(text, name) or is_label_value(text, name):
        return False
    # `REFRESH_TOKEN = "refresh_token"`, `X_API_KEY = "X-API-Key"`: a field or header name.
    return words(text) != words(name)


_SNAKE_LABEL = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")
_DOTTED_KEY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_DUNDER_MARKER = re.compile(r"__[a-z0-9_]+__")
# `"x-goog-api-key"`: the name of an HTTP extension header that carries the key.
_HEADER_NAME = re.compile(r"x(-[a-z0-9]+)+", re.IGNORECASE)
# A value made of plain words (`"ollama"`, `"EMPTY"`, `"mock-key"`, `"ui-token"`): no issued
# API key or token looks like this, they are random characters.
_PLAIN_WORDS = re.compile(r"[a-z]+([-_. ][a-z]+)*|[A-Z]+|_*[a-z]+(_[a-z]+)*_*")
# Kinds of secret a server issues at random (a client only passes it on); signing keys,
# passwords and other secrets the team picks are not among them.
_ISSUED_LAST = frozenset({"token", "apikey"})
_ISSUED_KEY_QUALIFIERS = frozenset({"api", "access", "client"})


def is_label_value(value: str, name: str) -> bool:
    """Is the value a name, key or marker rather than a secret? `AUTH_METHOD_API_KEY =
    "api_key"` (an identifier spelled like the end of its name: which kind of credential),
    `TIME_TO_FIRST_TOKEN = "gen_ai.server.time_to_first_token"` (a dotted attribute key
    ending in the name's words), `PTU_SENTINEL_API_KEY = "__ptu_flat_cost__"` (a dunder
    marker). A single word stays a possible weak default (`DB_PASSWORD = "password"`), and
    so does text with digits, dashes or capitals beyond these shapes."""
    text = value.strip()
    if _DUNDER_MARKER.fullmatch(text) or _HEADER_NAME.fullmatch(text):
        return True
    value_words, name_words = words(text), words(name)
    if not value_words or not name_words:
        return False
    if (
        len(value_words) == 1
        and len(name_words) > 2
        and text.islower()
        and value_words[0] == name_words[0]
        and name_words[-1] not in _SECRET_LAST - {"token", "apikey"}
    ):
        return True  # `UNATTRIBUTED_API_KEY = "unattributed"`: the case the name is for
    if _SNAKE_LABEL.fullmatch(text) and len(value_words) >= 2:
        return name_words[-len(value_words):] == value_words
    if _DOTTED_KEY.fullmatch(text):
        return value_words[-len(name_words):] == name_words
    return False


def is_issued_credential_name(name: str) -> bool:
    """`api_key`, `token`, `access_token`, `apikey`: a secret some server issues at random."""
    ws = words(name)
    if not ws:
        return False
    return ws[-1] in _ISSUED_LAST or (ws[-1] == "key" and len(ws) > 1 and ws[-2] in _ISSUED_KEY_QUALIFIERS)


def placeholder_credential(text: str, name: str, context_names: list[str] | None = None) -> bool:
    """`api_key="ollama"`, `api_key="EMPTY"`, `token="ui-token"`: an API key or token made
    of plain words is a placeholder (for a local server that ignores it, a mock, a marker
    object), never one a server issued. That holds for a value passed to a call
    (`context_names` None). A constant may be a default credential the app itself accepts
    (`DEFAULT_API_KEY = "owner.apikey"`), so it counts only when it is the one word that
    names the server it goes to, found in the enclosing class or function names
    (`_DEFAULT_API_KEY = "lemonade"` in `LemonadeChatConfig`). Passwords and signing
    secrets are not covered: a weak word is a real weak secret there."""
    if not is_issued_credential_name(name) or not _PLAIN_WORDS.fullmatch(text.strip()):
        return False
    if context_names is None:
        return True
    value_words = words(text)
    return len(value_words) == 1 and any(value_words[0] in words(n) for n in context_names)


def _names_a_collection(text: str, name: str) -> bool:
    """`RESOURCE_PASSWORD = "Passwords"`, `VAULT_SECRET = "secrets"`: a value made of letters
    that ends in the plural of the name's secret word names a collection of them (a permission
    resource, a menu, a table, a mount), never one secret. Digits keep it a secret
    (`"passwords123"`), and so does the singular (`DB_PASSWORD = "password"`, a weak default)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z_\-]*", text):
        return False
    secret, value = words(name), words(text)
    if not secret or not value:
        return False
    last = secret[-1]
    return value[-1] in {f"{last}s", f"{last}es"}


# Django's user models, whose manager is Django's `UserManager`: its
# `create_user(password=None)` (and `create_superuser`) stores an unusable password,
# one no login accepts. (A model on `AbstractBaseUser` brings a manager of its own,
# which may refuse `None`.)
_DJANGO_USER_MODELS = frozenset({"django.contrib.auth.models.User", "django.contrib.auth.models.AbstractUser"})
_DJANGO_USER_MANAGER = frozenset({"django.contrib.auth.models.UserManager"})
_DJANGO_GET_USER_MODEL = frozenset({"django.contrib.auth.get_user_model"})
_ACCOUNT_CREATORS = frozenset({"create_user", "create_superuser"})
_MANAGERS = frozenset({"objects", "_default_manager"})


def _django_account_creator(call: ast.Call, ctx: FileContext) -> str | None:
    """`create_user` when `call` is Django's `create_user(...)` (or `create_superuser`)
    on a user model's manager: `User.objects`, `get_user_model().objects`, a local or a
    `self.` attribute bound to one (`self.users = AppUser.objects` in the class)."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _ACCOUNT_CREATORS and _is_user_manager(func.value, ctx, 0):
        return func.attr
    return None


def _is_user_manager(expr: ast.expr, ctx: FileContext, depth: int) -> bool:
    if depth > 2:
        return False
    if isinstance(expr, ast.Attribute) and expr.attr in _MANAGERS:
        return _is_user_model(expr.value, ctx)
    if isinstance(expr, ast.Name):
        value = local_value(ctx, expr)
        return value is not expr and _is_user_manager(value, ctx, depth + 1)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self":
        bound = _self_attribute(ctx, expr.attr)
        return bound is not None and _is_user_manager(bound, ctx, depth + 1)
    return False


def _self_attribute(ctx: FileContext, attr: str) -> ast.expr | None:
    """The one value the methods of the current class assign to `self.<attr>`, if one."""
    func = ctx.function()
    while func is not None and func.class_name is None:
        func = func.parent
    info = ctx.project.lookup(func.class_name) if func is not None else None
    if not isinstance(info, ClassInfo):
        return None
    values = [
        node.value
        for method in info.methods.values()
        for node in ast.walk(method.node)
        if isinstance(node, ast.Assign)
        and any(
            isinstance(t, ast.Attribute) and t.attr == attr and isinstance(t.value, ast.Name) and t.value.id == "self"
            for t in node.targets
        )
    ]
    return values[0] if len(values) == 1 else None


def _is_user_model(expr: ast.expr, ctx: FileContext) -> bool:
    """`User` (Django's, or a project class deriving from its `AbstractUser`), or
    `get_user_model()`, also through a module-level `User = get_user_model()`."""
    if isinstance(expr, ast.Call):
        return ctx.resolve(expr.func) in _DJANGO_GET_USER_MODEL
    name = ctx.resolve(expr)
    if name is None:
        return False
    if name in _DJANGO_USER_MODELS:
        return True
    symbol = ctx.project.lookup(name)
    if isinstance(symbol, ClassInfo):
        return bool(ctx.project.class_bases(symbol) & _DJANGO_USER_MODELS) and _keeps_user_manager(symbol, ctx, 0)
    if isinstance(symbol, tuple):
        module, value = symbol
        return isinstance(value, ast.Call) and ctx.project.resolve(module, value.func) in _DJANGO_GET_USER_MODEL
    return False


def _keeps_user_manager(cls: ClassInfo, ctx: FileContext, depth: int) -> bool:
    """Does the project's user model keep Django's `UserManager`: neither it nor a project
    class it derives from sets `objects` to another manager (whose `create_user` may
    refuse a `None` password)?"""
    if depth > 5:
        return False
    for stmt in cls.node.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "objects" for t in targets):
            value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
            manager = value.func if isinstance(value, ast.Call) else value
            return manager is not None and ctx.project.resolve(cls.module, manager) in _DJANGO_USER_MANAGER
    for base in cls.bases:
        parent = ctx.project.lookup(base)
        if isinstance(parent, ClassInfo) and not _keeps_user_manager(parent, ctx, depth + 1):
            return False
    return True


def credential_url_password(value: str) -> str | None:
    m = CREDENTIAL_URL.match(value.strip())
    if m is None:
        return None
    password = m.group(1)
    if _TEMPLATE.match(password) or any(c in password for c in "{}$%<>"):
        return None
    return password


class HardcodedSecret(Rule):
    """Flags a secret key, token, password or database password written into the source.

    ## What it does
    Finds a non-empty string literal given to something named like a secret: a
    module-level or class-level assignment (`SECRET_KEY`, `JWT_SECRET`,
    `*_PASSWORD`, `*_TOKEN`, `API_KEY`, `private_key`, but not `TOKEN_URL`,
    `TOKEN_TYPE` or `ACCESS_TOKEN_EXPIRE_MINUTES`), the default of a
    `BaseSettings` field (`secret_key: str = "changeme"`, also through
    `Field(default=...)`), a keyword argument (`password="..."` to a database or
    SMTP connect), the key argument of `jwt.encode` / `jwt.decode` (PyJWT,
    python-jose, authlib, joserfc), and the fallback of an environment lookup
    (`os.getenv("SECRET_KEY", "dev-secret")`). It also finds a URL literal with a
    password in it (`postgresql://app:s3cret@db/app`) wherever it is assigned or
    passed. The write-only ingestion key of a product-analytics service
    (PostHog's `phc_` project key, Amplitude's API key, Mixpanel's project
    token) is not a secret: it is public by design, sent by every browser with
    each event; their private keys (`POSTHOG_PERSONAL_API_KEY`,
    `AMPLITUDE_SECRET_KEY`) still are. Nor is the member of an `Enum`
    (`class AuthKind(str, Enum): API_KEY = "api_key_auth"`): a label that code
    compares, not a credential. Nor is a value of letters that ends in the
    plural of the name's secret word (`RESOURCE_PASSWORD = "Passwords"`, the
    name of a permission resource or a menu): it names a collection of
    secrets, not one; the singular (`DB_PASSWORD = "password"`) and a value
    with digits stay flagged. Nor is a value that names rather than holds: an
    identifier spelled like the end of its name (`AUTH_METHOD_API_KEY =
    "api_key"`), the first word of its name (`UNATTRIBUTED_API_KEY =
    "unattributed"`), a dotted attribute key ending in the name's words
    (`TIME_TO_FIRST_TOKEN = "gen_ai.server.time_to_first_token"`), an `X-...`
    header name, a `__marker__`, or a `..._SENTINEL_...` or `on_...` name. Nor
    is an API key or token made of plain words passed to a call (`api_key="EMPTY"`,
    `token="ui-token"`) or named after the server of the class it is in
    (`_DEFAULT_API_KEY = "lemonade"` in `LemonadeChatConfig`): servers issue
    random keys, so these are placeholders for one that ignores the key; a
    plain-word password or signing secret stays flagged, as does a constant
    that may be a default key the app accepts (`DEFAULT_API_KEY = "owner.apikey"`).
    A password given to the `create_user()` or
    `create_superuser()` of a Django user model's manager (`User.objects`,
    `get_user_model().objects`, a `self.` attribute bound to one) is told the
    second way out as well: an account seeded in code may be a placeholder
    nobody is to log in to, and `password=None` makes Django store an
    unusable password for it. Test code is skipped (test files,
    modules that import pytest such as a test suite shipped in the package, and
    the modules of a `testing` package that no production module imports):
    fixtures hold throwaway secrets, and tests pass deliberately wrong ones.

    ## Why is this bad?
    A secret in the source is in every clone, fork, CI log and container image,
    and it cannot be rotated without a deploy. Whoever knows the JWT signing key
    can mint a token for any user; a default such as `"changeme"` that is only
    meant for development ends up in production the day the environment variable
    is missing. Read secrets from the environment with pydantic-settings (a
    `SecretStr` field with no default makes startup fail when it is unset).

    ## References
    - https://fastapi.tiangolo.com/advanced/settings/
    - https://docs.pydantic.dev/latest/concepts/pydantic_settings/
    - https://docs.pydantic.dev/latest/api/types/#pydantic.types.SecretStr
    - https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html
    - https://cwe.mitre.org/data/definitions/798.html
    """

    code = "FX401"
    name = "hardcoded-secret"
    summary = "A secret key, token or password is hard-coded in the source."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from enum import Enum

            class AuthKind(str, Enum):
                SESSION_TOKEN = "session"
                REMOTE_API_KEY = "openhands_api"
                PASSWORD = "password_login"
            """
        ),
        Valid(
            """
            import os

            from pydantic import SecretStr
            from pydantic_settings import BaseSettings

            SECRET_KEY = os.environ["SECRET_KEY"]
            ALGORITHM = "HS256"
            ACCESS_TOKEN_EXPIRE_MINUTES = 30
            TOKEN_URL = "/auth/token"

            class Settings(BaseSettings):
                secret_key: SecretStr
                database_url: str = "postgresql+asyncpg://db:5432/app"
                token_type: str = "bearer"
            """
        ),
        Valid(
            """
            # The resources an admin role can be granted actions on, as the permission UI shows them.
            RESOURCE_USER = "Users"
            RESOURCE_PASSWORD = "Passwords"
            RESOURCE_API_TOKEN = "ApiTokens"
            ACTION_CAN_EDIT = "can_edit"

            ADMIN_PERMISSIONS = [(ACTION_CAN_EDIT, RESOURCE_PASSWORD), (ACTION_CAN_EDIT, RESOURCE_API_TOKEN)]
            """,
            filename="app/security/permissions.py",
        ),
        Valid(
            """
            from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

            API_KEY_HEADER = "X-API-Key"
            REFRESH_TOKEN = "refresh_token"
            INVALID_TOKEN = "Invalid or expired token"
            DB_PASSWORD = ""

            api_key_scheme = APIKeyHeader(name=API_KEY_HEADER)
            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")
            """
        ),
        Valid(
            """
            import pytest

            from app.leases import LeaseQueue

            class LeaseQueueTestSuite:
                \"\"\"Reusable tests for every LeaseQueue backend (shipped with the package).\"\"\"

                @pytest.fixture
                def queue(self) -> LeaseQueue:
                    raise NotImplementedError

                async def test_ack_rejects_a_stale_lease(self, queue: LeaseQueue) -> None:
                    lease = await queue.reserve("worker-1")
                    rejected = await queue.ack(lease.message_id, lease_token="not-the-current-token")
                    assert rejected.status == "invalid_token"
            """,
            filename="app/testing/lease_suite.py",
        ),
        Valid(
            """
            from posthog import Posthog

            from app.settings import settings

            # Project (ingestion) keys: public by design, the web client sends them with every event.
            POSTHOG_API_KEY = "phc_q9Xv2LwT4mRkZp7sYb1NcHdUe8GfJa3K"
            AMPLITUDE_API_KEY = "5f0c2e9ab41d7763c8e2f1a09b3d6e4f"

            class FrontendConfig:
                analytics_client_key = "phc_q9Xv2LwT4mRkZp7sYb1NcHdUe8GfJa3K"

            posthog = Posthog(POSTHOG_API_KEY, host="https://eu.posthog.com", disabled=not settings.telemetry)
            """,
            filename="app/analytics.py",
            files={"app/settings.py": "class Settings:\n    telemetry = False\n\nsettings = Settings()\n"},
        ),
        Valid(
            """
            from app.models import Project

            def make_project(name: str) -> Project:
                # A fake for the tests, which are not shipped with the package.
                return Project(name=name, ssh_private_key="not-a-real-key")
            """,
            filename="app/proxy/testing/factories.py",
            files={
                "app/proxy/__init__.py": "",
                "app/proxy/testing/__init__.py": "",
                "app/models.py": "class Project:\n    def __init__(self, **kw: object) -> None:\n        pass\n",
            },
        ),
        Valid(
            """
            from openai import AsyncOpenAI
            from pydantic import BaseModel, Field

            AUTH_METHOD_API_KEY = "api_key"  # which kind of credential a request used
            UNATTRIBUTED_API_KEY = "unattributed"  # the bucket for spend with no key
            NO_KEY_SENTINEL_API_KEY = "__no_key__"  # a marker row, never a credential
            TIME_TO_FIRST_TOKEN = "gen_ai.server.time_to_first_token"  # a metric's attribute key
            GOOGLE_API_KEY = "x-goog-api-key"  # the header that carries the key

            class LemonadeConfig:
                _DEFAULT_API_KEY = "lemonade"  # the local server's name: it ignores the key

            class GuardrailStep(BaseModel):
                on_pass: str = Field(default="allow")  # an event hook, not a password

            def local_client(base_url: str) -> AsyncOpenAI:
                # Self-hosted servers want some key and ignore it: no issued key is plain words.
                return AsyncOpenAI(api_key="EMPTY", base_url=base_url)
            """,
            filename="app/providers.py",
        ),
    )
    invalid = (
        Invalid(
            """
            import jwt
            from pydantic_settings import BaseSettings

            SECRET_KEY = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"

            class Settings(BaseSettings):
                jwt_secret: str = "changeme"
                database_url: str = "postgresql://app:s3cret@db:5432/app"

            def create_token(sub: str) -> str:
                return jwt.encode({"sub": sub}, "dev-key", algorithm="HS256")
            """,
            lines=(4, 7, 8, 11),
        ),
        Invalid(
            """
            import os
            import smtplib

            import asyncpg

            JWT_SECRET = os.getenv("JWT_SECRET", "super-secret")

            async def connect():
                return await asyncpg.connect(user="app", password="hunter2", host="db")

            def send(msg):
                with smtplib.SMTP("smtp.example.com", 587) as smtp:
                    smtp.login("alerts@example.com", "Sm7pPa55")
                    smtp.send_message(msg)
            """,
            lines=(6, 9, 13),
        ),
        Invalid(
            """
            import os

            from decouple import config
            from pydantic import BaseModel, SecretStr, model_validator

            SMTP_PASSWORD = config("SMTP_PASSWORD", default="mailpass")

            class DatabaseConfig(BaseModel):
                host: str | None = None
                password: SecretStr | None = None

                @model_validator(mode="after")
                def fill_from_environment(self) -> "DatabaseConfig":
                    if self.host is None:
                        self.host = os.getenv("DB_HOST")
                    if self.password is None:
                        self.password = SecretStr(os.getenv("DB_PASS", "postgres").strip())
                    return self
            """,
            lines=(6, 17),
        ),
        Invalid(
            """
            # The private keys of the same analytics services read and delete data.
            POSTHOG_PERSONAL_API_KEY = "phx_7Yt2kQw9LmZr4VbN1xCeHs"
            AMPLITUDE_SECRET_KEY = "0b7e1d3c9a5f42e88c6d1f2a3b4c5d6e"
            """,
            lines=(2, 3),
            filename="app/analytics.py",
        ),
        Invalid(
            """
            # Weak defaults are still secrets: the singular of the word, or letters with digits.
            DB_PASSWORD = "password"
            REDIS_PASSWORD = "passwords123"
            """,
            lines=(2, 3),
            filename="app/config.py",
        ),
        Invalid(
            """
            import httpx

            # A load-testing feature of the service itself: the routes import it.
            TARGET_API_TOKEN = "lt_91f3b2c7d8e4a6"

            async def run_load(url: str, requests: int) -> int:
                async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TARGET_API_TOKEN}"}) as client:
                    ok = 0
                    for _ in range(requests):
                        ok += (await client.get(url)).is_success
                    return ok
            """,
            lines=(4,),
            filename="app/testing/load.py",
            files={
                "app/__init__.py": "",
                "app/testing/__init__.py": "",
                "app/main.py": """
                    from fastapi import FastAPI

                    from app.testing.load import run_load

                    app = FastAPI()

                    @app.post("/load-tests")
                    async def start_load_test(url: str) -> dict[str, int]:
                        return {"ok": await run_load(url, 10)}
                """,
            },
        ),
        Invalid(
            """
            from django.contrib.auth import get_user_model
            from starlette.authentication import AuthenticationBackend

            from app.accounts import register
            from app.models import AppUser, Member

            User = get_user_model()

            class SessionBackend(AuthenticationBackend):
                def __init__(self) -> None:
                    self.users = AppUser.objects
                    self._ensure_default_user()

                def _ensure_default_user(self) -> None:
                    # The account anonymous mode acts as: nobody is to log in to it.
                    if not self.users.filter(username="default").exists():
                        self.users.create_user(username="default", email="default@example.com", password="default")

            def seed_demo_admin() -> None:
                User.objects.create_superuser("demo", "demo@example.com", password="demo-admin-1")

            def seed_reviewer() -> None:
                register("reviewer", password="reviewer-pass-1")
                Member.objects.create_user("guest", password="guest-pass-1")
            """,
            lines=(17, 20, 23, 24),
            filename="app/auth.py",
            files={
                "app/models.py": (
                    "from django.contrib.auth.models import AbstractUser, BaseUserManager\n\n"
                    "class AppUser(AbstractUser):\n    pass\n\n"
                    "class MemberManager(BaseUserManager):\n"
                    "    def create_user(self, username, password):\n"
                    "        if not password:\n            raise ValueError('a member needs a password')\n\n"
                    "class Member(AbstractUser):\n    objects = MemberManager()\n"
                ),
                "app/accounts.py": "def register(name: str, password: str) -> None:\n    pass\n",
            },
        ),
    )

    # -- assignments ---------------------------------------------------------

    def visit_Assign(self, node: ast.Assign, ctx: FileContext) -> None:
        for target in node.targets:
            self._assignment(target, node.value, ctx)

    def visit_AnnAssign(self, node: ast.AnnAssign, ctx: FileContext) -> None:
        if node.value is not None:
            self._assignment(node.target, node.value, ctx)

    def _assignment(self, target: ast.expr, value: ast.expr, ctx: FileContext) -> None:
        if is_test(ctx):
            return
        if isinstance(target, ast.Name):
            if ctx.function() is not None:
                return  # locals: module and class level only
            name = target.id
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            name = target.attr
        else:
            return
        if not is_secret_name(name):
            return
        owner = ctx.in_class()
        if isinstance(target, ast.Name) and owner is not None and self._is_enum(owner, ctx):
            return  # `API_KEY = "api_key"` in an Enum: a label code compares, not a credential
        literal = self._literal_of(value, ctx)
        if literal is None:
            return
        text = str_value(literal)
        if text is None or not looks_like_secret_value(text, name):
            return
        if placeholder_credential(text, name, self._context_names(ctx)):
            return  # `_DEFAULT_API_KEY = "lemonade"` in `LemonadeChatConfig`: the local server's name
        verb = "defaults to" if ctx.in_class() is not None and isinstance(target, ast.Name) else "holds"
        ctx.report(
            literal,
            f"`{name}` {verb} a hard-coded secret; read it from the environment "
            "(a pydantic-settings `SecretStr` field with no default) and rotate the leaked value.",
        )

    @staticmethod
    def _context_names(ctx: FileContext) -> list[str]:
        """The names of the class and functions around the current node."""
        names: list[str] = []
        func = ctx.function()
        while func is not None:
            names += [func.name, func.class_name or ""]
            func = func.parent
        owner = ctx.in_class()
        if owner is not None:
            names.append(owner.name)
        return [n for n in names if n]

    @staticmethod
    def _is_enum(class_node: ast.ClassDef, ctx: FileContext) -> bool:
        """Is the class an `Enum` (`class AuthType(str, Enum)`, `StrEnum`, a project
        subclass of one)?"""
        bases = {ctx.resolve(b) for b in class_node.bases}
        info = ctx.module.classes.get(class_node.name)
        if info is not None and info.node is class_node:
            bases |= ctx.project.class_bases(info)
        return any(b is not None and b.startswith("enum.") for b in bases)

    def _literal_of(self, value: ast.expr, ctx: FileContext) -> ast.expr | None:
        """The string literal an assigned value carries: itself, `Field(default=...)`, `SecretStr("...")`."""
        if isinstance(value, ast.Constant):
            return value
        if isinstance(value, ast.Call):
            target = ctx.resolve(value.func)
            if target in _FIELD_FACTORIES:
                return arg(value, 0, "default")
            if target in _SECRET_WRAPPERS:
                return arg(value, 0, "value")
        return None

    # -- calls -----------------------------------------------------------------

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if is_test(ctx):
            return
        target = ctx.resolve(node.func)
        if target in _ENV_READERS:
            self._env_default(node, target, ctx)
            return
        done: set[int] = set()
        jwt = jwt_call(ctx, node)
        if jwt is not None and jwt.func in {"encode", "decode", "decode_complete"}:
            key = jwt.key_arg(node)
            text = str_value(key)
            if key is not None and text and text.strip():
                done.add(id(key))
                ctx.report(
                    key,
                    f"`jwt.{jwt.func}()` signs with a hard-coded key; load the key from settings "
                    "(environment or secret store) and rotate the leaked one.",
                )
        if isinstance(node.func, ast.Attribute) and node.func.attr == "login" and len(node.args) > 1:
            call_target = ctx.call_target(node) or ""
            if call_target.endswith(("smtplib.SMTP.login", "smtplib.SMTP_SSL.login")):
                password = node.args[1]
                text = str_value(password)
                if text and text.strip():
                    done.add(id(password))
                    ctx.report(password, "Hard-coded SMTP password; read it from the environment.")
        if target in _FIELD_FACTORIES:
            return
        for kw in node.keywords:
            if kw.arg is None or id(kw.value) in done:
                continue
            text = str_value(kw.value)
            if text is None or not is_secret_name(kw.arg) or not looks_like_secret_value(text, kw.arg):
                continue
            if placeholder_credential(text, kw.arg):
                continue  # `OpenAI(api_key="EMPTY", base_url=...)`: no issued key is plain words
            creator = _django_account_creator(node, ctx) if kw.arg == "password" else None
            if creator is not None:
                # The account may be a placeholder nobody is to log in to (a default user
                # seeded in code): there the fix is no password at all, not a secret one.
                ctx.report(
                    kw.value,
                    f"Hard-coded password for the account `{creator}()` creates: "
                    "anyone who reads the source knows it. If someone is to log in to the account, "
                    "read the password from settings or the environment; if nobody is (a placeholder "
                    "or default account), pass `password=None`, which makes Django store an unusable password.",
                )
                continue
            ctx.report(
                kw.value,
                f"Hard-coded secret passed as `{kw.arg}=`; read it from settings or the environment.",
            )

    def _env_default(self, node: ast.Call, reader: str, ctx: FileContext) -> None:
        env_name = str_value(arg(node, 0, "key"))
        default = arg(node, 1, "default")
        text = str_value(default)
        if default is None or env_name is None or text is None:
            return
        if not (is_secret_name(env_name) and looks_like_secret_value(text, env_name)):
            return
        if reader == "decouple.config":
            # decouple raises `UndefinedValueError` for an unset variable with no default.
            advice = "drop the default so startup fails instead."
        else:
            # `os.getenv(name)` / `os.environ.get(name)` without a default return None:
            # dropping it would not make startup fail, only break later.
            key = f'"{env_name}"' if '"' not in env_name else repr(env_name)
            advice = f"read it with `os.environ[{key}]` so startup fails with a `KeyError` instead"
            if reader != "os.environ.setdefault":
                advice += f" (without a default, `{ast.unparse(node.func)}()` returns `None`)"
            advice += "."
        ctx.report(default, f"`{env_name}` falls back to a hard-coded secret when the variable is unset; {advice}")

    # -- credentials in URLs -----------------------------------------------------

    def visit_Constant(self, node: ast.Constant, ctx: FileContext) -> None:
        if not isinstance(node.value, str) or "://" not in node.value or is_test(ctx):
            return
        if not isinstance(ctx.parent, ast.Assign | ast.AnnAssign | ast.keyword | ast.Call | ast.Dict):
            return
        password = credential_url_password(node.value)
        if password is None:
            return
        ctx.report(
            node,
            "URL literal embeds a password; build it from settings (e.g. a pydantic `PostgresDsn` "
            "read from the environment) and rotate the password.",
        )
