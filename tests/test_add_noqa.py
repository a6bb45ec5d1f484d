"""`review --add-noqa`: where a comment may go, merging with existing directives,
the proof that the code is unchanged, encodings kept, and the whole flow on a
copy of examples/flawed-app (afterwards the review is clean, its tests still
pass, and a second run changes nothing)."""

from __future__ import annotations

import ast
import codecs
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_expert.cli import main
from fastapi_expert.review.noqa import add_noqa
from fastapi_expert.types import Finding, Location, Severity

APP = Path(__file__).resolve().parents[1] / "examples" / "flawed-app"


def _finding(code: str, line: int, end_line: int | None = None, path: str = "m.py") -> Finding:
    return Finding(code, "rule", Severity.ERROR, Location(path, line, 1, end_line or line, 2), "message")


def test_comment_goes_at_the_end_of_the_first_line() -> None:
    outcome = add_noqa("import time\ntime.sleep(1)\n", [_finding("FX201", 2)])
    assert outcome.text == "import time\ntime.sleep(1)  # noqa: FX201\n"
    assert outcome.added == 1 and outcome.unplaced == []


def test_codes_on_one_line_share_a_comment_sorted_and_line_ends_are_kept() -> None:
    text = "a = 1\r\nb = f(x)   \r\nc = 3"
    outcome = add_noqa(text, [_finding("FX422", 2), _finding("FX201", 2), _finding("FX201", 2), _finding("FX105", 3)])
    assert outcome.text == "a = 1\r\nb = f(x)  # noqa: FX201, FX422\r\nc = 3  # noqa: FX105"
    assert outcome.added == 3


def test_an_existing_directive_takes_the_new_codes_and_other_comments_stay() -> None:
    text = "x = call()  # noqa: E501 -- a long url\ny = call()  # why this is so\n"
    outcome = add_noqa(text, [_finding("FX201", 1), _finding("FX422", 2)])
    assert outcome.text == (
        "x = call()  # noqa: E501, FX201 -- a long url\ny = call()  # why this is so  # noqa: FX422\n"
    )


def test_a_first_line_that_ends_inside_a_string_or_a_continuation_uses_the_last() -> None:
    text = 'x = f("""\nabc\n""")\ny = 1 + \\\n    g()\n'
    outcome = add_noqa(text, [_finding("FX201", 1, 3), _finding("FX422", 4, 5)])
    assert outcome.text == 'x = f("""\nabc\n""")  # noqa: FX201\ny = 1 + \\\n    g()  # noqa: FX422\n'


def test_a_multiline_fstring_is_not_commented_inside() -> None:
    text = 'x = f"""{\n1\n}"""\n'
    outcome = add_noqa(text, [_finding("FX201", 1, 3)])
    assert outcome.text == 'x = f"""{\n1\n}"""  # noqa: FX201\n'


def test_a_finding_with_no_line_to_comment_is_reported_not_forced() -> None:
    text = "x = 1 + \\\n    2\n"
    outcome = add_noqa(text, [_finding("FX201", 1)])
    assert outcome.text == text and outcome.added == 0
    assert [(f.code, why) for f, why in outcome.unplaced] == [
        ("FX201", "its lines end inside a string or a line continuation")
    ]


def test_directives_in_strings_are_not_taken_for_comments() -> None:
    text = 'x = "# noqa: E501"; time.sleep(1)\ny = "# fastapi-expert: noqa"  # fastapi-expert: noqa: FX101\n'
    outcome = add_noqa(text, [_finding("FX201", 1), _finding("FX422", 2)])
    assert outcome.text == (
        'x = "# noqa: E501"; time.sleep(1)  # noqa: FX201\n'
        'y = "# fastapi-expert: noqa"  # fastapi-expert: noqa: FX101  # noqa: FX422\n'
    )
    assert outcome.added == 2 and outcome.unplaced == []


def test_unreadable_files_and_lone_carriage_returns_are_not_edited() -> None:
    assert add_noqa("def f(:\n", [_finding("FX201", 1)]).unplaced[0][1] == "this Python cannot tokenize the file"
    lone = "x = 1\ry = g()\r"
    assert add_noqa(lone, [_finding("FX201", 2)]).text == lone
    assert add_noqa("x = 1\n", [_finding("FX001", 1)]).unplaced == []  # nothing suppresses FX001: not asked


def test_every_edit_keeps_the_tree_positions_included() -> None:
    text = "def f(a,\n      b):  # c\n    return {'k': a,\n            'v': b}\n"
    outcome = add_noqa(text, [_finding("FX302", 1, 4), _finding("FX401", 3, 4)])
    assert outcome.added == 2
    assert ast.dump(ast.parse(text), include_attributes=True) == ast.dump(ast.parse(outcome.text), include_attributes=True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    return tmp_path


def test_the_encoding_and_the_byte_order_mark_are_kept(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    latin = project / "app" / "latin.py"
    latin.write_bytes("# -*- coding: latin-1 -*-\nimport time\n\nasync def f():\n    time.sleep(1)  # é\n".encode("latin-1"))
    bom = project / "app" / "bom.py"
    bom.write_bytes(codecs.BOM_UTF8 + b"import time\n\nasync def g():\n    time.sleep(1)\n")
    assert main(["review", "--isolated", "--no-cache", "--add-noqa", "app"]) == 0
    assert "Added 2 noqa comments to 2 files." in capsys.readouterr().err
    assert latin.read_bytes().decode("latin-1").endswith("time.sleep(1)  # é  # noqa: FX201\n")
    assert bom.read_bytes().startswith(codecs.BOM_UTF8 + b"import time")
    assert main(["review", "--isolated", "--no-cache", "app"]) == 0


def test_fix_keeps_the_encoding_too(project: Path) -> None:
    latin = project / "app" / "latin.py"
    latin.write_bytes("# -*- coding: latin-1 -*-\nimport time\n\nasync def f():\n    time.sleep(1)  # é\n".encode("latin-1"))
    assert main(["review", "--isolated", "--no-cache", "--fix", "app"]) == 0
    assert "await asyncio.sleep(1)  # é" in latin.read_bytes().decode("latin-1")


def test_usage_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "app" / "main.py").write_text("x = 1\n")
    assert main(["review", "--add-noqa", "-"]) == 2
    assert main(["review", "--add-noqa", "--fix", "app"]) == 2
    err = capsys.readouterr().err
    assert "--add-noqa edits files" in err and "cannot be combined with --fix" in err


def test_adding_noqa_to_the_flawed_app_silences_it_and_changes_no_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("fastapi", reason="running the flawed app's tests needs fastapi (dev extra)")
    copy = tmp_path / "flawed-app"
    shutil.copytree(APP, copy, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_text(encoding="utf-8") for p in sorted(copy.rglob("*.py"))}
    assert main(["review", "--isolated", "--no-cache", "flawed-app"]) == 1

    assert main(["review", "--isolated", "--no-cache", "--add-noqa", "flawed-app"]) == 0
    assert "Added 56 noqa comments to 10 files." in capsys.readouterr().err
    after = {p: p.read_text(encoding="utf-8") for p in before}
    for path, text in before.items():
        assert ast.dump(ast.parse(text), include_attributes=True) == ast.dump(
            ast.parse(after[path]), include_attributes=True
        ), path
    assert main(["review", "--isolated", "--no-cache", "flawed-app"]) == 0

    assert main(["review", "--isolated", "--no-cache", "--add-noqa", "flawed-app"]) == 0
    assert "Added 0 noqa comments to 0 files." in capsys.readouterr().err
    assert {p: p.read_text(encoding="utf-8") for p in before} == after, "a second --add-noqa changed the files"

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
