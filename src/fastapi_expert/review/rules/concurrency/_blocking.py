"""Shared machinery of the FX2 rules: receiver types the core inference misses,
the coroutine methods of well-known async libraries, and the "direct blocking
call of kind K in `async def`" check behind FX202-FX206.

No rule lives here (the registry would pick it up): `DirectBlockingCall` is a
mixin that a rule puts before `Rule` in its bases.
"""

from __future__ import annotations

import ast
import re
import weakref
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import ClassVar

from fastapi_expert.review.model.blocking import (
    BLOCKING_CALLS,
    FACTORY_RETURNS,
    TYPE_ALIASES,
    Blocking,
    BlockingKind,
    blocking_call,
)
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_nodes,
    own_nodes_of,
    scope_nodes_of,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import is_main_guard
from fastapi_expert.review.rules.base import FileContext

# -- coroutine functions and methods of well-known libraries ----------------

_ASYNC_HTTP = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "aclose"})
_ASYNC_SESSION = frozenset(
    {
        "commit", "execute", "exec", "flush", "refresh", "rollback", "close", "delete", "scalars",
        "scalar", "get", "get_one", "merge", "stream", "stream_scalars", "run_sync", "invalidate",
        "reset", "connection",
    }
)
_ASYNC_CONNECTION = frozenset({"execute", "commit", "rollback", "close", "scalars", "scalar", "stream", "run_sync", "start"})
_ASYNC_REDIS = frozenset(
    {
        "get", "set", "delete", "incr", "incrby", "decr", "expire", "ttl", "hget", "hset", "hgetall",
        "hdel", "hincrby", "hmget", "lpush", "rpush", "lpop", "rpop", "blpop", "brpop", "lrange",
        "llen", "sadd", "srem", "smembers", "sismember", "scard", "zadd", "zrange", "zrem", "zscore",
        "zincrby", "publish", "exists", "mget", "setex", "setnx", "getdel", "ping", "keys", "scan",
        "xadd", "xread", "eval", "evalsha", "flushdb", "close", "aclose",
    }
)
_WEBSOCKET = frozenset(
    {
        "accept", "close", "send", "send_text", "send_json", "send_bytes", "receive",
        "receive_text", "receive_json", "receive_bytes",
    }
)
_REQUEST = frozenset({"json", "body", "form", "close", "is_disconnected"})
_UPLOAD = frozenset({"read", "write", "seek", "close"})

# Receiver type -> its methods that return a coroutine.
ASYNC_METHODS: dict[str, frozenset[str]] = {
    "sqlalchemy.ext.asyncio.AsyncSession": _ASYNC_SESSION,
    "sqlalchemy.ext.asyncio.AsyncConnection": _ASYNC_CONNECTION,
    "sqlalchemy.ext.asyncio.AsyncEngine": frozenset({"dispose"}),
    "httpx.AsyncClient": _ASYNC_HTTP,
    "redis.asyncio.Redis": _ASYNC_REDIS,
    "fastapi.WebSocket": _WEBSOCKET,
    "fastapi.websockets.WebSocket": _WEBSOCKET,
    "starlette.websockets.WebSocket": _WEBSOCKET,
    "fastapi.Request": _REQUEST,
    "fastapi.requests.Request": _REQUEST,
    "starlette.requests.Request": _REQUEST,
    "fastapi.UploadFile": _UPLOAD,
    "fastapi.datastructures.UploadFile": _UPLOAD,
    "starlette.datastructures.UploadFile": _UPLOAD,
    "asyncio.AbstractEventLoop": frozenset({"sock_recv", "sock_sendall", "sock_connect", "sock_accept", "getaddrinfo"}),
}

# Module-level coroutine functions.
ASYNC_FUNCTIONS: frozenset[str] = frozenset(
    {
        "asyncio.sleep",
        "asyncio.wait",
        "asyncio.wait_for",
        "asyncio.to_thread",
        "asyncio.open_connection",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "anyio.sleep",
        "anyio.to_thread.run_sync",
        "fastapi.concurrency.run_in_threadpool",
        "starlette.concurrency.run_in_threadpool",
    }
)


def is_known_coroutine(target: str | None) -> bool:
    """Does calling `target` (a canonical call target) return a coroutine of a
    well-known library?"""
    if target is None:
        return False
    if target in ASYNC_FUNCTIONS:
        return True
    receiver, _, method = target.rpartition(".")
    return method in ASYNC_METHODS.get(TYPE_ALIASES.get(receiver, receiver), frozenset())


# -- receiver types the core inference does not see ---------------------------

_AMBIGUOUS = ast.Pass()  # a name bound to several different values


def _bindings(func_node: ast.AST) -> dict[str, ast.AST]:
    """Name -> the call expression bound to it in a function's own body, by
    `name = call(...)` or `with call(...) as name`; `_AMBIGUOUS` for a name
    bound to several values, or bound by anything else (loops, params...).

    Kept on the node, like `own_nodes`: a module-level cache would keep the
    trees of every earlier review alive."""
    cached: dict[str, ast.AST] | None = getattr(func_node, "_fx_bindings", None)
    if cached is None:
        cached = _collect_bindings(func_node)
        func_node._fx_bindings = cached  # type: ignore[attr-defined]
    return cached


def _collect_bindings(func_node: ast.AST) -> dict[str, ast.AST]:
    out: dict[str, ast.AST] = {}

    def bind(name: str, value: ast.AST) -> None:
        prev = out.get(name)
        if prev is None:
            out[name] = value
        elif prev is not value:
            out[name] = _AMBIGUOUS

    args = getattr(func_node, "args", None)
    if isinstance(args, ast.arguments):
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                bind(arg.arg, _AMBIGUOUS)
    for node in own_nodes(func_node):
        if node.__class__ not in _BINDERS:
            continue  # most nodes: one set lookup instead of six isinstance checks
        if isinstance(node, ast.Assign):
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                bind(node.targets[0].id, node.value)
            else:
                for target in node.targets:
                    _bind_stores(target, bind)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bind(node.target.id, node.value if node.value is not None else _AMBIGUOUS)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name):
                    bind(item.optional_vars.id, item.context_expr)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension | ast.NamedExpr | ast.AugAssign):
            _bind_stores(node.target, bind)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                out.pop(name, None)
    return out


