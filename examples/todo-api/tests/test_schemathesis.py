"""Property-based API testing: schemathesis generates requests from our own OpenAPI
document and checks that no response is a 5xx and every response matches the schema
(status code documented, content type documented, body valid, headers valid).

Runs in-process against the ASGI app (lifespan entered once), on the SQLite backend
only: the PostgreSQL paths are covered by the rest of the suite, and doubling this
property run would double its time for little gain. Bounded to keep the suite fast.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import PASSWORD, Backend, make_settings
from todo_api.app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

_app = create_app(
    make_settings(
        Backend("sqlite", "sqlite+aiosqlite:///unused.db", None),
        docs_enabled=True,
    )
)
schema = schemathesis.openapi.from_dict(_app.openapi())


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[object]:
    path = tmp_path_factory.mktemp("schemathesis") / "api.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(Backend("sqlite", f"sqlite+aiosqlite:///{path}", None)))
    with asgi.get_client(app) as client:  # type: ignore[arg-type] # enters the lifespan once for the whole module
        email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
        client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        token = client.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    database=None,  # no .hypothesis/ directory; failures print their reproduction
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case[Any], session: asgi.ASGIClient) -> None:
    response = case.call(session=session)
    case.validate_response(response, checks=CHECKS)
