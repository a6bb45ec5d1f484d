"""The MCP server end to end: the SDK's own client talks to it in-process
(and once over stdio, as an assistant would), lists what it offers, calls
every tool, and checks the structured results and errors."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextResourceContents

from conftest import PAGINATION_GUIDE as GUIDE
from fastapi_expert.integrations.mcp_server import build_server
from fastapi_expert.review import catalogue

T = TypeVar("T")

BLOCKING = """\
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/report")
async def report() -> dict[str, bool]:
    time.sleep(2)
    return {"ok": True}
"""

READ_ONLY_TOOLS = {"review_code", "review_path", "explain_rule", "list_rules", "search_guides", "read_guide"}
HAS_AUDIT = importlib.util.find_spec("fastapi_expert.audit") is not None
TOOLS = READ_ONLY_TOOLS | ({"audit_app"} if HAS_AUDIT else set())

SERVICE = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/items")
async def items() -> list[int]:
    return [1, 2]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "main.py").write_text(BLOCKING, encoding="utf-8")
    (root / "app" / "service.py").write_text(SERVICE, encoding="utf-8")
    (tmp_path / "outside.py").write_text(BLOCKING, encoding="utf-8")
    return root


def session(root: Path, guides: Path, body: Callable[[Client], Awaitable[T]]) -> T:
    server = build_server(root, guides)

    async def go() -> T:
        async with Client(server) as client:
            return await body(client)

    return anyio.run(go)


def structured(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result.content
    return result.structured_content


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    return structured(result)


def error(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error
    err = structured(result)["error"]
    # The text content says the same for clients that only read text.
    text = result.content[0]
    assert getattr(text, "type", None) == "text"
    assert json.loads(getattr(text, "text", "")) == {"error": err}
    return dict(err)


def test_tools_are_listed_read_only_with_schemas(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        return await c.list_tools()

    tools = session(project, guides, body).tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert tool.annotations is not None
        # audit_app runs the app's own code (its lifespan may write): not read-only.
        assert tool.annotations.read_only_hint is (tool.name in READ_ONLY_TOOLS)
        assert tool.annotations.destructive_hint is False
        assert tool.description and not tool.description.startswith(" ")
        assert tool.output_schema is not None
    by_name = {t.name: t for t in tools}
    assert by_name["explain_rule"].input_schema["required"] == ["code"]
    assert set(by_name["review_code"].input_schema["properties"]) == {"code", "filename", "files", "select", "ignore"}


def test_review_code_snippet(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        return await c.call_tool("review_code", {"code": BLOCKING, "filename": "app/main.py"})

    data = ok(session(project, guides, body))
    finding = data["findings"][0]
    assert finding["code"] == "FX201" and finding["path"] == "app/main.py"
    assert (finding["line"], finding["column"]) == (10, 5)
    assert set(finding) == {"code", "name", "severity", "path", "line", "column", "end_line",
                            "end_column", "message", "fix", "chain"}
    assert finding["fix"]["applicability"] == "safe"
    assert data["summary"]["by_code"] == {"FX201": 1}


def test_review_code_files_are_one_project(project: Path, guides: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/clients.py": "import requests\n\ndef fetch():\n    return requests.get('https://x', timeout=5)\n",
        "app/main.py": (
            "from fastapi import FastAPI\nfrom app.clients import fetch\n\napp = FastAPI()\n\n"
            "@app.get('/x')\nasync def x() -> dict[str, str]:\n    fetch()\n    return {}\n"
        ),
    }

    async def body(c: Client) -> Any:
        return await c.call_tool("review_code", {"files": files, "select": ["FX210"]})

    data = ok(session(project, guides, body))
    assert [f["code"] for f in data["findings"]] == ["FX210"]
    assert data["findings"][0]["chain"], "the chain crosses the files"


def test_snippet_that_does_not_parse_is_a_finding(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        return await c.call_tool("review_code", {"code": "def broken(:\n    pass\n"})

    data = ok(session(project, guides, body))
    assert [f["code"] for f in data["findings"]] == ["FX001"]
    assert "syntax error" in data["findings"][0]["message"]


def test_review_path_under_root(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        return [await c.call_tool("review_path", {"path": "app"}),
                await c.call_tool("review_path", {}),
                await c.call_tool("review_path", {"path": str(project / "app" / "main.py")})]

    for result in session(project, guides, body):
        data = ok(result)
        assert {(f["code"], f["path"]) for f in data["findings"]} == {("FX201", "app/main.py")}


def test_review_path_outside_root_is_refused(project: Path, guides: Path) -> None:
    (project / "escape.py").symlink_to(project.parent / "outside.py")
    (project / "linked").symlink_to(project.parent, target_is_directory=True)

    async def body(c: Client) -> Any:
        return [await c.call_tool("review_path", {"path": p})
                for p in ("../outside.py", str(project.parent / "outside.py"), "escape.py", "linked", "/etc")]

    for result in session(project, guides, body):
        err = error(result)
        assert err["type"] == "path_outside_root"
        assert err["root"] == str(project.resolve())


def test_symlinked_file_inside_a_reviewed_folder_is_skipped(project: Path, guides: Path) -> None:
    (project / "app" / "escape.py").symlink_to(project.parent / "outside.py")

    async def body(c: Client) -> Any:
        return await c.call_tool("review_path", {"path": "."})

    data = ok(session(project, guides, body))
    assert {f["path"] for f in data["findings"]} == {"app/main.py"}
    assert data["summary"]["skipped_outside_root"] == ["app/escape.py"]


def test_review_path_missing(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        return await c.call_tool("review_path", {"path": "nope"})

    assert error(session(project, guides, body))["type"] == "not_found"


def test_explain_and_list_rules(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        return [await c.call_tool("explain_rule", {"code": "fx201"}),
                await c.call_tool("explain_rule", {"code": "blocking-sleep-in-async"}),
                await c.call_tool("list_rules", {}),
                await c.call_tool("list_rules", {"prefix": "FX4"})]

    by_code, by_name, every, security = session(project, guides, body)
    doc = ok(by_code)
    assert doc == ok(by_name)
    assert doc["code"] == "FX201" and doc["severity"] == "error" and doc["fixable"] is True
    assert "## Why is this bad?" in doc["markdown"] and doc["uri"] == "fastapi-expert://rules/FX201"
    assert [r["code"] for r in ok(every)["rules"]] == [e.code for e in catalogue.entries()]
    assert {r["code"][:3] for r in ok(security)["rules"]} == {"FX4"}


def test_search_and_read_guides(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        return [await c.call_tool("search_guides", {"query": "deep pages get slow with offset", "limit": 2}),
                await c.call_tool("read_guide", {"slug": "pagination"}),
                await c.call_tool("read_guide", {"slug": "pagination", "section": "mistakes to avoid"})]

    found, whole, part = session(project, guides, body)
    hits = ok(found)["hits"]
    assert len(hits) == 2
    assert hits[0]["key"] == "pagination" and hits[0]["uri"] == "fastapi-expert://guides/pagination"
    assert "deep pages get slow" in hits[0]["excerpt"]
    assert ok(whole)["markdown"] == GUIDE
    assert ok(whole)["sections"] == ["When to use what", "Example", "Mistakes to avoid", "References"]
    assert ok(part)["markdown"].startswith("## Mistakes to avoid\n")


def test_bad_calls_get_structured_errors_and_the_server_keeps_serving(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        results = [
            await c.call_tool("explain_rule", {}),
            await c.call_tool("explain_rule", {"code": 201}),
            await c.call_tool("explain_rule", {"code": "FX2O1"}),
            await c.call_tool("read_guide", {"slug": "paginaton"}),
            await c.call_tool("read_guide", {"slug": "pagination", "section": "Nope"}),
            await c.call_tool("review_code", {}),
            await c.call_tool("review_code", {"code": "x = 1", "files": {"a.py": "x = 1"}}),
            await c.call_tool("review_code", {"files": {"../a.py": "x = 1"}}),
            await c.call_tool("review_code", {"code": "x = 1", "select": ["FX999"]}),
            await c.call_tool("search_guides", {"query": "x", "limit": 0}),
            await c.call_tool("search_guides", {"query": "  "}),
            await c.call_tool("list_rules", {"prefix": "FX9"}),
            await c.call_tool("no_such_tool", {}),
            await c.call_tool("review_code", {"code": "import time\nasync def f():\n    time.sleep(1)\n"}),
        ]
        return results

    *bad, good = session(project, guides, body)
    errors = [error(r) for r in bad]
    kinds = [e["type"] for e in errors]
    assert kinds == [
        "invalid_arguments", "invalid_arguments", "unknown_rule", "unknown_guide", "unknown_section",
        "invalid_arguments", "invalid_arguments", "invalid_arguments", "invalid_arguments",
        "invalid_arguments", "invalid_arguments", "invalid_arguments", "unknown_tool",
    ]
    assert errors[0]["problems"] == [{"argument": "code", "problem": "Field required"}]
    assert errors[1]["problems"][0]["argument"] == "code"
    assert "FX201" in errors[2]["suggestions"]
    assert errors[3]["suggestions"] == ["pagination"]
    assert "Mistakes to avoid" in errors[4]["suggestions"]
    assert "matches no rule" in errors[8]["message"]
    assert [f["code"] for f in ok(good)["findings"]] == ["FX201"]


def test_resources_are_every_guide_and_every_rule(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        listed = await c.list_resources()
        guide = await c.read_resource("fastapi-expert://guides/pagination")
        rule = await c.read_resource("fastapi-expert://rules/FX406")
        return listed, guide, rule

    listed, guide, rule = session(project, guides, body)
    uris = {str(r.uri) for r in listed.resources}
    assert "fastapi-expert://guides/pagination" in uris
    assert {f"fastapi-expert://rules/{e.code}" for e in catalogue.entries()} <= uris
    assert all(r.mime_type == "text/markdown" for r in listed.resources)
    g, r = guide.contents[0], rule.contents[0]
    assert isinstance(g, TextResourceContents) and g.text == GUIDE
    assert isinstance(r, TextResourceContents) and r.text.startswith("# FX406 cors-wildcard-with-credentials")


def test_review_prompt(project: Path, guides: Path) -> None:
    async def body(c: Client) -> Any:
        return await c.list_prompts(), await c.get_prompt("fastapi_review", {"path": "app", "focus": "auth"})

    listed, prompt = session(project, guides, body)
    assert [p.name for p in listed.prompts] == ["fastapi_review"]
    text = getattr(prompt.messages[0].content, "text", "")
    assert 'review_path with path="app"' in text and "explain_rule" in text and "search_guides" in text
    assert "Pay particular attention to: auth." in text
    for area in ("dependency injection", "async", "Pydantic", "security", "performance"):
        assert area in text


def test_stdio_server_speaks_only_the_protocol(project: Path, guides: Path) -> None:
    """A real subprocess, as an assistant starts it: anything else on stdout
    would break the JSON-RPC stream."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "fastapi_expert", "mcp", "--root", str(project)],
        env={**os.environ, "FASTAPI_EXPERT_GUIDES_DIR": str(guides)},
    )

    async def go() -> tuple[set[str], dict[str, Any]]:
        async with Client(params) as client:
            tools = await client.list_tools()
            result = await client.call_tool("review_path", {"path": "app"})
            return {t.name for t in tools.tools}, ok(result)

    names, data = anyio.run(go)
    assert names == TOOLS
    assert [f["code"] for f in data["findings"]] == ["FX201"]


