"""GET /users/me."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from todo_api.auth.deps import CurrentPrincipal, rate_limit_user, unauthorized
from todo_api.db import SessionDep
from todo_api.problems import problem_responses
from todo_api.users.models import User
from todo_api.users.schemas import UserRead

router = APIRouter(
    prefix="/users",
    tags=["users"],
    dependencies=[Depends(rate_limit_user)],
    responses=problem_responses(401, 429),
)


@router.get(
    "/me",
    response_model=UserRead,
    summary="The calling user",
    description="Works with a bearer token or an API key.",
)
async def read_me(principal: CurrentPrincipal, session: SessionDep) -> User:
    user = await session.get(User, principal.user_id)
    if user is None or not user.is_active:
        raise unauthorized("The account no longer exists.")
    return user