_BINDERS: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Assign, ast.AnnAssign, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor,
        ast.comprehension, ast.NamedExpr, ast.AugAssign, ast.Global, ast.Nonlocal,
    }
)


def _bind_stores(target: ast.AST, bind: Callable[[str, ast.AST], None]) -> None:
    for sub in ast.walk(target):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            bind(sub.id, _AMBIGUOUS)


def _result_type(
    project: Project, module: ModuleInfo, call: ast.Call, depth: int, scope: FunctionInfo | None = None
) -> str | None:
    """The type of what a call returns, when it is a known factory, a class, a
    method of a typed receiver (`engine.begin()`), or a module-level factory
    instance (`SessionLocal()`). `scope` is the function the call is in."""
    if depth > 8:
        return None
    func = call.func
    if isinstance(func, ast.Attribute) and (
        isinstance(func.value, ast.Call) or (isinstance(func.value, ast.Name) and _is_local(scope, func.value.id))
    ):
        receiver = _expr_type(project, module, func.value, depth + 1, scope)
        if receiver is None:
            return None
        method = f"{receiver}.{func.attr}"
        if method in FACTORY_RETURNS:
            return FACTORY_RETURNS[method]
        return _function_return_type(project, project.lookup(method))
    target = project.resolve(module, func)
    if target is None:
        return None
    if target in FACTORY_RETURNS:
        made = FACTORY_RETURNS[target]
        if made == "sqlalchemy.orm.sessionmaker":
            # Old-style async factory: sessionmaker(engine, class_=AsyncSession)
            cls = next((k.value for k in call.keywords if k.arg == "class_"), None)
            if cls is not None and project.resolve(module, cls) == "sqlalchemy.ext.asyncio.AsyncSession":
                return "sqlalchemy.ext.asyncio.async_sessionmaker"
        return made
    symbol = project.lookup(target)
    if isinstance(symbol, tuple):
        instance = _value_type(project, symbol[0], symbol[1], depth + 1, None)
        return FACTORY_RETURNS.get(f"{instance}.__call__") if instance else None
    if isinstance(symbol, ClassInfo):
        return symbol.qualname
    if isinstance(symbol, FunctionInfo):
        return _function_return_type(project, symbol)
    if symbol is None and target.rsplit(".", 1)[-1][:1].isupper():
        return TYPE_ALIASES.get(target, target)
    return None


def _function_return_type(project: Project, symbol: object) -> str | None:
    if not isinstance(symbol, FunctionInfo) or symbol.node.returns is None:
        return None
    t = project.annotation_type(symbol.module, symbol.node.returns)
    return TYPE_ALIASES.get(t, t) if t else None


def _is_local(scope: FunctionInfo | None, name: str) -> bool:
    while scope is not None:
        if name in _bindings(scope.node):
            return True
        scope = scope.parent
    return False


def _value_type(
    project: Project, module: ModuleInfo, value: ast.AST, depth: int, scope: FunctionInfo | None
) -> str | None:
    if depth > 8:
        return None
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, ast.Call):
        return _result_type(project, module, value, depth + 1, scope)
    if scope is None and isinstance(value, ast.Name | ast.Attribute):
        return _module_level_type(project, module, value, depth + 1)
    return None


def _module_level_type(project: Project, module: ModuleInfo, expr: ast.expr, depth: int) -> str | None:
    """The type of a module-level instance (`pwd_context = CryptContext(...)`),
    in this module or imported from another."""
    if depth > 8:
        return None
    symbol = project.lookup(module.resolve(expr))
    if isinstance(symbol, tuple):
        return _value_type(project, symbol[0], symbol[1], depth + 1, None)
    return None


def _expr_type(
    project: Project, module: ModuleInfo, expr: ast.expr, depth: int, scope: FunctionInfo | None
) -> str | None:
    """The type of a receiver expression inside `scope` (None: module level)."""
    if depth > 8:
        return None
    if isinstance(expr, ast.Call):
        return _result_type(project, module, expr, depth + 1, scope)
    if isinstance(expr, ast.Name):
        current = scope
        while current is not None:
            types = project.variable_types(current)
            if expr.id in types:
                return types[expr.id]
            bound = _bindings(current.node).get(expr.id)
            if bound is _AMBIGUOUS:
                return None
            if isinstance(bound, ast.Call | ast.Await):
                return _value_type(project, current.module, bound, depth + 1, current)
            if bound is not None:
                return None
            current = current.parent
        return _module_level_type(project, module, expr, depth + 1)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        # `security.pwd_context` through `from app import security`
        if _is_local(scope, expr.value.id):
            return None
        return _module_level_type(project, module, expr, depth + 1)
    return None


def receiver_type(ctx: FileContext, expr: ast.expr) -> str | None:
    """The type of a call's receiver in the current function: the core's
    inference, then local `x = factory()` / `with factory() as x` bindings
    (through methods of typed receivers and module-level factory instances),
    then module-level instances."""
    return _expr_type(ctx.project, ctx.module, expr, 0, ctx.function())


def effective_target(ctx: FileContext, call: ast.Call) -> str | None:
    """`ctx.call_target(call)`, improved for method calls on receivers that
    the core inference cannot type (session factories, module-level instances).
    Several rules ask about the same call: the answer is kept on the node, as
    the core does for `call_target`."""
    cached: tuple[str | None] | None = getattr(call, "_fx_effective_target", None)
    if cached is None:
        cached = (_effective_target(ctx, call),)
        call._fx_effective_target = cached  # type: ignore[attr-defined]
    return cached[0]


