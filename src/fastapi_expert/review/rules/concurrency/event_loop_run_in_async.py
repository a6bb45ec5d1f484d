from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import (
    call_name,
    effective_target,
    effective_target_among,
)
from fastapi_expert.types import ChainLink, Fix, Severity

_RUNNERS = frozenset(
    {
        "asyncio.run",
        "asyncio.runners.run",
        "asyncio.Runner.run",
        "asyncio.AbstractEventLoop.run_until_complete",
        "anyio.run",
    }
)
_RUNNER_METHODS = frozenset(name.rpartition(".")[2] for name in _RUNNERS)


def _is_runner(ctx: FileContext, call: ast.Call) -> bool:
    if isinstance(call.func, ast.Attribute) and call.func.attr == "run_until_complete":
        return True  # on a loop of any (uninferred) type
    return effective_target_among(ctx, call, _RUNNERS, _RUNNER_METHODS) is not None


def _awaitable_text(ctx: FileContext, call: ast.Call) -> str | None:
    """`await <coro>` for the runner call, or None when not mechanical."""
    target = effective_target(ctx, call)
    if call.keywords:
        return None
    if target == "anyio.run":
        if not call.args or not isinstance(call.args[0], ast.Name | ast.Attribute):
            return None
        if any(isinstance(a, ast.Starred) for a in call.args):
            return None
        args = ", ".join(ctx.source.segment(a) for a in call.args[1:])
        return f"await {ctx.source.segment(call.args[0])}({args})"
    if len(call.args) != 1 or not isinstance(call.args[0], ast.Call | ast.Name | ast.Attribute):
        return None
    return f"await {ctx.source.segment(call.args[0])}"


