"""`fastapi-expert guide` and `fastapi-expert ask` through the command line,
on a temporary guide folder (FASTAPI_EXPERT_GUIDES_DIR)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PAGINATION_GUIDE as PAGINATION
from fastapi_expert.cli import main
from fastapi_expert.commands import guide as guide_cmd
from fastapi_expert.knowledge.guides import GUIDES_ENV

CORS = """\
# CORS for a browser front end

How to let a front end on another origin call the API.

## When to use what

List the origins explicitly.

## Example

```python file=main.py
from fastapi import FastAPI
```

## Mistakes to avoid

- A wildcard origin with credentials (`FX406`).

## References

- https://fastapi.tiangolo.com/tutorial/cors/
"""


@pytest.fixture(autouse=True)
def guides_env(guides: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (guides / "cors.md").write_text(CORS, encoding="utf-8")
    monkeypatch.setenv(GUIDES_ENV, str(guides))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return guides


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_guide_lists_slugs_titles_and_summaries(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "guide")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["cors", "CORS", "for", "a", "browser", "front", "end"]
    assert "How to let a front end on another origin call the API." in lines[1]
    assert any(line.startswith("pagination") for line in lines)


def test_guide_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "guide", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [g["slug"] for g in data["guides"]] == ["cors", "pagination"]
    assert data["guides"][1]["sections"] == ["When to use what", "Example", "Mistakes to avoid", "References"]


def test_guide_prints_markdown_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "guide", "pagination")
    assert code == 0
    assert out == PAGINATION


def test_guide_by_title_case_insensitive(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "guide", "cors for a browser FRONT end")
    assert code == 0 and out == CORS


def test_guide_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "guide", "cors", "--format", "json")
    assert code == 0
    assert json.loads(out)["markdown"] == CORS


def test_unknown_guide_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "guide", "paginaton")
    assert code == 2 and out == ""
    assert "no guide is called 'paginaton'; did you mean 'pagination'?" in err


def test_unknown_guide_without_close_match(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "guide", "kubernetes")
    assert code == 2
    assert "did you mean" not in err and "`fastapi-expert guide` lists them" in err


def test_rule_code_as_guide_points_to_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "guide", "FX201")
    assert code == 2 and "fastapi-expert explain FX201" in err


def test_unknown_rule_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "explain", "FX2O1")
    assert code == 2 and "did you mean" in err and "'FX201'" in err
    code, _, err = run(capsys, "explain", "blocking-sleep-in-asyncc")
    assert code == 2 and "did you mean 'FX201'" in err


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_rich_markdown() -> None:
    pytest.importorskip("rich")
    stream = FakeTerminal()
    guide_cmd.print_markdown(PAGINATION, stream)
    rendered = stream.getvalue()
    assert "Pagination: offset and cursor" in rendered
    assert "# Pagination" not in rendered  # rendered as a heading, not shown as markdown


def test_plain_flag_no_color_and_missing_rich_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = FakeTerminal()
    guide_cmd.print_markdown(PAGINATION, stream, plain=True)
    assert stream.getvalue() == PAGINATION

    monkeypatch.setenv("NO_COLOR", "1")
    assert not guide_cmd.use_rich(FakeTerminal(), plain=False)
    monkeypatch.delenv("NO_COLOR")

    monkeypatch.setitem(sys.modules, "rich.console", None)
    stream = FakeTerminal()
    guide_cmd.print_markdown(PAGINATION, stream)
    assert stream.getvalue() == PAGINATION


def test_ask_prints_hits_with_the_matched_passage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "deep pages get slow with offset")
    assert code == 0
    first = out.splitlines()[0]
    assert first == "1. guide  pagination — Pagination: offset and cursor"
    assert "fastapi-expert guide pagination   (section: When to use what)" in out
    assert "│ Offset pagination is simple; deep pages get slow" in out


def test_ask_finds_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "time.sleep", "inside", "async", "def")
    assert code == 0
    assert out.startswith("1. rule   FX201 blocking-sleep-in-async — ")
    assert "fastapi-expert explain FX201" in out


def test_ask_json_and_limit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "cors origin credentials", "-n", "2", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["question"] == "cors origin credentials"
    assert len(data["hits"]) == 2
    assert {h["key"] for h in data["hits"]} & {"cors", "FX406"}


def test_ask_kind_guide(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "origin", "--kind", "guide", "--format", "json")
    assert code == 0
    assert [h["kind"] for h in json.loads(out)["hits"]] == ["guide"]


def test_ask_nothing_found_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ask", "qwertyuiop")
    assert code == 1 and out == "" and "No guide or rule matches" in err


def test_ask_bad_input_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "ask", "  ")[0] == 2
    assert run(capsys, "ask", "x", "-n", "0")[0] == 2


def test_review_start_up_imports_no_optional_library(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from fastapi_expert.cli import main\n"
        f"rc = main(['review', {str(tmp_path / 'ok.py')!r}])\n"
        "heavy = sorted(m for m in ('bm25s', 'numpy', 'mcp', 'rich', 'Stemmer') if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_mcp_without_the_sdk_says_which_extra(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "fastapi_expert.integrations.mcp_server" or m.split(".")[0] == "mcp"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mcp", None)
    code, out, err = run(capsys, "mcp")
    assert code == 2 and out == ""
    assert "pip install 'fastapi-expert[mcp]'" in err
