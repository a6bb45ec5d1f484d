from __future__ import annotations

import ast
from collections.abc import Iterator

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, own_nodes_of, scope_nodes
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

_HTTP_EXCEPTIONS = frozenset(
    {
        "fastapi.HTTPException",
        "fastapi.exceptions.HTTPException",
        "starlette.exceptions.HTTPException",
        "fastapi.WebSocketException",
        "fastapi.exceptions.WebSocketException",
        "starlette.exceptions.WebSocketException",
    }
)
_TRACEBACK = frozenset(
    {"traceback.format_exc", "traceback.format_exception", "traceback.format_tb", "traceback.format_stack"}
)
# Exception types whose text is meant for (or harmless to) the client.
_USER_FACING_PREFIXES = (
    "pydantic.",
    "pydantic_core.",
    "fastapi.exceptions.RequestValidationError",
    "fastapi.exceptions.HTTPException",
    "fastapi.HTTPException",
    "starlette.exceptions.",
    "jose.",
    "jwt.",
    "json.",
    "email_validator.",
    # A JSON Schema validation error describes the client's document against a schema.
    "jsonschema.exceptions.ValidationError",
    "jsonschema.ValidationError",
)
# Pydantic's validating entry points: a `try` that only calls these on request data can only
# fail with a `ValidationError` (validators' `ValueError`s are wrapped into it), whatever the
# `except` clause names.
_VALIDATION_METHODS = frozenset(
    {
        "model_validate", "model_validate_json", "model_validate_strings", "parse_obj", "parse_raw",
        "validate_python", "validate_json", "validate_strings",
    }
)
_TYPE_ADAPTERS = frozenset({"pydantic.TypeAdapter", "pydantic.type_adapter.TypeAdapter"})
# Parsers of one value: what they raise says what is wrong with the text they were given
# ("Incorrect padding", "Invalid port: 'x'", "Expecting value: line 1 column 1"). A `try`
# that only parses reports on the value, whatever the `except` clause names.
_PARSERS = frozenset(
    {
        "base64.b64decode", "base64.urlsafe_b64decode", "base64.standard_b64decode", "base64.b32decode",
        "base64.b16decode", "binascii.unhexlify", "binascii.a2b_base64", "binascii.a2b_hex",
        "json.loads", "orjson.loads", "ujson.loads", "yaml.safe_load", "tomllib.loads",
        "uuid.UUID", "ipaddress.ip_address", "ipaddress.ip_network", "ipaddress.ip_interface",
        "datetime.datetime.fromisoformat", "datetime.date.fromisoformat", "datetime.datetime.strptime",
        "decimal.Decimal", "httpx.URL", "yarl.URL", "urllib.parse.urlparse", "urllib.parse.urlsplit",
        "urllib.parse.parse_qs", "builtins.int", "builtins.float", "builtins.bytes.fromhex",
    }
)
# Template errors describe the template being compiled or rendered (message, line, an
# undefined name): an app catches them to tell an author what is wrong with a template
# they wrote (a preview, a user-edited e-mail template). Not `TemplateNotFound`, whose
# text is a name or path the server looked up.
_TEMPLATE_ERRORS = frozenset(
    f"{module}.{name}"
    for module in ("jinja2", "jinja2.exceptions", "jinja2.sandbox")
    for name in (
        "TemplateError", "TemplateSyntaxError", "TemplateAssertionError", "TemplateRuntimeError",
        "UndefinedError", "SecurityError", "FilterArgumentError",
    )
)
# Builtin exceptions whose text describes the server's internals.
_LEAKY_BUILTINS = frozenset(
    {
        "Exception", "BaseException", "OSError", "IOError", "EnvironmentError",
        "FileNotFoundError", "PermissionError", "ConnectionError", "TimeoutError",
        "RuntimeError", "AttributeError", "TypeError", "ImportError",
        "ModuleNotFoundError", "AssertionError", "NotImplementedError", "SystemError",
    }
)
# Builtins a project function raises on purpose about the data it was given (`raise
# TypeError(f"Unsupported type: {key}")`): caught right around that function, the text is
# the team's. Not the I/O family (`OSError`, `ConnectionError`...), whose text names paths
# and hosts whoever raised it, nor `Exception`.
_WORDED_BUILTINS = frozenset(
    {"TypeError", "RuntimeError", "NotImplementedError", "AttributeError", "PermissionError", "AssertionError"}
)
# Libraries whose exceptions describe the infrastructure behind the call: the SQL and its
# parameters, a host and URL, a bucket, a file path, a provider's raw answer. An exception
# of any other library is its own domain error (a component policy refusal, a parser's
# "line 3, column 5"), worded by its authors for whoever called it; a first-party package
# the tree does not hold (a monorepo's sibling) looks the same, so it is left alone.
_INTERNAL_LIBRARIES = frozenset(
    {
        # databases and ORMs
        "sqlalchemy", "sqlmodel", "alembic", "psycopg", "psycopg2", "asyncpg", "aiosqlite", "sqlite3",
        "pymysql", "MySQLdb", "aiomysql", "mysql", "oracledb", "cx_Oracle", "pyodbc", "pymongo", "motor",
        "beanie", "mongoengine", "redis", "aioredis", "valkey", "elasticsearch", "opensearchpy", "cassandra",
        "neo4j", "clickhouse_connect", "clickhouse_driver", "duckdb", "snowflake", "prisma", "tortoise", "peewee",
        "databases", "aiopg", "asyncmy", "psycopg_pool", "couchbase", "influxdb_client", "pymemcache", "aiomcache",
        # vector stores
        "qdrant_client", "pymilvus", "chromadb", "weaviate", "pinecone", "lancedb",
        # network clients and RPC
        "httpx", "httpcore", "requests", "aiohttp", "urllib3", "urllib", "http", "socket", "ssl", "websockets", "grpc",
        "ldap3",
        "smtplib", "aiosmtplib", "ftplib", "paramiko", "pika", "aio_pika", "kafka", "aiokafka",
        "confluent_kafka", "nats", "celery", "kombu",
        # cloud and platform SDKs, LLM providers (their errors quote the upstream answer)
        "botocore", "boto3", "aiobotocore", "aioboto3", "google", "azure", "kubernetes", "docker", "minio",
        "openai", "anthropic", "litellm", "cohere", "mistralai", "groq", "ollama", "huggingface_hub", "replicate",
        # the operating system
        "os", "shutil", "subprocess", "pathlib", "zipfile", "tarfile",
    }
)
_EXC_ATTRS = frozenset({"args", "orig", "statement", "params", "message", "strerror", "filename"})


