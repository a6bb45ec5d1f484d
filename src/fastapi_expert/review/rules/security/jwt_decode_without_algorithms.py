from __future__ import annotations

import ast

from fastapi_expert.review.model.module import own_nodes
from fastapi_expert.review.rules._util import keyword_value
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import (
    arg,
    dict_literal_items,
    has_star_args,
    is_test,
    jwt_call,
    local_value,
    str_value,
)
from fastapi_expert.types import Fix, Severity

_DECODERS = frozenset({"decode", "decode_complete"})


def _names_none(expr: ast.expr) -> bool:
    """An algorithm list (or a single name) that allows `none`."""
    if isinstance(expr, ast.List | ast.Tuple | ast.Set):
        return any(_names_none(e) for e in expr.elts)
    text = str_value(expr)
    return text is not None and text.strip().lower() == "none"


def _signature_off(ctx: FileContext, call: ast.Call) -> bool:
    """`options={"verify_signature": False}` / `verify=False`: FX402's case, no algorithm is checked."""
    verify = keyword_value(call, "verify")
    if isinstance(verify, ast.Constant) and verify.value is False:
        return True
    if len(call.args) > 2 and isinstance(call.args[2], ast.Constant) and isinstance(call.args[2].value, bool):
        return True  # PyJWT 1.x positional `verify`
    options = keyword_value(call, "options")
    if options is None:
        return False
    items = dict_literal_items(local_value(ctx, options))
    if items is None:
        return False
    value = items.get("verify_signature")
    return isinstance(value, ast.Constant) and value.value is False


