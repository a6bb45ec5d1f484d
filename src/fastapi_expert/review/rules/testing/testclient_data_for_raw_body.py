from __future__ import annotations

import ast

from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.testing._tests import (
    HTTPX_BASED_CLIENTS,
    class_is,
    constructs,
    find_fixture,
    fixture_client_class,
)
from fastapi_expert.types import Edit, Fix

_METHODS = frozenset({"get", "post", "put", "patch", "delete", "options", "head", "request", "stream", "build_request"})
_HTTPX_FUNCTIONS = frozenset(f"httpx.{m}" for m in _METHODS - {"build_request"})
_JSON_DUMPS = frozenset({"json.dumps", "orjson.dumps", "ujson.dumps"})


def _raw_kind(ctx: FileContext, value: ast.expr) -> str | None:
    """"text" / "bytes" / "json" when `value` is obviously raw content, else None."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str | bytes):
        return "bytes" if isinstance(value.value, bytes) else "text"
    if isinstance(value, ast.JoinedStr):
        return "text"
    if isinstance(value, ast.Call):
        target = ctx.resolve(value.func)
        if target in _JSON_DUMPS:
            return "json"
        if (
            isinstance(value.func, ast.Attribute)
            and value.func.attr == "encode"
            and isinstance(value.func.value, ast.Constant | ast.JoinedStr)
        ):
            return "bytes"
    return None


class TestclientDataForRawBody(Rule):
    """Flags `client.post(..., data=<str or bytes>)` on a TestClient or httpx client.

    ## What it does
    Finds requests made with Starlette's `TestClient`, `httpx.Client`,
    `httpx.AsyncClient` or the `httpx.post(...)` family whose `data=` argument is a
    string or bytes literal, an f-string, `"...".encode()` or `json.dumps(...)`.
    The receiver is recognised from constructors, annotations and the project's
    pytest fixtures. `data={...}` (form fields) is correct and not reported.

    ## Why is this bad?
    httpx (which `TestClient` is built on since Starlette 0.21) reserves `data=`
    for form fields; raw text or bytes there is a deprecated `requests`
    compatibility path that warns `Use 'content=<...>' to upload raw bytes/text
    content`. `data=json.dumps(payload)` also sends the JSON without a
    `Content-Type: application/json` header, so the test does not exercise the
    request a real JSON client sends; `json=payload` does.

    ## Fix safety
    Renaming `data=` to `content=` for a literal is safe: the same bytes are sent.
    Rewriting `data=json.dumps(x)` to `json=x` is unsafe: httpx serialises the
    JSON itself (compact separators, non-ASCII unescaped, `NaN` rejected) and adds
    the JSON `Content-Type`, so the bytes on the wire change, which matters to a
    test that signs the body or asserts on it.

    ## References
    - https://www.python-httpx.org/compatibility/#request-content
    - https://www.python-httpx.org/quickstart/#sending-json-encoded-data
    - https://fastapi.tiangolo.com/tutorial/testing/
    """

    code = "FX606"
    name = "testclient-data-for-raw-body"
    summary = "`data=` with a raw string, bytes or `json.dumps(...)`: use `content=` or `json=`."

    valid = (
        Valid(
            """
            from fastapi.testclient import TestClient

            from app.main import app


            def test_login():
                with TestClient(app) as client:
                    response = client.post(
                        "/auth/token", data={"username": "alice", "password": "s3cret"}
                    )
                assert response.status_code == 200
            """,
            filename="tests/test_auth.py",
            files={"app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n"},
        ),
        Valid(
            """
            import json

            import requests


            def test_staging_webhook():
                # `requests` (not httpx): `data=` with a string is its documented API
                body = json.dumps({"event": "ping"})
                requests.post("https://staging.example.com/hooks", data=body, timeout=5)
                requests.post("https://staging.example.com/hooks", data="ping", timeout=5)
            """,
            filename="tests/test_smoke.py",
        ),
    )
    invalid = (
        Invalid(
            """
            import json

            from fastapi.testclient import TestClient

            from app.main import app

            client = TestClient(app)


            def test_create_item():
                payload = {"name": "hammer", "price": 9.5}
                response = client.post("/items", data=json.dumps(payload))
                assert response.status_code == 201


            def test_upload_csv():
                response = client.put("/imports/items.csv", data=b"name,price\\nhammer,9.5\\n")
                assert response.status_code == 200
            """,
            lines=(12, 17),
            filename="tests/test_items.py",
            files={"app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n"},
            fixed="""
            import json

            from fastapi.testclient import TestClient

            from app.main import app

            client = TestClient(app)


            def test_create_item():
                payload = {"name": "hammer", "price": 9.5}
                response = client.post("/items", json=payload)
                assert response.status_code == 201


            def test_upload_csv():
                response = client.put("/imports/items.csv", content=b"name,price\\nhammer,9.5\\n")
                assert response.status_code == 200
            """,
        ),
        Invalid(
            """
            async def test_plain_text_note(async_client):
                response = await async_client.post(
                    "/notes", data="buy milk", headers={"Content-Type": "text/plain"}
                )
                assert response.status_code == 201
            """,
            lines=(3,),
            filename="tests/test_notes.py",
            files={
                "tests/conftest.py": """
