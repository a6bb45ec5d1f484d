"""How the engine reports and treats files read through the rewrite."""

from __future__ import annotations

import ast
import sys

import pytest

from fastapi_expert.config import Config
from fastapi_expert.review.compat import NewerSyntax, parse_newer
from fastapi_expert.review.engine import _without_fix_on_rewrite, review_sources
from fastapi_expert.types import Edit, Finding, Fix, Location, Severity

NEWEST = "try:\n    pass\nexcept A, B:\n    pass\n"


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="reads PEP 758 natively")
def test_fx003_once_per_run_with_count_and_version() -> None:
    result = review_sources({"a.py": NEWEST, "b.py": NEWEST, "c.py": "x = 1\n"}, Config())
    newer = [f for f in result.findings if f.code == "FX003"]
    assert len(newer) == 1
    assert newer[0].message.startswith("2 files use syntax newer than Python")
    assert "Python 3.14 reads them natively" in newer[0].message
    assert (newer[0].location.path, newer[0].location.line) == ("a.py", 3)


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="reads PEP 758 natively")
def test_fx003_can_be_ignored() -> None:
    result = review_sources({"a.py": NEWEST}, Config(ignore=("FX003",)))
    assert [f.code for f in result.findings] == []


def test_invalid_in_every_python_stays_fx001_with_parser_message() -> None:
    result = review_sources({"bad.py": "def f(:\n    pass\n"}, Config())
    [bad] = result.findings
    assert bad.code == "FX001"
    assert bad.message.startswith("syntax error: ")
    assert "run the review under" not in bad.message


def test_unrewritable_newer_syntax_says_which_python() -> None:
    # A comment alone on a line of a multi-line type parameter list is fine; an
    # empty line there is the one shape the rewrite cannot keep positions for.
    text = "def f[\n\n    T,\n](x: T) -> T:\n    return x\n"
    if sys.version_info >= (3, 12):
        pytest.skip("read natively")
    result = review_sources({"a.py": text}, Config())
    [bad] = result.findings
    assert bad.code == "FX001"
    assert "run the review under Python 3.12 or newer" in bad.message


def test_touches() -> None:
    syntax = NewerSyntax(frozenset(), ((3, 1, 3, 12),))
    assert syntax.touches(3, 5, 3, 6)
    assert syntax.touches(3, 12, 3, 12)  # insertion at the end of the span
    assert not syntax.touches(4, 1, 4, 5)
    assert not syntax.touches(2, 1, 2, 1)


def test_fix_touching_a_rewritten_span_is_dropped() -> None:
    outcome = parse_newer(NEWEST, native=(3, 10))
    assert outcome.tree is not None
    loc = Location("a.py", 3, 1, 3, 12)
    on_span = Finding("FX999", "x", Severity.INFO, loc, "m", Fix("t", (Edit(3, 8, 3, 9, "Z"),)))
    elsewhere = Finding("FX999", "x", Severity.INFO, loc, "m", Fix("t", (Edit(1, 1, 1, 4, "try"),)))
    newer = {"a.py": outcome.newer}
    assert _without_fix_on_rewrite(on_span, newer).fix is None
    assert _without_fix_on_rewrite(elsewhere, newer).fix is not None


def test_star_subscript_and_annotation() -> None:
    from fastapi_expert.review.compat.constructs import STAR_SUBSCRIPT

    text = "def f(*args: *Ts) -> tuple[*Ts, int]:\n    return args\n"
    outcome = parse_newer(text, native=(3, 10))
    assert outcome.tree is not None
    assert STAR_SUBSCRIPT in outcome.newer.constructs
    func = outcome.tree.body[0]
    assert isinstance(func, ast.FunctionDef)
    annotation = func.args.vararg.annotation if func.args.vararg else None
    assert isinstance(annotation, ast.Starred) and annotation.col_offset == 13
    assert isinstance(func.returns, ast.Subscript) and isinstance(func.returns.slice, ast.Tuple)
    first = func.returns.slice.elts[0]
    assert isinstance(first, ast.Starred) and (first.col_offset, first.end_col_offset) == (27, 30)
    assert func.returns.slice.col_offset == 27


def test_template_string() -> None:
    from fastapi_expert.review.compat.constructs import TEMPLATE_STRING

    outcome = parse_newer('x = t"hello {name}"\n', native=(3, 10))
    assert outcome.tree is not None
    assert TEMPLATE_STRING in outcome.newer.constructs
