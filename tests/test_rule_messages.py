"""The wording of messages that were wrong on real code (benchmarks/SAMPLE.md):
the rule examples check *where* a rule fires, these check *what it says*."""

from __future__ import annotations

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_sources
from fastapi_expert.review.rules.base import Invalid
from rule_messages import invalid as _invalid
from rule_messages import messages as _messages


def test_fx504_names_the_prefixed_path_of_an_empty_route_path() -> None:
    # `@router.get("")` on a router built in a factory and included with a prefix
    example = _invalid("FX504", "init_scope_router")
    messages = _messages("FX504", example)
    assert list(messages) == [16]
    assert messages[16].startswith("GET `/scopes` returns every row"), messages[16]
    assert "GET ``" not in messages[16]


def test_fx504_names_the_router_prefix() -> None:
    example = _invalid("FX504", 'APIRouter(prefix="/orders")')
    messages = _messages("FX504", example)
    assert messages[10].startswith("GET `/orders/` returns every row"), messages[10]


def test_fx205_words_each_process_call_by_what_it_does() -> None:
    example = _invalid("FX205", "Popen")
    messages = _messages("FX205", example)
    assert "(runs a shell and waits for the command to finish)" in messages[5], messages[5]
    assert "asyncio.create_subprocess_shell" in messages[5], messages[5]
    assert "(forks and starts a process synchronously)" in messages[6], messages[6]
    assert "waits" not in messages[6], messages[6]
    assert "(waits for the process to finish)" in messages[7], messages[7]


def test_fx205_popen_starts_a_process() -> None:
    example = _invalid("FX205", "start_sandbox")
    messages = _messages("FX205", example)
    assert list(messages) == [10]
    assert (
        "`subprocess.Popen()` blocks the event loop inside `async def start_sandbox` "
        "(forks and starts a process synchronously)"
    ) in messages[10], messages[10]
    assert "asyncio.create_subprocess_exec" in messages[10], messages[10]


def test_fx205_run_waits_for_the_process() -> None:
    example = _invalid("FX205", "sp.run(")
    messages = _messages("FX205", example)
    assert "`sp.run()` blocks the event loop inside `async def thumbnail` (waits for the process to finish)" in messages[9]


def test_fx205_input_waits_for_terminal_input() -> None:
    example = Invalid(
        """
        async def confirm_reset() -> bool:
            return input("Reset the index? [y/N] ") == "y"
        """,
        lines=(2,),
    )
    messages = _messages("FX205", example)
    assert "waits for terminal input" in messages[2], messages[2]


def test_fx314_offers_no_fix_inside_an_alias_another_file_defines() -> None:
    """`Limit = Annotated[int, Query()]` lives in app/types.py: adding `le=` there is
    not an edit of app/main.py, where the finding is (its positions are the alias
    file's), so the finding comes without a fix."""
    # Lines chosen so that the alias's `Query()` lands on text of main.py's own
    # `def` line: the old fix then produced an edit there instead of giving up.
    sources = {
        "app/__init__.py": "",
        "app/types.py": "from typing import Annotated\nfrom fastapi import Query\n\n\n\nLimit = Annotated[int, Query()]\n",
        "app/main.py": (
            "from fastapi import FastAPI\nfrom app.types import Limit\napp = FastAPI()\n\n"
            "@app.get('/items')\ndef items(limit: Limit = 5000):\n    return []\n"
        ),
    }
    findings = [f for f in review_sources(sources, Config(select=("FX314",))).findings if f.code == "FX314"]
    assert [(f.path, f.fix) for f in findings] == [("app/main.py", None)]
