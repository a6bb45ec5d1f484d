"""POST /auth/register, /auth/token, /auth/refresh, /auth/logout."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from todo_api.audit.service import record_activity
from todo_api.auth import service
from todo_api.auth.deps import TokenPrincipal, unauthorized
from todo_api.auth.passwords import PasswordHasherDep
from todo_api.auth.schemas import RefreshRequest, TokenPair
from todo_api.auth.tokens import InvalidTokenError
from todo_api.clock import Clock, get_clock
from todo_api.db import SessionDep, sessionmaker_of
from todo_api.logs import request_id_var
from todo_api.notifier import NotifierDep
from todo_api.problems import ProblemError, problem_responses
from todo_api.ratelimit import RateLimiterDep, enforce, limit_by_ip
from todo_api.settings import SettingsDep
from todo_api.users.models import User
from todo_api.users.schemas import UserCreate, UserRead

ClockDep = Annotated[Clock, Depends(get_clock)]

router = APIRouter(
    prefix="/auth",
    tags=["auth"],
    responses=problem_responses(422, 429),
)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    summary="Create an account",
    description="Registers a user. The e-mail address is unique (case-insensitive).",
    responses=problem_responses(409),
    dependencies=[Depends(limit_by_ip("register", lambda s: s.rate_limit_auth))],
)
async def register(
    payload: UserCreate,
    session: SessionDep,
    hasher: PasswordHasherDep,
    clock: ClockDep,
    background: BackgroundTasks,
    request: Request,
    notifier: NotifierDep,
) -> User:
    user = User(
        email=payload.email,
        full_name=payload.full_name,
        password_hash=await hasher.hash(payload.password),
        created_at=clock(),
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        # Rely on the unique index rather than check-then-insert, which races.
        await session.rollback()
        raise ProblemError(
            status.HTTP_409_CONFLICT,
            "An account with this e-mail address already exists.",
            type_="urn:todo-api:problem:email-taken",
        ) from exc
    background.add_task(
        record_activity,
        sessionmaker_of(request),
        notifier,
        user_id=user.id,
        action="user.registered",
        target=str(user.id),
        request_id=request_id_var.get(),
    )
    return user


@router.post(
    "/token",
    status_code=status.HTTP_200_OK,
    response_model=TokenPair,
    summary="Log in (OAuth2 password flow)",
    description=(
        "Form fields `username` (the e-mail address) and `password`. Stricter rate limit "
        "than the rest of the API: per client IP and per account."
    ),
    responses=problem_responses(401),
    dependencies=[Depends(limit_by_ip("token", lambda s: s.rate_limit_token))],
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    hasher: PasswordHasherDep,
    limiter: RateLimiterDep,
    clock: ClockDep,
    response: Response,
) -> TokenPair:
    email = form.username.strip().lower()
    if settings.rate_limit_enabled:
        # A second bucket per account stops password spraying from many IPs.
        await enforce(limiter, response, settings.rate_limit_token, "token-account", email)
    user = await session.scalar(select(User).where(User.email == email))
    # End the read transaction: no pooled connection is held during the slow hash.
    await session.commit()
    valid, new_hash = await hasher.verify(form.password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        # One message for every failure: do not reveal which accounts exist.
        raise unauthorized("Incorrect e-mail address or password.")
    if new_hash is not None:
        user.password_hash = new_hash  # parameters were raised since it was stored
    pair = await service.issue_pair(
        session, settings, user_id=user.id, family_id=uuid.uuid4(), now=clock()
    )
    await session.commit()
    return pair


@router.post(
    "/refresh",
    status_code=status.HTTP_200_OK,
    response_model=TokenPair,
    summary="Exchange a refresh token for a new pair",
    description=(
        "Rotation: each refresh token works once. Presenting a spent one revokes every "
        "token of its login (the family) and answers 401."
    ),
    responses=problem_responses(401),
    dependencies=[Depends(limit_by_ip("refresh", lambda s: s.rate_limit_auth))],
)
async def refresh(
    payload: RefreshRequest, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> TokenPair:
    try:
        return await service.rotate(session, settings, payload.refresh_token, clock())
    except InvalidTokenError as exc:
        raise unauthorized("Invalid, expired or reused refresh token.") from exc


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Log out",
    description="Revokes the refresh-token family of the calling access token.",
    responses=problem_responses(401, 403),
)
async def logout(principal: TokenPrincipal, session: SessionDep, clock: ClockDep) -> None:
    if principal.family_id is not None:
        await service.revoke_family(session, principal.family_id, clock())
        await session.commit()
