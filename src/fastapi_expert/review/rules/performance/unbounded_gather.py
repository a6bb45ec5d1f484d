from __future__ import annotations

import ast
import builtins

from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_nodes,
    parameter_defaults,
)
from fastapi_expert.review.model.project import Project, positional_parameters
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import (
    called_only_outside_requests,
    is_fixed_iteration,
    name_uses,
    request_scope,
)
from fastapi_expert.types import Severity

GATHER = frozenset({"asyncio.gather", "asyncio.tasks.gather"})
LIMITERS = frozenset(
    {
        "asyncio.Semaphore",
        "asyncio.BoundedSemaphore",
        "asyncio.locks.Semaphore",
        "asyncio.locks.BoundedSemaphore",
        "anyio.Semaphore",
        "anyio.CapacityLimiter",
        "aiolimiter.AsyncLimiter",
    }
)
_TASK_WRAPPERS = frozenset({"asyncio.create_task", "asyncio.ensure_future", "asyncio.tasks.create_task"})
# Builtins that wrap an iterable without bounding it.
_PASS_THROUGH = frozenset({"enumerate", "zip", "set", "list", "sorted", "reversed", "tuple", "dict", "filter"})


def _fan_out(value: ast.expr, func: FunctionInfo) -> tuple[ast.expr, ast.expr | None] | None:
    """For the starred argument of `gather(*value)`, the iterable it is built
    from and the per-item expression (the coroutine), or None when unknown."""
    if isinstance(value, ast.ListComp | ast.GeneratorExp | ast.SetComp) and value.generators:
        return value.generators[0].iter, value.elt
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and func.module.resolve(value.func) == "builtins.map"
        and len(value.args) >= 2
    ):
        return value.args[1], value.args[0]
    if not isinstance(value, ast.Name):
        return None
    name = value.id
    for node in own_nodes(func.node):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and not isinstance(node.value, ast.Name | ast.List)
        ):
            built = _fan_out(node.value, func)
            if built is not None:
                return built
        if isinstance(node, ast.For | ast.AsyncFor):
            for sub in ast.walk(node):
                if (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr in {"append", "add"}
                    and isinstance(sub.func.value, ast.Name)
                    and sub.func.value.id == name
                    and sub.args
                ):
                    return node.iter, sub.args[0]
    return None


def _iter_names(expr: ast.expr) -> set[str]:
    """Names an iterable is computed from, through `enumerate()`, `zip()`, ..."""
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in _PASS_THROUGH:
        out: set[str] = set()
        for arg in expr.args:
            out |= _iter_names(arg)
        return out
    names: set[str] = set()
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Name):
            names.add(sub.id)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            names.discard(sub.func.id)
    return names


# Listings of the server's own files or storage (`glob.glob(pattern)`, `os.listdir(d)`,
# `Path(d).iterdir()`, `fs.glob(...)`): their size is what is stored there, not what the
# request sent, even when a parameter picks the folder or the pattern.
_LISTING_FUNCTIONS = frozenset(
    {"glob.glob", "glob.iglob", "os.listdir", "os.scandir", "os.walk", "aiofiles.os.listdir", "aiofiles.os.scandir"}
)
_LISTING_METHODS = frozenset({"glob", "rglob", "iglob", "iterdir", "listdir", "scandir"})


def _is_listing(func: FunctionInfo, expr: ast.expr | None) -> bool:
    """Is `expr` a directory or storage listing (through `list()`, `sorted()`, `await`)?"""
    while True:
        if isinstance(expr, ast.Await):
            expr = expr.value
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Name)
            and expr.func.id in _PASS_THROUGH
            and len(expr.args) == 1
        ):
            expr = expr.args[0]
        else:
            break
    if not isinstance(expr, ast.Call):
        return False
    if isinstance(expr.func, ast.Name | ast.Attribute) and func.module.resolve(expr.func) in _LISTING_FUNCTIONS:
        return True
    return isinstance(expr.func, ast.Attribute) and expr.func.attr in _LISTING_METHODS


# What a request handler reads the request itself through: `await request.json()`,
# `await file.read()`, `await websocket.receive_json()`.
_REQUEST_TYPES = frozenset(
    {
        "fastapi.Request",
        "fastapi.requests.Request",
        "starlette.requests.Request",
        "fastapi.UploadFile",
        "fastapi.datastructures.UploadFile",
        "starlette.datastructures.UploadFile",
        "fastapi.WebSocket",
        "fastapi.websockets.WebSocket",
        "starlette.websockets.WebSocket",
    }
)


# Awaited wrappers that run the work they are handed elsewhere: their result is that work's.
_RUNS_ELSEWHERE = frozenset({"to_thread", "run_in_threadpool", "run_sync", "wait_for", "shield", "run_in_executor"})


def _reads_request(func: FunctionInfo, name: str) -> bool:
    """Is the parameter `name` the request, an upload or a websocket (by its annotation,
    or unannotated and so named)?"""
    arg = _parameters(func).get(name)
    if arg is None:
        return False
    if arg.annotation is None:
        return name in {"request", "req", "file", "upload", "websocket", "ws"}
    annotation = arg.annotation
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value.rsplit(".", 1)[-1] in {"Request", "UploadFile", "WebSocket"}
    return any(
        isinstance(n, ast.Name | ast.Attribute) and func.module.resolve(n) in _REQUEST_TYPES for n in ast.walk(annotation)
    )


_IN_KEYS = frozenset({"in", "in_", "$in", "has_some", "hasSome"})
# `len(ids)`, `list(ids)`, `dict.fromkeys(ids)`: what takes a collection; `X.id.in_(ids)`:
# what matches rows against one.
_COLLECTION_CALLS = frozenset({*_PASS_THROUGH, "len", "fromkeys"})
_MATCH_CALLS = frozenset({"in_", "any_", "notin_"})
_COLLECTION_TYPES = ("list", "List", "set", "Set", "tuple", "Tuple", "Sequence", "Iterable", "Collection", "frozenset")


def _collections(func: FunctionInfo) -> set[str]:
    """The names the function uses as collections: iterated (`for x in ids`, `[.. for x
    in ids]`), measured or copied (`len(ids)`, `list(ids)`), matched against
    (`X.id.in_(ids)`, `X.id.in_(body.ids)`, `{"in": ids}`), built as one (`ids = [...]`,
    a comprehension), or parameters annotated as one (`ids: list[str]`). Kept on the node."""
    cached: set[str] | None = getattr(func.node, "_fx_collections", None)
    if cached is not None:
        return cached
    out: set[str] = set()

    def names(expr: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}

    for node in own_nodes(func.node):
        if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension) and isinstance(node.iter, ast.Name):
            out.add(node.iter.id)
        elif isinstance(node, ast.Call) and len(node.args) == 1:
            called = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if called in _MATCH_CALLS:
                out |= names(node.args[0])  # `X.token.in_(body.tokens)`: the request's list, whatever holds it
            elif called in _COLLECTION_CALLS and isinstance(node.args[0], ast.Name):
                out.add(node.args[0].id)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in _IN_KEYS:
                    out |= names(value)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(
            node.value, ast.List | ast.Set | ast.Tuple | ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
        ):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out.update(t.id for t in targets if isinstance(t, ast.Name))
    for name, arg in _parameters(func).items():
        if arg.annotation is not None and any(
            isinstance(n, ast.Name | ast.Attribute) and (n.id if isinstance(n, ast.Name) else n.attr) in _COLLECTION_TYPES
            for n in ast.walk(arg.annotation)
        ):
            out.add(name)
    holder: ast.AST = func.node
    holder._fx_collections = out  # type: ignore[attr-defined]
    return out


