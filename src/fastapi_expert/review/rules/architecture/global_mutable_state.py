from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.rules.architecture._deps import FunctionNode
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

_MUTABLE_CALLS = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.Counter",
        "collections.deque",
    }
)
_MUTATORS = frozenset(
    {
        "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault",
        "add", "discard", "appendleft", "popleft", "extendleft", "sort", "reverse",
        "difference_update", "intersection_update", "symmetric_difference_update", "__setitem__",
        "__delitem__",
    }
)


def _is_mutable(module: ModuleInfo, value: ast.expr) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        return module.resolve(value.func) in _MUTABLE_CALLS
    return False


def _is_number(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and isinstance(value.value, int | float) and not isinstance(value.value, bool)


def _bound_locally(func: FunctionNode) -> tuple[set[str], set[str]]:
    """(names declared `global`, names bound locally without `global`)."""
    declared: set[str] = set()
    local: set[str] = set()
    args = func.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            local.add(arg.arg)
    for node in own_nodes(func):
        if isinstance(node, ast.Global):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            local.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            local.update((a.asname or a.name).split(".")[0] for a in node.names)
    return declared, local - declared


class GlobalMutableState(Rule):
    """Flags module-level containers mutated by route handlers and dependencies.

    ## What it does
    Finds module-level lists, dicts, sets (literals, comprehensions,
    `list()`/`dict()`/`set()`, `defaultdict`, `deque`, `Counter`, ...) that a
    route handler, dependency or middleware mutates: `.append()`, `.update()`,
    `.pop()`, `x[k] = v`, `del x[k]`, `x[k] += 1`, or rebinding through
    `global x` (of a container, or `+=` on a module-level counter). Reading a
    module-level constant, mutating at import time, and helpers that no route
    reaches directly are not flagged.

    ## Why is this bad?
    A module-level object is shared by every request the worker serves at the
    same time: read-modify-write sequences interleave across `await` points
    (and across threads for sync routes), so updates get lost or a dict
    changes size during iteration. It is also private to one worker process:
    with `--workers 4` or several replicas, each sees its own copy, so the
    "registry" or "rate limit" silently differs from request to request and
    vanishes on restart.

    ## References
    - https://fastapi.tiangolo.com/deployment/concepts/#replication-processes-and-memory
    - https://fastapi.tiangolo.com/async/#concurrency-and-burgers
    - https://docs.python.org/3/library/asyncio-sync.html
    """

    code = "FX107"
    name = "global-mutable-state"
    summary = "A module-level container mutated by request handlers is shared, racy state."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from functools import lru_cache

            from fastapi import FastAPI

            app = FastAPI()
            COUNTRY_NAMES = {"fr": "France", "de": "Germany"}
            SUPPORTED = []
            SUPPORTED.extend(sorted(COUNTRY_NAMES))

            @lru_cache
            def get_settings() -> dict[str, str]:
                return {"region": "eu"}

            @app.get("/countries/{code}")
            def country(code: str):
                names = {}
                names[code] = COUNTRY_NAMES.get(code)
                return names
            """
        ),
        Valid(
            """
            from fastapi import FastAPI

            app = FastAPI()
            _seen = set()

            def remember(key: str) -> None:  # not a route: nothing to say here
                _seen.add(key)

            @app.get("/ping")
            def ping():
                return {"seen": len(_seen)}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from collections import defaultdict

            from fastapi import FastAPI, Request

            app = FastAPI()
            items: dict[int, dict] = {}
            hits = defaultdict(int)
            request_count = 0

            @app.post("/items/{item_id}")
            async def create_item(item_id: int, item: dict):
                items[item_id] = item
                return item

            @app.delete("/items/{item_id}")
            async def delete_item(item_id: int):
                items.pop(item_id, None)

            @app.get("/items")
            async def list_items(request: Request):
                global request_count
                request_count += 1
                hits[request.client.host] += 1
                return list(items.values())
            """,
            lines=(12, 17, 22, 23),
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI, Request

            app = FastAPI()
            active_sessions = []

            def audit(request: Request):
                active_sessions.append(request.headers.get("x-session"))

            @app.get("/me", dependencies=[Depends(audit)])
            def me():
                return {"sessions": len(active_sessions)}
            """,
            lines=(7,),
        ),
    )

    def __init__(self) -> None:
        self._cache: dict[int, dict[str, ast.expr]] = {}

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _module_state(self, module: ModuleInfo) -> dict[str, ast.expr]:
        key = id(module)
        if key not in self._cache:
            self._cache[key] = {
                name: value
                for name, value in module.assignments.items()
                if _is_mutable(module, value) or _is_number(value)
            }
        return self._cache[key]

    def _is_handler(self, node: FunctionNode, func: FunctionInfo, ctx: FileContext) -> bool:
        if ctx.routes_of(node) or ctx.is_dependency(node):
            return True
        return any(m.target == func.qualname for m in ctx.project.fastapi.middleware)

    def _check(self, node: FunctionNode, ctx: FileContext) -> None:
        func = ctx.module.function_of_node.get(node)
        if func is None or ctx.module.is_test or not self._is_handler(node, func, ctx):
            return
        state = self._module_state(ctx.module)
        if not state:
            return
        declared, local = _bound_locally(node)
        reported: set[int] = set()

        def shared(name: str) -> bool:
            return name in state and name not in local

        def report(at: ast.AST, name: str, how: str) -> None:
            if id(at) in reported:
                return
            reported.add(id(at))
            ctx.report(
                at,
                f"`{func.name}` {how} module-level `{name}`, state shared by every concurrent request "
                f"and private to one worker process; keep it in a shared store (database, Redis) "
                f"or inject an object that owns it and its locking.",
            )

        for child in own_nodes(node):
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                owner = child.func.value
                if child.func.attr in _MUTATORS and isinstance(owner, ast.Name) and shared(owner.id) and _is_mutable(ctx.module, state[owner.id]):
                    report(child, owner.id, f"calls `.{child.func.attr}()` on")
            elif isinstance(child, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = child.targets if isinstance(child, ast.Assign | ast.Delete) else [child.target]
                for target in targets:
                    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and shared(target.value.id):
                        verb = "deletes from" if isinstance(child, ast.Delete) else "writes to"
                        report(child, target.value.id, verb)
                    elif isinstance(target, ast.Name) and target.id in declared and target.id in state:
                        value = state[target.id]
                        if isinstance(child, ast.AugAssign) or _is_mutable(ctx.module, value):
                            report(child, target.id, "rebinds (`global`)")
