"""Shared checks for the per-construct tests of the newer-syntax rewrite.

Every test runs on every supported interpreter: on one older than the construct
the engine goes through the rewrite; on a newer one `ast` reads the file
natively; and `parse_newer(..., native=(3, 10))` forces the rewrite anywhere, so
its tree can be compared with the native one node by node.
"""

from __future__ import annotations

import ast
import sys
import textwrap

from fastapi_expert.config import Config
from fastapi_expert.review.compat import Construct, parse_newer
from fastapi_expert.review.engine import ReviewResult, review_sources

# Nodes that exist only in the newer tree, or whose positions the older
# interpreters report for the whole f-string (the interpreter's own behaviour).
_SKIP = {"TypeAlias", "TypeVar", "TypeVarTuple", "ParamSpec", "JoinedStr", "FormattedValue", "Tuple"}


def source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def review(text: str) -> ReviewResult:
    return review_sources({"app/main.py": text}, Config())


def findings(result: ReviewResult, code: str) -> list[tuple[int, int]]:
    return [(f.location.line, f.location.column) for f in result.findings if f.code == code]


def positions(tree: ast.AST) -> set[tuple[str, int, int, int | None, int | None]]:
    """Every located node outside f-string internals, as (type, line, col, end_line, end_col)."""
    inside_fstring: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside_fstring.update(id(v) for v in node.values if isinstance(v, ast.Constant))
        if type(node).__name__ in ("TypeVar", "TypeVarTuple", "ParamSpec"):
            inside_fstring.update(id(n) for n in ast.walk(node))
    out = set()
    for node in ast.walk(tree):
        name = type(node).__name__
        name = "Try" if name == "TryStar" else name  # `except*` read as `except` on 3.10
        if name in _SKIP or id(node) in inside_fstring or not hasattr(node, "lineno"):
            continue
        out.add(
            (name, node.lineno, node.col_offset, getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))
        )
    return out


def check_review(text: str, construct: Construct, expected: list[tuple[int, int]], code: str = "FX201") -> None:
    """The engine analyses the file on this interpreter with exact positions, and
    says FX003 exactly when this interpreter is older than the construct."""
    result = review(text)
    assert findings(result, "FX001") == [], [f.message for f in result.findings]
    assert findings(result, "FX002") == []
    assert findings(result, code) == expected
    newer = [f for f in result.findings if f.code == "FX003"]
    if sys.version_info[:2] < construct.version:
        assert len(newer) == 1
        assert f"Python {construct.version_text} reads it natively" in newer[0].message
    else:
        assert newer == []


def check_rewrite(text: str, construct: Construct, native: tuple[int, int] = (3, 10)) -> ast.Module:
    """Force the rewrite as if on `native`; compare with the real tree when this Python reads it."""
    outcome = parse_newer(text, "app/main.py", native=native)
    assert outcome.tree is not None, outcome.reason
    assert construct in outcome.newer.constructs
    if sys.version_info[:2] >= construct.version:
        native_tree = ast.parse(text)
        got, want = positions(outcome.tree), positions(native_tree)
        # `type X = v` becomes `Assign` (older `ast` has no TypeAlias): the same
        # statement span, only the class differs.
        assert {p for p in got - want if p[0] != "Assign"} == set(), sorted(got - want)
        assert want - got == set(), sorted(want - got)
    return outcome.tree