def effective_target_among(
    ctx: FileContext, call: ast.Call, targets: frozenset[str], methods: frozenset[str]
) -> str | None:
    """`effective_target(ctx, call)` when it is one of `targets`, else None;
    `methods` holds the last part of each of `targets`. The effective target
    of a method call is its core target or "<receiver>.<attr>": when the attr
    is none of `methods`, only the core target can match, so the (costly)
    receiver typing is skipped unless it does."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr not in methods and ctx.call_target(call) not in targets:
        return None
    target = effective_target(ctx, call)
    return target if target in targets else None


def _effective_target(ctx: FileContext, call: ast.Call) -> str | None:
    target = ctx.call_target(call)
    func = call.func
    if not isinstance(func, ast.Attribute):
        return target
    if target is not None and (blocking_call(target) is not None or is_known_coroutine(target)):
        return target
    if target is not None and ctx.project.lookup(target) is not None:
        return target
    receiver = receiver_type(ctx, func.value)
    if receiver:
        return f"{receiver}.{func.attr}"
    return target


# -- naming things in messages --------------------------------------------------

# The AWS SDK's factories: the shared table files them with the database calls
# (DynamoDB, RDS...), but what blocks is building the client, whatever the service
# (S3 above all), not a query: messages say so rather than "database".
AWS_CLIENT_FACTORIES = frozenset({"boto3.client", "boto3.resource"})


def kind_label(target: str | None, fact: Blocking) -> str:
    """The kind of blocking shown in a chain (`file`, `http`...)."""
    return "AWS SDK client set-up" if target in AWS_CLIENT_FACTORIES else fact.kind.value


# `importlib.metadata` functions that scan every installed package: the table's
# advice (a constant, `VERSION = version("pkg")`) names another function, and a
# kept list of `Distribution`s would not help, since each `dist.metadata` reads
# its file again. What to keep is the answer the code derives from the scan.
_METADATA_PACKAGES = ("importlib.metadata", "importlib_metadata")
_METADATA_SCANS = frozenset(
    f"{package}.{name}" for package in _METADATA_PACKAGES for name in ("distributions", "entry_points")
)
# The per-package readers, with the constant the advice shows for each.
_METADATA_READERS = {
    f"{package}.{name}": constant
    for package in _METADATA_PACKAGES
    for name, constant in (
        ("version", "VERSION"),
        ("metadata", "METADATA"),
        ("distribution", "DISTRIBUTION"),
        ("requires", "REQUIREMENTS"),
        ("files", "FILES"),
    )
}


def advice(target: str, fact: Blocking) -> str:
    """What to use instead of `target`: the shared table's advice, made to name
    the function actually called where the table's example shows another."""
    if target in _METADATA_SCANS:
        name = target.rpartition(".")[2]
        return (
            f"what the code needs from `{name}()` computed once and kept (a `functools.cache`d helper; "
            f"each `dist.metadata` reads its file again), or `await anyio.to_thread.run_sync(...)`"
        )
    constant = _METADATA_READERS.get(target)
    if constant is not None:
        name = target.rpartition(".")[2]
        return f'a module-level constant read once at import (`{constant} = {name}("pkg")`)'
    return fact.instead


def call_name(ctx: FileContext, call: ast.Call) -> str:
    """How the user wrote the callee (`db.execute`), shortened when long."""
    text = ctx.source.segment(call.func)
    if not text or "\n" in text or len(text) > 40:
        if isinstance(call.func, ast.Attribute):
            return f"….{call.func.attr}"
        return "…"
    return text


def enclosing_name(ctx: FileContext) -> str:
    func = ctx.function()
    return func.name if func is not None else "<module>"


def awaits_in_body(func_node: ast.AST) -> bool:
    """Does a function's own body `await`, `async for` or `async with`? Then it
    cannot simply become a plain `def`: the advice to let FastAPI run it in the
    threadpool would produce code that does not compile."""
    for node in own_nodes(func_node):
        if node.__class__ in _ASYNC_SYNTAX:
            return True
        if isinstance(node, ast.comprehension) and node.is_async:
            return True
    return False


_ASYNC_SYNTAX: frozenset[type[ast.AST]] = frozenset({ast.Await, ast.AsyncFor, ast.AsyncWith})


# -- command-line entry points -------------------------------------------------------

# A CLI framework runs an `async def` command alone on a loop it creates for that
# command (`asyncio.run`/`anyio.run`) and exits when it returns: a blocking call
# there delays no request and no other task, unlike on a server's loop.
_CLI_PACKAGES = ("typer", "click", "asyncclick", "cyclopts")
# `@app.command()`, `@app.callback()` (Typer), `@group.command()`, `@click.group()`,
# `@app.default` / `@app.meta.default` (Cyclopts).
_CLI_DECORATORS = frozenset({"command", "callback", "default", "group", "result_callback"})


# Calls that start a task beside the caller: a command that makes one shares its
# loop with that task from then on. (`gather` and an awaited `server.start()`
# are not here: the command waits for them, so its own calls never overlap them.)
_SPAWNERS = frozenset({"create_task", "ensure_future", "start_soon", "TaskGroup", "create_task_group"})


def is_cli_command(project: Project, module: ModuleInfo, func_node: ast.AST) -> bool:
    """Is `func_node` alone on a loop of its own: registered as a command of a
    command-line app (Typer, Click, asyncclick, Cyclopts) by one of its
    decorators, or run by sync code as the main coroutine of a new loop
    (`asyncio.run(f(...))`) and nowhere else, or an app's lifespan (or start-up
    or shutdown handler), which runs before the server takes its first request
    and after it has answered its last, or only ever awaited by such coroutines
    (or run by `asyncio.run`); and starting no task of its own? Kept on the node."""
    cached: bool | None = getattr(func_node, "_fx_cli_command", None)
    if cached is None:
        cached = (
            _is_cli_command(project, module, func_node)
            or func_node in _lazy_commands(project)
            or func_node in _loop_entries(project)
            or func_node in _lifespans(project)
            or (func_node in _command_candidates(project)[1] and func_node in _command_helpers(project))
            or module.name in _script_modules(project)
        ) and not _spawns_tasks(func_node)
        func_node._fx_cli_command = cached  # type: ignore[attr-defined]
    return cached


# A module that serves an app imports one of these: its `if __name__ == "__main__":`
# may start the server (`uvicorn.run(app)`), on whose loop its coroutines run.
_SERVER_PACKAGES = ("fastapi", "starlette", "uvicorn", "hypercorn", "granian", "gunicorn")

_SCRIPTS: weakref.WeakKeyDictionary[Project, frozenset[str]] = weakref.WeakKeyDictionary()