def _keyed_by_collection(func: FunctionInfo, call: ast.Call, tainted: set[str]) -> bool:
    """Does the read take a collection of request data (`find_many(where={"id": {"in": ids}})`,
    `session.scalars(stmt)` with `stmt` filtering `.in_(ids)`, `batch_get(list(ids))`)?
    Then it returns at most as many rows as the client sent: still the client's size."""
    collections = _collections(func) & tainted
    if not collections:
        return False
    used = {n.id for n in ast.walk(call) if isinstance(n, ast.Name)}
    if used & collections:
        return True
    # A statement built in a local first: `stmt = select(X).where(X.id.in_(ids))`.
    for node in own_nodes(func.node):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in used for t in node.targets)
            and {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} & collections
        ):
            return True
    return False


def _looked_up(project: Project, func: FunctionInfo, value: ast.expr, tainted: set[str]) -> bool:
    """Is `value` what an awaited call reads from elsewhere (`await load_user(user_id)`,
    `(await session.scalars(q)).all()`, `(await repo.owner(key)).teams`): a database,
    cache or service read, keyed by request data perhaps, but as large as what is
    stored there, not as what the client sent? Not a read of the request itself
    (`await request.json()`, `await file.read()`)."""
    while True:
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
            value = value.func.value  # `(await ...).scalars().all()`
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in _PASS_THROUGH and value.args:
            value = value.args[0]  # `list(await ...)`
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute) and len(value.args) == 2 and (
            func.module.resolve(value.func) in {"typing.cast", "typing_extensions.cast"}
        ):
            value = value.args[1]  # `cast("list[Row]", await ...)`
        elif isinstance(value, ast.Attribute | ast.Subscript):
            value = value.value
        else:
            break
    if not isinstance(value, ast.Await) or not isinstance(value.value, ast.Call):
        return False
    called = value.value.func
    if isinstance(called, ast.Name | ast.Attribute):
        name = func.module.resolve(called) or ""
        if name in GATHER or name.rsplit(".", 1)[-1] in _RUNS_ELSEWHERE:
            return False  # `await gather(...)`, `await to_thread(parse, body)`: the request's data still
    root: ast.expr = called
    while isinstance(root, ast.Attribute | ast.Subscript | ast.Call):
        root = root.func if isinstance(root, ast.Call) else root.value
    if isinstance(root, ast.Name) and _reads_request(func, root.id):
        return False
    if _keyed_by_collection(func, value.value, tainted):
        return False
    target = project.call_target(func.module, func, value.value)
    callee = project.calls.by_qualname.get(target) if target else None
    return callee is None or not _cut_by_parameter(callee)


def _cut_by_parameter(func: FunctionInfo) -> bool:
    """Does the function return a list cut to a count its caller passes
    (`return list(urls)[:max_urls]`)? Then the caller chooses the size."""
    params = set(_parameters(func))
    return any(
        isinstance(node, ast.Return)
        and isinstance(node.value, ast.Subscript)
        and isinstance(node.value.slice, ast.Slice)
        and node.value.slice.upper is not None
        and any(isinstance(n, ast.Name) and n.id in params for n in ast.walk(node.value.slice.upper))
        for node in own_nodes(func.node)
    )


def _request_names(project: Project, func: FunctionInfo) -> set[str]:
    """The function's parameters and the local names computed from them (not
    through a listing of files, see `_is_listing`)."""
    args = func.node.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.arg not in {"self", "cls"}}
    if args.vararg:
        params.add(args.vararg.arg)
    tainted = set(params)
    assigns = [n for n in own_nodes(func.node) if isinstance(n, ast.Assign | ast.AnnAssign)]
    for _ in range(3):
        before = len(tainted)
        for node in assigns:
            value = node.value
            if value is None or not ({n.id for n in ast.walk(value) if isinstance(n, ast.Name)} & tainted):
                continue
            if _is_listing(func, value):
                continue  # `files = glob.glob(f"{folder}/*")`: as many as are stored
            if _looked_up(project, func, value, tainted):
                continue  # `owner = await load_user(user_id)`: as many as are stored
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                tainted |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        if len(tainted) == before:
            break
    return tainted


def _bound_inside(expr: ast.AST) -> set[str]:
    """Names a comprehension or lambda in `expr` binds for itself (`t` in `[t.id for t in teams]`)."""
    out: set[str] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.comprehension):
            out |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Lambda):
            out |= {a.arg for a in node.args.args}
    return out


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _size_nodes(expr: ast.AST) -> list[ast.AST]:
    """The nodes of `expr` that decide how many items it has: of a comprehension only
    its iterables (`(load(t, token=token) for t in team_ids)` has as many items as
    `team_ids`, whatever `token` is), elsewhere every node."""
    out: list[ast.AST] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, _COMPREHENSIONS):
            stack.extend(gen.iter for gen in node.generators)
        else:
            stack.extend(ast.iter_child_nodes(node))
    return out


def _origins(project: Project, func: FunctionInfo, expr: ast.expr) -> set[str] | None:
    """The parameters of `func` that the size of `expr` is built from, following its
    locals' assignments (of a comprehension, its iterables, see `_size_nodes`); a local read by an awaited call (`_looked_up`), `self`, and
    the module's names (its state, functions, imports) add none. None when the value
    comes from something that cannot be followed: a loop or `with` variable, a
    local grown in place (`files.append(...)`), a parameter the function rebinds."""
    cached: dict[int, set[str] | None] = getattr(func.node, "_fx_origins", None) or {}
    if id(expr) in cached:
        return cached[id(expr)]
    params = set(_parameters(func))
    assigned: dict[str, list[ast.expr]] = {}
    grown: set[str] = set()
    for node in own_nodes(func.node):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        assigned.setdefault(sub.id, []).append(node.value)
        elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor | ast.With | ast.AsyncWith | ast.NamedExpr):
            # Bound by something other than a plain assignment: not followed.
            targets = (
                [item.optional_vars for item in node.items if item.optional_vars is not None]
                if isinstance(node, ast.With | ast.AsyncWith)
                else [node.target]
            )
            grown |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _GROWS
            and isinstance(node.func.value, ast.Name)
        ):
            grown.add(node.func.value.id)
    module = func.module
    tainted: set[str] | None = None
    out: set[str] = set()
    seen: set[str] = set()
    todo = [(expr, _bound_inside(expr))]
    result: set[str] | None = out
    while todo and result is not None:
        value, inner = todo.pop()
        for node in _size_nodes(value):
            if not isinstance(node, ast.Name) or node.id in inner or node.id in seen:
                continue
            name = node.id
            seen.add(name)
            if name in grown:
                result = None
                break
            if name in params:
                if name in assigned:
                    result = None
                    break
                out.add(name)
            elif name in assigned:
                if tainted is None:
                    tainted = _request_names(project, func)
                todo.extend(
                    (v, _bound_inside(v)) for v in assigned[name] if not _looked_up(project, func, v, tainted)
                )
            elif name in {"self", "cls"} or hasattr(builtins, name) or name in module.assignments or name in module.imports or name in module.functions or name in module.classes:
                continue
            else:
                result = None  # a loop variable, a closure's name: not followed
                break
    cached[id(expr)] = result
    holder: ast.AST = func.node
    holder._fx_origins = cached  # type: ignore[attr-defined]
    return result


def _route_request_parameters(project: Project, func: FunctionInfo) -> set[str] | None:
    """For a route endpoint, its parameters the client fills (not those a
    `Depends(...)` / `Security(...)` computes on the server); None for other functions."""
    routes = project.fastapi.routes_for(func.node)
    if not routes:
        return None
    dependencies = {dep.param for route in routes for dep in route.dependencies if dep.param}
    return set(_parameters(func)) - dependencies