class InternalErrorLeak(Rule):
    """Flags exception text or tracebacks sent to the client in an HTTP response.

    ## What it does
    Inside `except SomeError as e:` (and in `@app.exception_handler(Exception)`
    handlers), finds `HTTPException(detail=...)`, `JSONResponse(content=...)` /
    any Starlette response, or a route's returned value that contains the
    exception's text: `str(e)`, `repr(e)`, `f"...{e}"`, `"%s" % e`,
    `"{}".format(e)`, `e.args`, `e.orig`; and `traceback.format_exc()` in any
    of them. Only exceptions whose text describes the server are considered:
    `Exception` and other broad builtins (`OSError`, `RuntimeError`...) and
    exceptions of the libraries that talk to the infrastructure (SQLAlchemy and
    database drivers, HTTP and RPC clients, cloud SDKs, LLM providers, `os` and
    `subprocess`); another library's exception (a parser's `yaml.YAMLError`, a
    policy refusal of a package the tree does not hold) is its domain error,
    worded for the caller. The project's own
    exception classes, `ValueError`, validation errors (Pydantic
    `ValidationError`, `RequestValidationError`, JSON Schema's `ValidationError`,
    JWT errors, and whatever a `try` that only calls Pydantic validation
    (`Model.model_validate(data)`) or only parses one value (`base64.b64decode`,
    `json.loads`, `httpx.URL`, `uuid.UUID`...: their errors describe the text they
    were given) catches, even as `Exception`) and Jinja template
    errors (`TemplateSyntaxError`, `UndefinedError`, any `TemplateError` but
    `TemplateNotFound`: an app catches them to tell the author of a template what
    is wrong with it) carry messages meant for users and are left alone. A
    project class counts as the project's own when it is re-exported through a
    `from .errors import *` too. A builtin such as `TypeError` or `RuntimeError`
    caught around calls that are all project functions, one of which raises it
    itself with a message (`raise TypeError(f"Unsupported type: {key}")`), is the
    team's error about the data it was given, worded by the team; caught around a
    library call too, or as `Exception`, it stays flagged. The same holds for
    `PermissionError` raised by the callee, and `AssertionError` from its
    `assert cond, "message"`. An `HTTPException` bound to a name that the handler
    only hands to a function (`raise error_for_client(error, expose_details=...)`)
    is that function's to sanitise.

    ## Why is this bad?
    The message of an unexpected exception is written for developers: a
    SQLAlchemy error contains the SQL statement and parameters, an `OSError`
    the file path, an HTTP client error the internal URL, a traceback the
    source layout. Sent to clients, it maps the system for an attacker and can
    leak other users' data. Log the exception (`logger.exception(...)`) and
    return a generic message with an error id.

    ## References
    - https://fastapi.tiangolo.com/tutorial/handling-errors/
    - https://owasp.org/www-community/Improper_Error_Handling
    - https://cwe.mitre.org/data/definitions/209.html
    - https://codeql.github.com/codeql-query-help/python/py-stack-trace-exposure/
    """

    code = "FX419"
    name = "internal-error-leak"
    summary = "Exception text or a traceback is sent to the client."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            import logging

            from fastapi import FastAPI, HTTPException
            from pydantic import BaseModel, ValidationError

            logger = logging.getLogger(__name__)
            app = FastAPI()

            class Order(BaseModel):
                sku: str
                quantity: int

            @app.post("/orders/import")
            async def import_order(raw: dict):
                try:
                    order = Order.model_validate(raw)
                except ValidationError as e:
                    raise HTTPException(status_code=422, detail=e.errors())
                try:
                    return await save(order)
                except Exception:
                    logger.exception("saving order failed")
                    raise HTTPException(status_code=500, detail="Could not save the order")

            async def save(order: Order) -> dict:
                return order.model_dump()
            """
        ),
        Valid(
            """
            from fastapi import FastAPI, HTTPException

            from app.errors import OutOfStock
            from app.services import reserve

            app = FastAPI()

            @app.post("/reservations")
            def create_reservation(sku: str):
                try:
                    return reserve(sku)
                except OutOfStock as e:  # our own error, written for users
                    raise HTTPException(status_code=409, detail=str(e))
            """,
            filename="app/main.py",
            files={
                "app/errors.py": "class OutOfStock(Exception):\n    pass\n",
                "app/services.py": "def reserve(sku):\n    return {'sku': sku}\n",
            },
        ),
        Valid(
            """
            import jinja2
            from fastapi import FastAPI, HTTPException
            from jinja2.sandbox import SandboxedEnvironment
            from pydantic import BaseModel

            app = FastAPI()
            env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)

            class NewsletterDraft(BaseModel):
                subject: str
                body: str

            @app.post("/newsletters/preview")
            def preview(draft: NewsletterDraft) -> dict[str, str]:
                sample = {"first_name": "Ada", "unsubscribe_url": "https://example.com/u/1"}
                try:
                    return {
                        "subject": env.from_string(draft.subject).render(sample),
                        "body": env.from_string(draft.body).render(sample),
                    }
                except jinja2.exceptions.TemplateError as e:
                    # Tells the author what is wrong with the template they just wrote.
                    raise HTTPException(status_code=422, detail=f"The template is invalid: {e!r}")
            """
        ),
        Valid(
            """
            from fastapi import FastAPI, Request, status
            from fastapi.responses import JSONResponse

            import app.errors as errors

            def add_exception_handlers(app: FastAPI) -> None:
                @app.exception_handler(errors.NotFoundError)
                async def not_found(request: Request, exc: errors.NotFoundError) -> JSONResponse:
                    return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"detail": exc.message})

                @app.exception_handler(errors.QuotaExceededError)
                async def quota(request: Request, exc: errors.QuotaExceededError) -> JSONResponse:
                    return JSONResponse(status_code=429, content={"code": exc.code, "message": str(exc)})
            """,
            filename="app/handlers.py",
            files={
                "app/__init__.py": "",
                # The package re-exports its classes with a star import.
                "app/errors/__init__.py": "from .domain import *  # noqa\n",
                "app/errors/domain.py": (
                    "class NotFoundError(Exception):\n"
                    "    def __init__(self, message: str, code: str = 'not_found') -> None:\n"
                    "        self.message = message\n        self.code = code\n\n"
                    "class QuotaExceededError(NotFoundError):\n    pass\n"
                ),
            },
        ),
        Valid(
            """
            from fastapi import APIRouter, WebSocket
            from pydantic import BaseModel
            from starlette.status import WS_1008_POLICY_VIOLATION

            router = APIRouter()

            class LogFilter(BaseModel):
                level: int = 0
                flow_run_id: str | None = None

            @router.websocket("/logs/out")
            async def stream_logs(websocket: WebSocket) -> None:
                await websocket.accept()
                message = await websocket.receive_json()
                try:
                    log_filter = LogFilter.model_validate(message["filter"])
                except Exception as e:
                    # Only the client's own filter can be wrong here.
                    return await websocket.close(WS_1008_POLICY_VIOLATION, reason=f"Invalid filter: {e}")
                await websocket.send_json({"subscribed": log_filter.model_dump()})
            """
        ),
        Valid(
            """
            import jsonschema
            from fastapi import FastAPI, HTTPException

            app = FastAPI()
            SCHEMA = {"type": "object", "properties": {"cpu": {"type": "integer", "minimum": 1}}}

            @app.post("/job-templates/check")
            def check_variables(variables: dict) -> dict[str, bool]:
                try:
                    jsonschema.validate(variables, SCHEMA)
                except (KeyError, jsonschema.exceptions.ValidationError) as exc:
                    # Says which of the client's variables breaks the template's schema.
                    raise HTTPException(status_code=422, detail=f"Invalid job variables: {exc!r}")
                return {"valid": True}
            """
        ),
        Valid(
            """
            from fastapi import FastAPI, HTTPException

            from app.graph import expand_trigger

            app = FastAPI()

            @app.get("/pipelines/{name}/graph")
            def pipeline_graph(name: str, trigger: dict) -> dict:
                try:
                    nodes = expand_trigger(trigger)
                except TypeError as e:
                    # expand_trigger raises this TypeError itself, with its own wording.
                    raise HTTPException(400, f"Malformed trigger in pipeline {name!r}: {e}")
                return {"nodes": nodes}
            """,
            filename="app/main.py",
            files={
                "app/graph.py": (
                    "def expand_trigger(expr: dict) -> list[dict]:\n"
                    "    nodes = []\n"
                    "    for key, value in expr.items():\n"
                    "        if key not in ('any', 'all', 'dataset'):\n"
                    "            raise TypeError(f'Unsupported trigger: {key}')\n"
                    "        nodes.append({'id': key, 'value': value})\n"
                    "    return nodes\n"
                ),
            },
        ),
        Valid(
            """
            import yaml
            from fastapi import FastAPI, HTTPException, UploadFile
            from flowkit.policy import ComponentPolicyError, check_component

            app = FastAPI()

            @app.post("/blocklists/validate")
            async def validate_blocklist(file: UploadFile) -> dict:
                try:
                    words = yaml.safe_load(await file.read())
                except yaml.YAMLError as e:  # a parser's error: a line and column of the upload
                    return {"valid": False, "error": f"Invalid YAML syntax: {e}"}
                return {"valid": True, "count": len(words)}

            @app.post("/components/check")
            def check(code: str) -> dict:
                try:
                    check_component(code)
                except ComponentPolicyError as e:  # a library's domain refusal, worded for the caller
                    raise HTTPException(status_code=403, detail=str(e))
                return {"allowed": True}
            """
        ),
        Valid(
            """
            from fastapi import FastAPI, HTTPException

            from app.keys import check_key_request

            app = FastAPI()

            @app.post("/keys")
            def generate_key(user_id: str, team_id: str) -> dict[str, str]:
                try:
                    check_key_request(user_id, team_id)
                except AssertionError as e:  # the callee's `assert ..., "message"`: the team's wording
                    raise HTTPException(status_code=403, detail=str(e))
                return {"key": "sk-..."}
            """,
            filename="app/main.py",
            files={
                "app/keys.py": (
                    "def check_key_request(user_id: str, team_id: str) -> None:\n"
                    "    assert team_id.startswith(user_id), f'user {user_id} cannot create keys for team {team_id}'\n"
                ),
            },
        ),
        Valid(
            """
            from fastapi import FastAPI, HTTPException

            from app.errors import error_for_client
            from app.runner import run_flow
            from app.settings import settings

            app = FastAPI()

            @app.post("/flows/{flow_id}/run")
            async def run(flow_id: str) -> dict:
                try:
                    return await run_flow(flow_id)
                except Exception as exc:
                    http_error = HTTPException(status_code=500, detail=str(exc))
                    # The helper swaps the detail for a generic one unless the operator opted in.
                    raise error_for_client(http_error, expose_details=settings.expose_errors) from exc
            """,
            filename="app/main.py",
            files={
                "app/errors.py": (
                    "from fastapi import HTTPException\n\n"
                    "def error_for_client(error: HTTPException, *, expose_details: bool) -> HTTPException:\n"
                    "    return error if expose_details else HTTPException(error.status_code, 'Flow failed')\n"
                ),
                "app/runner.py": "async def run_flow(flow_id: str) -> dict:\n    return {'id': flow_id}\n",
                "app/settings.py": "class Settings:\n    expose_errors = False\n\nsettings = Settings()\n",
            },
        ),
        Valid(
            """
            import base64

            import httpx
            from fastapi import FastAPI, HTTPException

            app = FastAPI()

            @app.post("/files")
            def upload(name: str, content_b64: str) -> dict[str, int]:
                try:
                    content = base64.b64decode(content_b64)
                except Exception as e:  # only the client's base64 can be wrong: "Incorrect padding"
                    raise HTTPException(status_code=400, detail=f"Invalid base64 content: {e}")
                return {"size": len(content)}

            @app.put("/settings/langfuse")
            def set_host(host: str) -> dict[str, str]:
                try:
                    url = httpx.URL(host)
                except Exception as e:  # a parser's verdict on the host the client typed
                    raise HTTPException(status_code=400, detail={"error": f"Invalid host: {e}"})
                return {"host": str(url)}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI, HTTPException
            from sqlalchemy.exc import SQLAlchemyError
            from sqlalchemy.orm import Session

            from app.db import get_db

            app = FastAPI()

            @app.post("/users")
            def create_user(payload: dict, db: Session = Depends(get_db)):
                try:
                    db.execute_insert(payload)
                except SQLAlchemyError as e:
                    raise HTTPException(status_code=500, detail=f"Database error: {e}")
                except Exception as exc:
                    raise HTTPException(status_code=500, detail=str(exc))
            """,
            lines=(14, 16),
            filename="app/main.py",
            files={"app/db.py": "def get_db():\n    yield None\n"},
        ),
        Invalid(
            """
            import traceback

            from fastapi import FastAPI, Request
            from fastapi.responses import JSONResponse

            app = FastAPI()

            @app.exception_handler(Exception)
            async def unhandled(request: Request, exc: Exception):
                return JSONResponse(
                    status_code=500,
                    content={"error": repr(exc), "trace": traceback.format_exc()},
                )
            """,
            lines=(12,),
        ),
        Invalid(
            """
            import httpx
            from fastapi import FastAPI, HTTPException

            from app.graph import expand_trigger, layout

            app = FastAPI()

            @app.get("/pipelines/{name}/graph")
            def pipeline_graph(name: str) -> dict:
                try:
                    # A library call shares the `try`: its TypeError is nobody's wording.
                    nodes = expand_trigger(httpx.get(f"http://registry.internal/{name}").json())
                except TypeError as e:
                    raise HTTPException(400, f"Malformed trigger in pipeline {name!r}: {e}")
                return {"nodes": nodes}

            @app.post("/pipelines/layout")
            def pipeline_layout(trigger: dict) -> dict:
                try:
                    return layout(trigger)  # raises no TypeError of its own: any is an accident
                except TypeError as e:
                    raise HTTPException(400, f"Cannot lay out the trigger: {e}")

            @app.post("/pipelines/expand")
            def pipeline_expand(trigger: dict) -> dict:
                try:
                    return {"nodes": expand_trigger(trigger)}
                except Exception as e:
                    raise HTTPException(500, f"Could not expand the trigger: {e}")
            """,
            lines=(14, 22, 29),
            filename="app/main.py",
            files={
                "app/graph.py": (
                    "def layout(expr: dict) -> dict:\n"
                    "    return {key: len(value) * 40 for key, value in expr.items()}\n\n"
                    "def expand_trigger(expr: dict) -> list[dict]:\n"
                    "    for key in expr:\n"
                    "        if key not in ('any', 'all', 'dataset'):\n"
                    "            raise TypeError(f'Unsupported trigger: {key}')\n"
                    "    return [{'id': key} for key in expr]\n"
                ),
            },
        ),
    )

    # -- entry points --------------------------------------------------------

    def visit_ExceptHandler(self, node: ast.ExceptHandler, ctx: FileContext) -> None:
        leaky = node.type is not None and self._leaky(node.type, ctx)
        if leaky and isinstance(ctx.parent, ast.Try) and self._validation_only(ctx.parent.body, ctx):
            leaky = False  # `except Exception` around `Model.model_validate(data)`: a validation error
        if (
            leaky
            and node.type is not None
            and isinstance(ctx.parent, ast.Try)
            and self._raised_by_callee(node.type, ctx.parent.body, ctx)
        ):
            leaky = False  # `except TypeError` around a project function that raises it itself
        var = node.name if leaky else None
        self._scan(node.body, var, ctx, self._returns_to_client(ctx))

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._handler(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._handler(node, ctx)

    def _handler(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        """`@app.exception_handler(Exception)` handlers: their second parameter."""
        for deco in node.decorator_list:
            if (
                isinstance(deco, ast.Call)
                and isinstance(deco.func, ast.Attribute)
                and deco.func.attr == "exception_handler"
                and deco.args
                and self._leaky(deco.args[0], ctx)
            ):
                params = [*node.args.posonlyargs, *node.args.args]
                var = params[1].arg if len(params) >= 2 else None
                self._scan(node.body, var, ctx, returns=True)
                return

    # -- analysis ------------------------------------------------------------

    def _returns_to_client(self, ctx: FileContext) -> bool:
        func = ctx.function()
        return func is not None and bool(ctx.routes_of(func.node))

    def _scan(self, body: list[ast.stmt], var: str | None, ctx: FileContext, returns: bool) -> None:
        seen: set[int] = set()
        handed_over: set[int] | None = None  # read only for a handler that builds a response
        for node in scope_nodes(body):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call):
                values = self._sink_values(node, ctx)
                if values:
                    if handed_over is None:
                        handed_over = _handed_over(body)
                    if id(node) in handed_over:
                        values = []
            elif returns and isinstance(node, ast.Return) and node.value is not None:
                values = [node.value]
            for value in values:
                for leak, what in self._leaks(value, var, ctx):
                    if id(leak) in seen:
                        continue
                    seen.add(id(leak))
                    ctx.report(
                        leak,
                        f"`{ctx.source.segment(leak) or ast.unparse(leak)}` sends {what} to the client, exposing internals "
                        "(SQL, file paths, hosts); log it with `logger.exception(...)` and "
                        "return a generic message.",
                    )

    @staticmethod
    def _sink_values(call: ast.Call, ctx: FileContext) -> list[ast.expr]:
        target = ctx.resolve(call.func) or ""
        names: tuple[str, ...]
        if target in _HTTP_EXCEPTIONS:
            names, index = ("detail", "reason"), 1
        elif target.startswith(("fastapi.", "starlette.")) and target.endswith("Response"):
            names, index = ("content",), 0
        else:
            return []
        out = [k.value for k in call.keywords if k.arg in names]
        if len(call.args) > index:
            out.append(call.args[index])
        return out

    def _leaks(self, value: ast.expr, var: str | None, ctx: FileContext) -> Iterator[tuple[ast.expr, str]]:
        for node in ast.walk(value):
            if isinstance(node, ast.Call):
                target = ctx.resolve(node.func)
                if target in _TRACEBACK:
                    yield node, "the stack trace"
                    continue
                if (
                    var is not None
                    and isinstance(node.func, ast.Name)
                    and node.func.id in {"str", "repr"}
                    and ctx.module.resolve_name(node.func.id) in (None, "builtins.str")
                    and len(node.args) == 1
                    and self._is_exc(node.args[0], var)
                ):
                    yield node, "the exception's text"
                    continue
                if (
                    var is not None
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "format"
                    and any(self._is_exc(a, var) for a in [*node.args, *(k.value for k in node.keywords)])
                ):
                    yield node, "the exception's text"
            elif var is not None and isinstance(node, ast.JoinedStr):
                if any(isinstance(v, ast.FormattedValue) and self._is_exc(v.value, var) for v in node.values):
                    yield node, "the exception's text"
            elif var is not None and isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                right = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
                if any(self._is_exc(r, var) for r in right):
                    yield node, "the exception's text"
            elif (
                var is not None
                and isinstance(node, ast.Attribute)
                and node.attr in _EXC_ATTRS
                and isinstance(node.value, ast.Name)
                and node.value.id == var
            ):
                yield node, "the exception's details"

    @staticmethod
    def _is_exc(expr: ast.expr, var: str) -> bool:
        if isinstance(expr, ast.Name):
            return expr.id == var
        if isinstance(expr, ast.Attribute) and expr.attr in _EXC_ATTRS:
            return isinstance(expr.value, ast.Name) and expr.value.id == var
        return False

    @staticmethod
    def _validation_only(body: list[ast.stmt], ctx: FileContext) -> bool:
        """Does the `try` body call nothing but Pydantic validation (`LogFilter.model_validate(
        message["filter"])`, `TypeAdapter(list[int]).validate_python(raw)`) or parsers of one
        value (`base64.b64decode(content)`, `httpx.URL(host)`, `json.loads(raw)`)?"""
        validates = False
        for call in (n for stmt in body for n in ast.walk(stmt) if n.__class__ is ast.Call):
            target = ctx.resolve(call.func)
            if (isinstance(call.func, ast.Attribute) and call.func.attr in _VALIDATION_METHODS) or (
                target in _PARSERS or (target is None and isinstance(call.func, ast.Name) and call.func.id in {"int", "float"})
            ):
                validates = True
            elif target not in _TYPE_ADAPTERS:
                return False
        return validates

    @staticmethod
    def _raised_by_callee(expr: ast.expr, body: list[ast.stmt], ctx: FileContext) -> bool:
        """Does the `try` body call only project functions, one of which raises the caught
        builtin itself (`raise TypeError(f"Unsupported type: {key}")`)? The handler then
        translates an error the team anticipated and worded, about the data it was given."""
        name = ctx.resolve(expr) if isinstance(expr, ast.Name) else None
        if name is None or name.removeprefix("builtins.") not in _WORDED_BUILTINS:
            return False
        name = name.removeprefix("builtins.")
        raises = False
        for call in (n for stmt in body for n in ast.walk(stmt) if n.__class__ is ast.Call):
            callee = ctx.project.lookup(ctx.call_target(call))
            if not isinstance(callee, FunctionInfo):
                return False
            raises = raises or _raises(callee, name)
        return raises

    def _leaky(self, expr: ast.expr, ctx: FileContext) -> bool:
        """Does the except clause catch an exception whose text describes internals?"""
        if isinstance(expr, ast.Tuple):
            types = list(expr.elts)
            if any(self._user_facing(t, ctx) for t in types):
                return False
            return any(self._leaky(t, ctx) for t in types)
        if self._user_facing(expr, ctx):
            return False
        target = ctx.resolve(expr)
        if target is None:
            return isinstance(expr, ast.Name) and expr.id in _LEAKY_BUILTINS
        if target.startswith("builtins."):
            return target.removeprefix("builtins.") in _LEAKY_BUILTINS
        if isinstance(ctx.project.lookup(target), ClassInfo):  # star re-exports included
            return False  # the project's own exception: its message is written by the team
        return "." in target and target.partition(".")[0] in _INTERNAL_LIBRARIES

    @staticmethod
    def _user_facing(expr: ast.expr, ctx: FileContext) -> bool:
        target = ctx.resolve(expr)
        if target is None:
            return isinstance(expr, ast.Name) and expr.id == "ValueError"
        return (
            target.startswith(_USER_FACING_PREFIXES)
            or target in _TEMPLATE_ERRORS
            or target in {"ValueError", "builtins.ValueError"}
        )


def _handed_over(body: list[ast.stmt]) -> set[int]:
    """Calls bound to a name that the handler never raises nor returns itself but passes
    to a function (`error = HTTPException(500, str(exc)); raise error_for_client(error,
    expose_details=debug)`): that function decides what reaches the client."""
    bound: dict[str, ast.Call] = {}
    passed: set[str] = set()
    sent: set[str] = set()
    for node in scope_nodes(body):
        value: ast.expr | None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name):
            sent.add(node.exc.id)
            continue
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Name):
            sent.add(node.value.id)
            continue
        elif isinstance(node, ast.Call):
            passed.update(a.id for a in [*node.args, *(k.value for k in node.keywords)] if isinstance(a, ast.Name))
            continue
        else:
            continue
        if isinstance(target, ast.Name) and isinstance(value, ast.Call):
            bound[target.id] = value
    return {id(call) for name, call in bound.items() if name in passed and name not in sent}


def _raises(func: FunctionInfo, name: str) -> bool:
    """Does the function raise the builtin `name` itself, with a message? An `assert cond,
    "message"` raises `AssertionError` with the team's wording too."""
    if name == "AssertionError" and any(node.msg is not None for node in own_nodes_of(func.node, ast.Assert)):
        return True
    for node in own_nodes_of(func.node, ast.Raise):
        exc = node.exc
        if (
            isinstance(exc, ast.Call)
            and isinstance(exc.func, ast.Name)
            and exc.func.id == name
            and exc.args
            and func.module.resolve_name(name) in (None, f"builtins.{name}")
        ):
            return True
    return False
