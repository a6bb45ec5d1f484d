from __future__ import annotations

import ast

from fastapi_expert.review.rules._util import literal_str
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._web import (
    append_arguments_edit,
    has_star_kwargs,
    name_hint,
    words,
)
from fastapi_expert.types import Edit, Fix, Severity

# Starlette: set_cookie(key, value, max_age, expires, path, domain, secure, httponly, samesite)
_POSITION = {"secure": 6, "httponly": 7, "samesite": 8}
_SENSITIVE_FRAGMENTS = ("session", "token", "auth", "jwt")
_SENSITIVE_WORDS = frozenset({"sid", "refresh", "remember", "login", "bearer"})
# Double-submit CSRF cookies must stay readable by the page's JavaScript.
_JS_READABLE = ("csrf", "xsrf")


def _sensitive(name: str) -> bool:
    low = name.lower()
    if any(f in low for f in _JS_READABLE):
        return False
    return any(f in low for f in _SENSITIVE_FRAGMENTS) or bool(set(words(name)) & _SENSITIVE_WORDS)


class InsecureCookie(Rule):
    """Flags a session or token cookie set without `httponly=True` or `secure=True`.

    ## What it does
    Finds `response.set_cookie(...)` (a Starlette / FastAPI `Response`, or any
    `.set_cookie` call in a module that imports FastAPI or Starlette) whose
    cookie name says it carries credentials (`session`, `token`,
    `access_token`, `refresh_token`, `auth`, `jwt`, `sid`...) and that lacks
    `httponly=True` or `secure=True`, or uses `samesite="none"` without
    `secure=True`. Cookies with other names (preferences, UI state) and CSRF
    cookies, which the page must read, are not flagged, nor is an explicit
    `httponly=False`: written out, it says the page's own script reads the
    cookie (a token the front end sends as an `Authorization` header), a
    design decision rather than Starlette's default slipping through (its
    `secure` is still checked). Values from settings
    (`secure=settings.cookie_secure`) are trusted.

    ## Why is this bad?
    Starlette's `set_cookie` defaults to `httponly=False` and `secure=False`.
    Without `HttpOnly`, any script on the page (one XSS, one compromised npm
    package) can read the session token and replay it from anywhere. Without
    `Secure`, the browser also sends the cookie over plain `http://`, where
    anyone on the network path can read it. Browsers reject `SameSite=None`
    cookies that are not `Secure`.

    ## Fix safety
    The fix adds `httponly=True` and/or `secure=True` (or turns an explicit
    `secure=False` into `True`). It is unsafe: front-end code that read the cookie
    stops seeing it, and a development server on plain `http://` no longer
    receives it.

    ## References
    - https://www.starlette.io/responses/#set-cookie
    - https://fastapi.tiangolo.com/advanced/response-cookies/
    - https://developer.mozilla.org/en-US/docs/Web/HTTP/Cookies#restrict_access_to_cookies
    - https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#cookies
    """

    code = "FX418"
    name = "insecure-cookie"
    summary = "A session or token cookie is set without `HttpOnly` or `Secure`."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from fastapi import FastAPI, Response

            app = FastAPI()

            @app.post("/login")
            async def login(response: Response):
                response.set_cookie(
                    "session", "opaque-id", httponly=True, secure=True, samesite="lax", max_age=3600
                )
                response.set_cookie("theme", "dark")  # a preference, not a credential
                return {"ok": True}
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from fastapi.responses import JSONResponse

            from app.settings import settings

            app = FastAPI()

            @app.post("/login")
            async def login():
                response = JSONResponse({"ok": True})
                response.set_cookie(
                    key="access_token",
                    value="jwt",
                    httponly=True,
                    secure=settings.cookie_secure,
                )
                response.set_cookie("csrftoken", "random", secure=True)  # read by the page
                return response
            """,
            filename="app/main.py",
            files={"app/settings.py": "class Settings:\n    cookie_secure = True\n\nsettings = Settings()\n"},
        ),
        Valid(
            # The dashboard's script reads this token to send it as a header: `httponly=False`
            # is written out on purpose, and the cookie is still `Secure`.
            """
            from fastapi import Request, Response

            def set_session_token_cookie(response: Response, request: Request, jwt_token: str) -> None:
                response.set_cookie(
                    key="token",
                    value=jwt_token,
                    secure=request.url.scheme == "https",
                    httponly=False,
                    samesite="lax",
                )
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI, Response

            app = FastAPI()

            @app.post("/login")
            async def login(response: Response):
                response.set_cookie(key="access_token", value="jwt", max_age=3600)
                return {"ok": True}
            """,
            lines=(7,),
            fixed="""
            from fastapi import FastAPI, Response

            app = FastAPI()

            @app.post("/login")
            async def login(response: Response):
                response.set_cookie(key="access_token", value="jwt", max_age=3600, httponly=True, secure=True)
                return {"ok": True}
            """,
        ),
        Invalid(
            """
            from fastapi.responses import RedirectResponse

            SESSION_COOKIE = "sid"

            def finish_login(session_id: str) -> RedirectResponse:
                response = RedirectResponse("/dashboard", status_code=303)
                response.set_cookie(
                    SESSION_COOKIE,
                    session_id,
                    httponly=True,
                    samesite="none",
                )
                return response
            """,
            lines=(7,),
            fixed="""
            from fastapi.responses import RedirectResponse

            SESSION_COOKIE = "sid"

            def finish_login(session_id: str) -> RedirectResponse:
                response = RedirectResponse("/dashboard", status_code=303)
                response.set_cookie(
                    SESSION_COOKIE,
                    session_id,
                    httponly=True,
                    samesite="none",
                    secure=True,
                )
                return response
            """,
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr != "set_cookie" or has_star_kwargs(node):
            return
        target = ctx.call_target(node) or ""
        if not (
            target.endswith("Response.set_cookie")
            or ctx.module.imports_module("fastapi")
            or ctx.module.imports_module("starlette")
        ):
            return
        cookie = self._cookie_name(node, ctx)
        if cookie is None or not _sensitive(cookie):
            return
        httponly = self._flag(node, "httponly")
        secure = self._flag(node, "secure")
        samesite = self._arg(node, "samesite")
        samesite_none = (literal_str(samesite) or "").lower() == "none"
        missing: list[str] = []
        edits: list[Edit] = []
        append: list[str] = []
        for flag_name, (state, expr) in (("httponly", httponly), ("secure", secure)):
            if flag_name == "httponly" and state == "false":
                # Written out, `httponly=False` is a decision (a token the page's own script
                # reads to send as a header), not Starlette's default slipping through.
                continue
            if state == "false":
                missing.append(flag_name)
                if expr is not None:
                    edits.append(ctx.source.replace(expr, "True"))
            elif state == "absent":
                missing.append(flag_name)
                append.append(f"{flag_name}=True")
        if not missing:
            return
        if append:
            edit = append_arguments_edit(ctx, node, ", ".join(append))
            if edit is not None:
                edits.append(edit)
        key = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "key"), None)
        shown = literal_str(key) or (ctx.source.segment(key) if key is not None else cookie)
        flags = " and ".join(f"`{m}=True`" for m in missing)
        risks = []
        if "httponly" in missing:
            risks.append("any script on the page can read it")
        if "secure" in missing:
            risks.append(
                "browsers drop a `SameSite=None` cookie that is not `Secure`"
                if samesite_none
                else "it is also sent over plain HTTP"
            )
        ctx.report(
            node,
            f"Cookie `{shown}` carries credentials but is set without {flags}, so "
            f"{' and '.join(risks)}; add {flags}.",
            fix=Fix(f"Add {flags}", tuple(edits), safe=False) if edits else None,
        )

    @staticmethod
    def _arg(node: ast.Call, name: str) -> ast.expr | None:
        kw = next((k.value for k in node.keywords if k.arg == name), None)
        if kw is not None:
            return kw
        index = _POSITION[name]
        return node.args[index] if len(node.args) > index else None

    def _flag(self, node: ast.Call, name: str) -> tuple[str, ast.expr | None]:
        expr = self._arg(node, name)
        if expr is None:
            return "absent", None
        if isinstance(expr, ast.Constant) and not expr.value:
            return "false", expr
        return "set", expr

    @staticmethod
    def _cookie_name(node: ast.Call, ctx: FileContext) -> str | None:
        expr = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "key"), None)
        if expr is None:
            return None
        text = literal_str(expr)
        if text is not None:
            return text
        value = ctx.module.assignments.get(expr.id) if isinstance(expr, ast.Name) else None
        if literal_str(value) is not None:
            # Judge by both the constant's name and its value (`SESSION_COOKIE = "sid"`).
            hint = name_hint(expr) or ""
            return hint if _sensitive(hint) else literal_str(value)
        return name_hint(expr)