class JwtDecodeWithoutAlgorithms(Rule):
    """Flags JWT decoding with no algorithm allow-list, and tokens signed with `alg: none`.

    ## What it does
    Finds `jwt.decode(token, key)` (PyJWT, python-jose) with no `algorithms=`
    argument, or `algorithms=None`; an `algorithms` list that includes `"none"`;
    and `jwt.encode(..., algorithm="none")` (or PyJWT's `algorithm=None`, which
    means the same). authlib's `jwt.decode` has no `algorithms` parameter (the
    allow-list is fixed when the `JsonWebToken([...])` instance is built) and is
    not checked; joserfc requires its registry and is not checked either.
    Test files are skipped: they forge `none` tokens on purpose.

    ## Why is this bad?
    Without an allow-list the library trusts the `alg` header of the token, which
    the attacker writes. The classic attacks: `alg: none` (no signature at all)
    and algorithm confusion (a token signed with HS256 using the server's RSA
    *public* key as the HMAC secret). python-jose accepts any algorithm when
    `algorithms` is omitted; PyJWT 2 raises `DecodeError` on every call, so
    that code path is broken rather than open. Pin the list to the algorithm you
    issue tokens with, configured in the same place as the key.

    ## Fix safety
    When the module issues tokens with exactly one `algorithm=` value (a literal
    or a module-level name), the fix adds `algorithms=[<that value>]` to the
    decode call. It is unsafe: tokens from another issuer signed with a
    different algorithm are then rejected, which is the point but may break a
    legitimate integration.

    ## References
    - https://pyjwt.readthedocs.io/en/stable/api.html#jwt.decode
    - https://python-jose.readthedocs.io/en/latest/jwt/api.html
    - https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/
    - https://datatracker.ietf.org/doc/html/rfc8725#section-3.1
    - https://cheatsheetseries.owasp.org/cheatsheets/JSON_Web_Token_for_Java_Cheat_Sheet.html
    """

    code = "FX403"
    name = "jwt-decode-without-algorithms"
    summary = "A JWT is decoded without an `algorithms=[...]` allow-list, or with `none` allowed."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from fastapi import Depends, HTTPException
            from fastapi.security import OAuth2PasswordBearer
            from jose import JWTError, jwt

            from app.settings import settings

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")

            async def get_subject(token: str = Depends(oauth2_scheme)) -> str:
                try:
                    payload = jwt.decode(token, settings.secret_key, algorithms=[settings.jwt_algorithm])
                except JWTError:
                    raise HTTPException(status_code=401, detail="Invalid token")
                return payload["sub"]
            """
        ),
        Valid(
            """
            import jwt

            def peek_claims(token: str) -> dict:
                # No signature check at all: FX402's finding, not this rule's.
                return jwt.decode(token, options={"verify_signature": False})

            def read(token: str, key: str) -> dict:
                return jwt.decode(token, key, ["HS256"])
            """
        ),
    )
    invalid = (
        Invalid(
            """
            import os
            from datetime import datetime, timedelta, timezone

            from jose import jwt

            SECRET_KEY = os.environ["SECRET_KEY"]
            ALGORITHM = "HS256"

            def create_access_token(sub: str) -> str:
                expire = datetime.now(timezone.utc) + timedelta(minutes=15)
                return jwt.encode({"sub": sub, "exp": expire}, SECRET_KEY, algorithm=ALGORITHM)

            def decode_access_token(token: str) -> dict:
                return jwt.decode(token, SECRET_KEY)
            """,
            lines=(14,),
            fixed="""
            import os
            from datetime import datetime, timedelta, timezone

            from jose import jwt

            SECRET_KEY = os.environ["SECRET_KEY"]
            ALGORITHM = "HS256"

            def create_access_token(sub: str) -> str:
                expire = datetime.now(timezone.utc) + timedelta(minutes=15)
                return jwt.encode({"sub": sub, "exp": expire}, SECRET_KEY, algorithm=ALGORITHM)

            def decode_access_token(token: str) -> dict:
                return jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
            """,
        ),
        Invalid(
            """
            import jwt as pyjwt

            from app.settings import settings

            def service_token() -> str:
                return pyjwt.encode({"sub": "svc"}, settings.secret_key, algorithm="none")

            def verify(token: str) -> dict:
                return pyjwt.decode(token, settings.secret_key, algorithms=["HS256", "none"])
            """,
            lines=(6, 9),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if is_test(ctx):
            return
        jwt = jwt_call(ctx, node)
        if jwt is None or jwt.lib not in {"pyjwt", "jose"} or has_star_args(node):
            return
        if jwt.func == "encode":
            algorithm = arg(node, 2, "algorithm")
            if algorithm is None:
                return
            if _names_none(algorithm) or (
                jwt.lib == "pyjwt" and isinstance(algorithm, ast.Constant) and algorithm.value is None
            ):
                ctx.report(
                    node,
                    f"`jwt.encode(..., algorithm={ctx.source.segment(algorithm)})` issues an unsigned token "
                    'anyone can forge; sign it with `algorithm="HS256"` (or RS256/ES256) and a secret key.',
                )
            return
        if jwt.func not in _DECODERS or _signature_off(ctx, node):
            return
        algorithms = keyword_value(node, "algorithms")
        if algorithms is None and len(node.args) > 2:
            algorithms = node.args[2]
        if algorithms is None or (isinstance(algorithms, ast.Constant) and algorithms.value is None):
            self._missing(node, ctx, jwt.lib)
            return
        if _names_none(local_value(ctx, algorithms)):
            ctx.report(
                algorithms,
                '`algorithms` allows `"none"`, so an unsigned token passes; list only the algorithm you sign with.',
            )

    def _missing(self, node: ast.Call, ctx: FileContext, lib: str) -> None:
        if lib == "jose":
            why = "python-jose then accepts whatever `alg` the token names (algorithm confusion)"
        else:
            why = "PyJWT 2 rejects every token and PyJWT 1 accepts whatever `alg` the token names"
        fix = None
        algorithm = self._issued_algorithm(ctx)
        if algorithm is not None and node.args and keyword_value(node, "algorithms") is None and len(node.args) <= 2:
            last: ast.AST = max(
                [*node.args, *node.keywords],
                key=lambda n: (getattr(n, "end_lineno", 0) or 0, getattr(n, "end_col_offset", 0) or 0),
            )
            edit = ctx.source.replace(last, f"{ctx.source.segment(last)}, algorithms=[{algorithm}]")
            fix = Fix(f"Add `algorithms=[{algorithm}]`", (edit,), safe=False)
        ctx.report(
            node,
            f"`jwt.decode()` without `algorithms=[...]`: {why}; pin the algorithm you sign with.",
            fix=fix,
        )

    def _issued_algorithm(self, ctx: FileContext) -> str | None:
        """The one `algorithm=` this module signs tokens with, as source text usable anywhere in the module."""
        found: set[str] = set()
        for func in ctx.module.all_functions:
            for node in own_nodes(func.node):
                if not isinstance(node, ast.Call):
                    continue
                algorithm = keyword_value(node, "algorithm")
                if algorithm is None:
                    continue
                if isinstance(node.func, ast.Attribute) and node.func.attr == "encode":
                    text = self._portable(algorithm, ctx)
                    if text is None:
                        return None
                    found.add(text)
        return found.pop() if len(found) == 1 else None

    def _portable(self, expr: ast.expr, ctx: FileContext) -> str | None:
        if str_value(expr) is not None:
            return ctx.source.segment(expr) if not _names_none(expr) else None
        if isinstance(expr, ast.Name) and expr.id in ctx.module.assignments:
            return expr.id
        return None
