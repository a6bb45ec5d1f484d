"""Bad input gets a clear answer, never a crash; suppressions and selection work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from fastapi_expert.config import Config
from fastapi_expert.review import registry
from fastapi_expert.review.engine import review_paths, review_sources
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid

SLEEPY = "import time\n\nasync def f():\n    time.sleep(1)\n"


def codes(result: object) -> list[tuple[str, str, int]]:
    return [(f.code, f.path, f.location.line) for f in result.findings]  # type: ignore[attr-defined]


def test_syntax_error_is_reported_and_review_goes_on(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def broken(:\n    pass\n")
    (tmp_path / "good.py").write_text(SLEEPY)
    result = review_paths([tmp_path], Config(), cwd=tmp_path)
    assert ("FX001", "bad.py", 1) in codes(result)
    assert ("FX201", "good.py", 4) in codes(result)
    bad = next(f for f in result.findings if f.code == "FX001")
    assert "syntax error" in bad.message


def test_bad_encoding_null_byte_empty_and_huge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xff\xfe'\n")
    (tmp_path / "null.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "huge.py").write_text("x = 1\n" * 100)
    monkeypatch.setattr("fastapi_expert.review.engine.MAX_FILE_BYTES", 400)
    result = review_paths([tmp_path], Config(), cwd=tmp_path)
    found = {f.path: f.message for f in result.findings}
    assert "cannot decode" in found["latin.py"]
    assert "null byte" in found["null.py"]
    assert "limit" in found["huge.py"]
    assert "empty.py" not in found  # an empty module is valid Python: nothing to say
    assert result.files == 4


def test_unknown_cookie_encoding(tmp_path: Path) -> None:
    (tmp_path / "cookie.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    result = review_paths([tmp_path], Config(), cwd=tmp_path)
    assert [f.code for f in result.findings] == ["FX001"]


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_symlink_loop_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.py").symlink_to(tmp_path / "b.py")
    (tmp_path / "b.py").symlink_to(tmp_path / "a.py")
    (tmp_path / "loopdir").symlink_to(tmp_path, target_is_directory=True)
    result = review_paths([tmp_path], Config(), cwd=tmp_path)
    messages = {f.path: f.message for f in result.findings}
    assert set(messages) == {"a.py", "b.py"}
    assert all(m.startswith("cannot read file") for m in messages.values())


def test_deeply_nested_code_is_reported() -> None:
    result = review_sources({"deep.py": "x = " + "(" * 5000 + ")" * 5000 + "\n"})
    assert [f.code for f in result.findings] == ["FX001"]


class _Crashing(Rule):
    """Crashes.

    ## What it does
    Nothing.

    ## Why is this bad?
    It crashes.

    ## References
    - none
    """

    code = "FX299"
    name = "crashing-rule"
    summary = "Crashes on every call."
    valid: ClassVar = (Valid("x = 1"),)
    invalid: ClassVar = (Invalid("f()", lines=(1,)),)

    def visit_Call(self, node: object, ctx: FileContext) -> None:
        raise ZeroDivisionError("boom")


@pytest.fixture
def crashing_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    rules = (*registry.all_rules(), _Crashing)
    monkeypatch.setattr("fastapi_expert.review.engine.all_rules", lambda: rules)
    yield


@pytest.mark.usefixtures("crashing_rule")
def test_internal_error_in_one_rule_is_reported_and_others_run() -> None:
    result = review_sources({"app.py": SLEEPY})
    by_code = {f.code: f for f in result.findings}
    assert "FX201" in by_code  # the other rules still ran
    internal = by_code["FX002"]
    assert "FX299" in internal.message and "ZeroDivisionError" in internal.message
    assert internal.path == "app.py"
    assert result.internal_errors == 1  # reported once per file, then the rule is skipped


def test_noqa_specific_prefix_and_bare() -> None:
    base = "import time\n\nasync def f():\n    time.sleep(1){}\n"
    assert codes(review_sources({"a.py": base.format("")})) == [("FX201", "a.py", 4)]
    for comment in ("  # noqa: FX201", "  # noqa: FX2", "  # noqa", "  # NOQA:FX201,FX999"):
        assert codes(review_sources({"a.py": base.format(comment)})) == [], comment
    assert codes(review_sources({"a.py": base.format("  # noqa: FX101")})) == [("FX201", "a.py", 4)]
    file_wide = "# fastapi-expert: noqa: FX201\n" + base.format("")
    assert codes(review_sources({"a.py": file_wide})) == []


def test_only_comments_suppress_and_lines_are_counted_as_ast_counts_them() -> None:
    base = "import time\n\nasync def f():\n    {}\n"
    in_string = base.format('x = "# noqa"; time.sleep(1)')
    assert codes(review_sources({"a.py": in_string})) == [("FX201", "a.py", 4)]
    both = base.format('x = "# noqa: FX101"; time.sleep(1)  # noqa: FX201')
    assert codes(review_sources({"a.py": both})) == []
    shown_in_docstring = '"""Suppress a file with\n    # fastapi-expert: noqa\n"""\n' + base.format("time.sleep(1)")
    assert codes(review_sources({"a.py": shown_in_docstring})) == [("FX201", "a.py", 7)]
    # A page break (form feed) or a pasted line separator is no line end for `ast`:
    # the comment on line 6 is on the finding's line, and the frame shows that line.
    for separator in ("\x0c", "\u2028"):
        text = f"import time\n# {separator} x\n\nasync def f():\n    time.sleep(1)  # noqa: FX201\n"
        assert codes(review_sources({"a.py": text})) == [], repr(separator)
    # Code written for a newer Python, on every Python the suite runs on.
    newer = "import time\n\nasync def f():\n    time.sleep(1)  # noqa: FX201\n    x = f'{'a'}'\n"
    assert [c for c in codes(review_sources({"a.py": newer})) if c[0] != "FX003"] == []
    # Text the tokenizer gives up on: the directive is taken as written, as before.
    from fastapi_expert.review.suppression import Suppressions

    assert Suppressions.scan('x = g()  # noqa: FX201\ny = """never closed\n').suppresses("FX201", 1, 1)
    assert not Suppressions.scan('x = g()  # noqa: FX201\ny = 1\n').suppresses("FX202", 1, 1)


