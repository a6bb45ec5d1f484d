from __future__ import annotations

import ast
from collections import defaultdict

from fastapi_expert.review.model.fastapi_model import Middleware
from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.review.rules.security._web import CORS_CLASSES, MIDDLEWARE_WRAPPERS
from fastapi_expert.types import ChainLink, Severity

# Middleware that must sit outside everything (host, scheme and proxy-header checks,
# whose rejections a cross-origin page has no business reading): CORS may stay inside.
_MAY_WRAP_CORS = frozenset(
    {
        "fastapi.middleware.trustedhost.TrustedHostMiddleware",
        "starlette.middleware.trustedhost.TrustedHostMiddleware",
        "fastapi.middleware.httpsredirect.HTTPSRedirectMiddleware",
        "starlette.middleware.httpsredirect.HTTPSRedirectMiddleware",
        "uvicorn.middleware.proxy_headers.ProxyHeadersMiddleware",
        # Compression only rewrites the app's own responses (CORS headers included).
        "fastapi.middleware.gzip.GZipMiddleware",
        "starlette.middleware.gzip.GZipMiddleware",
        "brotli_asgi.BrotliMiddleware",
    }
)


_HTTP_EXCEPTIONS = frozenset(
    {"fastapi.HTTPException", "fastapi.exceptions.HTTPException", "starlette.exceptions.HTTPException"}
)

# The example project's `app/middleware.py`: a middleware that answers 401 on its own.
_AUTH_MIDDLEWARE = """
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse

class AuthMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        if "authorization" not in request.headers:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        return await call_next(request)
"""


def _answers_itself(project: Project, target: str | None, module: ModuleInfo | None = None) -> bool:
    """Can this middleware send a response of its own (instead of only passing the
    app's response through)? Project middleware is read (an `@app.middleware`
    function defined inside another function too); library middleware is
    assumed to (its code is not in the review)."""
    if target in _MAY_WRAP_CORS or target in CORS_CLASSES:
        return False
    symbol = project.lookup(target)
    if symbol is None and module is not None:
        symbol = next((f for f in module.all_functions if f.qualname == target), None)
    funcs: list[FunctionInfo] = []
    if isinstance(symbol, FunctionInfo):
        funcs = [symbol]
    elif isinstance(symbol, ClassInfo):
        funcs = [m for m in (project.find_method(symbol, n) for n in ("__call__", "dispatch")) if m]
        if not funcs:
            return True  # a subclass of some library middleware: unknown
    else:
        return True
    for func in funcs:
        for node in ast.walk(func.node):
            if isinstance(node, ast.Call):
                name = project.resolve(func.module, node.func) or ""
                if name.endswith("Response") and _carries_cors(func, node):
                    continue  # a CORS layer of its own: this answer has its CORS headers
                if name.endswith("Response") or name in _HTTP_EXCEPTIONS:
                    return True
            elif isinstance(node, ast.Dict) and any(
                isinstance(v, ast.Constant) and v.value == "http.response.start" for v in node.values
            ):
                return True
    return False


def _allows_origin(headers: ast.expr | None) -> bool:
    return isinstance(headers, ast.Dict) and any(
        isinstance(k, ast.Constant) and isinstance(k.value, str) and k.value.lower() == "access-control-allow-origin"
        for k in headers.keys
    )


def _carries_cors(func: FunctionInfo, response: ast.Call) -> bool:
    """Does this response the middleware builds carry `Access-Control-Allow-Origin`
    (`PlainTextResponse("OK", headers={"access-control-allow-origin": "*", ...})`, also
    through a local `headers = {...}`)? A middleware that answers so is a CORS layer of
    its own (for anonymous endpoints, say), added outside the credentialed one on purpose."""
    headers = next((k.value for k in response.keywords if k.arg == "headers"), None)
    if isinstance(headers, ast.Name):
        headers = next(
            (
                node.value
                for node in ast.walk(func.node)
                if isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == headers.id for t in node.targets)
            ),
            None,
        )
    return _allows_origin(headers)


def _label(mw: Middleware) -> str:
    if isinstance(mw.node.func, ast.Attribute) and mw.node.func.attr == "middleware":
        name = (mw.target or "?").rsplit(".", 1)[-1]
        return f"the `@{ast.unparse(mw.node.func)}` function `{name}`"
    return f"`{(mw.target or '?').rsplit('.', 1)[-1]}`"


