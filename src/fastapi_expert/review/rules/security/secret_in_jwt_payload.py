from __future__ import annotations

import ast

from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import (
    PASSWORD_WORDS,
    encoded_payload,
    terminal_name,
    words,
)
from fastapi_expert.types import Severity

_SENSITIVE = frozenset(
    {
        "secret", "client_secret", "secret_key", "api_key", "apikey", "private_key", "credit_card",
        "card_number", "cc_number", "cvv", "cvc", "ssn", "social_security_number", "hashed_password",
        "password_hash", "pwd_hash", "otp_secret", "totp_secret", "mfa_secret", "refresh_secret",
    }
)


def sensitive(name: str | None) -> bool:
    """`password`, `hashed_password`, `api_key`, `ssn`; not `password_changed_at`, `pwd_version`."""
    if not name:
        return False
    ws = words(name)
    if not ws:
        return False
    return ws[-1] in PASSWORD_WORDS or "_".join(ws) in _SENSITIVE


class SecretInJwtPayload(Rule):
    """Flags a password, secret or payment data put into a JWT payload.

    ## What it does
    Follows the claims passed to `jwt.encode` (PyJWT, python-jose, authlib,
    joserfc) back to the dict literal built in the same function (with later
    `update(...)` / `payload[...] =`) and flags a claim named like a password,
    password hash, secret, API key, card number or SSN, or a claim whose value is
    such an attribute (`"h": user.hashed_password`). Claims such as
    `pwd_changed_at` or `pwd_version`, used to revoke tokens after a password
    change, are fine.
    Test files are skipped.

    ## Why is this bad?
    A signed JWT (JWS) is base64url-encoded, not encrypted: anyone who holds the
    token (the browser, a proxy log, an error tracker, jwt.io) reads every claim.
    A password hash in a token invites offline cracking; an API key or card
    number in it is disclosed outright. Put an opaque identifier (`sub`) in the
    token and look the rest up on the server.

    ## References
    - https://datatracker.ietf.org/doc/html/rfc7519#section-12
    - https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/
    - https://cheatsheetseries.owasp.org/cheatsheets/JSON_Web_Token_for_Java_Cheat_Sheet.html#token-information-disclosure
    """

    code = "FX405"
    name = "secret-in-jwt-payload"
    summary = "A password, secret or card number is put into a JWT payload, which anyone can read."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from datetime import datetime, timedelta, timezone

            import jwt

            from app.settings import settings

            def create_access_token(user) -> str:
                payload = {
                    "sub": str(user.id),
                    "scopes": user.scopes,
                    "pwd_changed_at": int(user.password_changed_at.timestamp()),
                    "exp": datetime.now(timezone.utc) + timedelta(minutes=15),
                }
                return jwt.encode(payload, settings.secret_key, algorithm="HS256")
            """
        ),
        Valid(
            """
            from jose import jwt

            from app.settings import settings

            def create_access_token(claims: dict) -> str:
                return jwt.encode(claims, settings.secret_key, algorithm="HS256")
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from datetime import datetime, timedelta, timezone

            import jwt

            from app.settings import settings

            def create_access_token(user) -> str:
                to_encode = {"sub": user.email, "password": user.hashed_password}
                to_encode["exp"] = datetime.now(timezone.utc) + timedelta(minutes=15)
                return jwt.encode(to_encode, settings.secret_key, algorithm="HS256")
            """,
            lines=(8,),
        ),
        Invalid(
            """
            from datetime import datetime, timedelta, timezone

            from jose import jwt

            from app.settings import settings

            def create_partner_token(partner) -> str:
                exp = datetime.now(timezone.utc) + timedelta(minutes=15)
                payload = {"sub": partner.id, "exp": exp}
                payload.update(api_key=partner.api_key)
                return jwt.encode(payload, settings.secret_key, algorithm="HS256")
            """,
            lines=(10,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        payload = encoded_payload(ctx, node)
        if payload is None:
            return
        for key, values in payload.keys.items():
            for value, where in zip(values, payload.key_nodes[key], strict=False):
                if sensitive(key):
                    what = f"claim `{key}`"
                elif isinstance(value, ast.Attribute | ast.Name | ast.Subscript) and sensitive(terminal_name(value)):
                    what = f"`{ctx.source.segment(value)}` (claim `{key}`)"
                else:
                    continue
                ctx.report(
                    where,
                    f"JWT payload carries {what}: a JWT is only signed, not encrypted, so anyone holding "
                    "the token reads it; keep only an opaque `sub` and look the rest up on the server.",
                )