def _callers_send_request_data(project: Project, func: FunctionInfo, params: set[str], depth: int = 0) -> bool:
    """Can a caller of `func` hand any of `params` request data? Every use of its
    name (four callers up) is looked at: a value built from none of the caller's
    request names (a database read, the server's own state) is not; a route's
    parameter is, unless a dependency computes it (the authenticated user's row);
    an unknown caller (a callback, a reference, no use found, `*args`) may."""
    if depth >= _ORIGIN_DEPTH:
        return True
    uses = name_uses(project, func.name)
    if not uses:
        return True
    for caller, call in uses:
        if caller is None or call is None:
            return True
        for param in params:
            known, value = _argument(project, caller.module, func, call, param)
            if not known:
                return True
            if value is None:
                continue  # the default: no request chose it
            sources = _origins(project, caller, value)
            if sources is None:
                return True
            if not sources:
                continue  # read or held on the server
            client = _route_request_parameters(project, caller)
            if client is not None:
                if sources & client:
                    return True  # a route passes what the client sent
                continue
            if _callers_send_request_data(project, caller, sources, depth + 1):
                return True
    return False


def _is_chunk(ctx: FileContext, expr: ast.expr) -> bool:
    """`items[i : i + 50]`, `range(...)`: a bounded slice or a worker count."""
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Slice):
        return True
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and ctx.resolve(expr.func) == "builtins.range"


def _limits_itself(func: FunctionInfo) -> bool:
    """Does the gathered coroutine bound itself (`async with sem:` / `limiter`)?"""
    for node in own_nodes(func.node):
        if isinstance(node, ast.AsyncWith) and any(isinstance(i.context_expr, ast.Name | ast.Attribute) for i in node.items):
            return True
    return False


# Methods that only close what exists: closing every connection of a list at once opens
# nothing, so it cannot exhaust a pool or load an upstream.
_RELEASES = frozenset({"close", "aclose", "disconnect", "wait_closed"})


def _releases(ctx: FileContext, func: FunctionInfo, element: ast.expr | None) -> bool:
    """Does each gathered coroutine only close something: `conn.close()`, `map(pool.close, ...)`,
    or a project function or method whose every awaited call closes (`pool.remove(id)` that
    pops a connection and awaits its `close()`)?"""
    call = element
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name | ast.Attribute)
        and ctx.resolve(call.func) in _TASK_WRAPPERS
        and call.args
    ):
        call = call.args[0]
    if isinstance(call, ast.Name | ast.Attribute):
        call = ast.Call(func=call, args=[], keywords=[])  # `map(pool.remove, ids)`: one call per item
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name | ast.Attribute):
        return False
    name = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id
    if name in _RELEASES:
        return True
    target = ctx.project.call_target(func.module, func, call)
    callee = ctx.project.calls.by_qualname.get(target) if target else None
    if callee is None:
        return False
    awaited = [
        node.value
        for node in own_nodes(callee.node)
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call)
    ]
    return bool(awaited) and all(isinstance(c.func, ast.Attribute) and c.func.attr in _RELEASES for c in awaited)


# Constraints that cap how many items a list may hold: `Query(max_length=100)`,
# `Field(max_length=100)`, `conlist(str, max_length=10)` (Pydantic 1: `max_items`),
# `annotated_types.MaxLen(100)` / `Len(0, 100)`.
_LENGTH_KEYWORDS = frozenset({"max_length", "max_items"})
# `MaxLen(n)` takes the maximum first, `Len(min, max)` second.
_LENGTH_TYPES = {"annotated_types.MaxLen": 1, "annotated_types.Len": 2}
_OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
# How many callers up a parameter's bound is looked for.
_CALLER_DEPTH = 2
# How many callers up a list handed down from a route is followed to where it comes
# from (an authenticated user's row passes through a few helpers on its way down).
_ORIGIN_DEPTH = 4


def _caps_length(module: ModuleInfo, expr: ast.expr) -> bool:
    """Is `expr` a constraint that caps a list's length (see `_LENGTH_KEYWORDS`)?"""
    if not isinstance(expr, ast.Call):
        return False
    if any(k.arg in _LENGTH_KEYWORDS for k in expr.keywords):
        return True
    name = module.resolve(expr.func) if isinstance(expr.func, ast.Name | ast.Attribute) else None
    return name in _LENGTH_TYPES and len(expr.args) >= _LENGTH_TYPES[name]


def _capped_type(project: Project, module: ModuleInfo, annotation: ast.expr | None, default: ast.expr | None) -> bool:
    """Does a parameter's or field's declaration cap how many items it holds: a
    `max_length` in its default (`= Query(max_length=20)`) or in the outer
    `Annotated[list[X], ...]` of its type (not one inside `X`: that caps each item),
    or a `conlist(X, max_length=...)` type; through `Optional[...]` and `... | None`."""
    if default is not None and _caps_length(module, default):
        return True
    module, inner, metadata = project.annotated_parts(module, annotation)
    if any(_caps_length(module, meta) for meta in metadata):
        return True
    if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.BitOr):
        return _capped_type(project, module, inner.left, None) or _capped_type(project, module, inner.right, None)
    if isinstance(inner, ast.Call):
        return _caps_length(module, inner)
    if isinstance(inner, ast.Subscript) and project.resolve(module, inner.value) in _OPTIONAL:
        return _capped_type(project, module, inner.slice, None)
    return False


def _parameters(func: FunctionInfo) -> dict[str, ast.arg]:
    args = func.node.args
    return {a.arg: a for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}


def _capped_field(project: Project, func: FunctionInfo, param: ast.arg, field: str) -> bool:
    """`batch.urls` with `batch: Batch` and `urls: list[str] = Field(max_length=50)` in
    `Batch` or one of its project bases."""
    module, annotation, _ = project.annotated_parts(func.module, param.annotation)  # `Annotated[Batch, Body()]`
    if not isinstance(annotation, ast.Name | ast.Attribute):
        return False
    model = project.lookup(project.resolve(module, annotation))
    if not isinstance(model, ClassInfo):
        return False
    classes = [model, *(c for c in map(project.lookup, project.class_bases(model)) if isinstance(c, ClassInfo))]
    for cls in classes:
        for stmt in cls.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == field:
                return _capped_type(project, cls.module, stmt.annotation, stmt.value)
    return False


def _dotted(expr: ast.expr) -> str | None:
    """`ids`, `body.ids`: a name or an attribute path from a name."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        base = _dotted(expr.value)
        return f"{base}.{expr.attr}" if base is not None else None
    return None


def _length_checked(test: ast.expr, params: set[str]) -> set[str]:
    """The names (or attribute paths) whose length a test, when false, bounds:
    `len(ids) > 100`, `len(body.ids) >= MAX_IDS`, `100 < len(ids)`, and each
    operand of an `or` (`not ids or len(ids) > 100`). The bound must not come
    from a parameter (`self.max_batch` may)."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return {name for value in test.values for name in _length_checked(value, params)}
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return set()
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if isinstance(op, ast.Lt | ast.LtE):
        left, right = right, left
    elif not isinstance(op, ast.Gt | ast.GtE):
        return set()
    if (
        isinstance(left, ast.Call)
        and isinstance(left.func, ast.Name)
        and left.func.id == "len"
        and len(left.args) == 1
        and not any(isinstance(n, ast.Name) and n.id in params for n in ast.walk(right))
    ):
        checked = _dotted(left.args[0])
        return {checked} if checked is not None else set()
    return set()


def _exits(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], ast.Raise | ast.Return)