def _script_modules(project: Project) -> frozenset[str]:
    """The modules that run only as scripts (`python -m pkg.tools.rebuild`, or a
    console script pointing at their `main`): they end in `if __name__ ==
    "__main__":`, no other module of the project imports them (a test may), and
    they import no web framework or server. Their coroutines run on the loop
    the script makes for itself, where no request waits. Once per project."""
    found = _SCRIPTS.get(project)
    if found is None:
        imported: set[str] = set()
        for module in project.modules:
            if not module.is_test:
                imported.update(module.imported_modules)
        found = _SCRIPTS[project] = frozenset(
            module.name
            for module in project.modules
            if not module.is_test
            and module.name not in imported
            and _runs_as_main(module.tree)
            and not module.imports_any_package(_SERVER_PACKAGES)
        )
    return found


def _runs_as_main(tree: ast.Module) -> bool:
    """Does the module end in `if __name__ == "__main__":` (at its top level)?"""
    return any(is_main_guard(stmt) for stmt in tree.body)


def _spawns_tasks(func_node: ast.AST) -> bool:
    waited: set[ast.AST] | None = None
    for call in own_nodes_of(func_node, ast.Call):
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in _SPAWNERS:
            if waited is None:
                waited = _waited_on_the_spot(func_node)
            if call not in waited:
                return True
    return False


def _waited_on_the_spot(func_node: ast.AST) -> set[ast.AST]:
    """The calls whose task the function waits for where it makes it: `await
    asyncio.create_task(step())`, `await drain(asyncio.create_task(step()))`,
    `await asyncio.gather(*(create_task(f(n)) for n in names))`. None of the
    function's own calls runs while such a task does."""
    out: set[ast.AST] = set()
    for awaited in own_nodes_of(func_node, ast.Await):
        value = awaited.value
        if isinstance(value, ast.Call):
            out.add(value)
            for arg in value.args:  # also `gather(*(create_task(f(n)) for n in names))`
                out.update(node for node in ast.walk(arg) if isinstance(node, ast.Call))
    return out


def _is_cli_command(project: Project, module: ModuleInfo, func_node: ast.AST) -> bool:
    for decorator in getattr(func_node, "decorator_list", ()):
        expr = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not isinstance(expr, ast.Attribute) or expr.attr not in _CLI_DECORATORS:
            continue
        if _is_cli_name(project.resolve(module, expr)) or _is_cli_name(project.resolve(module, expr.value)):
            return True  # `@click.command()`, `@typer_app.command()` resolved through the import
        owner = _expr_type(project, module, expr.value, 0, None)
        if _is_cli_name(owner) or _is_cli_class(project, owner):
            return True  # `app = cyclopts.App()`, `app = MyTyper()` (a project subclass)
        if module.imports_any_package(_CLI_PACKAGES):
            return True  # an app object typed by nothing we can follow, in a CLI module
    return False


_LAZY_COMMANDS: weakref.WeakKeyDictionary[Project, frozenset[ast.AST]] = weakref.WeakKeyDictionary()


def _lazy_commands(project: Project) -> frozenset[ast.AST]:
    """The `async def`s a Cyclopts app registers by import path, without importing
    them (`app.command("pkg.cli.version:version", name="version")`, its lazy
    loading): commands like the decorated ones, but no decorator says so. Once
    per project."""
    found = _LAZY_COMMANDS.get(project)
    if found is None:
        found = _LAZY_COMMANDS[project] = _find_lazy_commands(project)
    return found


_IMPORT_PATH_ARGUMENT = re.compile(r"""\s*["'][\w.]+:[\w.]+["']""")


def _spells_lazy_command(text: str) -> bool:
    """Can the source hold `command("pkg.module:function", ...)`? Finding the call
    first and matching only after it costs a fraction of a regex search of the
    whole text."""
    start = text.find("command(")
    while start != -1:
        start += len("command(")
        if _IMPORT_PATH_ARGUMENT.match(text, start):
            return True
        start = text.find("command(", start)
    return False