class CorsMiddlewareNotLast(Rule):
    """Flags `CORSMiddleware` that is not the outermost middleware of its app.

    ## What it does
    Compares, per app, where `CORSMiddleware` is registered with the other
    middleware. `app.add_middleware()` (and `@app.middleware("http")`) puts the
    new middleware at the *front* of the app's list (`user_middleware.insert(0,
    ...)`), and Starlette builds the stack so that the first of that list is the
    outermost layer: the middleware added **last** runs first. The rule flags
    `add_middleware(CORSMiddleware, ...)` followed, in the same module, by another
    `add_middleware` / `@app.middleware` on the same app, and
    `Middleware(CORSMiddleware)` that is not first in `FastAPI(middleware=[...])`
    or that the app later wraps with `add_middleware`. Only middleware that can
    answer by itself counts: the project's own middleware is read, and is
    ignored when it only passes the app's response through (adds headers, logs,
    times) or when every answer of its own carries `Access-Control-Allow-Origin`
    (a second CORS layer, e.g. for anonymous endpoints, deliberately outside the
    credentialed one); library middleware is assumed to answer (its code is not
    reviewed), except host, HTTPS-redirect and proxy-header middleware, which
    belong outside CORS anyway, and compression (GZip, Brotli), which only
    rewrites the responses that pass through it.

    ## Why is this bad?
    Every middleware outside CORS answers requests that CORS never sees: an
    authentication, rate-limit or tenant middleware that rejects a preflight
    `OPTIONS` (it carries no credentials) or returns its own 401/429 sends a
    response without `Access-Control-Allow-Origin`. The browser then hides it
    from the front end, which only sees an opaque "CORS error" instead of the
    real status. Add `CORSMiddleware` last so it is the outermost user
    middleware. (Uncaught 500s are produced by `ServerErrorMiddleware`, outside
    all user middleware, and never carry CORS headers whatever the order.)

    ## References
    - https://www.starlette.io/middleware/#using-middleware
    - https://fastapi.tiangolo.com/tutorial/middleware/#multiple-middleware-execution-order
    - https://fastapi.tiangolo.com/tutorial/cors/
    - https://github.com/encode/starlette/blob/master/starlette/applications.py
    """

    code = "FX407"
    name = "cors-middleware-not-last"
    summary = "`CORSMiddleware` is not the outermost middleware, so other middleware's responses lack CORS headers."
    severity = Severity.WARNING

    valid = (
        Valid(
            # A second CORS layer for anonymous endpoints, added outside the credentialed one on
            # purpose: what it answers carries `Access-Control-Allow-Origin`.
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware
            from starlette.responses import PlainTextResponse

            class AnonymousCorsMiddleware:
                def __init__(self, app, paths: tuple[str, ...]) -> None:
                    self.app = app
                    self.paths = paths

                async def __call__(self, scope, receive, send) -> None:
                    if scope["type"] != "http" or not scope["path"].startswith(self.paths):
                        await self.app(scope, receive, send)
                        return
                    if scope["method"] == "OPTIONS":
                        headers = {"access-control-allow-origin": "*", "access-control-allow-methods": "GET, POST"}
                        await PlainTextResponse("OK", headers=headers)(scope, receive, send)
                        return
                    await self.app(scope, receive, send)

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"], allow_credentials=True)
            app.add_middleware(AnonymousCorsMiddleware, paths=("/oauth2/token", "/.well-known/"))
            """
        ),
        Valid(
            # Compression and a timing middleware that only passes the app's response
            # on (defined inside a setup function) answer nothing by themselves.
            """
            import time

            from fastapi import FastAPI, Request
            from fastapi.middleware.cors import CORSMiddleware
            from fastapi.middleware.gzip import GZipMiddleware

            def configure(app: FastAPI) -> None:
                app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
                app.add_middleware(GZipMiddleware, minimum_size=1024)

                @app.middleware("http")
                async def server_timing(request: Request, call_next):
                    start = time.perf_counter()
                    response = await call_next(request)
                    response.headers["Server-Timing"] = f"total;dur={(time.perf_counter() - start) * 1000:.1f}"
                    return response

            app = FastAPI()
            configure(app)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware
            from app.middleware import AuthMiddleware

            app = FastAPI()

            app.add_middleware(AuthMiddleware)
            app.add_middleware(
                CORSMiddleware,
                allow_origins=["https://app.example.com"],
                allow_credentials=True,
            )
            """,
            filename="app/main.py",
            files={"app/middleware.py": _AUTH_MIDDLEWARE},
        ),
        Valid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware
            from fastapi.middleware.trustedhost import TrustedHostMiddleware

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])
            # Host checks belong outside everything, CORS included.
            app.add_middleware(TrustedHostMiddleware, allowed_hosts=["api.example.com"])
            """
        ),
        Valid(
            """
            import time

            from fastapi import FastAPI, Request
            from fastapi.middleware.cors import CORSMiddleware

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])

            @app.middleware("http")
            async def add_process_time(request: Request, call_next):
                # Only decorates the app's own response: nothing it sends lacks CORS headers.
                start = time.perf_counter()
                response = await call_next(request)
                response.headers["X-Process-Time"] = str(time.perf_counter() - start)
                return response
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI
            from fastapi.middleware.cors import CORSMiddleware
            from app.middleware import AuthMiddleware

            app = FastAPI()

            app.add_middleware(
                CORSMiddleware,
                allow_origins=["https://app.example.com"],
                allow_credentials=True,
            )
            app.add_middleware(AuthMiddleware)
            """,
            lines=(7,),
            filename="app/main.py",
            files={"app/middleware.py": _AUTH_MIDDLEWARE},
        ),
        Invalid(
            """
            from fastapi import FastAPI, Request
            from fastapi.middleware.cors import CORSMiddleware
            from fastapi.responses import JSONResponse

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])

            @app.middleware("http")
            async def require_api_key(request: Request, call_next):
                if request.headers.get("x-api-key") != "expected":
                    return JSONResponse({"detail": "Invalid API key"}, status_code=401)
                return await call_next(request)
            """,
            lines=(6,),
        ),
        Invalid(
            # One answer carries `Access-Control-Allow-Origin`, the other 403 does not.
            """
            from fastapi import FastAPI, Request
            from fastapi.middleware.cors import CORSMiddleware
            from fastapi.responses import JSONResponse

            app = FastAPI()
            app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])

            @app.middleware("http")
            async def csrf(request: Request, call_next):
                token = request.headers.get("x-csrf-token")
                if token is None:
                    return JSONResponse({"detail": "Missing CSRF token."}, status_code=403)
                if token != request.cookies.get("csrf"):
                    return JSONResponse(
                        {"detail": "Invalid CSRF token."}, status_code=403, headers={"Access-Control-Allow-Origin": "*"}
                    )
                return await call_next(request)
            """,
            lines=(6,),
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from starlette.middleware import Middleware
            from starlette.middleware.cors import CORSMiddleware
            from starlette.middleware.sessions import SessionMiddleware

            app = FastAPI(
                middleware=[
                    Middleware(SessionMiddleware, secret_key="change-me"),
                    Middleware(CORSMiddleware, allow_origins=["https://app.example.com"]),
                ]
            )
            """,
            lines=(9,),
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        model = ctx.project.fastapi
        by_app: dict[str, list[Middleware]] = defaultdict(list)
        for mw in model.middleware:
            by_app[mw.app].append(mw)
        for entries in by_app.values():
            self._check_added(ctx, entries)
        for obj in model.apps:
            self._check_constructor(ctx, obj.module, obj.keyword("middleware"), by_app.get(obj.ref, []))

    def _check_added(self, ctx: ProjectContext, entries: list[Middleware]) -> None:
        by_module: dict[str, list[Middleware]] = defaultdict(list)
        for mw in entries:
            by_module[mw.module.name].append(mw)
        for group in by_module.values():
            group.sort(key=lambda m: (m.node.lineno, m.node.col_offset))
            for i, mw in enumerate(group):
                if mw.target not in CORS_CLASSES:
                    continue
                later = [m for m in group[i + 1 :] if _answers_itself(ctx.project, m.target, m.module)]
                if not later:
                    continue
                outer = later[-1]
                ctx.report(
                    mw.module,
                    mw.node,
                    f"`CORSMiddleware` is added before {_label(outer)}, and the last middleware "
                    "added is the outermost, so whatever it answers itself (rejected preflights, "
                    "401s, 429s) carries no CORS headers; add `CORSMiddleware` last.",
                    chain=[
                        ChainLink(m.module.source.location(m.node), f"{_label(m)} is added later and wraps CORS")
                        for m in later
                    ],
                )

    def _check_constructor(
        self,
        ctx: ProjectContext,
        module: ModuleInfo,
        listed: ast.expr | None,
        added: list[Middleware],
    ) -> None:
        if isinstance(listed, ast.Name):
            value = module.assignments.get(listed.id)
            listed = value if value is not None else listed
        if not isinstance(listed, ast.List | ast.Tuple):
            return
        entries: list[tuple[ast.Call, str | None]] = []
        for elt in listed.elts:
            if (
                isinstance(elt, ast.Call)
                and elt.args
                and ctx.project.resolve(module, elt.func) in MIDDLEWARE_WRAPPERS
            ):
                entries.append((elt, ctx.project.resolve(module, elt.args[0])))
        for i, (call, target) in enumerate(entries):
            if target not in CORS_CLASSES:
                continue
            before = [t for _, t in entries[:i] if _answers_itself(ctx.project, t)]
            wrapping = [m for m in added if _answers_itself(ctx.project, m.target, m.module)]
            if before:
                name = (before[-1] or "?").rsplit(".", 1)[-1]
                message = (
                    f"`Middleware(CORSMiddleware)` comes after `{name}` in `middleware=[...]`, "
                    "and the first entry is the outermost, so responses from the middleware "
                    "before it get no CORS headers; put `CORSMiddleware` first."
                )
            elif wrapping:
                message = (
                    f"`CORSMiddleware` is listed in `middleware=[...]` but {_label(wrapping[-1])} "
                    "is later added with `add_middleware`, which wraps it, so that middleware's "
                    "responses get no CORS headers; register CORS last with `add_middleware`."
                )
            else:
                continue
            ctx.report(module, call, message)