def _child_blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    blocks: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        block = getattr(stmt, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            blocks.append(block)
    blocks.extend(h.body for h in getattr(stmt, "handlers", ()))
    blocks.extend(c.body for c in getattr(stmt, "cases", ()))
    return blocks


def _spans(block: list[ast.stmt], where: tuple[int, int]) -> bool:
    last = block[-1]
    return (block[0].lineno, block[0].col_offset) <= where <= (last.end_lineno or last.lineno, last.end_col_offset or 0)


def _guards_before(func: FunctionInfo, at: ast.AST) -> dict[str, tuple[int, int]]:
    """The names whose length a check that exits (`if len(ids) > 100: raise ...`, also
    as an `elif`) bounds on every path to `at`: checks in the blocks that enclose
    `at`, before it. With where each check ends."""
    params = set(_parameters(func)) - {"self", "cls"}
    where = (getattr(at, "lineno", 0), getattr(at, "col_offset", 0))
    out: dict[str, tuple[int, int]] = {}
    block: list[ast.stmt] | None = func.node.body
    while block:
        inner: list[ast.stmt] | None = None
        for stmt in block:
            end = (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
            if (stmt.lineno, stmt.col_offset) <= where <= end:
                inner = next((b for b in _child_blocks(stmt) if _spans(b, where)), None)
                break
            check: ast.stmt | None = stmt
            while isinstance(check, ast.If) and _exits(check.body):
                for name in _length_checked(check.test, params):
                    out[name] = end
                check = check.orelse[0] if len(check.orelse) == 1 else None
        block = inner
    return out


def _stored_between(func: FunctionInfo, name: str, start: tuple[int, int], stop: tuple[int, int]) -> bool:
    return any(
        isinstance(node, ast.Name)
        and node.id == name
        and isinstance(node.ctx, ast.Store)
        and start < (node.lineno, node.col_offset) < stop
        for node in own_nodes(func.node)
    )


def _keeps_size(expr: ast.expr, bounded: set[str]) -> bool:
    """Does `expr` hold no more items than a bounded name: the name itself, `set(ids)`,
    `sorted(ids)`, `[UUID(i) for i in ids]` (one generator: one item per item)?"""
    if isinstance(expr, ast.Name | ast.Attribute):
        return _dotted(expr) in bounded
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in _PASS_THROUGH and expr.args:
        if expr.func.id == "zip":
            return any(_keeps_size(a, bounded) for a in expr.args)
        return _keeps_size(expr.args[-1] if expr.func.id == "filter" else expr.args[0], bounded)
    if isinstance(expr, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) and len(expr.generators) == 1:
        return _keeps_size(expr.generators[0].iter, bounded)
    return False


_GROWS = frozenset({"append", "extend", "add", "update", "insert", "appendleft", "extendleft"})


def _bounded(project: Project, func: FunctionInfo, expr: ast.expr, at: ast.AST, depth: int = 0) -> bool:
    """Is the size of `expr`, where `at` runs in `func`, capped before `at`: by a length
    check that exits (`if len(ids) > 100: raise HTTPException(400)`), by a `max_length`
    on the parameter or on the body model's field, by a local built item for item from
    such a name, or, for a parameter, by every caller of `func` passing such a value?"""
    params = _parameters(func)
    defaults = parameter_defaults(func.node)
    where = (getattr(at, "lineno", 0), getattr(at, "col_offset", 0))
    nodes = own_nodes(func.node)
    # What each local is assigned (None: a value not known, such as a loop variable's).
    stored: dict[str, list[ast.expr | None]] = {}
    grown: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        stored.setdefault(sub.id, []).append(node.value if target is sub else None)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor | ast.NamedExpr):
            target = node.target
            value = node.value if isinstance(node, ast.AnnAssign | ast.NamedExpr) else None
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    stored.setdefault(sub.id, []).append(value if target is sub else None)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _GROWS:
            grows = _dotted(node.func.value)
            if grows is not None:
                grown.add(grows)
    bounded = {
        name
        for name, end in _guards_before(func, at).items()
        if name not in grown and not _stored_between(func, name.split(".", 1)[0], end, where)
    }
    for name, arg in params.items():
        if name not in stored and name not in grown and _capped_type(project, func.module, arg.annotation, defaults.get(name)):
            bounded.add(name)
    for _ in range(3):  # locals built from bounded names, item for item
        before = len(bounded)
        for name, values in stored.items():
            if (
                name not in bounded
                and name not in grown
                and name not in params
                and all(
                    v is not None and (_keeps_size(v, bounded) or _capped_result(project, func, v, depth))
                    for v in values
                )
            ):
                bounded.add(name)
        if len(bounded) == before:
            break
    if _keeps_size(expr, bounded) or _capped_result(project, func, expr, depth):
        return True
    root = expr
    while isinstance(root, ast.Call) and isinstance(root.func, ast.Name) and root.func.id in _PASS_THROUGH and root.args:
        root = root.args[0]
    if isinstance(root, ast.Attribute) and isinstance(root.value, ast.Name):
        param = params.get(root.value.id)
        return param is not None and root.value.id not in stored and _capped_field(project, func, param, root.attr)
    if isinstance(root, ast.Name) and root.id in params and root.id not in stored and root.id not in grown:
        return depth < _CALLER_DEPTH and _callers_bound(project, func, root.id, depth)
    return False


def _argument(
    project: Project, module: ModuleInfo, callee: FunctionInfo, call: ast.Call, param: str
) -> tuple[bool, ast.expr | None]:
    """The value `call` (made in `module`) passes `callee`'s parameter `param`: (True,
    the value), (True, None) when it leaves the default, (False, None) when a `*args`
    or `**kwargs` hides it."""
    # `service.batch(ids)` and `Service.batch(service, ids)` both hand `ids` to `ids`.
    names = positional_parameters(project, module, callee, call)
    value: ast.expr | None = None
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return False, None
        if i < len(names) and names[i] == param:
            value = arg
    for keyword in call.keywords:
        if keyword.arg is None:
            return False, None  # `**kwargs`: unknown
        if keyword.arg == param:
            value = keyword.value
    return True, value


def _callers_bound(project: Project, func: FunctionInfo, param: str, depth: int) -> bool:
    """Does every use of `func`'s name call it with a bounded value for `param`
    (or leave it to its default)? A use that is no call (a callback, a reference)
    leaves the callers unknown."""
    uses = name_uses(project, func.name)
    if not uses:
        return False
    for caller, call in uses:
        if caller is None or call is None:
            return False
        known, value = _argument(project, caller.module, func, call, param)
        if not known:
            return False
        if value is not None and not _bounded(project, caller, value, call, depth + 1):
            return False
    return True


def _no_count(expr: ast.expr) -> bool:
    """`None` or a negative end (`[:None]`, `[:-1]`): a slice that keeps all, or all but a few."""
    if isinstance(expr, ast.Constant):
        return expr.value is None or (isinstance(expr.value, int) and expr.value < 0)
    return isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub)


def _count_capped(project: Project, func: FunctionInfo, expr: ast.expr, depth: int) -> bool:
    """Is `expr`, a count in `func` (a slice's end), one no request sets: a constant or
    a value built from nothing the function is handed (`MAX_PAGES`, `self.max_batch`),
    or a parameter that every caller (found by name, two callers up) passes such a
    count, or leaves to such a default?"""
    if _no_count(expr):
        return False
    used = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
    if not used & _request_names(project, func):
        return True
    if not isinstance(expr, ast.Name) or expr.id not in _parameters(func) or depth >= _CALLER_DEPTH:
        return False
    param = expr.id
    if any(isinstance(n, ast.Name) and n.id == param and isinstance(n.ctx, ast.Store) for n in own_nodes(func.node)):
        return False  # reassigned in the function: not what the callers passed
    default = parameter_defaults(func.node).get(param)
    uses = name_uses(project, func.name)
    if not uses:
        return False
    for caller, call in uses:
        if caller is None or call is None:
            return False
        known, value = _argument(project, caller.module, func, call, param)
        if not known:
            return False
        if value is None:
            if default is None or not _count_capped(project, func, default, _CALLER_DEPTH):
                return False
        elif not _count_capped(project, caller, value, depth + 1):
            return False
    return True


