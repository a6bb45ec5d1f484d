from __future__ import annotations

import ast

from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

_OWNERS = ("fastapi.FastAPI", "fastapi.applications.FastAPI", "fastapi.APIRouter", "fastapi.routing.APIRouter")
_TARGETS = frozenset(f"{owner}.{method}" for owner in _OWNERS for method in ("on_event", "add_event_handler"))


class OnEventHandler(Rule):
    """Flags `@app.on_event("startup")` / `app.add_event_handler(...)`: use `lifespan`.

    ## What it does
    Finds `on_event(...)` used as a decorator and `add_event_handler(...)` calls
    on a FastAPI app or an `APIRouter` (resolved through the project model or
    the receiver's annotation, so `def setup(app: FastAPI)` counts too).

    ## Why is this bad?
    Startup and shutdown events are deprecated: FastAPI 0.93 introduced the
    `lifespan` async context manager to replace them. Once an app is given
    `lifespan=`, FastAPI no longer calls the event handlers at all, so mixing
    the two silently skips setup or teardown (a pool never closed, a cache
    never warmed). Events also cannot share state between startup and shutdown
    except through globals, which `lifespan` replaces with local variables and
    the `yield`ed state. The rewrite is not mechanical (handlers must be merged
    into one function around a `yield`), so no fix is offered.

    ## References
    - https://fastapi.tiangolo.com/advanced/events/
    - https://fastapi.tiangolo.com/release-notes/#0930
    - https://www.starlette.io/lifespan/
    """

    code = "FX108"
    name = "on-event-handler"
    summary = "Deprecated startup/shutdown event handler instead of `lifespan`."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from contextlib import asynccontextmanager

            from fastapi import FastAPI

            from app.db import engine

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                yield
                await engine.dispose()

            app = FastAPI(lifespan=lifespan)
            """
        ),
        Valid(
            """
            from fastapi import FastAPI

            from app.events import bus

            app = FastAPI()

            @bus.on_event("user.created")
            async def send_welcome(event):
                await event.notify()
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI

            from app.db import engine

            app = FastAPI()

            @app.on_event("startup")
            async def connect():
                await engine.connect()

            @app.on_event("shutdown")
            async def disconnect():
                await engine.dispose()
            """,
            lines=(7, 11),
        ),
        Invalid(
            """
            import fastapi

            from app.cache import warm_cache

            def register(application: fastapi.FastAPI) -> None:
                application.add_event_handler("startup", warm_cache)
            """,
            lines=(6,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in {"on_event", "add_event_handler"}:
            return
        ref = ctx.project.fastapi.object_ref(ctx.module, ctx.function(), func.value)
        if ref is None and ctx.call_target(node) not in _TARGETS:
            return
        owner = ctx.source.segment(func.value) or "app"
        event = ctx.source.segment(node.args[0]) if node.args else "..."
        if func.attr == "on_event":
            what = f"`@{owner}.on_event({event})`"
        else:
            what = f"`{owner}.add_event_handler({event}, ...)`"
        ctx.report(
            node,
            f"{what} is a deprecated event handler (replaced by `lifespan` in FastAPI 0.93, and never "
            f"called once the app has `lifespan=`); move this code into a `lifespan` context manager "
            f"passed to `FastAPI(lifespan=...)`.",
        )
