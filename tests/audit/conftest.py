"""The audit tests need the [audit] extra; they undo what importing a user's app does."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi", reason="the audit tests need the [audit] extra (fastapi, httpx)")
pytest.importorskip("httpx", reason="the audit tests need the [audit] extra (fastapi, httpx)")


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    """Undo what importing a user's app does to sys.modules and sys.path."""
    modules = set(sys.modules)
    path = list(sys.path)
    yield
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path
