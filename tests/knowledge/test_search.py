"""Guide parsing and the `ask` ranking, on a temporary guide folder (the real
guides are still being written; these tests must not depend on them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fastapi_expert.errors import UsageError
from fastapi_expert.knowledge import guides as guides_mod
from fastapi_expert.knowledge.guides import find_guide, load_guides, parse_guide, suggest
from fastapi_expert.knowledge.search import (
    SearchIndex,
    Tokenizer,
    build_index,
    guide_passages,
    search,
)

PAGINATION = """\
# Pagination: offset and cursor

How to paginate a list endpoint: when `offset`/`limit` is enough and when
to switch to a keyset cursor.

## When to use what

Offset pagination is simple; deep pages get slow because the database skips rows.
A keyset cursor stays fast on large tables.

## Example

```python file=main.py
# a heading inside code is not a section
## not a section either
from fastapi import FastAPI
app = FastAPI()
```

## Mistakes to avoid

- An unbounded `limit` lets a client ask for a million rows (`FX314`).

## References

- https://fastapi.tiangolo.com/tutorial/query-params/
"""

WEBSOCKETS = """\
# WebSockets: broadcasting to connected clients

How to push live updates to browsers over a WebSocket, and fan them out
across workers.

## When to use what

Server-sent events for one-way feeds; WebSockets when the client talks back.

## Example

```python file=main.py
from fastapi import FastAPI, WebSocket
```

## Mistakes to avoid

- Keeping connections in a module-level list shared by workers.

## References

- https://fastapi.tiangolo.com/advanced/websockets/
"""


def write_guides(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pagination.md").write_text(PAGINATION, encoding="utf-8")
    (folder / "websockets.md").write_text(WEBSOCKETS, encoding="utf-8")
    return folder


@pytest.fixture
def guides_dir(tmp_path: Path) -> Path:
    return write_guides(tmp_path / "guides")


def test_parse_guide_title_summary_sections() -> None:
    guide = parse_guide("pagination", PAGINATION)
    assert guide.title == "Pagination: offset and cursor"
    assert guide.summary.startswith("How to paginate a list endpoint")
    assert guide.summary.endswith("keyset cursor.")
    assert [s.title for s in guide.sections] == ["When to use what", "Example", "Mistakes to avoid", "References"]
    example = guide.section("example")
    assert example is not None and "## not a section either" in example.body


def test_parse_guide_without_title_uses_slug() -> None:
    guide = parse_guide("notes", "Just a paragraph.\n\n## Part\nbody\n")
    assert guide.title == "notes"
    assert guide.summary == "Just a paragraph."
    assert guide.sections[0].body == "body"


def test_load_find_and_suggest(guides_dir: Path) -> None:
    assert [g.slug for g in load_guides(guides_dir)] == ["pagination", "websockets"]
    by_title = find_guide("WebSockets: broadcasting to connected clients", guides_dir)
    assert by_title is not None and by_title.slug == "websockets"
    found = find_guide("pagination.md", guides_dir)
    assert found is not None and found.slug == "pagination"
    assert find_guide("paginaton", guides_dir) is None
    assert suggest("paginaton", guides_dir) == ["pagination"]
    assert suggest("websocket", guides_dir) == ["websockets"]
    assert suggest("zzz", guides_dir) == []


def test_guides_folder_overridable_by_environment(guides_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(guides_mod.GUIDES_ENV, str(guides_dir))
    assert guides_mod.guides_dir() == guides_dir
    assert [g.slug for g in load_guides()] == ["pagination", "websockets"]


def test_missing_folder_has_no_guides(tmp_path: Path) -> None:
    assert load_guides(tmp_path / "nope") == []


def test_edited_guide_is_reloaded(guides_dir: Path) -> None:
    assert load_guides(guides_dir)[0].title == "Pagination: offset and cursor"
    path = guides_dir / "pagination.md"
    path.write_text(PAGINATION.replace("offset and cursor", "keyset"), encoding="utf-8")
    import os

    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 10))
    assert load_guides(guides_dir)[0].title == "Pagination: keyset"


def test_tokenizer_splits_identifiers_and_drops_question_words() -> None:
    tok = Tokenizer(stem=lambda words: words)
    words = tok.words("How do I use TestClient with time.sleep and dependency_overrides?")
    assert {"testclient", "test", "client", "time", "sleep", "time.sleep"} <= set(words)
    assert {"dependency_overrides", "dependency", "overrides"} <= set(words)
    assert "how" not in words and "do" not in words


def test_query_expansion_is_separate_from_the_question() -> None:
    own, extra = Tokenizer(stem=lambda words: words).query("jwt login")
    assert own == ["jwt", "login"]
    assert "token" in extra and "jwt" not in extra


def test_guide_ranks_first_with_the_passage_that_matched(guides_dir: Path) -> None:
    hits = search("offset pagination gets slow on deep pages", 3, guides_directory=guides_dir)
    assert hits[0].kind == "guide" and hits[0].key == "pagination"
    assert hits[0].section == "When to use what"
    assert "deep pages get slow" in hits[0].excerpt


def test_rules_are_searched_too(guides_dir: Path) -> None:
    hits = search("time.sleep in an async endpoint freezes everything", 3, guides_directory=guides_dir)
    assert hits[0].kind == "rule" and hits[0].key == "FX201"
    assert hits[0].title == "FX201 blocking-sleep-in-async"


def test_kind_filter(guides_dir: Path) -> None:
    hits = search("live updates to the browser", 5, kind="rule", guides_directory=guides_dir)
    assert all(h.kind == "rule" for h in hits)
    guides = search("live updates to the browser", 5, kind="guide", guides_directory=guides_dir)
    assert [h.key for h in guides][:1] == ["websockets"]


def test_nothing_matches_gives_no_hits(guides_dir: Path) -> None:
    assert search("qwertyuiop asdfghjkl", 3, guides_directory=guides_dir) == []
    assert search("how do I", 3, guides_directory=guides_dir) == []


def test_one_hit_per_document(guides_dir: Path) -> None:
    hits = search("pagination offset limit cursor", 10, guides_directory=guides_dir)
    keys = [h.key for h in hits]
    assert len(keys) == len(set(keys))


def test_references_are_not_indexed(guides_dir: Path) -> None:
    passages = guide_passages(load_guides(guides_dir))
    assert all(p.section != "References" for p in passages)


def test_empty_index() -> None:
    assert SearchIndex([]).search("anything") == []


def test_index_is_cached_per_guide_set(guides_dir: Path) -> None:
    assert build_index(guides_dir) is build_index(guides_dir)


def test_missing_ranking_library_is_a_usage_error(
    guides_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "bm25s", None)
    with pytest.raises(UsageError, match=r"fastapi-expert\[knowledge\]"):
        build_index(guides_dir)


def test_hit_to_dict(guides_dir: Path) -> None:
    hit = search("keyset cursor", 1, guides_directory=guides_dir)[0]
    data = hit.to_dict()
    assert set(data) == {"kind", "key", "title", "summary", "score", "section", "excerpt"}
    assert data["key"] == "pagination"
