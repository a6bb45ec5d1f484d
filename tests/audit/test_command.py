"""The command: loading by name, options, formats, and the catalogue entries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_expert.audit.checks import ALL_CHECKS
from fastapi_expert.audit.checks.base import validate_check
from fastapi_expert.cli import main
from fastapi_expert.review import catalogue
from fastapi_expert.review.registry import all_rules

SERVICE = '''
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/token")
forgotten = APIKeyHeader(name="X-Admin-Key")  # declared, never required
calls: list[str] = []

router = APIRouter(prefix="/v1")


@router.post("/token", summary="Log in")
def login() -> dict[str, str]:
    return {"access_token": "x"}


@router.get("/me", summary="Me")
def me(token: Annotated[str, Depends(oauth2)]) -> dict[str, str]:
    return {"token": token}


@router.post("/hooks", summary="Receive a hook")
async def hook(request: Request) -> dict[str, int]:
    calls.append("hook")  # the probes must never get here
    return {"ok": 1}


@router.post("/items", summary="Create")
def create(item: dict[str, int], token: Annotated[str, Depends(oauth2)]) -> dict[str, int]:
    calls.append("create")
    return item


def create_app() -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


app = create_app()
'''


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_imports: None) -> Path:
    package = tmp_path / "svc_for_audit"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(textwrap.dedent(SERVICE))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_load_by_name_with_app_dir_and_factory(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["audit", "svc_for_audit.main:create_app", "--factory", "--app-dir", str(service), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    by_code = {f["code"]: f for f in document["findings"]}
    unused = by_code["FX416"]  # the scheme created in the module and required by no route
    assert "svc_for_audit.main.forgotten" in unused["message"]
    assert (unused["path"], unused["line"]) == ("svc_for_audit/main.py", 8)
    paths = {r["path"] for r in document["routes"]}
    assert {"/v1/token", "/v1/me", "/v1/hooks", "/v1/items"} <= paths
    import svc_for_audit.main as module  # the module the audit imported

    assert module.calls == []  # malformed bodies and unauthenticated calls never reach an endpoint


def test_routes_only_and_formats(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "svc_for_audit.main:app", "--routes"]) == 0
    text = capsys.readouterr().out
    assert "POST    /v1/items" in text and "OAuth2PasswordBearer" in text and "Found" not in text
    assert main(["audit", "svc_for_audit.main:app", "--format", "markdown", "--exit-zero"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("### API audit: `svc_for_audit.main:app`") and "| `/v1/me` |" in markdown


SARIF_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "data" / "sarif-schema-2.1.0.json"


def test_audit_sarif_validates_against_the_official_schema(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="a development dependency, not in the oldest-FastAPI venv")
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"the SARIF schema is read from {SARIF_SCHEMA}, absent in this checkout (see shared/data/README.md)")
    assert main(["audit", "svc_for_audit.main:app", "--format", "sarif", "--exit-zero"]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    assert {r["ruleId"] for r in document["runs"][0]["results"]} >= {"FX416"}


def test_sarif_and_github_formats_hold_the_findings(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The review's CI formats, for an audit run in CI: code scanning and workflow annotations.
    assert main(["audit", "svc_for_audit.main:app", "--select", "FX416", "--format", "sarif"]) == 1
    document = json.loads(capsys.readouterr().out)
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "FX416"
    location = result["locations"][0]["physicalLocation"]
    assert (location["artifactLocation"]["uri"], location["region"]["startLine"]) == ("svc_for_audit/main.py", 8)
    assert any(r["id"] == "FX416" for r in document["runs"][0]["tool"]["driver"]["rules"])
    assert main(["audit", "svc_for_audit.main:app", "--select", "FX416", "--format", "github"]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("::warning file=svc_for_audit/main.py,line=8,") and "title=FX416 " in line, line
    assert main(["audit", "svc_for_audit.main:app", "--routes", "--format", "sarif"]) == 2
    assert "--routes prints the route table" in capsys.readouterr().err


def test_select_ignore_and_fail_on(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "svc_for_audit.main:app", "--select", "FX416", "--format", "json"]) == 1
    assert {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]} == {"FX416"}
    assert main(["audit", "svc_for_audit.main:app", "--ignore", "FX4,FX702", "--no-probe", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []
    assert main(["audit", "svc_for_audit.main:app", "--select", "FX416", "--fail-on", "error", "-o", "out.json", "--format", "json"]) == 0
    assert json.loads((service / "out.json").read_text())["summary"]["by_code"] == {"FX416": 1}


def test_every_check_is_documented_and_in_the_catalogue() -> None:
    rules = {r.code: r for r in all_rules()}
    entries = {e.code: e for e in catalogue.entries()}
    for check in ALL_CHECKS:
        assert validate_check(check) == []
        if check.code in rules:  # a reused static code keeps the rule's name and severity
            assert (rules[check.code].name, rules[check.code].severity) == (check.name, check.severity)
        else:
            assert entries[check.code].name == check.name
            assert "## References" in catalogue.render_explain(entries[check.code])
    assert len({c.code for c in ALL_CHECKS}) == len(ALL_CHECKS)
    assert len({e.code for e in catalogue.entries()}) == len(catalogue.entries())


def test_explain_a_runtime_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "FX112"]) == 0
    assert "shadowed-route" in capsys.readouterr().out


def test_listing_the_checks_does_not_import_fastapi() -> None:
    code = (
        "import sys; from fastapi_expert.review import catalogue; catalogue.entries(); "
        "import fastapi_expert.audit.checks; assert 'fastapi' not in sys.modules and 'starlette' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_crashing_check_is_fx002_and_exit_2(
    service: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi_expert.audit.checks.shadowed_route import ShadowedRoute

    def boom(self: object, data: object) -> list[object]:
        raise RuntimeError("bug in a check")

    monkeypatch.setattr(ShadowedRoute, "run", boom)
    assert main(["audit", "svc_for_audit.main:app", "--no-probe", "--format", "json"]) == 2
    document = json.loads(capsys.readouterr().out)
    internal = [f for f in document["findings"] if f["code"] == "FX002"]
    assert len(internal) == 1 and "FX112 crashed: RuntimeError: bug in a check" in internal[0]["message"]
    assert any(f["code"] == "FX416" for f in document["findings"])  # the other checks still ran