def _find_lazy_commands(project: Project) -> frozenset[ast.AST]:
    found: set[ast.AST] = set()
    for module in project.modules:
        # Only Cyclopts takes a "module:attribute" string for a command; the files
        # that register one spell the call and import it (a cheap look at the text
        # first spares the others the import question and an index of their calls).
        if (
            not _spells_lazy_command(module.identifier_text)
            or module.is_test
            or not module.imports_any_package(("cyclopts",))
        ):
            continue
        for call in module.nodes_of(ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr != "command" or not call.args:
                continue
            first = call.args[0]
            if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
                continue
            path, colon, attribute = first.value.partition(":")
            if not colon or not path or not attribute:
                continue
            symbol = project.lookup(f"{path}.{attribute}")
            if isinstance(symbol, FunctionInfo) and symbol.is_async:
                found.add(symbol.node)
    return frozenset(found)


# Calls that make a new event loop, run the coroutine they are given on it until it
# returns, and close it. They raise when a loop already runs in the thread, so they
# are called from sync code (a CLI's `main`, a script, a worker thread), never from
# a server's loop: what they run is alone there, like a CLI framework's command.
# `loop.run_until_complete` is not here: its loop may already hold tasks.
_RUNS_A_CALL = frozenset({"asyncio.run", "uvloop.run"})  # asyncio.run(main(...))
_RUNS_A_FUNCTION = frozenset({"anyio.run", "trio.run"})  # anyio.run(main, ...)

_LOOP_ENTRIES: weakref.WeakKeyDictionary[Project, tuple[frozenset[ast.AST], frozenset[ast.AST]]] = (
    weakref.WeakKeyDictionary()
)


def _loop_entries(project: Project) -> frozenset[ast.AST]:
    """The `async def`s of the project that only ever run as the main coroutine
    of a loop of their own: each is handed to `asyncio.run` (or `anyio.run`...)
    and its name is used nowhere else in the project (no `await f()`, no
    `create_task(f())`, no `add_api_route(..., f)`), and it has no decorator
    (which may register it as a route or an event handler, on the server's loop).
    A name shared with another function used elsewhere keeps both out. A nested
    `async def` that its enclosing function runs (`asyncio.run(_pre_run())` in a
    command that then starts the server) is one too. Once per project."""
    return _runner_facts(project)[0]


def _runner_arguments(project: Project) -> frozenset[ast.AST]:
    """The names handed to a loop runner, as written: `main` of `anyio.run(main)`
    and of `asyncio.run(main(...))`. Whatever they name runs there, on a new loop
    of its own: a use of a coroutine's name that is one of these is a use alone,
    like an `await` in a command."""
    return _runner_facts(project)[1]


def _runner_facts(project: Project) -> tuple[frozenset[ast.AST], frozenset[ast.AST]]:
    found = _LOOP_ENTRIES.get(project)
    if found is None:
        found = _LOOP_ENTRIES[project] = _find_loop_entries(project)
    return found


def _find_loop_entries(project: Project) -> tuple[frozenset[ast.AST], frozenset[ast.AST]]:
    entries: dict[ast.AST, str] = {}
    run_uses: dict[str, int] = {}  # name -> how many runner calls name it
    arguments: set[ast.AST] = set()
    for module in project.modules:
        if module.is_test or not _spells_run_call(module.identifier_text):
            continue  # a test's `asyncio.run(f())` or `await f()` puts `f` on no server's loop
        scopes: list[tuple[FunctionInfo | None, Sequence[ast.Call]]] = [
            (None, scope_nodes_of(module.tree.body, (ast.Call,)))
        ]
        scopes.extend((func, own_nodes_of(func.node, ast.Call)) for func in module.all_functions)
        for scope, calls in scopes:
            for call in calls:
                argument = _runner_argument(project, module, scope, call)
                if argument is None:
                    continue
                arguments.add(argument)
                entry = _run_entry(project, module, scope, call)
                if entry is not None:
                    entries[entry.node] = entry.name
                    run_uses[entry.name] = run_uses.get(entry.name, 0) + 1
    if not entries:
        return frozenset(), frozenset(arguments)
    # Every use of those names in the project, as `f` or `x.f`: the runner calls
    # account for some; any other (an await, a task, a route registration, a
    # reference handed elsewhere) puts the coroutine on a loop shared with others.
    names = set(run_uses)
    uses = dict.fromkeys(names, 0)
    for module in project.modules:
        if module.is_test or not any(module.spells(name) for name in names):
            continue
        for name_node in module.nodes_of(ast.Name):
            if name_node.id in names:
                uses[name_node.id] += 1
        for attribute in module.nodes_of(ast.Attribute):
            if attribute.attr in names:
                uses[attribute.attr] += 1
        # A name used more often than its runner calls is out for good: the other
        # modules need not be read for it (`main` is everywhere).
        names = {name for name in names if uses[name] <= run_uses[name]}
        if not names:
            break
    loop_entries = frozenset(node for node, name in entries.items() if name in names and uses[name] == run_uses[name])
    return loop_entries, frozenset(arguments)


_RUN_CALL = re.compile(r"run\s*\(")


def _spells_run_call(text: str) -> bool:
    """Can the source (as `ModuleInfo.identifier_text`) hold a call written
    `run(...)` or `x.run(...)`? (`flow_run(` cannot: the name must start at `run`.)"""
    for match in _RUN_CALL.finditer(text):
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            return True
    return False


def _runner_argument(
    project: Project, module: ModuleInfo, scope: FunctionInfo | None, call: ast.Call
) -> ast.expr | None:
    """The coroutine function `call` runs as the main coroutine of a new loop, as
    written: `main` of `asyncio.run(main())` or of `anyio.run(main)`."""
    func = call.func
    written = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if written != "run" or not call.args:
        return None
    runner = project.resolve(module, func)  # also through an `import anyio` inside the function
    first = call.args[0]
    if runner in _RUNS_A_CALL and isinstance(first, ast.Call) and isinstance(first.func, ast.Name | ast.Attribute):
        return first.func
    if runner in _RUNS_A_FUNCTION and isinstance(first, ast.Name | ast.Attribute):
        return first
    return None


def _run_entry(project: Project, module: ModuleInfo, scope: FunctionInfo | None, call: ast.Call) -> FunctionInfo | None:
    """The project `async def` that `call` runs as the main coroutine of a new
    loop (`asyncio.run(main())`, `anyio.run(main)`), if it is one."""
    first = call.args[0]
    if isinstance(first, ast.Call):
        target = project.call_target(module, scope, first)
        written = first.func
    else:
        target = project.resolve(module, first)
        written = first
    symbol = project.lookup(target)
    if not isinstance(symbol, FunctionInfo):
        # one the command defines and runs (`asyncio.run(_pre_run_server())`),
        # which `Project.lookup` (module members and methods) does not reach
        symbol = _named_function(project, module, scope, written, 0)
    if symbol is None or not symbol.is_async or symbol.node.decorator_list:
        return None
    return symbol


# -- lifespans and start-up handlers --------------------------------------------------

# A server runs an app's lifespan up to its `yield` before it accepts connections,
# and the rest once the last connection has closed (so do the deprecated start-up and
# shutdown handlers): no request is in flight while they run. A blocking call there
# (reading the configuration, loading plug-ins, a first `ping` of Redis) delays no
# request (FastAPI's documentation puts the loading of machine-learning models there).
#
# A file that hands one over to an app imports FastAPI or Starlette (a cheap test
# first) and spells one of these words; the patterns then find the lines where the
# hand-over may be written (the words alone are in the comments, logs and settings
# of many more files). A pattern that starts with a literal is searched for that
# literal first: five of them cost much less than one alternation.
_APP_PACKAGES = ("fastapi", "starlette")
_LIFESPAN_WORDS = ("lifespan", "startup", "shutdown")
_LIFESPAN_HANDOVERS = tuple(
    re.compile(pattern)
    for pattern in (r"lifespan\s*=", r"on_startup\s*=", r"on_shutdown\s*=", r"on_event\s*\(", r"add_event_handler\s*\(")
)
_LIFESPAN_EVENTS = frozenset({"startup", "shutdown"})

_LIFESPANS: weakref.WeakKeyDictionary[Project, tuple[frozenset[ast.AST], frozenset[ast.AST]]] = (
    weakref.WeakKeyDictionary()
)


def _lifespans(project: Project) -> frozenset[ast.AST]:
    """The `async def`s of the project an app runs as its lifespan or as a start-up
    or shutdown handler: handed to `lifespan=` (`FastAPI(lifespan=lifespan)`, also a
    parameter whose default is one, or a `lifespan` the app factory defines), to
    `on_startup=[...]`/`on_shutdown=[...]` or `add_event_handler("startup", f)`, or
    decorated with `@app.on_event("startup")`. Once per project."""
    return _lifespan_facts(project)[0]


def lifespan_functions(project: Project) -> frozenset[ast.AST]:
    """The nodes of the `async def`s an app runs as its lifespan or as a start-up
    or shutdown handler (see `_lifespans`): the server runs them before the first
    request and after the last."""
    return _lifespan_facts(project)[0]


def lifespan_handovers(project: Project) -> frozenset[ast.AST]:
    """The expressions that hand a project function to an app as its lifespan or
    as an event handler, as written (`lifespan` of `FastAPI(lifespan=lifespan)`,
    `metrics.on_shutdown` of `add_event_handler("shutdown", metrics.on_shutdown)`):
    a reference to a function there is a call by the server outside any request,
    not a use by an unknown caller. For other areas' "is this request code?"
    questions, which look a function's callers up by name."""
    return _lifespan_facts(project)[1]


def _lifespan_facts(project: Project) -> tuple[frozenset[ast.AST], frozenset[ast.AST]]:
    found = _LIFESPANS.get(project)
    if found is None:
        found = _LIFESPANS[project] = _find_lifespans(project)
    return found


def _find_lifespans(project: Project) -> tuple[frozenset[ast.AST], frozenset[ast.AST]]:
    found: set[ast.AST] = set()
    handovers: set[ast.AST] = set()
    for module in project.modules:
        if not module.imports_any_package(_APP_PACKAGES) or module.is_test:
            continue
        text = module.identifier_text
        if not any(word in text for word in _LIFESPAN_WORDS):
            continue
        lines = sorted(
            {text.count("\n", 0, match.start()) + 1 for handover in _LIFESPAN_HANDOVERS for match in handover.finditer(text)}
        )
        if not lines:
            continue
        scopes: list[tuple[FunctionInfo | None, Sequence[ast.Call]]] = [
            (None, scope_nodes_of(module.tree.body, (ast.Call,)))
        ]
        # Only the functions a hand-over is written in: their calls are read, not
        # those of every function of the file.
        scopes.extend(
            (func, own_nodes_of(func.node, ast.Call)) for func in module.all_functions if _spans_a_line(func.node, lines)
        )
        for scope, calls in scopes:
            for call in calls:
                for handler in _lifespan_handlers(call):
                    func = _named_function(project, module, scope, handler, 0)
                    if func is not None and func.is_async:
                        found.add(func.node)
                        handovers.add(handler)
        for func in module.all_functions:
            if func.is_async and any(_is_event(decorator, "on_event") for decorator in func.node.decorator_list):
                found.add(func.node)
    return frozenset(found), frozenset(handovers)


def _spans_a_line(node: ast.AST, lines: list[int]) -> bool:
    """Is one of `lines` (sorted) within the node's lines?"""
    start = getattr(node, "lineno", 0)
    index = bisect_left(lines, start)
    return index < len(lines) and lines[index] <= (getattr(node, "end_lineno", None) or start)


def _lifespan_handlers(call: ast.Call) -> list[ast.expr]:
    """The functions `call` hands to an app as its lifespan or event handlers."""
    out: list[ast.expr] = []
    for keyword in call.keywords:
        if keyword.arg == "lifespan":
            out.append(keyword.value)
        elif keyword.arg in ("on_startup", "on_shutdown") and isinstance(keyword.value, ast.List | ast.Tuple):
            out.extend(keyword.value.elts)
    if _is_event(call, "add_event_handler") and len(call.args) == 2:
        out.append(call.args[1])
    return out


def _is_event(call: ast.expr, method: str) -> bool:
    """`x.<method>("startup")` or `x.<method>("shutdown")`."""
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == method
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value in _LIFESPAN_EVENTS
    )


