"""Who is calling: a Bearer access token or an `X-API-Key`.

The two schemes are declared with FastAPI's security classes so that they appear in
the OpenAPI document (and the "Authorize" button of /docs).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request, Response, Security, status
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from todo_api.api_keys import service as api_key_service
from todo_api.auth.tokens import InvalidTokenError, VerifiedTokenCache, decode_token
from todo_api.db import sessionmaker_of
from todo_api.problems import ProblemError
from todo_api.ratelimit import enforce, rate_limiter_of
from todo_api.settings import Settings, SettingsDep

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a URL, not a secret

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    auto_error=False,
    scheme_name="BearerToken",
    description="Access token from POST /api/v1/auth/token.",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="A key from POST /api/v1/api-keys (cannot manage API keys).",
)


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    via: Literal["token", "api_key"]
    family_id: uuid.UUID | None = None


def unauthorized(detail: str = "Missing or invalid credentials.") -> ProblemError:
    return ProblemError(
        status.HTTP_401_UNAUTHORIZED,
        detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def principal_from_access_token(
    settings: Settings, token: str, cache: VerifiedTokenCache | None = None
) -> Principal:
    try:
        if cache is not None:
            claims = cache.decode_access(settings, token)
        else:
            claims = decode_token(settings, token, expected_type="access")
    except InvalidTokenError as exc:
        raise unauthorized("Invalid or expired access token.") from exc
    return Principal(claims.subject, "token", claims.family_id)


async def get_principal(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str | None, Security(bearer_scheme)],
    api_key: Annotated[str | None, Security(api_key_scheme)],
) -> Principal:
    if token:
        # No database round trip: a valid signature and `exp` are the proof. Access
        # tokens are short-lived (ACCESS_TOKEN_TTL_SECONDS) for that reason.
        cache: VerifiedTokenCache = request.app.state.resources.token_cache
        return principal_from_access_token(settings, token, cache)
    if api_key:
        # A session only for this lookup: bearer-token requests never open one here.
        async with sessionmaker_of(request)() as session:
            key = await api_key_service.authenticate(session, api_key)
        if key is None:
            raise unauthorized("Invalid API key.")
        return Principal(key.user_id, "api_key")
    raise unauthorized()


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_token_principal(principal: CurrentPrincipal) -> Principal:
    """Only interactive logins (not API keys) may manage credentials."""
    if principal.via != "token":
        raise ProblemError(
            status.HTTP_403_FORBIDDEN, "API keys cannot manage credentials; use a bearer token."
        )
    return principal


TokenPrincipal = Annotated[Principal, Depends(get_token_principal)]


async def rate_limit_user(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    settings: SettingsDep,
) -> Principal:
    """One bucket per authenticated user; returns the caller it counted.

    Used as a router-level dependency (`dependencies=[Depends(rate_limit_user)]`), or as
    the caller itself through `RateLimitedPrincipal`: a route that declares both
    `CurrentPrincipal` and a router-level limiter makes FastAPI walk the principal's
    dependency sub-tree twice per request (a cached dependency is still re-walked), and
    the todos routes are the hot path. For the same reason the limiter is taken from the
    app's resources directly rather than through one more dependency.
    """
    if settings.rate_limit_enabled:
        limiter = rate_limiter_of(request)
        await enforce(
            limiter, response, settings.rate_limit_default, "user", str(principal.user_id)
        )
    return principal


# The authenticated caller, counted against its per-user rate limit.
RateLimitedPrincipal = Annotated[Principal, Depends(rate_limit_user)]