def _capped_result(project: Project, func: FunctionInfo, expr: ast.expr, depth: int) -> bool:
    """Is `expr` (in `func`) a call of a project function that returns a list cut to a
    count on every path (`return list(urls)[:max_pages]`, `return []`), the count a
    constant, or a parameter this call (or, left to its default, the default) sets to
    a count no request chooses (see `_count_capped`)?"""
    if isinstance(expr, ast.Await):
        expr = expr.value
    if not isinstance(expr, ast.Call):
        return False
    target = project.call_target(func.module, func, expr)
    callee = project.calls.by_qualname.get(target) if target else None
    if callee is None:
        return False
    nodes = own_nodes(callee.node)
    if any(isinstance(n, ast.Yield | ast.YieldFrom) for n in nodes):
        return False
    returns = [n for n in nodes if isinstance(n, ast.Return)]
    if not returns:
        return False
    params = _parameters(callee)
    defaults = parameter_defaults(callee.node)
    for ret in returns:
        value = ret.value
        if isinstance(value, ast.List | ast.Tuple | ast.Set) and not any(isinstance(e, ast.Starred) for e in value.elts):
            continue  # `return []`: as many items as written
        if not (isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice) and value.slice.upper is not None):
            return False
        upper = value.slice.upper
        if isinstance(upper, ast.Name) and upper.id in params:
            known, passed = _argument(project, func.module, callee, expr, upper.id)
            if not known:
                return False
            if passed is not None:
                if not _count_capped(project, func, passed, depth):
                    return False
                continue
            default = defaults.get(upper.id)
            if default is None or not _count_capped(project, callee, default, _CALLER_DEPTH):
                return False
        elif not _count_capped(project, callee, upper, _CALLER_DEPTH):
            return False
    return True


