from __future__ import annotations

import ast
import re

from fastapi_expert.review.rules._util import keyword, keyword_value
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._web import (
    CORS_CLASSES,
    MIDDLEWARE_WRAPPERS,
    constant_value,
)
from fastapi_expert.types import Severity

# Origins no one would list on purpose: if the regex accepts them, it accepts any site.
_PROBE_ORIGINS = ("https://attacker.example", "http://evil.test:8080")


class CorsWildcardWithCredentials(Rule):
    """Flags `CORSMiddleware` that allows every origin and also allows credentials.

    ## What it does
    Finds `CORSMiddleware` configured through `app.add_middleware(...)`,
    `Middleware(CORSMiddleware, ...)` (e.g. in `FastAPI(middleware=[...])`) or by
    wrapping an app directly, where `allow_credentials=True` and the allowed
    origins are every origin: `allow_origins=["*"]` (also through a module-level
    constant), or an `allow_origin_regex` such as `".*"` that matches any site.

    ## Why is this bad?
    The CORS spec forbids `Access-Control-Allow-Origin: *` with credentials, so
    Starlette does not send `*` in that case: it echoes the request's own
    `Origin` back (for preflights, and for simple requests that carry a cookie)
    together with `Access-Control-Allow-Credentials: true`. The browser then
    lets *any* website read authenticated responses made with the user's
    cookies or HTTP auth: a cross-site request forgery that can also read the
    answer. `allow_origins=["*"]` without credentials is fine for a public API.
    List the front-end origins explicitly (from settings) instead.

    ## References
    - https://fastapi.tiangolo.com/tutorial/cors/
    - https://www.starlette.io/middleware/#corsmiddleware
    - https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS#credentialed_requests_and_wildcards
    - https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/11-Client-side_Testing/07-Testing_Cross_Origin_Resource_Sharing
    """

    code = "FX406"
    name = "cors-wildcard-with-credentials"
    summary = "CORS allows any origin together with credentials, so any site can act as the user."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware

            app = FastAPI()

            app.add_middleware(
                CORSMiddleware,
                allow_origins=["https://app.example.com", "https://admin.example.com"],
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware

            app = FastAPI(title="Public weather API")

            # A public, cookie-less API: any origin may read it.
            app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"])
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from starlette.middleware import Middleware
            from starlette.middleware.cors import CORSMiddleware

            middleware = [
                Middleware(
                    CORSMiddleware,
                    allow_origin_regex=r"https://.*\\.example\\.com",
                    allow_credentials=True,
                )
            ]
            app = FastAPI(middleware=middleware)
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware

            app = FastAPI()

            app.add_middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
            """,
            lines=(8,),
        ),
        Invalid(
            """
            import fastapi
            from starlette.middleware import Middleware
            from starlette.middleware.cors import CORSMiddleware as Cors

            ORIGINS = ["http://localhost:3000", "*"]

            app = fastapi.FastAPI(
                middleware=[Middleware(Cors, allow_origins=ORIGINS, allow_credentials=True)],
            )
            """,
            lines=(8,),
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origin_regex=".*", allow_credentials=True)
            """,
            lines=(5,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        target = ctx.resolve(node.func)
        if target is None:
            return
        if target in CORS_CLASSES:
            pass  # CORSMiddleware(app, ...) wrapping an ASGI app directly
        elif target in MIDDLEWARE_WRAPPERS or (
            isinstance(node.func, ast.Attribute) and node.func.attr == "add_middleware"
        ):
            if not node.args or ctx.resolve(node.args[0]) not in CORS_CLASSES:
                return
        else:
            return
        if not self._is_true(node, ctx):
            return
        origins = keyword(node, "allow_origins")
        if origins is not None and self._has_wildcard(origins.value, ctx):
            shown = ctx.source.segment(origins.value)
            note = " (any origin)" if "*" in shown else ' (which contains `"*"`)'
            ctx.report(
                origins,
                f"`CORSMiddleware` combines `allow_origins={shown}`{note} with "
                "`allow_credentials=True`, so Starlette echoes every site's `Origin` and any web "
                "page can make authenticated requests as your users; list the trusted origins "
                "explicitly.",
            )
            return
        regex_kw = keyword(node, "allow_origin_regex")
        if regex_kw is not None and self._regex_matches_any(regex_kw.value, ctx):
            shown = ctx.source.segment(regex_kw.value)
            ctx.report(
                regex_kw,
                f"`CORSMiddleware` combines `allow_origin_regex={shown}`, which matches any "
                "site, with `allow_credentials=True`, so any web page can make authenticated "
                "requests as your users; anchor the regex to your own domains.",
            )

    @staticmethod
    def _is_true(call: ast.Call, ctx: FileContext) -> bool:
        value = keyword_value(call, "allow_credentials")
        if value is None:
            return False
        value = constant_value(ctx.project, ctx.module, value)
        return isinstance(value, ast.Constant) and value.value is True

    @staticmethod
    def _has_wildcard(expr: ast.expr, ctx: FileContext) -> bool:
        value = constant_value(ctx.project, ctx.module, expr)
        if isinstance(value, ast.Constant):
            return value.value == "*"
        if isinstance(value, ast.List | ast.Tuple | ast.Set):
            return any(isinstance(e, ast.Constant) and e.value == "*" for e in value.elts)
        return False

    @staticmethod
    def _regex_matches_any(expr: ast.expr, ctx: FileContext) -> bool:
        value = constant_value(ctx.project, ctx.module, expr)
        if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
            return False
        try:
            pattern = re.compile(value.value)
        except (re.error, RecursionError, OverflowError):
            return False
        # Starlette uses fullmatch (older versions: match); accept either.
        return all(pattern.match(origin) is not None for origin in _PROBE_ORIGINS)
