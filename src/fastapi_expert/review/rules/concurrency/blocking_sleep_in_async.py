from __future__ import annotations

import ast

from fastapi_expert.review.rules._util import add_import_edit, module_imports
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Fix, Severity


class BlockingSleepInAsync(Rule):
    """Flags `time.sleep()` called directly in an `async def`.

    ## What it does
    Finds `time.sleep(...)` (under any import alias) in the body of a coroutine
    function: a route, a dependency, middleware, a lifespan or any helper.

    ## Why is this bad?
    `time.sleep` blocks the thread it runs on. In an `async def` that thread is
    the event loop's, so every request the worker is serving stops for the whole
    sleep. `await asyncio.sleep(...)` suspends only this coroutine.

    ## Fix safety
    The fix rewrites the call to `await asyncio.sleep(...)` and adds
    `import asyncio` when needed. It is safe: the coroutine waits the same time.

    ## References
    - https://fastapi.tiangolo.com/async/
    - https://docs.python.org/3/library/asyncio-task.html#asyncio.sleep
    """

    code = "FX201"
    name = "blocking-sleep-in-async"
    summary = "`time.sleep()` inside `async def` freezes the event loop."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            import asyncio
            import time

            async def poll():
                await asyncio.sleep(1)

            def sync_route():
                time.sleep(1)  # a sync route runs in the threadpool
            """
        ),
    )
    invalid = (
        Invalid(
            """
            import time
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/slow")
            async def slow():
                time.sleep(1)
                return {"ok": True}
            """,
            lines=(8,),
            fixed="""
            import time
            from fastapi import FastAPI
            import asyncio

            app = FastAPI()

            @app.get("/slow")
            async def slow():
                await asyncio.sleep(1)
                return {"ok": True}
            """,
        ),
        Invalid(
            """
            from time import sleep as pause

            async def job():
                pause(0.5)
            """,
            lines=(4,),
            fixed="""
            from time import sleep as pause
            import asyncio

            async def job():
                await asyncio.sleep(0.5)
            """,
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if not ctx.in_async_function() or ctx.resolve(node.func) != "time.sleep":
            return
        if isinstance(ctx.parent, ast.Await):
            return
        args = ", ".join(ctx.source.segment(a) for a in node.args)
        edits = [ctx.source.replace(node, f"await asyncio.sleep({args})")]
        if not module_imports(ctx, "asyncio"):
            extra = add_import_edit(ctx, "import asyncio")
            if extra is not None:
                edits.append(extra)
        ctx.report(
            node,
            "`time.sleep()` blocks the event loop inside `async def`; use `await asyncio.sleep()`.",
            fix=Fix("Replace with `await asyncio.sleep(...)`", tuple(edits)),
        )