class EventLoopRunInAsync(Rule):
    """Flags `asyncio.run()` / `run_until_complete()` called where an event loop is already running.

    ## What it does
    Finds `asyncio.run(...)`, `anyio.run(...)` and `loop.run_until_complete(...)`
    (also `asyncio.get_event_loop().run_until_complete(...)`) inside an
    `async def`, and inside a plain `def` of the project that runs on the event
    loop because an `async def` calls it (directly or through other sync
    helpers, not through `run_in_threadpool`/`asyncio.to_thread`); the finding
    then carries the chain of calls from the coroutine. `asyncio.run(main())`
    at module level, under `if __name__ == "__main__":`, or in a sync `main()`
    that no coroutine calls is fine, and so is one in the `except RuntimeError:`
    of a `try` that asks for `asyncio.get_running_loop()`: that branch runs only
    when the thread has no loop running.

    ## Why is this bad?
    Only one event loop runs per thread. Under uvicorn the loop is already
    running, so these calls raise `RuntimeError: asyncio.run() cannot be
    called from a running event loop` (or "This event loop is already
    running"): the endpoint fails on every request. Await the coroutine
    instead; from sync code that must stay sync, call it from a thread that
    has no loop, or make the helper `async`.

    ## Fix safety
    Inside an `async def`, `asyncio.run(coro())` and
    `loop.run_until_complete(coro())` are rewritten to `await coro()`, and
    `anyio.run(func, *args)` to `await func(*args)`. The fix is unsafe: the
    code went from always failing to actually running the coroutine, on the
    current loop instead of a fresh one (context variables and loop-bound
    resources are now shared).

    ## References
    - https://docs.python.org/3/library/asyncio-runner.html#asyncio.run
    - https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.loop.run_until_complete
    - https://fastapi.tiangolo.com/async/
    """

    code = "FX209"
    name = "event-loop-run-in-async"
    summary = "`asyncio.run()` / `run_until_complete()` where the event loop is already running."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            import asyncio

            from app.jobs import rebuild_index

            async def main() -> None:
                await rebuild_index()

            if __name__ == "__main__":
                asyncio.run(main())
            """,
            files={"app/jobs.py": "async def rebuild_index() -> None: ...\n"},
        ),
        Valid(
            """
            import asyncio

            from fastapi import FastAPI

            app = FastAPI()

            async def fetch_rates() -> dict:
                return {"EUR": 1.0}

            def cli_refresh() -> None:  # a console script, never called from a coroutine
                print(asyncio.run(fetch_rates()))

            @app.get("/rates")
            async def rates():
                return await fetch_rates()
            """
        ),
        Valid(
            # The bridge runs the coroutine on a new loop only in the branch where
            # this thread has no running loop; under a loop it hands it to a thread.
            """
            import asyncio
            from concurrent.futures import ThreadPoolExecutor

            from fastapi import FastAPI

            app = FastAPI()

            async def send_audit(event: str) -> None:
                await asyncio.sleep(0)

            def run_sync(event: str) -> None:
                def run_in_new_loop() -> None:
                    loop = asyncio.new_event_loop()
                    try:
                        loop.run_until_complete(send_audit(event))
                    finally:
                        loop.close()

                try:
                    asyncio.get_running_loop()
                    with ThreadPoolExecutor(max_workers=1) as executor:
                        executor.submit(run_in_new_loop).result()
                except RuntimeError:
                    run_in_new_loop()

            @app.post("/audit")
            async def audit(event: str) -> None:
                run_sync(event)
            """
        ),
    )
    invalid = (
        Invalid(
            """
            import asyncio

            from fastapi import FastAPI

            app = FastAPI()

            async def fetch_rates() -> dict:
                return {"EUR": 1.0}

            @app.get("/rates")
            async def rates():
                data = asyncio.run(fetch_rates())
                loop = asyncio.get_event_loop()
                again = loop.run_until_complete(fetch_rates())
                return {**data, **again}
            """,
            lines=(12, 14),
            fixed="""
            import asyncio

            from fastapi import FastAPI

            app = FastAPI()

            async def fetch_rates() -> dict:
                return {"EUR": 1.0}

            @app.get("/rates")
            async def rates():
                data = await fetch_rates()
                loop = asyncio.get_event_loop()
                again = await fetch_rates()
                return {**data, **again}
            """,
        ),
        Invalid(
            """
            import asyncio

            from fastapi import FastAPI

            app = FastAPI()

            async def load_flags() -> dict:
                return {"beta": True}

            def feature_flags() -> dict:
                return asyncio.run(load_flags())

            @app.get("/flags")
            async def flags():
                return feature_flags()
            """,
            lines=(11,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if not _is_runner(ctx, node):
            return
        name = call_name(ctx, node)
        if ctx.in_async_function():
            func = ctx.function()
            where = f"`async def {func.name}`" if func is not None else "an `async def`"
            text = _awaitable_text(ctx, node)
            fix = None
            if text is not None:
                parent = ctx.parent
                if isinstance(parent, ast.Attribute | ast.Subscript) or (isinstance(parent, ast.Call) and parent.func is node):
                    text = f"({text})"
                fix = Fix("Await the coroutine instead", (ctx.source.replace(node, text),), safe=False)
            ctx.report(
                node,
                f"`{name}()` inside {where} raises RuntimeError because the event loop is already running; "
                "`await` the coroutine instead.",
                fix=fix,
            )
            return
        func = ctx.function()
        if func is None or func.is_async or not ctx.project.calls.runs_on_loop(func):
            return
        chain, root = self._chain(ctx, func)
        ctx.report(
            node,
            f"`{name}()` in `{func.name}`, which runs on the event loop (called from `async def {root}`), "
            "raises RuntimeError because the loop is already running; make the chain async and `await` the coroutine.",
            chain=chain,
        )

    @staticmethod
    def _chain(ctx: FileContext, func: FunctionInfo) -> tuple[list[ChainLink], str]:
        via = ctx.project.calls.on_loop_via
        links: list[ChainLink] = []
        current = func
        seen: set[int] = set()
        while id(current.node) not in seen:
            seen.add(id(current.node))
            site = via.get(current.node)
            if site is None:
                break
            where = site.caller.module.source.location(site.node)
            links.append(ChainLink(where, f"`{site.caller.name}` calls `{current.name}()`"))
            current = site.caller
        links.reverse()
        return links, current.name
