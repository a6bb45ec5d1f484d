from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo, own_nodes_of
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import call_name, effective_target
from fastapi_expert.types import Severity

_SPAWNERS = frozenset(
    {
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.tasks.create_task",
        "asyncio.tasks.ensure_future",
        "asyncio.AbstractEventLoop.create_task",
    }
)


class FireAndForgetTask(Rule):
    """Flags `asyncio.create_task(...)` whose task is thrown away.

    ## What it does
    Finds `asyncio.create_task(...)`, `asyncio.ensure_future(...)` and
    `loop.create_task(...)` (on a loop from `asyncio.get_running_loop()` /
    `get_event_loop()`) used as a bare statement inside a function, so that
    nothing keeps the returned task. Tasks that are assigned, awaited,
    returned, put in a collection, or created with `tg.create_task(...)` on an
    `asyncio.TaskGroup` (which keeps them) are not flagged. When the task runs a
    project coroutine whose whole body is a `try` that catches every exception
    (`except Exception:`) without raising it again, or a `while True:` loop each
    of whose rounds is such a `try` (between sleeps), the message says only that
    the task can be collected: its errors are its own to report. When the
    coroutine ends in a `while True:` loop that nothing breaks (a poller, a
    flusher), the advice is to keep the task and cancel it at shutdown: a
    `TaskGroup` would wait for it forever, `BackgroundTasks` runs after one
    response. In a plain
    `def` (a `__del__` scheduling a close, a callback) the advice is a kept
    reference only: a `TaskGroup` needs `async with`.

    ## Why is this bad?
    The event loop keeps only a weak reference to a task. A task nobody holds
    can be garbage-collected before it finishes, silently, in the middle of
    its work; and since nobody awaits it, its exception is only logged as
    "Task exception was never retrieved", long after the request returned. In
    a route, `BackgroundTasks` runs the work after the response and reports
    failures; elsewhere keep a strong reference (a module-level set with
    `task.add_done_callback(tasks.discard)`) or use an `asyncio.TaskGroup`.

    ## References
    - https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task
    - https://docs.python.org/3/library/asyncio-task.html#task-groups
    - https://fastapi.tiangolo.com/tutorial/background-tasks/
    """

    code = "FX208"
    name = "fire-and-forget-task"
    summary = "`asyncio.create_task()` result discarded: the task can be garbage-collected mid-flight."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            import asyncio

            from fastapi import BackgroundTasks, FastAPI

            app = FastAPI()
            _tasks: set[asyncio.Task[None]] = set()

            async def send_welcome_email(email: str) -> None: ...

            async def refresh_search_index() -> None: ...

            @app.post("/users")
            async def create_user(email: str, background_tasks: BackgroundTasks):
                background_tasks.add_task(send_welcome_email, email)
                return {"email": email}

            @app.post("/admin/reindex")
            async def reindex():
                task = asyncio.create_task(refresh_search_index())
                _tasks.add(task)
                task.add_done_callback(_tasks.discard)
                return {"started": True}
            """
        ),
        Valid(
            """
            import asyncio

            async def warm_cache(key: str) -> None: ...

            async def warm_all(keys: list[str]) -> None:
                async with asyncio.TaskGroup() as tg:
                    for key in keys:
                        tg.create_task(warm_cache(key))
                pending = asyncio.create_task(warm_cache("index"))
                await pending
            """
        ),
    )
    invalid = (
        Invalid(
            """
            import asyncio

            from fastapi import FastAPI

            app = FastAPI()

            async def send_welcome_email(email: str) -> None: ...

            @app.post("/users")
            async def create_user(email: str):
                asyncio.create_task(send_welcome_email(email))
                return {"email": email}
            """,
            lines=(11,),
        ),
        Invalid(
            """
            import asyncio
            from asyncio import ensure_future

            async def publish(event: dict) -> None: ...

            async def on_order_paid(order_id: int) -> None:
                loop = asyncio.get_running_loop()
                loop.create_task(publish({"type": "paid", "order": order_id}))
                ensure_future(publish({"type": "audit", "order": order_id}))
            """,
            lines=(8, 9),
        ),
        Invalid(
            # A finaliser scheduling the close: nothing holds the task either.
            """
            import asyncio

            import httpx

            class ClosingClient(httpx.AsyncClient):
                def __del__(self) -> None:
                    try:
                        asyncio.get_running_loop().create_task(self.aclose())
                    except RuntimeError:
                        pass
            """,
            lines=(8,),
        ),
    )

    def visit_Expr(self, node: ast.Expr, ctx: FileContext) -> None:
        call = node.value
        if not isinstance(call, ast.Call) or ctx.function() is None:
            return
        if effective_target(ctx, call) not in _SPAWNERS:
            return
        func = ctx.function()
        in_route = func is not None and bool(ctx.routes_of(func.node))
        keep = "keep a reference (a set plus `task.add_done_callback(tasks.discard)`)"
        coroutine = _spawned_coroutine(ctx, call)
        forever = coroutine is not None and _forever_loop(coroutine) is not None
        if forever:
            # A loop that runs until cancelled: neither `BackgroundTasks` (after one response)
            # nor a `TaskGroup` (whose `async with` would wait for it forever) fits.
            advice = "it runs until cancelled: keep the task (on `app.state` or in a module-level set) and cancel it at shutdown"
        elif in_route:
            advice = "use `BackgroundTasks` in the route"
        elif func is not None and not func.is_async:
            advice = keep  # a plain `def` (a `__del__`, a callback) cannot `async with` a TaskGroup
        else:
            advice = f"{keep} or use an `asyncio.TaskGroup`"
        lost = "" if _handles_own_errors(ctx, call) else " and its exception is never seen"
        ctx.report(
            call,
            f"The task from `{call_name(ctx, call)}()` is discarded, so it can be garbage-collected before it "
            f"finishes{lost}; {advice}.",
        )


_CATCH_ALL = frozenset({"builtins.Exception", "builtins.BaseException"})


def _spawned_coroutine(ctx: FileContext, spawn: ast.Call) -> FunctionInfo | None:
    """The project `async def` whose call the task runs (`create_task(refresh(key))`)."""
    coroutine = spawn.args[0] if spawn.args else None
    if not isinstance(coroutine, ast.Call):
        return None
    symbol = ctx.project.lookup(ctx.call_target(coroutine))
    if symbol is None and isinstance(coroutine.func, ast.Name):
        symbol = _closure(ctx, coroutine.func.id)
    return symbol if isinstance(symbol, FunctionInfo) and symbol.is_async else None


def _closure(ctx: FileContext, name: str) -> FunctionInfo | None:
    """The `async def name` of an enclosing function (an app factory defining its
    startup handler and the loop it starts side by side)."""
    for node in reversed(ctx.ancestors):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.AsyncFunctionDef) and sub.name == name:
                return ctx.module.function_of_node.get(sub)
    return None


def _body(func: FunctionInfo) -> list[ast.stmt]:
    """The function's statements past its docstring."""
    body = func.node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[1:]
    return body