def _named_function(
    project: Project, module: ModuleInfo, scope: FunctionInfo | None, expr: ast.expr, depth: int
) -> FunctionInfo | None:
    """The project function a name or dotted name denotes where it is written: a
    function nested in `scope` (or in a function enclosing it), the default of a
    parameter (`def create_app(lifespan=lifespan)`), a method of a receiver whose
    class is known (`metrics.on_shutdown`), else a module member. A name bound
    otherwise in the function (assigned, a loop variable) is unknown."""
    if depth > 4:
        return None
    if isinstance(expr, ast.Name):
        current = scope
        while current is not None:
            for stmt in current.node.body:
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == expr.id:
                    return module.function_of_node.get(stmt)
            default = _parameter_default(current.node, expr.id)
            if default is not None:
                return _named_function(project, module, current.parent, default, depth + 1)
            if expr.id in _bindings(current.node):
                return None
            current = current.parent
    elif isinstance(expr, ast.Attribute):
        # `metrics.on_shutdown`: a method of a typed receiver (a module-level
        # `metrics = MetricsServer()`, a local instance)
        owner = project.lookup(_expr_type(project, module, expr.value, 0, scope))
        if isinstance(owner, ClassInfo):
            return project.find_method(owner, expr.attr)
        if _is_local(scope, _root_name(expr)):
            return None
    else:
        return None
    symbol = project.lookup(project.resolve(module, expr))
    return symbol if isinstance(symbol, FunctionInfo) else None


def _parameter_default(func_node: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    args = func_node.args
    positional = [*args.posonlyargs, *args.args]
    for arg, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True):
        if arg.arg == name:
            return default
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if arg.arg == name:
            return kw_default
    return None


def _root_name(expr: ast.expr) -> str:
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else ""


# -- coroutines only commands await -------------------------------------------------

