"""PEP 695 type parameters (`def f[T]`, `class C[T]`, Python 3.12) and PEP 696 defaults (3.13)."""

from __future__ import annotations

import ast

from fastapi_expert.review.compat.constructs import TYPE_PARAM_DEFAULTS, TYPE_PARAMS

from .helpers import check_review, check_rewrite, source

CODE = source(
    """
    import time
    from fastapi import FastAPI

    app = FastAPI()


    class Repository[T: (int, str), *Ts, **P]:
        def get[K](self, key: K) -> T | None:
            return None


    def first[T](items: list[T]) -> T:
        return items[0]


    def spread[
        T,  # the item type, é
        U,
    ](x: T) -> U: ...


    @app.get("/items")
    async def items[T]() -> list[int]:
        time.sleep(1)
        return [1]
    """
)


def test_review_keeps_positions() -> None:
    check_review(CODE, TYPE_PARAMS, [(24, 5)])


def test_rewrite_matches_native_tree() -> None:
    tree = check_rewrite(CODE, TYPE_PARAMS)
    names = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assert names == ["Repository", "first", "spread", "items", "get"]


def test_defaults_need_3_13() -> None:
    text = "def f[T = int](x: T) -> T:\n    return x\n"
    tree = check_rewrite(text, TYPE_PARAM_DEFAULTS, native=(3, 12))
    assert isinstance(tree.body[0], ast.FunctionDef)
    assert tree.body[0].args.args[0].col_offset == 15


def test_empty_type_parameter_list_is_invalid_everywhere() -> None:
    from fastapi_expert.review.compat import parse_newer

    assert parse_newer("def f[](x): pass\n", native=(3, 10)).tree is None
