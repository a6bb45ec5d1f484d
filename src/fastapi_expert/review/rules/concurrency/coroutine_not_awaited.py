from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import (
    call_name,
    effective_target,
    is_known_coroutine,
)
from fastapi_expert.types import Fix, Severity

# Decorators that leave an `async def` a coroutine function.
_TRANSPARENT_DECORATORS = frozenset(
    {
        "builtins.staticmethod",
        "builtins.classmethod",
        "staticmethod",
        "classmethod",
        "abc.abstractmethod",
        "typing.override",
        "typing_extensions.override",
        "functools.wraps",
    }
)


def _project_coroutine_function(ctx: FileContext, target: str | None) -> FunctionInfo | None:
    """The project `async def` (not an async generator) that `target` names,
    when its decorators keep it a coroutine function."""
    symbol = ctx.project.lookup(target)
    if not isinstance(symbol, FunctionInfo) or not symbol.is_async or symbol.is_generator:
        return None
    if not symbol.node.decorator_list:
        return symbol
    if ctx.project.fastapi.routes_for(symbol.node):
        return symbol  # route decorators return the function unchanged
    for deco in symbol.node.decorator_list:
        head = deco.func if isinstance(deco, ast.Call) else deco
        name = ctx.project.resolve(symbol.module, head) if isinstance(head, ast.Name | ast.Attribute) else None
        if name is None and isinstance(head, ast.Name):
            name = head.id
        if name not in _TRANSPARENT_DECORATORS:
            return None
    return symbol


def _short(ctx: FileContext, call: ast.Call, name: str) -> str:
    text = ctx.source.segment(call)
    return text if text and "\n" not in text and len(text) <= 60 else f"{name}(...)"


class CoroutineNotAwaited(Rule):
    """Flags a coroutine called as a statement without `await`: it never runs.

    ## What it does
    Finds a bare expression statement that calls a coroutine function and
    drops the result: an `async def` of the project (resolved across modules,
    including `self.method()`), or a coroutine method of a well-known async
    API on a receiver whose type is inferred: `AsyncSession.commit/execute/
    flush/refresh/rollback/delete/close`, `httpx.AsyncClient.get/post/...`,
    `redis.asyncio.Redis` commands, `WebSocket.accept/send_text/send_json/
    close/receive_*`, `UploadFile.read/write/close`, `asyncio.sleep`,
    `asyncio.to_thread`. A coroutine that is returned, passed on
    (`asyncio.create_task(coro())`, `asyncio.gather(coro(), ...)`), or a
    function handed over uncalled (`background_tasks.add_task(fn, x)`) is
    not flagged.

    ## Why is this bad?
    Calling an `async def` only creates a coroutine object; nothing runs
    until it is awaited. Without `await`, `db.commit()` does not commit,
    `websocket.send_json(...)` sends nothing and `asyncio.sleep(1)` does not
    wait. Python only warns "coroutine ... was never awaited" when the object
    is garbage-collected, in a log nobody reads; the request succeeds and the
    data is silently lost.

    ## Fix safety
    Inside an `async def` the fix inserts `await ` before the call. It is
    unsafe because it changes behaviour on purpose: the code that never ran
    now runs (the commit happens, the message is sent), with its side effects
    and its exceptions. In a plain `def` there is no fix: the function must
    become `async def` (and its callers must await it) or hand the coroutine
    to the loop.

    ## References
    - https://docs.python.org/3/library/asyncio-dev.html#detect-never-awaited-coroutines
    - https://docs.python.org/3/library/asyncio-task.html#coroutines
    - https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html
    - https://fastapi.tiangolo.com/advanced/websockets/
    """

    code = "FX211"
    name = "coroutine-not-awaited"
    summary = "A coroutine is called without `await`, so it never runs."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            import asyncio
            from typing import Annotated

            from fastapi import BackgroundTasks, Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import Order

            app = FastAPI()
            Db = Annotated[AsyncSession, Depends(get_session)]

            async def send_receipt(order_id: int) -> None: ...

            async def audit(order_id: int) -> None: ...

            def later(order_id: int):
                return audit(order_id)  # returned: the caller awaits it

            @app.post("/orders")
            async def create_order(item_id: int, db: Db, background_tasks: BackgroundTasks):
                order = Order(item_id=item_id)
                db.add(order)
                await db.commit()
                background_tasks.add_task(send_receipt, order.id)
                await asyncio.gather(audit(order.id), later(order.id))
                return {"id": order.id}
            """
        ),
        Valid(
            """
            import asyncio

            tasks: set[asyncio.Task[None]] = set()

            async def refresh(key: str) -> None: ...

            async def refresh_all(keys: list[str]) -> None:
                for key in keys:
                    task = asyncio.create_task(refresh(key))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import Order

            app = FastAPI()
            Db = Annotated[AsyncSession, Depends(get_session)]

            @app.post("/orders")
            async def create_order(item_id: int, db: Db):
                order = Order(item_id=item_id)
                db.add(order)
                db.commit()
                return {"status": "created"}
            """,
            lines=(16,),
            fixed="""
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import Order

            app = FastAPI()
            Db = Annotated[AsyncSession, Depends(get_session)]

            @app.post("/orders")
            async def create_order(item_id: int, db: Db):
                order = Order(item_id=item_id)
                db.add(order)
                await db.commit()
                return {"status": "created"}
            """,
        ),
        Invalid(
            """
            from fastapi import FastAPI, WebSocket

            from app.notify import publish

            app = FastAPI()

            @app.websocket("/ws/chat")
            async def chat(websocket: WebSocket):
                await websocket.accept()
                while True:
                    text = await websocket.receive_text()
                    websocket.send_text(f"echo: {text}")
                    publish("chat", text)

            def log_event(channel: str, text: str) -> None:
                publish(channel, text)
            """,
            lines=(12, 13, 16),
            filename="app/main.py",
            files={
                "app/notify.py": """
                async def publish(channel: str, message: str) -> None:
                    ...
                """,
            },
            fixed="""
            from fastapi import FastAPI, WebSocket

            from app.notify import publish

            app = FastAPI()

            @app.websocket("/ws/chat")
            async def chat(websocket: WebSocket):
                await websocket.accept()
                while True:
                    text = await websocket.receive_text()
                    await websocket.send_text(f"echo: {text}")
                    await publish("chat", text)

            def log_event(channel: str, text: str) -> None:
                publish(channel, text)
            """,
        ),
    )

    def visit_Expr(self, node: ast.Expr, ctx: FileContext) -> None:
        call = node.value
        if not isinstance(call, ast.Call):
            return
        target = effective_target(ctx, call)
        project_func = _project_coroutine_function(ctx, target)
        if project_func is None and not is_known_coroutine(target):
            return
        name = call_name(ctx, call)
        what = f"`{name}()` returns a coroutine that is never awaited, so it never runs"
        if ctx.in_async_function():
            loc = ctx.location(call)
            ctx.report(
                call,
                f"{what}; write `await {_short(ctx, call, name)}`.",
                fix=Fix("Add `await`", (ctx.source.insert_at(loc.line, loc.column, "await "),), safe=False),
            )
            return
        func = ctx.function()
        if func is not None and not func.is_async:
            ctx.report(
                call,
                f"{what}; make `{func.name}` an `async def` and `await` it, or schedule it on the loop.",
            )
        elif func is None and not ctx.functions:
            ctx.report(call, f"{what}; run it with `asyncio.run(...)` or `await` it inside an `async def`.")