# Decorators that leave a function a plain coroutine function, called by its name
# and by nothing else (a route, event or task decorator registers it elsewhere).
_PLAIN_DECORATORS = frozenset(
    {
        "staticmethod", "classmethod", "abc.abstractmethod", "typing.override", "typing_extensions.override",
        "builtins.staticmethod", "builtins.classmethod",
    }
)
# Bases that call none of a class's methods by themselves: a method of a class with
# any other library base may be called by that library (a middleware's `dispatch`,
# a server's `startup`), under its name but out of the project's sight.
_INERT_BASES = frozenset(
    {
        "object", "builtins.object", "abc.ABC", "typing.Protocol", "typing_extensions.Protocol", "typing.Generic",
        "typing.NamedTuple",
    }
)

_COMMAND_HELPERS: weakref.WeakKeyDictionary[Project, frozenset[ast.AST]] = weakref.WeakKeyDictionary()


def _command_helpers(project: Project) -> frozenset[ast.AST]:
    """The `async def`s that run only inside commands alone on their loop: every
    use of the name in the project is an `await name(...)` (or an `async for`
    over it) in a command, or in another such coroutine, and a command reaches
    them. A coroutine a command awaits runs on the command's loop while the
    command waits for it: it has the loop to itself as much as the command. Once
    per project."""
    found = _COMMAND_HELPERS.get(project)
    if found is None:
        found = _COMMAND_HELPERS[project] = _find_command_helpers(project)
    return found


_CANDIDATES: weakref.WeakKeyDictionary[
    Project, tuple[set[ast.AST], set[ast.AST], dict[str, list[FunctionInfo]], list[ModuleInfo]]
] = weakref.WeakKeyDictionary()


def _command_candidates(
    project: Project,
) -> tuple[set[ast.AST], set[ast.AST], dict[str, list[FunctionInfo]], list[ModuleInfo]]:
    """The commands, the coroutines they may await (by name, through others), the
    latter by name, and the non-test modules. Cheap next to the scan of every use
    that `_command_helpers` makes: a coroutine outside these is no helper, and
    asking costs nothing more."""
    known = _CANDIDATES.get(project)
    if known is None:
        known = _CANDIDATES[project] = _find_candidates(project)
    return known


def _find_candidates(
    project: Project,
) -> tuple[set[ast.AST], set[ast.AST], dict[str, list[FunctionInfo]], list[ModuleInfo]]:
    modules = [module for module in project.modules if not module.is_test]
    lazy = _lazy_commands(project)
    lifespans = _lifespans(project)
    commands: set[ast.AST] = set()
    for module in modules:
        for func in module.all_functions:
            if (
                func.is_async
                and (
                    _is_cli_command(project, module, func.node)
                    or func.node in lazy
                    or func.node in _loop_entries(project)
                    or func.node in lifespans
                )
                and not _spawns_tasks(func.node)
            ):
                commands.add(func.node)
    if not commands:
        return commands, set(), {}, modules
    # Only coroutines a command awaits, directly or through others, can qualify:
    # following awaited names from the commands first keeps the scan of every use
    # below to those names.
    async_by_name: dict[str, list[FunctionInfo]] = {}
    for module in modules:
        for func in module.all_functions:
            if func.is_async and func.node not in commands:
                async_by_name.setdefault(func.name, []).append(func)
    candidates: dict[str, list[FunctionInfo]] = {}
    frontier = list(commands)
    while frontier:
        awaited = _awaited_callees(frontier.pop())
        for callee in awaited:
            name = callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) else None
            if name is None or name in candidates or name not in async_by_name:
                continue
            plain = [func for func in async_by_name[name] if _plain_coroutine(project, func)]
            candidates[name] = plain
            frontier.extend(func.node for func in plain)
    candidates = {name: funcs for name, funcs in candidates.items() if funcs}
    nodes: set[ast.AST] = {func.node for funcs in candidates.values() for func in funcs}
    return commands, nodes, candidates, modules


def _find_command_helpers(project: Project) -> frozenset[ast.AST]:
    commands, candidate_nodes, candidates, modules = _command_candidates(project)
    if not candidates:
        return frozenset()
    if len(candidates) * len(modules) <= 20_000:
        # A few names (a service with a small CLI): only the files that spell one
        # can use one, and finding them costs little next to reading every scope.
        # With hundreds of names nearly every file spells one: the test costs more.
        modules = [module for module in modules if any(module.spells(name) for name in candidates)]
    # name -> (the function it is used in, whether that use is awaited directly)
    uses: dict[str, list[tuple[FunctionInfo, bool]]] = {}
    elsewhere: set[str] = set()  # names also used outside any function (a registration, a default)
    # Names handed to `asyncio.run`/`anyio.run` (plug-in hooks run at import on a
    # loop of their own, and awaited by a command too): a use alone.
    runner_arguments = _runner_arguments(project)
    run_alone: set[str] = set()
    # Scope by scope (the module, its classes, functions and lambdas), through the
    # nodes each scope owns: the functions' are mostly known already (the call
    # graph and the rules asked), where a fresh walk of every file would not be.
    scope_types = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    for module in modules:
        scopes: list[ast.AST] = [module.tree]
        while scopes:
            scope = scopes.pop()
            found: list[tuple[str, ast.AST]] = [
                (name_node.id, name_node) for name_node in own_nodes_of(scope, ast.Name) if name_node.id in candidates
            ]
            found.extend(
                (attribute.attr, attribute)
                for attribute in own_nodes_of(scope, ast.Attribute)
                if attribute.attr in candidates
            )
            for scope_type in scope_types:
                scopes.extend(own_nodes_of(scope, scope_type))
            if runner_arguments:
                run_alone.update(name for name, node in found if node in runner_arguments)
                found = [(name, node) for name, node in found if node not in runner_arguments]
            if not found:
                continue
            owner = module.function_of_node.get(scope)
            if owner is None:  # module level, a class body, a lambda: a registration, a default
                elsewhere.update(name for name, _ in found)
                continue
            awaited = _awaited_callees(scope)
            for name, node in found:
                uses.setdefault(name, []).append((owner, node in awaited))

    def alone_context(func: FunctionInfo, names: set[str]) -> bool:
        if func.node in commands:
            return True
        return func.node in candidate_nodes and func.name in names and not _spawns_tasks(func.node)

    # Largest set first (coroutines that await each other, like a provisioner's
    # `provision` awaiting its resources' `provision`, stay in), then only the
    # names a command reaches through it.
    names = {name for name in candidates if name in uses and name not in elsewhere}
    changed = True
    while changed:
        changed = False
        for name in list(names):
            if not all(direct and alone_context(func, names) for func, direct in uses[name]):
                names.discard(name)
                changed = True
    reached: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name in names - reached:
            if name in run_alone or any(
                func.node in commands or (func.node in candidate_nodes and func.name in reached) for func, _ in uses[name]
            ):
                reached.add(name)
                changed = True
    return frozenset(func.node for name in reached for func in candidates[name])


