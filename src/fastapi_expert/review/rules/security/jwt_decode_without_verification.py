from __future__ import annotations

import ast
from itertools import pairwise

from fastapi_expert.review.model.module import own_nodes
from fastapi_expert.review.rules._util import keyword_value
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import (
    arg,
    dict_literal_items,
    is_test,
    jwt_call,
    local_value,
    words,
)
from fastapi_expert.types import Severity

_DECODERS = frozenset({"decode", "decode_complete"})
# Options that switch off a check that protects the endpoint, and what it means.
_OPTIONS = {
    "verify_signature": "skips the signature check, so anyone can forge a token",
    "verify_exp": "never checks `exp`, so a stolen token works forever",
}

_REVOCATION_WORDS = ("expired", "logout", "log_out", "revoke", "revocation", "blacklist", "blocklist", "denylist")


# A function named with one of these returns claims nobody verified, and says so to its
# callers (`get_unverified_claims`, `peek_claims`): the routing peek PyJWT documents.
_UNVERIFIED_WORDS = ("unverified", "peek", "untrusted")
# FastAPI parameter markers: a parameter with one of these defaults is request data.
_REQUEST_PARAMS = frozenset({"Depends", "Security", "Body", "Form", "Header", "Query", "Cookie", "Path", "File"})


def _is_false(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is False


def _requires_exp(items: dict[str, ast.expr]) -> bool:
    """`options={"verify_exp": False, "require": ["exp", ...]}`: the code demands an `exp`
    and checks it itself (against its own clock or skew), which is why PyJWT's check is off."""
    required = items.get("require")
    return isinstance(required, ast.List | ast.Tuple) and any(
        isinstance(e, ast.Constant) and e.value == "exp" for e in required.elts
    )


class JwtDecodeWithoutVerification(Rule):
    """Flags JWT decoding that skips the signature or expiry check.

    ## What it does
    Finds `jwt.decode(...)` / `jwt.decode_complete(...)` (PyJWT) and
    `jose.jwt.decode(...)` (python-jose) called with
    `options={"verify_signature": False}` or `options={"verify_exp": False}`
    (also through a dict bound to a local name), PyJWT 1.x's `verify=False`,
    python-jose's `jwt.get_unverified_claims(...)`, and an authlib
    `jwt.decode(...)` whose claims are stored in a variable and never
    `.validate()`d in that function (authlib checks the signature in `decode`
    but `exp`, `nbf` and `iat` only in `claims.validate()`).
    `verify_exp: False` is accepted in a function whose name says it reads
    expired tokens on purpose (`logout`, `revoke_token`, `decode_allow_expired`),
    where the signature is still checked, and where the options also
    `require` an `exp` (`{"verify_exp": False, "require": ["exp"]}`): the code
    demands the claim to check it itself, against its own clock. A function whose
    name says its claims are unverified (`get_unverified_claims`, `peek_claims`)
    tells its callers so, as PyJWT's docs do for a routing peek. An OIDC
    `id_token` decoded without its signature outside request-facing code (the
    helper of an SSO callback that got it from the provider's token endpoint over
    TLS, which OpenID Connect Core 3.1.3.7 accepts in place of the signature) is
    not flagged; one a route or dependency takes from its own parameters
    (`body.id_token` sent by a mobile app) still is. `jwt.get_unverified_header(token)` is
    not flagged: reading the `kid` header to choose the verification key is the
    normal JWKS flow. Test files are skipped: peeking at the claims of a token
    in a test is fine.

    ## Why is this bad?
    A JWT is only as good as its signature check: with verification off, the
    claims are whatever the client wrote, so `sub` and `scopes` can name any
    user. Turning off the `exp` check makes every token ever issued (including
    stolen ones) valid forever. Such code often starts as a debugging shortcut
    and ships.

    ## References
    - https://pyjwt.readthedocs.io/en/stable/usage.html#reading-the-claimset-without-validation
    - https://pyjwt.readthedocs.io/en/stable/api.html
    - https://python-jose.readthedocs.io/en/latest/jwt/api.html
    - https://docs.authlib.org/en/latest/jose/jwt.html
    - https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/
    - https://cheatsheetseries.owasp.org/cheatsheets/JSON_Web_Token_for_Java_Cheat_Sheet.html
    """

    code = "FX402"
    name = "jwt-decode-without-verification"
    summary = "A JWT is decoded with its signature or expiry check turned off."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            import jwt
            from fastapi import Depends, HTTPException
            from fastapi.security import OAuth2PasswordBearer

            from app.settings import settings

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")
            jwks_client = jwt.PyJWKClient(settings.jwks_url)

            async def get_claims(token: str = Depends(oauth2_scheme)) -> dict:
                header = jwt.get_unverified_header(token)  # only to pick the key
                signing_key = jwks_client.get_signing_key(header["kid"])
                try:
                    return jwt.decode(token, signing_key.key, algorithms=["RS256"], audience=settings.audience)
                except jwt.PyJWTError:
                    raise HTTPException(status_code=401, detail="Invalid token")
            """
        ),
        Valid(
            """
            from authlib.jose import JsonWebToken

            jwt = JsonWebToken(["RS256"])

            def read_claims(token: str, public_key: bytes) -> dict:
                claims = jwt.decode(token, public_key)
                claims.validate()
                return dict(claims)
            """
        ),
        Valid(
            """
            import time

            import httpx
            import jwt

            from app.settings import settings

            def verified(token: str, now: float) -> bool:
                try:
                    claims = jwt.decode(
                        token,
                        settings.lens_secret,
                        algorithms=["HS256"],
                        # `exp` is required and checked below, against the caller's clock.
                        options={"verify_exp": False, "require": ["exp", "iat"]},
                    )
                except jwt.InvalidTokenError:
                    return False
                return claims["iat"] <= now < claims["exp"]

            def get_unverified_claims(token: str) -> dict:
                # Routing only: picks which issuer's keys verify it; the name tells callers.
                return jwt.decode(token, options={"verify_signature": False})

            async def userinfo_from_code(code: str) -> dict:
                async with httpx.AsyncClient() as client:
                    answer = await client.post(settings.token_url, data={"code": code, "grant_type": "authorization_code"})
                id_token = answer.json()["id_token"]
                # Straight from the provider's token endpoint over TLS (OpenID Connect Core 3.1.3.7).
                return jwt.decode(id_token, options={"verify_signature": False})
            """,
            filename="app/auth.py",
            files={"app/settings.py": "class Settings:\n    lens_secret = ''\n    token_url = ''\n\nsettings = Settings()\n"},
        ),
    )
    invalid = (
        Invalid(
            """
            import jwt
            from fastapi import Depends
            from fastapi.security import OAuth2PasswordBearer

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")

            async def current_user_id(token: str = Depends(oauth2_scheme)) -> str:
                payload = jwt.decode(token, options={"verify_signature": False})
                return payload["sub"]
            """,
            lines=(8,),
        ),
        Invalid(
            """
            from jose import jwt as jose_jwt

            from app.settings import settings

            def decode_access_token(token: str) -> dict:
                opts = {"verify_exp": False}
                return jose_jwt.decode(token, settings.secret_key, algorithms=["HS256"], options=opts)

            def user_from_token(token: str) -> str:
                return jose_jwt.get_unverified_claims(token)["sub"]
            """,
            lines=(7, 10),
        ),
        Invalid(
            """
            import jwt
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()

            class GoogleLogin(BaseModel):
                id_token: str

            @app.post("/auth/google")
            def google_login(body: GoogleLogin) -> dict:
                # The client's own id_token: anyone can write one.
                claims = jwt.decode(body.id_token, options={"verify_signature": False})
                return {"email": claims["email"]}
            """,
            lines=(13,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if is_test(ctx):
            return
        jwt = jwt_call(ctx, node)
        if jwt is None:
            return
        if jwt.lib == "jose" and jwt.func == "get_unverified_claims":
            ctx.report(
                node,
                "`jwt.get_unverified_claims()` returns claims whose signature was never checked; "
                "use `jwt.decode(token, key, algorithms=[...])`.",
            )
            return
        if jwt.func not in _DECODERS:
            return
        if jwt.lib == "authlib":
            self._authlib(node, ctx)
            return
        if jwt.lib not in {"pyjwt", "jose"}:
            return
        verify = keyword_value(node, "verify")
        if jwt.lib == "pyjwt" and verify is None and len(node.args) > 2:
            third = node.args[2]
            if isinstance(third, ast.Constant) and isinstance(third.value, bool):
                verify = third  # PyJWT 1.x: decode(jwt, key, verify, algorithms, options)
        if _is_false(verify):
            ctx.report(
                node,
                "`jwt.decode(..., verify=False)` skips the signature check, so anyone can forge a token; "
                "verify it with the key and `algorithms=[...]`.",
            )
            return
        options = arg(node, 3, "options")
        if options is None:
            return
        items = dict_literal_items(local_value(ctx, options))
        if items is None:
            return
        if self._declared_unverified(ctx) or self._id_token_from_provider(node, ctx):
            return
        for option, meaning in _OPTIONS.items():
            if option == "verify_exp" and (self._revocation(ctx) or _requires_exp(items)):
                continue
            if _is_false(items.get(option)):
                ctx.report(
                    node,
                    f'`options={{"{option}": False}}` {meaning}; remove the option '
                    "and handle `ExpiredSignatureError` / `InvalidTokenError` instead.",
                )
                return

    @staticmethod
    def _declared_unverified(ctx: FileContext) -> bool:
        """`def get_unverified_claims(token)`: the function's name tells every caller."""
        func = ctx.function()
        name = func.name.lower() if func is not None else ""
        return any(w in name for w in _UNVERIFIED_WORDS)

    @staticmethod
    def _id_token_from_provider(node: ast.Call, ctx: FileContext) -> bool:
        """An OIDC `id_token` decoded outside request-facing code (`userinfo =
        jwt.decode(id_token, options=...)` in an SSO callback's helper): the server got it
        from the provider's token endpoint over TLS, which OpenID Connect Core (3.1.3.7)
        accepts in place of the signature. One a route or dependency reads from its own
        parameters (`body.id_token`, a mobile app's Google sign-in) is the client's word
        and stays flagged."""
        token = node.args[0] if node.args else keyword_value(node, "jwt") or keyword_value(node, "token")
        if token is None:
            return False
        root: ast.expr = token
        while isinstance(root, ast.Attribute | ast.Subscript):
            root = root.value
        name = token.attr if isinstance(token, ast.Attribute) else root.id if isinstance(root, ast.Name) else ""
        ws = words(name)
        if "idtoken" not in ws and not any(a == "id" and b == "token" for a, b in pairwise(ws)):
            return False  # `id_token`, `raw_id_token`, `self._id_token`; not `valid_token`
        func = ctx.function()
        if func is None or isinstance(func.node, ast.Lambda):
            return True
        args = func.node.args
        defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        request_facing = bool(ctx.routes_of(func.node)) or any(
            isinstance(d, ast.Call) and (ctx.resolve(d.func) or "").rsplit(".", 1)[-1] in _REQUEST_PARAMS
            for d in defaults
        )
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        return not (request_facing and isinstance(root, ast.Name) and root.id in params)

    def _revocation(self, ctx: FileContext) -> bool:
        """Reading an expired token on purpose: to revoke it at logout, or in a function named so."""
        func = ctx.function()
        name = func.name.lower() if func is not None else ""
        return any(w in name for w in _REVOCATION_WORDS)

    def _authlib(self, node: ast.Call, ctx: FileContext) -> None:
        parent = ctx.parent
        if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
            return
        func = ctx.function()
        if func is None:
            return
        name = parent.targets[0].id
        for other in own_nodes(func.node):
            if isinstance(other, ast.Call):
                f = other.func
                if (
                    isinstance(f, ast.Attribute)
                    and isinstance(f.value, ast.Name)
                    and f.value.id == name
                    and f.attr == "validate"
                ):
                    return
                handed_on = any(isinstance(a, ast.Name) and a.id == name for a in other.args) or any(
                    isinstance(k.value, ast.Name) and k.value.id == name for k in other.keywords
                )
                if handed_on and other is not node:
                    return  # may be validated there
            elif isinstance(other, ast.Return | ast.Yield) and isinstance(other.value, ast.Name) and other.value.id == name:
                return
        ctx.report(
            node,
            f"authlib's `jwt.decode()` does not check `exp`/`nbf`; call `{name}.validate()` "
            "before trusting the claims.",
        )
