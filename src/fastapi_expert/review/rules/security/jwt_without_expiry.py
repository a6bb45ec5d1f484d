from __future__ import annotations

import ast

from fastapi_expert.review.model.module import own_nodes
from fastapi_expert.review.rules._util import keyword_value
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import (
    Payload,
    encoded_payload,
    str_value,
)
from fastapi_expert.types import Severity

_MAX_SECONDS = 30 * 86400
_TIMEDELTA = frozenset({"datetime.timedelta", "pendulum.duration"})
_RELATIVEDELTA = frozenset({"dateutil.relativedelta.relativedelta"})
_UNIT_SECONDS = {
    "weeks": 7 * 86400,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
    "milliseconds": 0.001,
    "microseconds": 0.000001,
    "years": 365 * 86400,
    "months": 30 * 86400,
}
_TIMEDELTA_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")


def _number(expr: ast.expr) -> float | None:
    """Value of a numeric constant expression (`60 * 60 * 24 * 365`)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int | float) and not isinstance(expr.value, bool):
        return float(expr.value)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult | ast.Add):
        left, right = _number(expr.left), _number(expr.right)
        if left is None or right is None:
            return None
        return left * right if isinstance(expr.op, ast.Mult) else left + right
    return None


def _describe(seconds: float) -> str:
    days = seconds / 86400
    if days >= 365:
        return f"{days / 365:g} year(s)"
    return f"{days:g} days"


def _unsigned(call: ast.Call) -> bool:
    """`jwt.encode(payload, "", algorithm="none")` (or PyJWT's `algorithm=None`)."""
    algorithm = keyword_value(call, "algorithm")
    if algorithm is None and len(call.args) > 2:
        algorithm = call.args[2]
    if not isinstance(algorithm, ast.Constant):
        return False
    return algorithm.value is None or (isinstance(algorithm.value, str) and algorithm.value.strip().lower() == "none")


class JwtWithoutExpiry(Rule):
    """Flags a JWT issued with no `exp` claim, or with an expiry of months or years.

    ## What it does
    Follows the claims passed to `jwt.encode` (PyJWT, python-jose; the payload
    argument of authlib and joserfc) back to the dict literal it is built from
    in the same function, including later `payload.update({...})`,
    `payload["exp"] = ...` and `payload.setdefault(...)`. When every part of the
    dict is visible and none sets `"exp"`, the token never expires. When `exp`
    is computed with a literal `timedelta(...)` / `relativedelta(...)` (or a
    constant number of seconds added to `time.time()`) longer than 30 days, the
    access token lives too long; functions and payloads that name a *refresh*
    token are exempt from the length check. A payload built elsewhere (a
    parameter, `data.copy()` with no visible `exp`, a helper) is not judged;
    nor is a token signed with `algorithm="none"` (FX403 reports it: an `exp`
    the holder can rewrite changes nothing), nor one whose only claim is a
    `jti` (a reference token: the server looks the id up in its store, where
    the token's expiry and revocation live). Test files are skipped: they forge tokens without `exp` on purpose.

    ## Why is this bad?
    A JWT is valid until it expires; the server keeps no session it could
    delete. A token with no `exp` is a permanent credential: a leaked one (logs,
    browser storage, a screenshot) works forever, and logout or a password
    change does not revoke it. Keep access tokens short (minutes) and refresh
    them with a separate, revocable refresh token.

    ## References
    - https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/
    - https://datatracker.ietf.org/doc/html/rfc7519#section-4.1.4
    - https://pyjwt.readthedocs.io/en/stable/usage.html#expiration-time-claim-exp
    - https://cheatsheetseries.owasp.org/cheatsheets/JSON_Web_Token_for_Java_Cheat_Sheet.html
    """

    code = "FX404"
    name = "jwt-without-expiry"
    summary = "A JWT is issued without an `exp` claim, or with an expiry of months or years."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from datetime import datetime, timedelta, timezone

            import jwt

            from app.settings import settings

            def create_access_token(data: dict, expires_delta: timedelta | None = None) -> str:
                to_encode = data.copy()
                expire = datetime.now(timezone.utc) + (expires_delta or timedelta(minutes=15))
                to_encode.update({"exp": expire})
                return jwt.encode(to_encode, settings.secret_key, algorithm="HS256")

            def create_token_for(claims: dict) -> str:
                return jwt.encode(claims, settings.secret_key, algorithm="HS256")  # built elsewhere
            """
        ),
        Valid(
            """
            from datetime import datetime, timedelta, timezone

            from jose import jwt

            from app.settings import settings

            def create_refresh_token(user_id: int) -> str:
                payload = {"sub": str(user_id), "type": "refresh"}
                payload["exp"] = datetime.now(timezone.utc) + timedelta(days=60)
                return jwt.encode(payload, settings.refresh_secret, algorithm="HS256")
            """
        ),
        Valid(
            """
            import jwt
            from joserfc import jwt as jose_jwt
            from joserfc.jwk import OctKey

            from app.settings import settings

            def reference_token(token_id: int) -> str:
                # Only an id: the server checks its stored expiry and revocation on each use.
                return jose_jwt.encode({"alg": "HS256"}, {"jti": str(token_id)}, OctKey.import_key(settings.secret))

            def intra_service_token(name: str) -> str:
                # Unsigned: FX403 reports it; an `exp` the holder can rewrite would change nothing.
                return jwt.encode({"sub": name}, "", algorithm="none")
            """,
            filename="app/tokens.py",
            files={"app/settings.py": "class Settings:\n    secret = ''\n\nsettings = Settings()\n"},
        ),
    )
    invalid = (
        Invalid(
            """
            import jwt

            from app.settings import settings

            def create_access_token(user_id: int, role: str) -> str:
                payload = {"sub": str(user_id)}
                payload.update({"role": role})
                return jwt.encode(payload, settings.secret_key, algorithm="HS256")
            """,
            lines=(8,),
        ),
        Invalid(
            """
            from datetime import datetime, timedelta, timezone

            from jose import jwt

            from app.settings import settings

            def create_access_token(user_id: int) -> str:
                expire = datetime.now(timezone.utc) + timedelta(days=365)
                claims = {"sub": str(user_id), "exp": expire}
                return jwt.encode(claims, settings.secret_key, algorithm="HS256")
            """,
            lines=(8,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        payload = encoded_payload(ctx, node)
        if payload is None:
            return
        if "exp" not in payload.keys:
            if _unsigned(node):
                return  # FX403 reports it: an `exp` the client can rewrite changes nothing
            if set(payload.keys) == {"jti"}:
                return  # a reference token: only an id, looked up where the server keeps its expiry
            if payload.complete:
                ctx.report(
                    node,
                    "`jwt.encode()` issues a token with no `exp` claim, so it is valid forever; "
                    'add `"exp": datetime.now(timezone.utc) + timedelta(minutes=15)` to the payload.',
                )
            return
        if self._is_refresh(ctx, payload):
            return
        for value in payload.keys["exp"]:
            found = self._long_expiry(ctx, value)
            if found is not None:
                where, seconds = found
                ctx.report(
                    where,
                    f"Access token expires after {_describe(seconds)}: a leaked token stays usable that long; "
                    "keep access tokens to minutes and use a revocable refresh token for long sessions.",
                )
                return

    def _is_refresh(self, ctx: FileContext, payload: Payload) -> bool:
        func = ctx.function()
        if func is not None and "refresh" in func.name.lower():
            return True
        return any(
            "refresh" in (str_value(v) or "").lower() for values in payload.keys.values() for v in values
        )

    def _long_expiry(self, ctx: FileContext, value: ast.expr) -> tuple[ast.expr, float] | None:
        exprs = [value]
        func = ctx.function()
        if isinstance(value, ast.Name) and func is not None:
            exprs = [
                n.value
                for n in own_nodes(func.node)
                if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == value.id for t in n.targets)
            ]
        for expr in exprs:
            for node in ast.walk(expr):
                if isinstance(node, ast.Call):
                    seconds = self._duration(ctx, node)
                    if seconds is not None and seconds > _MAX_SECONDS:
                        return node, seconds
                elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
                    for side in (node.left, node.right):
                        seconds = _number(side)
                        if seconds is not None and seconds > _MAX_SECONDS and self._is_epoch(ctx, node):
                            return side, seconds
        return None

    def _duration(self, ctx: FileContext, call: ast.Call) -> float | None:
        target = ctx.resolve(call.func)
        if target not in _TIMEDELTA and target not in _RELATIVEDELTA:
            return None
        total = 0.0
        if target in _TIMEDELTA:
            for name, a in zip(_TIMEDELTA_POSITIONAL, call.args, strict=False):
                n = _number(a)
                if n is None:
                    return None
                total += n * _UNIT_SECONDS[name]
        elif call.args:
            return None
        for kw in call.keywords:
            if kw.arg is None:
                return None
            n = _number(kw.value)
            unit = _UNIT_SECONDS.get(kw.arg)
            if n is None or unit is None:
                return None
            total += n * unit
        return total

    def _is_epoch(self, ctx: FileContext, node: ast.BinOp) -> bool:
        """`time.time() + N` / `int(now.timestamp()) + N`: a number of seconds since the epoch."""
        for side in (node.left, node.right):
            for inner in ast.walk(side):
                if isinstance(inner, ast.Call):
                    target = ctx.resolve(inner.func)
                    if target == "time.time" or (isinstance(inner.func, ast.Attribute) and inner.func.attr == "timestamp"):
                        return True
        return False
