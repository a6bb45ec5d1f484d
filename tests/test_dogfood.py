"""The project reviews its own code and its reference service, and stays clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_paths

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("target", ["src", "examples/todo-api/src", "examples/todo-api/tests"])
def test_reviews_clean(target: str) -> None:
    path = ROOT / target
    if not path.exists():
        pytest.skip(f"{target} does not exist in this checkout")
    result = review_paths([path], Config(), cwd=ROOT)
    assert [f"{f.path}:{f.location.line} {f.code} {f.message}" for f in result.findings] == []