def test_fixes_and_frames_use_the_lines_ast_numbers_after_a_form_feed() -> None:
    from fastapi_expert.review.fixes import apply_fixes

    text = "import time\n\x0c\n\nasync def f():\n    time.sleep(1)\n"
    result = review_sources({"a.py": text})
    outcome = apply_fixes(text, result.findings)
    assert outcome.failed == [] and "    await asyncio.sleep(1)\n" in outcome.text
    from fastapi_expert.review.reporters import text as text_reporter

    assert "    5 |     time.sleep(1)" in text_reporter.render(result, color=False)


def test_select_ignore_and_per_file_ignores() -> None:
    assert codes(review_sources({"a.py": SLEEPY}, Config(select=("FX3",)))) == []
    assert codes(review_sources({"a.py": SLEEPY}, Config(ignore=("FX2",)))) == []
    # the more specific selector wins
    kept = review_sources({"a.py": SLEEPY}, Config(ignore=("FX2",), extend_select=("FX201",)))
    assert [f.code for f in kept.findings] == ["FX201"]
    ignored = review_sources({"tests/a.py": SLEEPY}, Config(per_file_ignores={"tests/*": ("FX201",)}))
    assert ignored.findings == []


def test_default_excludes(tmp_path: Path) -> None:
    for folder in (".venv/lib", "node_modules/x", "build", ".git", "src/app"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "m.py").write_text(SLEEPY)
    result = review_paths([tmp_path], Config(), cwd=tmp_path)
    assert {f.path for f in result.findings} == {"src/app/m.py"}


def test_explicit_file_is_reviewed_even_if_excluded(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    target = tmp_path / "build" / "m.py"
    target.write_text(SLEEPY)
    result = review_paths([target], Config(), cwd=tmp_path)
    assert [f.path for f in result.findings] == ["build/m.py"]


def test_columns_are_code_points_not_bytes() -> None:
    text = "import time\n\nasync def f():\n    é = 1; time.sleep(1)\n"
    (finding,) = review_sources({"u.py": text}).findings
    assert finding.location.column == text.splitlines()[3].index("time.sleep") + 1


def test_form_feed_does_not_shift_lines() -> None:
    text = "import time\n\x0c\nasync def f():\n    x = 1\x0c; time.sleep(1)\n"
    (finding,) = review_sources({"ff.py": text}).findings
    assert finding.location.line == 4
    assert finding.location.column == "    x = 1\x0c; time.sleep(1)".index("time.sleep") + 1
