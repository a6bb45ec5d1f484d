"""The wording of FX104 (sync-dependency-without-io): the rule examples check
*where* it fires, these check *what it says*, the evidence it links and its fix."""

from __future__ import annotations

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from rule_messages import findings_by_line as _findings_by_line
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages


def test_fx104_names_the_dependency_the_route_and_what_to_do() -> None:
    example = _invalid("FX104", "def pagination(")
    messages = _messages("FX104", example)
    assert list(messages) == [10]
    message = messages[10]
    assert message.startswith(
        "`pagination` is a plain `def` dependency that does no I/O, yet FastAPI runs it in the threadpool "
        "on every request to `GET /items` (a thread hop and one of anyio's 40 tokens per call);"
    ), message
    assert message.endswith(
        "declare it `async def` so it runs on the event loop with no hop, which is safe since it never blocks."
    ), message
    assert "\n" not in message


def test_fx104_counts_the_other_routes_with_the_router_prefix() -> None:
    example = _invalid("FX104", "def get_search_client(")
    messages = _messages("FX104", example)
    assert list(messages) == [7, 10]
    # Both routes of the router depend on each: one is named, the other counted.
    for line, name in ((7, "get_search_client"), (10, "require_json")):
        assert messages[line].startswith(f"`{name}` is a plain `def` dependency"), messages[line]
        assert "on every request to `POST /search/` and 1 other route (" in messages[line], messages[line]


def test_fx104_links_the_marker_that_makes_fastapi_call_it() -> None:
    example = _invalid("FX104", "def get_search_client(")
    found = _findings_by_line("FX104", example)
    (link,) = found[7].chain
    assert link.location.path == "app/routes.py"
    assert link.location.line == 9
    assert link.note == "`Depends(get_search_client)` makes FastAPI call it for `POST /search/`"
    (link,) = found[10].chain
    assert link.location.line == 8
    assert link.note == "`Depends(require_json)` makes FastAPI call it for `POST /search/`"


def test_fx104_points_at_the_def_and_offers_an_unsafe_fix() -> None:
    example = _invalid("FX104", "def client_info(")
    found = _findings_by_line("FX104", example)
    assert list(found) == [27]
    finding = found[27]
    assert (finding.location.column, finding.location.end_line, finding.location.end_column) == (1, 27, 16)
    assert finding.fix is not None
    assert not finding.fix.safe
    (edit,) = finding.fix.edits
    assert (edit.line, edit.column, edit.end_line, edit.end_column, edit.content) == (27, 1, 27, 1, "async ")
    assert "`GET /updates`" in finding.message


def test_fx104_sees_a_direct_call_through_a_module_alias() -> None:
    # `api.deps.api_version()` reaches the function through `import app.deps as api_deps`:
    # as `async def`, the script would print a coroutine.
    sources = {
        "app/__init__.py": "",
        "app/deps.py": "from fastapi import Header\n\ndef api_version(x_api_version: str = Header('1')) -> str:\n    return x_api_version.strip()\n",
        "app/main.py": (
            "from fastapi import Depends, FastAPI\n\nfrom app.deps import api_version\n\napp = FastAPI()\n\n"
            "@app.get('/status')\nasync def status(version: str = Depends(api_version)):\n    return {'version': version}\n"
        ),
        "scripts/show_version.py": "import app.deps as api_deps\n\nprint(api_deps.api_version(' 2 '))\n",
    }
    found = [f for f in review_sources(sources, Config(select=("FX104",))).findings if f.code == "FX104"]
    assert found == []
    del sources["scripts/show_version.py"]
    found = [f for f in review_sources(sources, Config(select=("FX104",))).findings if f.code == "FX104"]
    assert [(f.path, f.location.line) for f in found] == [("app/deps.py", 3)]
