"""Acceptance: the flawed demo service and the reference service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_expert.cli import main

ROOT = Path(__file__).resolve().parents[2]
FLAWED = ROOT / "examples" / "flawed-app"
TODO = ROOT / "examples" / "todo-api"
TODO_PYTHON = TODO / ".venv" / "bin" / "python"

pytest.importorskip("sqlalchemy", reason="the flawed app imports sqlalchemy")
pytest.importorskip("jwt", reason="the flawed app imports PyJWT")
pytest.importorskip("requests", reason="the flawed app imports requests")

# What FastAPI itself shows about the flawed app: (code, file, line).
FLAWED_RUNTIME_DEFECTS = {
    ("FX413", "app/main.py", 21),  # FastAPI(debug=True)
    ("FX423", "app/main.py", 21),  # no nosniff / framing protection on responses
    ("FX406", "app/main.py", 23),  # CORS "*" + credentials, confirmed by a preflight
    ("FX510", "app/main.py", 30),  # BodySizeLimit is a BaseHTTPMiddleware
    ("FX302", "app/routers/auth.py", 24),  # POST /auth/token
    ("FX302", "app/routers/orders.py", 59),  # POST /orders/import
    ("FX302", "app/routers/orders.py", 69),  # GET /orders/{order_id}/report
    ("FX408", "app/routers/orders.py", 59),  # POST /orders/import, no auth
    ("FX408", "app/routers/orders.py", 101),  # DELETE /orders/{order_id}, no auth
    ("FX112", "app/routers/orders.py", 83),  # GET /orders/getSummary shadowed by /orders/{order_id}
}
UNDOCUMENTED_LINES = {16, 24} | {24, 29, 35, 43, 59, 69, 76, 83, 93, 101}


def test_flawed_app_runtime_defects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], isolated_imports: None
) -> None:
    monkeypatch.chdir(tmp_path)  # its startup handler creates orders.db in the cwd
    code = main(["audit", "app.main:app", "--app-dir", str(FLAWED), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    found = {
        (f["code"], Path(f["path"]).resolve().relative_to(FLAWED).as_posix(), f["line"])
        for f in document["findings"]
    }
    documented = {item for item in found if item[0] == "FX702"}
    assert found - documented == FLAWED_RUNTIME_DEFECTS
    assert {line for _, _, line in documented} == UNDOCUMENTED_LINES
    assert len(documented) == 12
    routes = {(tuple(r["methods"]), r["path"]): r for r in document["routes"]}
    assert routes[(("POST",), "/orders/")]["auth"] == ["OAuth2PasswordBearer"]
    assert routes[(("POST",), "/orders/import")]["public"] is True
    assert document["summary"]["probes"]["requests"] > 5


def test_flawed_app_without_probes_keeps_the_inspection_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], isolated_imports: None
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["audit", "app.main:app", "--app-dir", str(FLAWED), "--no-probe", "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["summary"]["probes"] is None
    assert not (tmp_path / "orders.db").exists()  # no lifespan, no startup handler
    assert {f["code"] for f in document["findings"]} == {"FX413", "FX406", "FX302", "FX408", "FX112", "FX510", "FX702"}


@pytest.mark.skipif(not TODO_PYTHON.exists(), reason="examples/todo-api/.venv does not exist (make -C examples/todo-api venv)")
def test_todo_api_has_no_finding_and_every_route_shows_its_auth(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for variable in ("ENVIRONMENT", "ENV", "APP_ENV"):
        env.pop(variable, None)
    completed = subprocess.run(
        [str(TODO_PYTHON), "-m", "fastapi_expert", "audit", "todo_api.app:create_app", "--factory", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(completed.stdout)
    assert document["findings"] == []
    routes = {(tuple(r["methods"]), r["path"]): r for r in document["routes"]}
    public = {path for (_, path), r in routes.items() if r["public"]}
    assert public == {
        "/openapi.json", "/docs", "/docs/oauth2-redirect",
        "/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/auth/refresh",
        "/api/v1/health/live", "/api/v1/health/ready",
    }
    assert routes[(("GET",), "/api/v1/todos")]["auth"] == ["BearerToken", "ApiKey"]
    assert routes[(("WEBSOCKET",), "/api/v1/ws/todos")]["auth"] == ["token (query) in handler"]
    assert document["summary"]["probes"]["requests"] > 10
    assert sys.executable  # the audit ran in the todo-api's own interpreter, not ours
