"""PEP 695 `type X = ...` statements (Python 3.12)."""

from __future__ import annotations

import ast

from fastapi_expert.review.compat import parse_newer
from fastapi_expert.review.compat.constructs import TYPE_ALIAS

from .helpers import check_review, check_rewrite, source

CODE = source(
    """
    import time
    from typing import Annotated

    from fastapi import Depends, FastAPI

    type UserId = int
    type Pair[K, V] = tuple[K, V]
    type = "a plain name still works"
    app = FastAPI()

    if True: type Flag = bool


    def get_db() -> str:
        return "db"


    type DbDep = Annotated[str, Depends(get_db)]


    @app.get("/users/{user_id}")
    async def read_user(user_id: UserId, db: DbDep) -> dict[str, int]:
        time.sleep(1)
        return {"id": user_id}
    """
)


def test_review_keeps_positions() -> None:
    check_review(CODE, TYPE_ALIAS, [(23, 5)])


def test_rewrite_matches_native_tree() -> None:
    tree = check_rewrite(CODE, TYPE_ALIAS)
    first = tree.body[3]
    assert isinstance(first, ast.Assign)
    assert (first.lineno, first.col_offset, first.end_col_offset) == (6, 0, 17)
    assert isinstance(first.targets[0], ast.Name) and first.targets[0].id == "UserId"
    # `type = "..."` is an ordinary assignment, not an alias.
    plain = tree.body[5]
    assert isinstance(plain, ast.Assign) and isinstance(plain.targets[0], ast.Name)
    assert plain.targets[0].id == "type"


def test_the_name_type_is_not_taken_for_a_statement() -> None:
    text = "type(x)\ntype = 1\nx = type\n"
    assert parse_newer(text, native=(3, 10)).tree is None  # nothing newer: no rewrite