def _awaited_callees(func_node: ast.AST) -> set[ast.AST]:
    """The callee expressions a function calls and waits for on the spot:
    `await f(...)`, `async for x in f(...)`. (A coroutine handed to `gather`,
    `create_task` or `wait_for` runs beside others, or later.)"""
    out: set[ast.AST] = set()
    for node in own_nodes_of(func_node, ast.Await):
        if isinstance(node.value, ast.Call):
            out.add(node.value.func)
    for loop in own_nodes_of(func_node, ast.AsyncFor):
        if isinstance(loop.iter, ast.Call):
            out.add(loop.iter.func)
    for comprehension in own_nodes_of(func_node, ast.comprehension):
        if comprehension.is_async and isinstance(comprehension.iter, ast.Call):
            out.add(comprehension.iter.func)
    return out


def _plain_coroutine(project: Project, func: FunctionInfo) -> bool:
    """Can only the project's own calls by name run `func`: no dunder (the
    language calls those), no decorator that may register it (a project
    decorator that returns a wrapper of its own, like one that injects a
    client, registers nothing), and, for a method, no library base class that
    may call it?"""
    if func.name.startswith("__"):
        return False
    for decorator in func.node.decorator_list:
        if not isinstance(decorator, ast.Name | ast.Attribute):
            return False  # `@router.get(...)`, `@retry(3)`: what the call returns is unknown
        resolved = project.resolve(func.module, decorator)
        if resolved is None and isinstance(decorator, ast.Name):
            resolved = decorator.id
        if resolved not in _PLAIN_DECORATORS and not _returns_own_wrapper(project.lookup(resolved)):
            return False
    if func.class_name is None:
        return True
    cls = project.lookup(func.class_name)
    if not isinstance(cls, ClassInfo):
        return False
    return all(base in _INERT_BASES or isinstance(project.lookup(base), ClassInfo) for base in project.class_bases(cls))


def _returns_own_wrapper(symbol: object) -> bool:
    """Is `symbol` a project decorator that returns a function it defines
    (`def deco(fn): @wraps(fn) async def wrapper(...): ...; return wrapper`)? The
    decorated name then still runs only where it is called."""
    if not isinstance(symbol, FunctionInfo):
        return False
    nested = {stmt.name for stmt in symbol.node.body if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)}
    returns = [stmt for stmt in symbol.node.body if isinstance(stmt, ast.Return)]
    return bool(nested) and bool(returns) and all(
        isinstance(stmt.value, ast.Name) and stmt.value.id in nested for stmt in returns
    )


def _is_cli_name(qualname: str | None) -> bool:
    return qualname is not None and qualname.split(".", 1)[0] in _CLI_PACKAGES


def _is_cli_class(project: Project, qualname: str | None) -> bool:
    cls = project.lookup(qualname)
    return isinstance(cls, ClassInfo) and any(_is_cli_name(base) for base in project.class_bases(cls))


# -- FX202-FX206 --------------------------------------------------------------------


# The last part of every name `blocking_call` knows (directly or through an
# alias): a method call named otherwise can only block through its core target.
_BLOCKING_METHODS = frozenset(
    name.rpartition(".")[2]
    for name in (*BLOCKING_CALLS, *(alias for alias, canon in TYPE_ALIASES.items() if canon in BLOCKING_CALLS))
)


def blocking_target(ctx: FileContext, call: ast.Call) -> tuple[str, Blocking] | None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr not in _BLOCKING_METHODS:
        # `effective_target` is the core target or "<receiver>.<attr>", and the
        # latter never blocks here: skip typing the receiver.
        target = ctx.call_target(call)
    else:
        target = effective_target(ctx, call)
    fact = blocking_call(target)
    if target is None or fact is None:
        return None
    return target, fact


class DirectBlockingCall:
    """Mixin for a rule flagging a blocking call of one kind made directly in an
    `async def` body (not awaited, not in a nested `def` or lambda handed to a
    thread). Put it before `Rule` in the bases."""

    kind: ClassVar[BlockingKind]
    what: ClassVar[str]  # "synchronous HTTP request", shown in parentheses

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        # Five rules run this on every call: the cheap tests are inlined and the
        # answer is kept on the node for the others.
        functions = ctx.functions
        if not functions or functions[-1].__class__ is not ast.AsyncFunctionDef or ctx.ancestors[-1].__class__ is ast.Await:
            return
        cached: tuple[tuple[str, Blocking] | None] | None = getattr(node, "_fx_blocking", None)
        if cached is None:
            cached = (blocking_target(ctx, node),)
            node._fx_blocking = cached  # type: ignore[attr-defined]
        found = cached[0]
        if found is None or found[1].kind is not self.kind:
            return
        if is_cli_command(ctx.project, ctx.module, functions[-1]):
            return
        ctx.report(node, self.message(ctx, node, found[0], found[1]))

    def describe(self, target: str) -> str:
        """What the call does that blocks, for the message (per call when it varies)."""
        return self.what

    def message(self, ctx: FileContext, node: ast.Call, target: str, fact: Blocking) -> str:
        func = ctx.function()
        name = func.name if func is not None else "?"
        where = f"`async def {name}`"
        extra = ""
        if (
            func is not None
            and (ctx.routes_of(func.node) or ctx.is_dependency(func.node))
            and not awaits_in_body(func.node)
        ):
            extra = f", or make `{name}` a plain `def` so FastAPI runs it in the threadpool"
        return (
            f"`{call_name(ctx, node)}()` blocks the event loop inside {where} ({self.describe(target)}); "
            f"use {advice(target, fact)}{extra}."
        )
