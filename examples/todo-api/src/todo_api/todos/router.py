"""CRUD for the caller's todos, with keyset paging, ETags and a per-user read cache."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    Header,
    Path,
    Query,
    Request,
    Response,
    status,
)
from pydantic import AwareDatetime
from sqlalchemy.orm.exc import StaleDataError

from todo_api.audit.service import record_activity
from todo_api.auth.deps import RateLimitedPrincipal
from todo_api.cache import Cache, CacheDep, cache_of
from todo_api.clock import Clock, get_clock
from todo_api.db import SessionDep, sessionmaker_of
from todo_api.logs import request_id_var
from todo_api.notifier import NotifierDep
from todo_api.problems import ProblemError, problem_responses
from todo_api.settings import SettingsDep
from todo_api.todos import repository
from todo_api.todos.cursor import InvalidCursorError
from todo_api.todos.events import EventType, TodoEvent, emit
from todo_api.todos.models import Todo
from todo_api.todos.schemas import TodoCreate, TodoPage, TodoRead, TodoSort, TodoUpdate

ClockDep = Annotated[Clock, Depends(get_clock)]
TodoId = Annotated[uuid.UUID, Path(description="The todo's id.")]

# Every route takes its caller as `RateLimitedPrincipal` (authenticated AND counted
# against the per-user limit) instead of a router-level `Depends(rate_limit_user)` plus
# `CurrentPrincipal`, which would resolve the authentication sub-tree twice per request.
# tests/test_ratelimit.py checks that every route of this router is rate limited.
router = APIRouter(
    prefix="/todos",
    tags=["todos"],
    responses=problem_responses(401, 422, 429),
)

_NOT_FOUND = "Todo not found."


def etag_of(version: int) -> str:
    return f'"{version}"'


def _matches(header: str | None, etag: str) -> bool:
    """RFC 9110 list matching (weak comparison suffices for If-None-Match)."""
    if header is None:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


def _cache_key(owner_id: uuid.UUID, todo_id: uuid.UUID) -> str:
    return f"todo:{owner_id}:{todo_id}"


def _serialise(todo: Todo) -> bytes:
    return TodoRead.model_validate(todo).model_dump_json().encode()


async def _after_write(
    request: Request,
    cache: Cache,
    background: BackgroundTasks,
    notifier: NotifierDep,
    *,
    kind: EventType,
    todo: Todo,
    body: bytes,
) -> None:
    # Order matters: the commit happened first, so a reader repopulating the cache now
    # reads the new row. The TTL bounds any residual race.
    await cache.delete(_cache_key(todo.owner_id, todo.id))
    await emit(request, TodoEvent(kind, todo.owner_id, body.decode()))
    background.add_task(
        record_activity,
        sessionmaker_of(request),
        notifier,
        user_id=todo.owner_id,
        action=f"todo.{kind}",
        target=str(todo.id),
        request_id=request_id_var.get(),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TodoRead,
    summary="Create a todo",
    description="Returns the todo with a `Location` header and its `ETag`.",
)
async def create_todo(
    payload: TodoCreate,
    principal: RateLimitedPrincipal,
    session: SessionDep,
    cache: CacheDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    notifier: NotifierDep,
) -> Todo:
    todo = repository.new_todo(principal.user_id, payload, clock())
    session.add(todo)
    await session.commit()
    response.headers["Location"] = str(request.url_for("get_todo", todo_id=todo.id).path)
    response.headers["ETag"] = etag_of(todo.version)
    await _after_write(
        request, cache, background, notifier, kind="created", todo=todo, body=_serialise(todo)
    )
    return todo


@router.get(
    "",
    response_model=TodoPage,
    summary="List todos",
    description=(
        "Keyset-paginated: follow `next_cursor` until it is null. Filters combine with AND."
    ),
    responses=problem_responses(400),
)
async def list_todos(
    principal: RateLimitedPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1, le=100, description="Page size (1-100).")] = None,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
    completed: Annotated[bool | None, Query(description="Only (un)completed todos.")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Title contains (any case).")
    ] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=50, description="Has tag.")] = None,
    due_before: Annotated[
        AwareDatetime | None, Query(description="Due strictly before (with time zone).")
    ] = None,
    sort: Annotated[TodoSort, Query(description="Sort order.")] = TodoSort.created_at_desc,
) -> TodoPage:
    filters = repository.TodoFilters(completed, q, tag, due_before)
    try:
        rows, next_cursor = await repository.list_page(
            session,
            principal.user_id,
            filters=filters,
            sort=sort,
            limit=limit or settings.page_size_default,
            cursor=cursor,
        )
    except InvalidCursorError as exc:
        raise ProblemError(
            status.HTTP_400_BAD_REQUEST,
            "Invalid cursor: pass back `next_cursor` unchanged, with the same sort.",
            type_="urn:todo-api:problem:invalid-cursor",
        ) from exc
    return TodoPage(items=[TodoRead.model_validate(t) for t in rows], next_cursor=next_cursor)


@router.get(
    "/{todo_id}",
    response_model=TodoRead,
    summary="Get a todo",
    description=(
        "Answers 304 when `If-None-Match` holds the current `ETag`. "
        "Another user's todo is 404, never 403: its existence is not disclosed."
    ),
    responses={
        **problem_responses(404),
        304: {"description": "Not modified (the ETag matched)."},
    },
)
async def get_todo(
    todo_id: TodoId,
    principal: RateLimitedPrincipal,
    request: Request,
    response: Response,
    if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Response:
    # The hot path: resources are taken from the app directly (each dependency, even a
    # trivial one, costs FastAPI a resolution per request).
    cache = cache_of(request)
    key = _cache_key(principal.user_id, todo_id)
    cached = await cache.get(key)
    if cached is not None:
        etag, body = cached.split(b"\n", 1)
        tag = etag.decode()
    else:
        # The hot path (a cache hit) never opens a session; a miss opens one briefly.
        async with sessionmaker_of(request)() as session:
            todo = await repository.get_owned(session, principal.user_id, todo_id)
        if todo is None:
            raise ProblemError(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
        tag, body = etag_of(todo.version), _serialise(todo)
        await cache.set(key, tag.encode() + b"\n" + body)
    # The body is already JSON: returning a Response skips re-validation and re-encoding,
    # which is the point of caching it. Headers set by dependencies (RateLimit-*) are
    # carried over by hand because they are only merged into responses FastAPI builds.
    headers = dict(response.headers) | {"ETag": tag, "Cache-Control": "private, no-cache"}
    headers.pop("content-length", None)
    if _matches(if_none_match, tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


@router.patch(
    "/{todo_id}",
    response_model=TodoRead,
    summary="Update a todo",
    description=(
        "Partial update. Send `If-Match` with the ETag you read to avoid overwriting a "
        "concurrent change: a stale one answers 412."
    ),
    responses=problem_responses(404, 412),
)
async def update_todo(
    todo_id: TodoId,
    payload: TodoUpdate,
    principal: RateLimitedPrincipal,
    session: SessionDep,
    cache: CacheDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    notifier: NotifierDep,
    if_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Todo:
    todo = await repository.get_owned(session, principal.user_id, todo_id)
    if todo is None:
        raise ProblemError(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    stale = ProblemError(
        status.HTTP_412_PRECONDITION_FAILED,
        "The todo changed since you read it; fetch it again and retry.",
        type_="urn:todo-api:problem:stale-etag",
    )
    # If-Match uses the strong comparison (RFC 9110 13.1.1): weak tags never match.
    if if_match is not None and not (
        if_match.strip() == "*" or etag_of(todo.version) in {p.strip() for p in if_match.split(",")}
    ):
        raise stale
    repository.apply_update(todo, payload, clock())
    try:
        await session.commit()
    except StaleDataError as exc:  # a concurrent writer won between our read and write
        await session.rollback()
        raise stale from exc
    response.headers["ETag"] = etag_of(todo.version)
    await _after_write(
        request, cache, background, notifier, kind="updated", todo=todo, body=_serialise(todo)
    )
    return todo


@router.delete(
    "/{todo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a todo",
    responses=problem_responses(404),
)
async def delete_todo(
    todo_id: TodoId,
    principal: RateLimitedPrincipal,
    session: SessionDep,
    cache: CacheDep,
    request: Request,
    background: BackgroundTasks,
    notifier: NotifierDep,
) -> None:
    todo = await repository.get_owned(session, principal.user_id, todo_id)
    if todo is None:
        raise ProblemError(status.HTTP_404_NOT_FOUND, _NOT_FOUND)
    body = _serialise(todo)
    await session.delete(todo)
    await session.commit()
    await _after_write(request, cache, background, notifier, kind="deleted", todo=todo, body=body)
