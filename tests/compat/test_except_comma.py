"""PEP 758 `except A, B:` without parentheses (Python 3.14); also PEP 654 `except*` (3.11)."""

from __future__ import annotations

import ast

from fastapi_expert.review.compat import parse_newer
from fastapi_expert.review.compat.constructs import EXCEPT_COMMA, EXCEPT_STAR

from .helpers import check_review, check_rewrite, source

# As in the official full-stack FastAPI template.
CODE = source(
    """
    import time

    import jwt
    from fastapi import FastAPI, HTTPException

    app = FastAPI()


    @app.get("/me")
    async def me(token: str) -> dict[str, str]:
        try:
            payload = jwt.decode(token, "k", algorithms=["HS256"])
        except jwt.InvalidTokenError, ValueError:
            time.sleep(1)
            raise HTTPException(status_code=403)
        except (KeyError, IndexError) as exc:
            raise HTTPException(status_code=400) from exc
        except OSError, RuntimeError, :
            pass
        return payload
    """
)


def test_review_keeps_positions() -> None:
    check_review(CODE, EXCEPT_COMMA, [(14, 9)])


def test_rewrite_builds_the_tuple() -> None:
    tree = check_rewrite(CODE, EXCEPT_COMMA, native=(3, 13))
    handlers = [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)]
    first = handlers[0].type
    assert isinstance(first, ast.Tuple)
    assert [ast.unparse(e) for e in first.elts] == ["jwt.InvalidTokenError", "ValueError"]
    assert (first.lineno, first.col_offset, first.end_col_offset) == (13, 11, 44)
    third = handlers[2].type
    assert isinstance(third, ast.Tuple) and len(third.elts) == 2


def test_real_bitor_stays_an_operand() -> None:
    tree = check_rewrite("try:\n    pass\nexcept A | B, C:\n    pass\n", EXCEPT_COMMA)
    handler = next(n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler))
    assert isinstance(handler.type, ast.Tuple)
    assert [ast.unparse(e) for e in handler.type.elts] == ["A | B", "C"]


def test_comma_with_as_is_invalid_everywhere() -> None:
    assert parse_newer("try:\n    pass\nexcept A, B as e:\n    pass\n", native=(3, 10)).tree is None


def test_except_star() -> None:
    tree = check_rewrite("try:\n    pass\nexcept* (ValueError, TypeError):\n    pass\n", EXCEPT_STAR, native=(3, 10))
    handler = next(n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler))
    assert isinstance(handler.type, ast.Tuple) and handler.type.col_offset == 8
