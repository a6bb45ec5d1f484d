"""JWT access and refresh tokens (PyJWT, HS256).

Decoding pins the algorithm list (no `alg: none`, no RS/HS confusion), requires every
claim we rely on, checks issuer and audience, and checks the token type so a refresh
token can never be used as an access token (or the reverse).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

import jwt

from todo_api.settings import Settings

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "type", "iss", "aud", "fam"]


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or of the wrong type."""


@dataclass(frozen=True)
class TokenClaims:
    subject: uuid.UUID
    jti: str
    family_id: uuid.UUID
    type: TokenType
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    token: str
    claims: TokenClaims


def issue_token(
    settings: Settings,
    *,
    subject: uuid.UUID,
    family_id: uuid.UUID,
    token_type: TokenType,
    now: datetime,
) -> IssuedToken:
    ttl = (
        settings.access_token_ttl_seconds
        if token_type == "access"
        else settings.refresh_token_ttl_seconds
    )
    expires_at = now + timedelta(seconds=ttl)
    jti = secrets.token_urlsafe(24)
    payload = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(subject),
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": jti,
        "type": token_type,
        "fam": str(family_id),
    }
    token = jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    claims = TokenClaims(subject, jti, family_id, token_type, now, expires_at)
    return IssuedToken(token, claims)


def decode_token(settings: Settings, token: str, *, expected_type: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": _REQUIRED_CLAIMS},
            leeway=5,  # tolerate small clock skew between workers
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(str(exc)) from exc
    if payload.get("type") != expected_type:
        raise InvalidTokenError(f"expected a {expected_type} token")
    try:
        subject = uuid.UUID(str(payload["sub"]))
        family_id = uuid.UUID(str(payload["fam"]))
        issued_at = datetime.fromtimestamp(int(payload["iat"]), timezone.utc)
        expires_at = datetime.fromtimestamp(int(payload["exp"]), timezone.utc)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidTokenError("malformed claims") from exc
    return TokenClaims(subject, str(payload["jti"]), family_id, expected_type, issued_at, expires_at)
