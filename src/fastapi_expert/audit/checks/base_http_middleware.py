from __future__ import annotations

from collections.abc import Iterable

from fastapi_expert.audit.checks.base import Check
from fastapi_expert.audit.model import AuditData
from fastapi_expert.types import Finding, Severity


class BaseHttpMiddleware(Check):
    """Flags middleware built on Starlette's `BaseHTTPMiddleware` (`@app.middleware("http")` included).

    ## What it does
    Reports each entry of the middleware stack that subclasses
    `BaseHTTPMiddleware`, which is what `@app.middleware("http")` installs,
    in the audited app's stack and in each mounted app's own.

    ## Why is this bad?
    It runs every request and response body through an extra task and memory
    stream: measurably slower than a pure ASGI middleware, and it interferes
    with streaming responses, background tasks and `contextvars` set by the
    endpoint. A pure ASGI middleware (a class with `__call__(scope, receive,
    send)`) has none of these costs.

    ## References
    - https://www.starlette.io/middleware/#limitations
    - https://www.starlette.io/middleware/#pure-asgi-middleware
    """

    code = "FX510"
    name = "base-http-middleware"
    summary = "Middleware built on `BaseHTTPMiddleware` adds a task and a stream to every request."
    severity = Severity.INFO

    def run(self, data: AuditData) -> Iterable[Finding]:
        for sub, stack in data.app.middleware_stacks():
            where = f" (in {sub.label})" if sub is not None else ""
            for middleware in stack:
                if middleware.base_http:
                    yield self.finding(
                        middleware.location,
                        f"`{middleware.name}`{where} is a BaseHTTPMiddleware, slower than pure ASGI middleware and "
                        "hard on streaming and contextvars; rewrite it as an ASGI middleware class.",
                    )
