from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import User

pytestmark = pytest.mark.anyio

TODOS = "/api/v1/todos"


async def _create(client: httpx.AsyncClient, user: User, **fields: Any) -> dict[str, Any]:
    response = await client.post(TODOS, json={"title": "t", **fields}, headers=user.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.post(
        TODOS,
        json={
            "title": "  Ship it  ",
            "description": "soon",
            "due_at": "2030-01-01T10:00:00+02:00",
            "priority": "high",
            "tags": ["Work", "work", "docs"],
        },
        headers=alice.headers,
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"{TODOS}/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["title"] == "Ship it"
    assert body["due_at"] == "2030-01-01T08:00:00Z"
    assert body["priority"] == "high"
    assert body["tags"] == ["docs", "work"]
    assert body["completed"] is False
    fetched = await client.get(response.headers["location"], headers=alice.headers)
    assert fetched.json() == body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "priority": "urgent"}, "priority"),
        ({"title": "ok", "tags": [f"t{i}" for i in range(11)]}, "tags"),
        ({"title": "ok", "due_at": "2030-01-01T10:00:00"}, "due_at"),
        ({"title": "ok", "owner_id": "x"}, "owner_id"),
    ],
)
async def test_create_validation(
    client: httpx.AsyncClient, alice: User, payload: dict[str, Any], field: str
) -> None:
    response = await client.post(TODOS, json=payload, headers=alice.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {str(part) for error in response.json()["errors"] for part in error["loc"]}


async def test_etag_and_conditional_get(client: httpx.AsyncClient, alice: User) -> None:
    todo = await _create(client, alice)
    url = f"{TODOS}/{todo['id']}"
    first = await client.get(url, headers=alice.headers)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    not_modified = await client.get(url, headers=alice.headers | {"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    weak = await client.get(url, headers=alice.headers | {"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    other = await client.get(url, headers=alice.headers | {"If-None-Match": '"999"'})
    assert other.status_code == 200


async def test_patch_partial_and_if_match(client: httpx.AsyncClient, alice: User) -> None:
    todo = await _create(client, alice, description="keep me", tags=["a"])
    url = f"{TODOS}/{todo['id']}"
    read = await client.get(url, headers=alice.headers)
    etag = read.headers["etag"]
    updated = await client.patch(
        url, json={"completed": True}, headers=alice.headers | {"If-Match": etag}
    )
    assert updated.status_code == 200
    body = updated.json()
    assert body["completed"] is True
    assert body["description"] == "keep me"
    assert body["tags"] == ["a"]
    assert updated.headers["etag"] != etag
    # The ETag read before the update is stale now.
    stale = await client.patch(
        url, json={"title": "lost update"}, headers=alice.headers | {"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    # Without If-Match the update is unconditional; null clears an optional field.
    cleared = await client.patch(
        url, json={"description": None, "tags": ["b", "a"]}, headers=alice.headers
    )
    assert cleared.json()["description"] is None
    assert cleared.json()["tags"] == ["a", "b"]
    # The read cache was invalidated by each write.
    again = await client.get(url, headers=alice.headers)
    assert again.json() == cleared.json()
    assert again.headers["etag"] == cleared.headers["etag"]


async def test_tags_only_change_moves_etag(client: httpx.AsyncClient, alice: User) -> None:
    todo = await _create(client, alice, tags=["a"])
    response = await client.patch(f"{TODOS}/{todo['id']}", json={"tags": []}, headers=alice.headers)
    assert response.json()["tags"] == []
    assert response.json()["version"] == todo["version"] + 1


async def test_delete(client: httpx.AsyncClient, alice: User) -> None:
    todo = await _create(client, alice)
    url = f"{TODOS}/{todo['id']}"
    await client.get(url, headers=alice.headers)  # warm the cache
    response = await client.delete(url, headers=alice.headers)
    assert response.status_code == 204
    assert (await client.get(url, headers=alice.headers)).status_code == 404
    assert (await client.delete(url, headers=alice.headers)).status_code == 404


async def test_not_found_and_bad_id(client: httpx.AsyncClient, alice: User) -> None:
    missing = await client.get(
        f"{TODOS}/00000000-0000-0000-0000-000000000000", headers=alice.headers
    )
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not Found"
    bad = await client.get(f"{TODOS}/not-a-uuid", headers=alice.headers)
    assert bad.status_code == 422


async def _all_pages(client: httpx.AsyncClient, user: User, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        query = dict(params) | ({"cursor": cursor} if cursor else {})
        response = await client.get(TODOS, params=query, headers=user.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "due_at", "priority"])
async def test_keyset_pagination(client: httpx.AsyncClient, alice: User, sort: str) -> None:
    priorities = ["low", "normal", "high"]
    created = []
    for i in range(11):
        due = None if i % 4 == 0 else f"2030-01-{(i % 7) + 1:02d}T00:00:00Z"
        created.append(
            await _create(client, alice, title=f"t{i}", due_at=due, priority=priorities[i % 3])
        )
    items = await _all_pages(client, alice, limit=3, sort=sort)
    assert sorted(t["id"] for t in items) == sorted(t["id"] for t in created)  # no dupes, no gaps
    if sort == "created_at":
        assert [t["created_at"] for t in items] == sorted(t["created_at"] for t in items)
    if sort == "-created_at":
        assert [t["created_at"] for t in items] == sorted(
            (t["created_at"] for t in items), reverse=True
        )
    if sort == "due_at":
        dated = [t["due_at"] for t in items if t["due_at"]]
        assert dated == sorted(dated)
        assert all(t["due_at"] is None for t in items[len(dated) :])  # undated last
    if sort == "priority":
        ranks = [priorities.index(t["priority"]) for t in items]
        assert ranks == sorted(ranks, reverse=True)


async def test_default_and_bounded_page_size(client: httpx.AsyncClient, alice: User) -> None:
    for i in range(21):
        await _create(client, alice, title=f"t{i}")
    page = (await client.get(TODOS, headers=alice.headers)).json()
    assert len(page["items"]) == 20
    assert page["next_cursor"]
    for bad in (0, 101, -1):
        response = await client.get(TODOS, params={"limit": bad}, headers=alice.headers)
        assert response.status_code == 422


async def test_filters(client: httpx.AsyncClient, alice: User) -> None:
    a = await _create(client, alice, title="Buy milk", tags=["home"], due_at="2030-01-01T00:00:00Z")
    b = await _create(
        client, alice, title="Write report", tags=["work"], due_at="2031-01-01T00:00:00Z"
    )
    c = await _create(client, alice, title="buy stamps")
    await client.patch(f"{TODOS}/{c['id']}", json={"completed": True}, headers=alice.headers)

    async def ids(**params: Any) -> set[str]:
        return {t["id"] for t in await _all_pages(client, alice, **params)}

    assert await ids(q="BUY") == {a["id"], c["id"]}
    assert await ids(tag="work") == {b["id"]}
    assert await ids(completed="true") == {c["id"]}
    assert await ids(completed="false") == {a["id"], b["id"]}
    assert await ids(due_before="2030-06-01T00:00:00Z") == {a["id"]}
    assert await ids(q="buy", completed="false") == {a["id"]}


@pytest.mark.parametrize("cursor", ["garbage", "eyJzIjoicHJpb3JpdHkiLCJ2IjpbXX0", "e30"])
async def test_invalid_cursor(client: httpx.AsyncClient, alice: User, cursor: str) -> None:
    response = await client.get(TODOS, params={"cursor": cursor}, headers=alice.headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_cursor_of_other_sort_rejected(client: httpx.AsyncClient, alice: User) -> None:
    for i in range(3):
        await _create(client, alice, title=f"t{i}")
    page = (
        await client.get(TODOS, params={"limit": 1, "sort": "priority"}, headers=alice.headers)
    ).json()
    response = await client.get(
        TODOS, params={"cursor": page["next_cursor"], "sort": "due_at"}, headers=alice.headers
    )
    assert response.status_code == 400
