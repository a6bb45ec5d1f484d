"""POST/GET /api-keys, DELETE /api-keys/{id}. Bearer tokens only: a key cannot mint keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response, status
from sqlalchemy import func, select

from todo_api.api_keys import service
from todo_api.api_keys.models import ApiKey
from todo_api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from todo_api.auth.deps import TokenPrincipal, rate_limit_user
from todo_api.db import SessionDep
from todo_api.problems import ProblemError, problem_responses

MAX_KEYS_PER_USER = 20

router = APIRouter(
    prefix="/api-keys",
    tags=["api-keys"],
    dependencies=[Depends(rate_limit_user)],
    responses=problem_responses(401, 403, 422, 429),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    summary="Create an API key",
    description="The key is returned once; only its SHA-256 hash is stored.",
    responses=problem_responses(409),
)
async def create_api_key(
    payload: ApiKeyCreate, principal: TokenPrincipal, session: SessionDep
) -> ApiKeyCreated:
    count = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == principal.user_id)
    )
    if (count or 0) >= MAX_KEYS_PER_USER:
        raise ProblemError(status.HTTP_409_CONFLICT, f"At most {MAX_KEYS_PER_USER} API keys.")
    key, prefix, key_hash = service.generate_key()
    row = ApiKey(user_id=principal.user_id, name=payload.name, prefix=prefix, key_hash=key_hash)
    session.add(row)
    await session.commit()
    return ApiKeyCreated(
        id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at, key=key
    )


@router.get(
    "",
    response_model=list[ApiKeyRead],
    summary="List API keys",
    description="Names and prefixes only; secrets are never returned.",
)
async def list_api_keys(principal: TokenPrincipal, session: SessionDep) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.user_id == principal.user_id).order_by(ApiKey.created_at)
    )
    return list(rows.all())


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke an API key",
    responses=problem_responses(404),
)
async def delete_api_key(key_id: uuid.UUID, principal: TokenPrincipal, session: SessionDep) -> None:
    row = await service.owned_key(session, principal.user_id, key_id)
    if row is None:
        raise ProblemError(status.HTTP_404_NOT_FOUND, "API key not found.")
    await session.delete(row)
    await session.commit()
