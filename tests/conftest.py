"""Fixtures shared across the test folders."""

from __future__ import annotations

from pathlib import Path

import pytest

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