class UnboundedGather(Rule):
    """Flags `asyncio.gather()` over a request-sized list with no concurrency limit.

    ## What it does
    Finds `await asyncio.gather(*[coro(x) for x in xs])`, `gather(*(... for ...))`,
    `gather(*map(coro, xs))` and `gather(*tasks)` where `tasks` is built by a loop,
    in request-handling code (a function a route or dependency calls, or any
    function of a module importing FastAPI or Starlette unless every call to it
    found by name comes from code no request runs: a background poller, a task
    started once per process), when `xs` comes from the function's
    parameters (request data, directly or computed from it) and nothing bounds
    the concurrency: no
    `asyncio.Semaphore` / `anyio.CapacityLimiter` in the function, no
    `async with <limiter>:` in the gathered coroutine, no slicing into chunks,
    and nothing caps the list's size before the fan-out: a length check that
    exits, on every path to the `gather` (`if len(ids) > 100: raise
    HTTPException(400, ...)`, also as one operand of an `or` or an `elif`, the
    bound not taken from a parameter), `max_length` on the parameter
    (`Annotated[list[str], Query(max_length=100)]`, `conlist(..., max_length=...)`)
    or on the body model's field (`urls: list[str] = Field(max_length=50)`),
    a local built item for item from such a list (`[UUID(i) for i in ids]`,
    `set(ids)`), a local a project function returns cut to a count on every
    path (`return list(urls)[:max_urls]`, or `return []`), the count a constant
    or a value no request sets (followed through the call's argument and,
    for a parameter, every caller's, two callers up; `[:None]` and `[:-1]` cut
    nothing), or, when the list is a parameter of the function, every call
    of it found by name (two callers up) passing such a capped list (a method
    called as `obj.method(ids)` or through its class as `Class.method(obj, ids)`
    alike): the client cannot send more than the cap, so the concurrency is
    bounded by it.
    A check that only logs bounds nothing, nor does a `max_length` on the
    items' type (`list[Annotated[str, Field(max_length=200)]]`).
    A listing of files or storage (`glob.glob(...)`, `os.listdir(...)`,
    `Path(...).iterdir()`, `fs.glob(...)`) is not request data, even when a
    parameter picks the folder or the pattern: its size is what is stored there.
    Nor is a route's parameter that a dependency computes (`user = Depends(current_user)`,
    then `user.teams`), nor, in another function, a parameter that every caller
    found by name (four callers up) fills with such server-side values: one read
    from the database, a dependency's, the server's own state (a caller that
    passes a route's client-filled parameter, or that cannot be followed, keeps
    the finding).
    Nor is what an awaited call reads (`user = await load_user(user_id)`, then
    `user.teams`; `(await session.scalars(q)).all()`): a database, cache or
    service read keyed by request data is as large as what is stored, unless it
    reads the request itself (`await request.json()`, `await file.read()`, a
    parameter annotated `Request` / `UploadFile` / `WebSocket`) or is a project
    function returning a list cut to a count its caller passes
    (`return urls[:max_urls]`); `await gather(...)` and `await to_thread(...)`
    keep the data they are handed.
    A fixed set of coroutines (`gather(a(), b())`), worker pools over
    `range(n)`, and a fan-out that only closes (`conn.close()`, `aclose()`,
    `disconnect()`, or a project function whose every awaited call is one of
    those, such as a pool's `remove(id)` that pops a connection and closes it:
    it opens nothing) are not flagged, nor is the default body of a method of an
    abstract base class that every concrete subclass of the project overrides
    (a request never runs it: the overrides are examined instead; a class that
    leaves an inherited `@abstractmethod` unimplemented is abstract too, even
    without one of its own).

    ## Why is this bad?
    `gather` starts every coroutine at once. A request with 10,000 items opens
    10,000 simultaneous upstream calls or database queries: the connection pool
    is exhausted (and every other request waits on it), the upstream rate-limits
    or falls over, file descriptors run out, and memory spikes. The size of the
    fan-out is in the client's hands. Cap it with a semaphore or process the
    items in fixed-size chunks.

    ## References
    - https://docs.python.org/3/library/asyncio-task.html#asyncio.gather
    - https://docs.python.org/3/library/asyncio-sync.html#asyncio.Semaphore
    - https://anyio.readthedocs.io/en/stable/synchronization.html#capacity-limiters
    - https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/
    """

    code = "FX506"
    name = "unbounded-gather"
    summary = "`asyncio.gather()` fans out over request data with no concurrency limit."
    severity = Severity.WARNING

    valid = (
        Valid(
            # The helper's only caller hands it the authenticated user's teams, which a
            # dependency read on the server: not a list the client chose.
            """
            import asyncio

            from fastapi import Depends, FastAPI

            app = FastAPI()

            async def current_user() -> "User": ...

            async def load_team(team_id: str) -> dict: ...

            async def load_teams(team_ids: list[str]) -> list[dict]:
                return await asyncio.gather(*(load_team(team_id) for team_id in team_ids))

            @app.get("/me/teams")
            async def my_teams(user: "User" = Depends(current_user)) -> list[dict]:
                return await load_teams(user.team_ids)
            """
        ),
        Valid(
            # The teams come from the database (the user's row), not from the request:
            # as many as are stored, whatever the client sends.
            """
            import asyncio

            from fastapi import FastAPI

            app = FastAPI()

            async def load_user(user_id: str) -> "User": ...

            async def load_team(team_id: str) -> dict: ...

            @app.get("/users/{user_id}/teams")
            async def user_teams(user_id: str) -> list[dict]:
                user = await load_user(user_id)
                return await asyncio.gather(*(load_team(team_id) for team_id in user.teams))
            """
        ),
        Valid(
            """
            import asyncio

            import httpx
            from fastapi import FastAPI

            app = FastAPI()
            client = httpx.AsyncClient(timeout=10)
            limit = asyncio.Semaphore(20)

            async def fetch(url: str) -> int:
                async with limit:
                    return (await client.get(url)).status_code

            @app.post("/check")
            async def check(urls: list[str]):
                statuses = await asyncio.gather(*[fetch(u) for u in urls])
                return dict(zip(urls, statuses))
            """
        ),
        Valid(
            """
            import asyncio

            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/dashboard/{user_id}")
            async def dashboard(user_id: int):
                profile, orders, alerts = await asyncio.gather(
                    load_profile(user_id), load_orders(user_id), load_alerts(user_id)
                )
                return {"profile": profile, "orders": orders, "alerts": alerts}
            """
        ),
        Valid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends, Query

            from app.tasks import TaskStore, get_task_store

            router = APIRouter()

            @router.get("/tasks/batch")
            async def batch_get_tasks(
                ids: Annotated[list[int], Query()], store: TaskStore = Depends(get_task_store)
            ) -> list[dict | None]:
                return await store.batch_get(ids)
            """,
            filename="app/routes.py",
            files={
                "app/tasks.py": """
                    import asyncio
                    from abc import ABC, abstractmethod

                    from sqlalchemy import select
                    from sqlalchemy.ext.asyncio import AsyncSession

                    class TaskStore(ABC):
                        @abstractmethod
                        async def get(self, task_id: int) -> dict | None: ...

                        async def batch_get(self, task_ids: list[int]) -> list[dict | None]:
                            # a default for simple stores; the SQL store below overrides it
                            return await asyncio.gather(*[self.get(t) for t in task_ids])

                    class SQLTaskStore(TaskStore):
                        def __init__(self, session: AsyncSession) -> None:
                            self.session = session

                        async def get(self, task_id: int) -> dict | None:
                            return await self.session.scalar(select(Task).where(Task.id == task_id))

                        async def batch_get(self, task_ids: list[int]) -> list[dict | None]:
                            rows = await self.session.scalars(select(Task).where(Task.id.in_(task_ids)))
                            by_id = {row.id: row for row in rows}
                            return [by_id.get(t) for t in task_ids]

                    async def get_task_store() -> TaskStore:
                        return SQLTaskStore(AsyncSession())
                """
            },
        ),
        Valid(
            """
            import asyncio

            import httpx
            from fastapi import Request

            from app.store import load_webhooks, pending_events

            _client = httpx.AsyncClient(timeout=10)
            _poller: asyncio.Task[None] | None = None

            class Notifier:
                async def deliver(self, topic: str, payload: dict) -> None:
                    hooks = await load_webhooks(topic)
                    await asyncio.gather(*[_client.post(url, json=payload) for url in hooks], return_exceptions=True)

            async def poll_events(notifier: Notifier) -> None:
                while True:
                    for topic, payload in await pending_events():
                        await notifier.deliver(topic, payload)
                    await asyncio.sleep(15)

            async def get_notifier(request: Request) -> Notifier:
                global _poller
                notifier = Notifier()
                if _poller is None:
                    _poller = asyncio.create_task(poll_events(notifier))
                return notifier
            """,
            filename="app/notify.py",
            files={
                "app/store.py": """
                    async def load_webhooks(topic: str) -> list[str]:
                        return []

                    async def pending_events() -> list[tuple[str, dict]]:
                        return []
                """,
                "app/routes.py": """
                    from fastapi import APIRouter, Depends

                    from app.notify import Notifier, get_notifier

                    router = APIRouter()

                    @router.get("/notifier/status")
                    async def status(notifier: Notifier = Depends(get_notifier)) -> dict[str, bool]:
                        return {"running": True}
                """,
            },
        ),
        Valid(
            # Closing the tunnels of a service being unregistered: each coroutine closes
            # one open connection, so nothing new is opened, however many there are.
            """
            import asyncio

            from fastapi import APIRouter, Depends

            router = APIRouter()

            class Tunnel:
                async def close(self) -> None: ...

            class TunnelPool:
                def __init__(self) -> None:
                    self.tunnels: dict[str, Tunnel] = {}

                async def remove(self, replica_id: str) -> None:
                    tunnel = self.tunnels.pop(replica_id, None)
                    if tunnel is not None:
                        await tunnel.close()

            pool = TunnelPool()

            async def drop_tunnels(replica_ids: list[str], tunnels: TunnelPool) -> None:
                await asyncio.gather(*map(tunnels.remove, replica_ids), return_exceptions=True)

            def get_pool() -> TunnelPool:
                return pool

            @router.post("/services/{name}/unregister", status_code=204)
            async def unregister(name: str, replica_ids: list[str], tunnels: TunnelPool = Depends(get_pool)) -> None:
                await drop_tunnels(replica_ids, tunnels)
                await asyncio.gather(*[t.close() for t in list(tunnels.tunnels.values())])
            """
        ),
        Valid(
            # The abstract base's default runs for no request: the partial base in between
            # declares no `@abstractmethod` of its own, but leaves `get` unimplemented, so
            # only `SQLReportStore` is ever built, and it overrides `batch_get`.
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends, Query

            from app.reports import ReportStore, get_report_store

            router = APIRouter()

            @router.get("/reports")
            async def batch_get_reports(
                ids: Annotated[list[int], Query()], store: ReportStore = Depends(get_report_store)
            ) -> list[dict | None]:
                return await store.batch_get(ids)
            """,
            filename="app/routes.py",
            files={
                "app/reports.py": """
                    import asyncio
                    from abc import ABC, abstractmethod

                    class ReportStore(ABC):
                        @abstractmethod
                        async def get(self, report_id: int) -> dict | None: ...

                        @abstractmethod
                        async def count(self) -> int: ...

                        async def batch_get(self, report_ids: list[int]) -> list[dict | None]:
                            return await asyncio.gather(*[self.get(r) for r in report_ids])

                    class CountingReportStore(ReportStore, ABC):
                        async def count(self) -> int:
                            return 0

                    async def get_report_store() -> ReportStore:
                        from app.sql_reports import SQLReportStore
                        return SQLReportStore()
                """,
                "app/sql_reports.py": """
                    from app.reports import CountingReportStore

                    class SQLReportStore(CountingReportStore):
                        async def get(self, report_id: int) -> dict | None:
                            return None

                        async def batch_get(self, report_ids: list[int]) -> list[dict | None]:
                            return [None for _ in report_ids]
                """,
            },
        ),
        Valid(
            # The files of a stopped worker: as many as it left on disk, not what a client sent.
            """
            import asyncio
            import glob
            import os

            from aiofiles.os import remove
            from fastapi import Request, Response

            from app.settings import Settings

            async def forget_worker(settings: Settings, pid: int) -> None:
                stale = glob.glob(os.path.join(settings.state_dir, f"*_{pid}.db"))
                await asyncio.gather(*[remove(path) for path in stale])

            def state_page(request: Request) -> Response:
                return Response("ok")
            """,
            filename="app/state.py",
            files={
                "app/settings.py": """
                    from pydantic_settings import BaseSettings

                    class Settings(BaseSettings):
                        state_dir: str = "/tmp/state"
                """
            },
        ),
        Valid(
            # A length check that raises before the fan-out, `Query(max_length=...)` on the
            # list, `Field(max_length=...)` on a body field: the client cannot send more.
            """
            import asyncio
            from typing import Annotated

            import httpx
            from fastapi import FastAPI, HTTPException, Query
            from pydantic import BaseModel, Field

            app = FastAPI()
            client = httpx.AsyncClient(timeout=10)

            class Batch(BaseModel):
                urls: list[str] = Field(max_length=50)

            class Probe(BaseModel):
                hosts: list[str]

            @app.get("/status")
            async def status(url: Annotated[list[str], Query(max_length=20)]) -> list[int]:
                responses = await asyncio.gather(*(client.get(u) for u in url))
                return [r.status_code for r in responses]

            @app.post("/check")
            async def check(batch: Batch) -> list[int]:
                responses = await asyncio.gather(*(client.get(u) for u in batch.urls))
                return [r.status_code for r in responses]

            @app.post("/ping")
            async def ping(hosts: list[str]) -> list[int]:
                if not hosts or len(hosts) > 100:
                    raise HTTPException(400, "send 1 to 100 hosts")
                unique = sorted(set(hosts))
                responses = await asyncio.gather(*[client.get(f"https://{h}/health") for h in unique])
                return [r.status_code for r in responses]

            @app.post("/probe")
            async def probe(body: Probe) -> list[int]:
                if len(body.hosts) > 100:
                    raise HTTPException(400, "send at most 100 hosts")
                responses = await asyncio.gather(*[client.get(f"https://{h}/health") for h in body.hosts])
                return [r.status_code for r in responses]
            """
        ),
        Valid(
            # The route refuses more than 100 ids before it hands them to the service, the
            # only caller of the method that gathers.
            """
            import asyncio
            from uuid import UUID

            class NoteService:
                async def get_note(self, note_id: UUID) -> dict | None:
                    return None

                async def batch_get_notes(self, owner: str, note_ids: list[UUID]) -> list[dict | None]:
                    return await asyncio.gather(*[self.get_note(n) for n in note_ids])

            def get_note_service() -> NoteService:
                return NoteService()
            """,
            filename="app/notes.py",
            files={
                "app/routes.py": """
                    from typing import Annotated
                    from uuid import UUID

                    from fastapi import APIRouter, Depends, HTTPException, Query

                    from app.notes import NoteService, get_note_service

                    router = APIRouter()

                    @router.get("/notes")
                    async def batch_get_notes(
                        owner: str, id: Annotated[list[str], Query()], service: NoteService = Depends(get_note_service)
                    ) -> list[dict | None]:
                        if len(id) > 100:
                            raise HTTPException(400, f"Cannot request more than 100 notes at once, got {len(id)}")
                        note_ids = [UUID(i) for i in id]
                        return await service.batch_get_notes(owner, note_ids)
                """
            },
        ),
        Valid(
            # The route hands the service's method capped ids through the class
            # (`NoteService.batch_get_notes(service, ...)`): `service` is `self`, the
            # list is `note_ids`, as in `service.batch_get_notes(...)`.
            """
            import asyncio
            from uuid import UUID

            class NoteService:
                async def get_note(self, note_id: UUID) -> dict | None:
                    return None

                async def batch_get_notes(self, note_ids: list[UUID]) -> list[dict | None]:
                    return await asyncio.gather(*[self.get_note(n) for n in note_ids])

            def get_note_service() -> NoteService:
                return NoteService()
            """,
            filename="app/notes.py",
            files={
                "app/routes.py": """
                    from typing import Annotated
                    from uuid import UUID

                    from fastapi import APIRouter, Depends, Query

                    from app.notes import NoteService, get_note_service

                    router = APIRouter()

                    @router.get("/notes")
                    async def list_notes(
                        id: Annotated[list[str], Query(max_length=100)],
                        service: NoteService = Depends(get_note_service),
                    ) -> list[dict | None]:
                        return await NoteService.batch_get_notes(service, [UUID(i) for i in id])
                """
            },
        ),
        Valid(
            # The list comes from a function that cuts what it returns to a count
            # (`[:max_urls]`), and every route passes a count of its own (1, a local 3).
            """
            import asyncio

            import httpx

            from app.llm import suggest_urls

            client = httpx.AsyncClient(timeout=10)

            async def read_pages(question: str, max_pages: int = 1) -> list[str]:
                urls = await suggest_urls(question, max_pages)
                pages = await asyncio.gather(*[client.get(url) for url in urls])
                return [page.text for page in pages]
            """,
            filename="app/pages.py",
            files={
                "app/llm.py": """
                    import json

                    from app.model import complete

                    async def suggest_urls(question: str, max_urls: int) -> list[str]:
                        answer = json.loads(await complete(f"Which pages answer {question!r}? At most {max_urls}."))
                        urls = {str(url).strip() for url in answer.get("links", [])}
                        if not urls:
                            return []
                        return list(urls)[:max_urls]
                """,
                "app/model.py": """
                    async def complete(prompt: str) -> str:
                        return "{}"
                """,
                "app/routes.py": """
                    from fastapi import APIRouter

                    from app.pages import read_pages

                    router = APIRouter()

                    @router.get("/answer")
                    async def answer(q: str) -> list[str]:
                        return await read_pages(q, max_pages=1)

                    @router.get("/research")
                    async def research(q: str) -> list[str]:
                        depth = 3
                        return await read_pages(q, max_pages=depth)
                """,
            },
        ),
    )
    invalid = (
        Invalid(
            # The rows are read by the request's own list of tokens: as many as the client sent.
            """
            import asyncio

            from fastapi import Depends, FastAPI
            from pydantic import BaseModel
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            class DeleteKeys(BaseModel):
                tokens: list[str]

            async def invalidate(token: str) -> None: ...

            @app.post("/keys/delete")
            async def delete_keys(body: DeleteKeys, session: AsyncSession = Depends(get_session)):
                rows = (await session.scalars(select(Key).where(Key.token.in_(body.tokens)))).all()
                await asyncio.gather(*(invalidate(row.token) for row in rows))
                return {"deleted": len(rows)}
            """,
            lines=(18,),
        ),
        Invalid(
            """
            import asyncio

            import httpx
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()
            client = httpx.AsyncClient(timeout=10)

            class Batch(BaseModel):
                urls: list[str]

            @app.post("/check")
            async def check(batch: Batch):
                responses = await asyncio.gather(*(client.get(u) for u in batch.urls))
                return [r.status_code for r in responses]
            """,
            lines=(15,),
        ),
        Invalid(
            """
            import asyncio
            from asyncio import gather

            from fastapi import FastAPI

            app = FastAPI()

            @app.post("/notify")
            async def notify(user_ids: list[int]):
                unique = set(user_ids)
                tasks = []
                for uid in unique:
                    tasks.append(asyncio.create_task(send_push(uid)))
                await gather(*tasks)
                return {"sent": len(tasks)}
            """,
            lines=(14,),
        ),
        Invalid(
            """
            import asyncio
            from abc import abstractmethod
            from pathlib import Path

            from app.store import EventStore

            class FileEventStore(EventStore):
                @abstractmethod
                def _read(self, path: Path) -> dict | None: ...

                async def get(self, event_id: str) -> dict | None:
                    return await asyncio.to_thread(self._read, Path(f"{event_id}.json"))

                async def batch_get(self, event_ids: list[str]) -> list[dict | None]:
                    return await asyncio.gather(*[self.get(e) for e in event_ids])

            class LocalEventStore(FileEventStore):
                def _read(self, path: Path) -> dict | None:
                    return None
            """,
            lines=(15,),
            filename="app/file_store.py",
            files={
                "app/store.py": """
                    from abc import ABC, abstractmethod

                    class EventStore(ABC):
                        @abstractmethod
                        async def get(self, event_id: str) -> dict | None: ...

                        async def batch_get(self, event_ids: list[str]) -> list[dict | None]:
                            return [await self.get(e) for e in event_ids]
                """,
                "app/routes.py": """
                    from typing import Annotated

                    from fastapi import APIRouter, Depends, Query

                    from app.store import EventStore

                    router = APIRouter()

                    def get_store() -> EventStore:
                        from app.file_store import LocalEventStore
                        return LocalEventStore()

                    @router.get("/events")
                    async def batch_get_events(
                        ids: Annotated[list[str], Query()], store: EventStore = Depends(get_store)
                    ) -> list[dict | None]:
                        return await store.batch_get(ids)
                """,
            },
        ),
        Invalid(
            # A check that only logs bounds nothing; a `max_length` on the items' type
            # bounds each item, not how many there are.
            """
            import asyncio
            import logging
            from typing import Annotated

            import httpx
            from fastapi import FastAPI, Query
            from pydantic import Field

            app = FastAPI()
            client = httpx.AsyncClient(timeout=10)
            log = logging.getLogger(__name__)

            @app.post("/ping")
            async def ping(hosts: list[str]) -> list[int]:
                if len(hosts) > 100:
                    log.warning("a large batch: %d hosts", len(hosts))
                responses = await asyncio.gather(*[client.get(f"https://{h}/health") for h in hosts])
                return [r.status_code for r in responses]

            @app.get("/status")
            async def status(url: Annotated[list[Annotated[str, Field(max_length=200)]], Query()]) -> list[int]:
                responses = await asyncio.gather(*(client.get(u) for u in url))
                return [r.status_code for r in responses]
            """,
            lines=(17, 22),
        ),
        Invalid(
            # One route checks the length, the other hands the method its whole body.
            """
            import asyncio
            from uuid import UUID

            class NoteService:
                async def get_note(self, note_id: UUID) -> dict | None:
                    return None

                async def batch_get_notes(self, owner: str, note_ids: list[UUID]) -> list[dict | None]:
                    return await asyncio.gather(*[self.get_note(n) for n in note_ids])

            def get_note_service() -> NoteService:
                return NoteService()
            """,
            lines=(9,),
            filename="app/notes.py",
            files={
                "app/routes.py": """
                    from typing import Annotated
                    from uuid import UUID

                    from fastapi import APIRouter, Depends, HTTPException, Query

                    from app.notes import NoteService, get_note_service

                    router = APIRouter()

                    @router.get("/notes")
                    async def batch_get_notes(
                        owner: str, id: Annotated[list[str], Query()], service: NoteService = Depends(get_note_service)
                    ) -> list[dict | None]:
                        if len(id) > 100:
                            raise HTTPException(400, f"Cannot request more than 100 notes at once, got {len(id)}")
                        return await service.batch_get_notes(owner, [UUID(i) for i in id])

                    @router.post("/notes/export")
                    async def export_notes(
                        owner: str, note_ids: list[UUID], service: NoteService = Depends(get_note_service)
                    ) -> list[dict | None]:
                        return await service.batch_get_notes(owner, note_ids)
                """
            },
        ),
        Invalid(
            # The same cut, but a route lets the client choose the count.
            """
            import asyncio

            import httpx

            from app.llm import suggest_urls

            client = httpx.AsyncClient(timeout=10)

            async def read_pages(question: str, max_pages: int = 1) -> list[str]:
                urls = await suggest_urls(question, max_pages)
                pages = await asyncio.gather(*[client.get(url) for url in urls])
                return [page.text for page in pages]
            """,
            lines=(11,),
            filename="app/pages.py",
            files={
                "app/llm.py": """
                    import json

                    from app.model import complete

                    async def suggest_urls(question: str, max_urls: int) -> list[str]:
                        answer = json.loads(await complete(f"Which pages answer {question!r}? At most {max_urls}."))
                        urls = {str(url).strip() for url in answer.get("links", [])}
                        if not urls:
                            return []
                        return list(urls)[:max_urls]
                """,
                "app/model.py": """
                    async def complete(prompt: str) -> str:
                        return "{}"
                """,
                "app/routes.py": """
                    from fastapi import APIRouter

                    from app.pages import read_pages

                    router = APIRouter()

                    @router.get("/answer")
                    async def answer(q: str) -> list[str]:
                        return await read_pages(q, max_pages=1)

                    @router.get("/research")
                    async def research(q: str, limit: int = 3) -> list[str]:
                        return await read_pages(q, max_pages=limit)
                """,
            },
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if not any(isinstance(a, ast.Starred) for a in node.args):
            return
        if not isinstance(node.func, ast.Name | ast.Attribute) or ctx.resolve(node.func) not in GATHER:
            return
        func = ctx.function()
        if func is None or ctx.module.is_test:
            return
        if request_scope(ctx) is None:
            web_module = ctx.module.imports_module("fastapi") or ctx.module.imports_module("starlette")
            if not web_module or called_only_outside_requests(ctx.project, func):
                return  # not request-handling code: the fan-out size is not the client's
        for arg in node.args:
            if not isinstance(arg, ast.Starred):
                continue
            built = _fan_out(arg.value, func)
            if built is None:
                continue
            iterable, element = built
            if is_fixed_iteration(ctx, iterable) or _is_chunk(ctx, iterable) or _is_listing(func, iterable):
                continue
            tainted = _request_names(ctx.project, func)
            names = _iter_names(iterable) & tainted
            if not names or self._limited(ctx, func, element) or _releases(ctx, func, element):
                continue
            if not self._from_client(ctx.project, func, iterable):
                continue
            if _bounded(ctx.project, func, iterable, node):
                continue  # `if len(ids) > 100: raise ...` first, or `Query(max_length=100)`
            source = ctx.source.segment(iterable)
            label = source if len(source) <= 40 and "\n" not in source else sorted(names)[0]
            ctx.report(
                node,
                f"`gather()` starts one coroutine per item of `{label}` all at once, with no limit; "
                "bound the concurrency with an `asyncio.Semaphore` (or process the items in chunks).",
            )
            return

    @staticmethod
    def _from_client(project: Project, func: FunctionInfo, iterable: ast.expr) -> bool:
        """Can the list hold what the client sent? In a route, unless it comes only
        from dependencies (the authenticated user's row) and server reads; elsewhere,
        unless every caller passes values read or held on the server."""
        sources = _origins(project, func, iterable)
        if sources is None:
            return True
        if not sources:
            return False  # read or held on the server, whoever calls the function
        client = _route_request_parameters(project, func)
        if client is not None:
            return bool(sources & client)
        return _callers_send_request_data(project, func, sources)

    @staticmethod
    def _limited(ctx: FileContext, func: FunctionInfo, element: ast.expr | None) -> bool:
        # A semaphore or limiter anywhere in the function (nested coroutines included).
        for sub in ast.walk(func.node):
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Name | ast.Attribute)
                and ctx.resolve(sub.func) in LIMITERS
            ):
                return True
        # The gathered coroutine limits itself.
        call = element
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name | ast.Attribute)
            and ctx.resolve(call.func) in _TASK_WRAPPERS
            and call.args
        ):
            call = call.args[0]
        target: str | None = None
        if isinstance(call, ast.Call):
            target = ctx.call_target(call)
        elif isinstance(call, ast.Name | ast.Attribute):  # map(coro, xs)
            target = ctx.resolve(call)
        callee = ctx.project.calls.by_qualname.get(target) if target else None
        if callee is None and isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            callee = _nested(func, call.func.id)
        return callee is not None and _limits_itself(callee)


def _nested(func: FunctionInfo, name: str) -> FunctionInfo | None:
    for stmt in ast.walk(func.node):
        if isinstance(stmt, ast.AsyncFunctionDef | ast.FunctionDef) and stmt.name == name:
            return func.module.function_of_node.get(stmt)
    return None
