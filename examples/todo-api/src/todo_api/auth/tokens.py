"""JWT access and refresh tokens (PyJWT, HS256).

Decoding pins the algorithm list (no `alg: none`, no RS/HS confusion), requires every
claim we rely on, checks issuer and audience, and checks the token type so a refresh
token can never be used as an access token (or the reverse).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

import jwt

from todo_api.settings import Settings

ALGORITHM = "HS256"
LEEWAY_SECONDS = 5
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
        if token_type == "access"  # noqa: S105
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
            leeway=LEEWAY_SECONDS,  # tolerate small clock skew between workers
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
    return TokenClaims(
        subject, str(payload["jti"]), family_id, expected_type, issued_at, expires_at
    )


class VerifiedTokenCache:
    """Remembers access tokens whose signature and claims were already verified.

    Verifying an HS256 JWT with PyJWT costs more than serving a cached read, and a
    client sends the same token with every request for its whole lifetime. The cache is
    keyed by the exact token string (a modified token is a different key and goes
    through full verification), bounded, per process and per app (so per secret), and
    the expiry is re-checked on every hit.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, TokenClaims] = OrderedDict()
        self._max_entries = max_entries

    def decode_access(self, settings: Settings, token: str) -> TokenClaims:
        claims = self._entries.get(token)
        if claims is not None:
            if claims.expires_at.timestamp() + LEEWAY_SECONDS > time.time():
                return claims
            del self._entries[token]
            raise InvalidTokenError("token expired")
        claims = decode_token(settings, token, expected_type="access")
        self._entries[token] = claims
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return claims