def _forever_loop(func: FunctionInfo) -> ast.While | None:
    """The `while True:` a coroutine's body ends with, when nothing in it `break`s or
    `return`s (nested functions and loops aside): a poller or a flusher that runs
    until it is cancelled."""
    body = _body(func)
    last = body[-1] if body else None
    if not (isinstance(last, ast.While) and isinstance(last.test, ast.Constant) and last.test.value):
        return None
    stack: list[ast.AST] = list(last.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break | ast.Return):
            return None
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef | ast.For | ast.AsyncFor | ast.While):
            continue  # a `break` there ends that loop, not this one
        stack.extend(ast.iter_child_nodes(node))
    return last


def _swallows(func: FunctionInfo, stmt: ast.stmt) -> bool:
    """A `try` with a handler for every exception (bare, `Exception`, `BaseException`)
    that raises nothing again."""
    return isinstance(stmt, ast.Try) and any(
        _catches_all(func, handler.type) and not own_nodes_of(handler, ast.Raise) for handler in stmt.handlers
    )


def _just_waits(stmt: ast.stmt) -> bool:
    """`await asyncio.sleep(...)`, or a plain assignment of a computed value: nothing
    there fails but the cancellation that ends the task."""
    if isinstance(stmt, ast.Assign | ast.AnnAssign):
        return not any(isinstance(n, ast.Await) for n in ast.walk(stmt))
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Await)
        and isinstance(stmt.value.value, ast.Call)
        and isinstance(stmt.value.value.func, ast.Attribute)
        and stmt.value.value.func.attr == "sleep"
    )


def _handles_own_errors(ctx: FileContext, spawn: ast.Call) -> bool:
    """Does the task run a call of a project `async def` whose body (past its
    docstring) is one `try` with a handler for every exception (bare, `Exception`,
    `BaseException`) that raises nothing again, or a `while True:` loop each of
    whose rounds is such a `try` (around sleeps and plain assignments)? Then no
    exception reaches the task: the coroutine logs or handles its own (a finaliser
    that rolls back and logs, a poller that logs a failed round and goes on), and
    "its exception is never seen" would be false."""
    symbol = _spawned_coroutine(ctx, spawn)
    if symbol is None:
        return False
    body = _body(symbol)
    if len(body) == 1 and _swallows(symbol, body[0]):
        return True
    loop = _forever_loop(symbol)
    if loop is None or not all(_just_waits(stmt) for stmt in body[:-1]):
        return False
    return any(_swallows(symbol, stmt) for stmt in loop.body) and all(
        _swallows(symbol, stmt) or _just_waits(stmt) for stmt in loop.body
    )


def _catches_all(func: FunctionInfo, caught: ast.expr | None) -> bool:
    if caught is None:
        return True
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(func.module.resolve(name) in _CATCH_ALL for name in names)
