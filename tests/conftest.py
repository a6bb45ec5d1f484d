"""Fixtures shared across the test folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_expert.review.cache import CACHE_DIR_ENV


@pytest.fixture(autouse=True)
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test reviews with an empty cache of its own: a test that patches a
    rule must not be answered from another test's results, and the suite must
    not write into the checkout."""
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.mktemp("result-cache")))

# A minimal guide with every required section (`fastapi-expert guide`, the MCP server).
PAGINATION_GUIDE = """\
# Pagination: offset and cursor

How to paginate a list endpoint with `offset`/`limit` or a keyset cursor.

## When to use what

Offset pagination is simple; deep pages get slow because the database skips rows.

## Example

```python file=main.py
from fastapi import FastAPI
```

## Mistakes to avoid

- An unbounded `limit` (`FX314`).

## References

- https://fastapi.tiangolo.com/
"""


@pytest.fixture
def guides(tmp_path: Path) -> Path:
    """A guide folder (`tmp_path / "guides"`) holding `pagination.md` = PAGINATION_GUIDE."""
    folder = tmp_path / "guides"
    folder.mkdir()
    (folder / "pagination.md").write_text(PAGINATION_GUIDE, encoding="utf-8")
    return folder
