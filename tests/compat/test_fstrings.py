"""PEP 701 f-strings (Python 3.12): nested same quotes, backslashes, comments, any depth."""

from __future__ import annotations

import ast
import sys

from fastapi_expert.review.compat import parse_newer
from fastapi_expert.review.compat.constructs import FSTRING

from .helpers import check_review, check_rewrite, source

CODE = source(
    """
    import time
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/items/{item_id}")
    async def read(item_id: int, d: dict[str, str]) -> dict[str, str]:
        name = f"{d["name"]} is {item_id}"
        lines = f"{'\\n'.join(d)}"
        nested = f"{f"{f'{item_id}'}"}"
        wide = f"{d["é"]} and {time.sleep(1)}"
        text = f\"\"\"{
            d["a"]  # a comment
        } ok\"\"\"
        time.sleep(1)
        return {"name": name, "é": f"{d["é"]!r:>{item_id}}"}
    """
)


def test_review_keeps_positions() -> None:
    check_review(CODE, FSTRING, [(12, 28), (16, 5)])


def test_rewrite_matches_native_tree() -> None:
    tree = check_rewrite(CODE, FSTRING)
    constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    # The nested literals are put back with their real values, not the placeholders.
    assert {"name", "\n", "é", "a"} <= constants
    subscripts = [n for n in ast.walk(tree) if isinstance(n, ast.Subscript) and n.lineno == 9]
    assert [(n.col_offset, n.end_col_offset) for n in subscripts] == [(14, 23)]


def test_backslash_in_nested_string() -> None:
    text = "x = f\"{'\\t'.join(items)}\"\n"
    tree = check_rewrite(text, FSTRING)
    joined = next(n for n in ast.walk(tree) if isinstance(n, ast.Attribute))
    assert (joined.lineno, joined.col_offset) == (1, 7)
    assert isinstance(joined.value, ast.Constant) and joined.value.value == "\t"


def test_invalid_fstring_stays_invalid() -> None:
    assert parse_newer('x = f"{d["k"]"\n', native=(3, 10)).tree is None


def test_replacement_field_spanning_lines_in_single_quoted_fstring() -> None:
    text = 'x = f"total: {(\n    a +\n    b\n)} items"\ny = 1\n'
    tree = check_rewrite(text, FSTRING)
    names = [(n.id, n.lineno, n.col_offset) for n in ast.walk(tree) if isinstance(n, ast.Name)]
    assert ("a", 2, 4) in names and ("b", 3, 4) in names
    assert isinstance(tree.body[1], ast.Assign) and tree.body[1].lineno == 5


def test_format_spec_nested_two_levels_is_not_rewritten() -> None:
    # Documented limit: a field inside the format spec of a field inside a format spec.
    outcome = parse_newer("x = f'{v:{w:{0}}.{p:1}}'\n", native=(3, 10))
    if sys.version_info < (3, 12):
        assert outcome.tree is None