@pytest.mark.skipif(not HAS_AUDIT, reason="fastapi_expert.audit is not installed")
def test_audit_app(project: Path, guides: Path) -> None:
    pytest.importorskip("fastapi")
    (project / "elsewhere").mkdir()

    async def body(c: Client) -> Any:
        return [
            await c.call_tool("audit_app", {"target": "app.service:app"}),
            await c.call_tool("audit_app", {"target": "app.missing:app"}),
            await c.call_tool("audit_app", {"target": "--help"}),
            await c.call_tool("audit_app", {"target": "app.service:app", "app_dir": ".."}),
            await c.call_tool("audit_app", {"target": "app.service:app", "timeout": 0}),
        ]

    good, missing, flag, outside, bad_timeout = session(project, guides, body)
    data = ok(good)
    assert "/items" in {r["path"] for r in data["routes"]}
    assert data["summary"]["app"] == "app.service:app"
    assert isinstance(data["findings"], list)
    err = error(missing)
    assert err["type"] == "audit_failed" and "app.missing" in err["message"]
    assert error(flag)["type"] == "invalid_arguments"
    assert error(outside)["type"] == "path_outside_root"
    assert error(bad_timeout)["type"] == "invalid_arguments"


def test_broken_project_configuration_is_a_config_error(project: Path, guides: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.fastapi-expert]\nselect = "FX2"\nunknown-key = 1\n', encoding="utf-8")

    async def body(c: Client) -> Any:
        return await c.call_tool("review_path", {"path": "app"})

    err = error(session(project, guides, body))
    assert err["type"] == "config_error"