import pytest
from httpx import ASGITransport, AsyncClient

from app.main import app


@pytest.fixture
async def async_client():
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as c:
        yield c
""",
                "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
            },
            fixed="""
            async def test_plain_text_note(async_client):
                response = await async_client.post(
                    "/notes", content="buy milk", headers={"Content-Type": "text/plain"}
                )
                assert response.status_code == 201
            """,
        ),
    )

    def _is_client(self, call: ast.Call, ctx: FileContext) -> bool:
        target = ctx.call_target(call)
        if target in _HTTPX_FUNCTIONS:
            return True
        assert isinstance(call.func, ast.Attribute)
        if target is not None:
            owner = target.rsplit(".", 1)[0]
            if class_is(ctx.project, owner, HTTPX_BASED_CLIENTS):
                return True
        receiver = call.func.value
        if isinstance(receiver, ast.Call):
            return constructs(ctx.project, ctx.module, receiver, HTTPX_BASED_CLIENTS)
        if not isinstance(receiver, ast.Name):
            return False
        func = ctx.function()
        if func is not None:
            params = {a.arg: a for a in [*func.node.args.posonlyargs, *func.node.args.args, *func.node.args.kwonlyargs]}
            if receiver.id in params:
                if params[receiver.id].annotation is not None:
                    return False  # annotated: call_target already judged it
                fixture = find_fixture(ctx.project, ctx.module, receiver.id)
                return fixture is not None and fixture_client_class(ctx.project, fixture, HTTPX_BASED_CLIENTS)
            if receiver.id in ctx.project.variable_types(func):
                return False
        value = ctx.module.assignments.get(receiver.id)
        return isinstance(value, ast.Call) and constructs(ctx.project, ctx.module, value, HTTPX_BASED_CLIENTS)

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in _METHODS:
            return
        kw = next((k for k in node.keywords if k.arg == "data"), None)
        if kw is None or any(k.arg in {"content", "json"} for k in node.keywords):
            return
        kind = _raw_kind(ctx, kw.value)
        if kind is None or not self._is_client(node, ctx):
            return
        value = kw.value
        if kind == "json" and isinstance(value, ast.Call) and len(value.args) == 1 and not value.keywords and ctx.resolve(value.func) == "json.dumps" and not isinstance(value.args[0], ast.Starred):
            fix = Fix(
                "Pass the object as `json=`",
                (ctx.source.replace(kw, f"json={ctx.source.segment(value.args[0])}"),),
                safe=False,
            )
            message = "`data=json.dumps(...)` sends JSON as raw content without a JSON `Content-Type`; pass the object as `json=`."
        else:
            loc = ctx.source.location(kw)
            fix = Fix("Rename `data=` to `content=`", (Edit(loc.line, loc.column, loc.line, loc.column + len("data"), "content"),))
            what = "`json.dumps(...)` output" if kind == "json" else f"raw {kind}"
            message = f"`data=` with {what} is httpx's deprecated form of `content=`; pass it as `content=` (`data=` is for form fields)."
        ctx.report(kw, message, fix=fix)
