"""Token issuance and refresh-token rotation with reuse detection.

Each login starts a *family*. A refresh token can be exchanged exactly once for a new
pair of the same family; presenting an already-spent token means it was stolen (or the
legitimate client was), so the whole family is revoked and both parties must log in
again (OAuth 2.0 Security BCP, "refresh token rotation").
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from todo_api.auth.models import RefreshToken
from todo_api.auth.schemas import TokenPair
from todo_api.auth.tokens import InvalidTokenError, decode_token, issue_token
from todo_api.settings import Settings
from todo_api.users.models import User

logger = logging.getLogger(__name__)


class RefreshReuseError(InvalidTokenError):
    """A spent or revoked refresh token was presented again."""


async def issue_pair(
    session: AsyncSession,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    now: datetime,
) -> TokenPair:
    """Create an access/refresh pair and record the refresh token. The caller commits."""
    access = issue_token(
        settings,
        subject=user_id,
        family_id=family_id,
        token_type="access",  # noqa: S106 - a token kind
        now=now,
    )
    refresh = issue_token(
        settings,
        subject=user_id,
        family_id=family_id,
        token_type="refresh",  # noqa: S106
        now=now,
    )
    session.add(
        RefreshToken(
            jti=refresh.claims.jti,
            family_id=family_id,
            user_id=user_id,
            issued_at=now,
            expires_at=refresh.claims.expires_at,
        )
    )
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh.token,
        expires_in=settings.access_token_ttl_seconds,
    )


async def rotate(
    session: AsyncSession, settings: Settings, refresh_token: str, now: datetime
) -> TokenPair:
    claims = decode_token(settings, refresh_token, expected_type="refresh")
    # Compare-and-set in one statement: of two concurrent exchanges of the same token,
    # exactly one sees rowcount == 1, on SQLite and PostgreSQL alike.
    spend = (
        update(RefreshToken)
        .where(
            RefreshToken.jti == claims.jti,
            RefreshToken.user_id == claims.subject,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now)
    )
    result: CursorResult[tuple[()]] = await session.execute(spend)  # type: ignore[assignment]
    if result.rowcount != 1:
        known = await session.scalar(select(RefreshToken).where(RefreshToken.jti == claims.jti))
        if known is not None and (known.used_at is not None or known.revoked_at is not None):
            await revoke_family(session, known.family_id, now)
            await session.commit()
            logger.warning(
                "refresh token reuse detected; family revoked",
                extra={"family_id": str(known.family_id), "user_id": str(known.user_id)},
            )
            raise RefreshReuseError("refresh token already used")
        raise InvalidTokenError("unknown or expired refresh token")
    user = await session.get(User, claims.subject)
    if user is None or not user.is_active:
        raise InvalidTokenError("user is gone")
    pair = await issue_pair(
        session, settings, user_id=claims.subject, family_id=claims.family_id, now=now
    )
    await session.commit()
    return pair


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
