"""What the testing rules share: test clients, pytest fixtures, conftest scope.

No rule lives here. Everything is answered from the project model and from the
bodies of single functions; results that need the whole project are cached on
the `Project` instance's identity by the caller (rules keep one cache per review).
"""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project

TESTCLIENT_CLASSES = frozenset({"fastapi.testclient.TestClient", "starlette.testclient.TestClient"})
HTTPX_ASYNC_CLIENTS = frozenset({"httpx.AsyncClient", "httpx._client.AsyncClient"})
HTTPX_SYNC_CLIENTS = frozenset({"httpx.Client", "httpx._client.Client"})
ASGI_TRANSPORTS = frozenset({"httpx.ASGITransport", "httpx._transports.asgi.ASGITransport"})
# Every client whose `.post(data=...)` goes through httpx's request encoding.
HTTPX_BASED_CLIENTS = TESTCLIENT_CLASSES | HTTPX_ASYNC_CLIENTS | HTTPX_SYNC_CLIENTS
FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})
_ITERATOR_WRAPPERS = frozenset(
    {
        "typing.Iterator", "typing.Generator", "typing.AsyncIterator", "typing.AsyncGenerator",
        "collections.abc.Iterator", "collections.abc.Generator",
        "collections.abc.AsyncIterator", "collections.abc.AsyncGenerator",
        "typing_extensions.Iterator", "typing_extensions.Generator",
    }
)


def class_is(project: Project, qualname: str | None, classes: frozenset[str]) -> bool:
    """Is `qualname` one of `classes`, or a project class deriving from one?"""
    if qualname is None:
        return False
    if qualname in classes:
        return True
    symbol = project.lookup(qualname)
    return isinstance(symbol, ClassInfo) and bool(project.class_bases(symbol) & classes)


def constructs(project: Project, module: ModuleInfo, call: ast.Call, classes: frozenset[str]) -> bool:
    """Does `call` instantiate one of `classes` (through aliases and subclasses)?"""
    return class_is(project, project.resolve(module, call.func), classes)


def is_testclient_call(project: Project, module: ModuleInfo, node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and constructs(project, module, node, TESTCLIENT_CLASSES)


# -- pytest fixtures ----------------------------------------------------------


def fixture_name(func: FunctionInfo) -> str | None:
    """The name a pytest fixture is requested by, or None if `func` is no fixture."""
    module = func.module
    for deco in func.node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if module.resolve(target) not in FIXTURE_DECORATORS:
            continue
        if isinstance(deco, ast.Call):
            for kw in deco.keywords:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    return kw.value.value
        return func.name
    return None


def visible_conftests(project: Project, module: ModuleInfo) -> list[ModuleInfo]:
    """The `conftest.py` modules whose fixtures `module` sees (its directory and above)."""
    here = PurePosixPath(module.path).parent
    out = []
    for other in project.modules:
        p = PurePosixPath(other.path)
        if p.name != "conftest.py" or other is module:
            continue
        folder = p.parent
        if folder == here or folder in here.parents or str(folder) in {"", "."}:
            out.append(other)
    return out


def find_fixture(project: Project, module: ModuleInfo, name: str) -> FunctionInfo | None:
    """The fixture `name` as a test in `module` would receive it (own module first)."""
    for candidate in [module, *visible_conftests(project, module)]:
        for func in candidate.all_functions:
            if func.parent is None and fixture_name(func) == name:
                return func
    return None


def _returned_names(func: FunctionInfo) -> set[str]:
    names: set[str] = set()
    for node in own_nodes(func.node):
        if isinstance(node, ast.Return | ast.Yield) and isinstance(node.value, ast.Name):
            names.add(node.value.id)
    return names


def _annotation_class(project: Project, module: ModuleInfo, ann: ast.expr | None) -> str | None:
    """The class an annotation names, looking inside `Iterator[X]` / `Generator[X, ...]`."""
    if ann is None:
        return None
    _m, inner, _meta = project.annotated_parts(module, ann)
    if isinstance(inner, ast.Subscript) and project.resolve(module, inner.value) in _ITERATOR_WRAPPERS:
        first = inner.slice.elts[0] if isinstance(inner.slice, ast.Tuple) and inner.slice.elts else inner.slice
        return project.annotation_type(module, first)
    return project.annotation_type(module, ann)


def fixture_client_class(
    project: Project, func: FunctionInfo, classes: frozenset[str], _depth: int = 0
) -> bool:
    """Does fixture `func` hand its tests an instance of one of `classes`?

    True when its return annotation names one (also inside `Iterator[...]`), when it
    builds one in its own body and returns or yields it, or when it passes on the
    value of another fixture that does (`def auth_client(client): ...; return client`).
    """
    module = func.module
    if class_is(project, _annotation_class(project, module, func.node.returns), classes):
        return True
    returned = _returned_names(func)
    for node in own_nodes(func.node):
        if isinstance(node, ast.Return | ast.Yield) and isinstance(node.value, ast.Call):
            if constructs(project, module, node.value, classes):
                return True
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                var = item.optional_vars
                if (
                    isinstance(var, ast.Name)
                    and var.id in returned
                    and isinstance(item.context_expr, ast.Call)
                    and constructs(project, module, item.context_expr, classes)
                ):
                    return True
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and any(isinstance(t, ast.Name) and t.id in returned for t in node.targets)
            and constructs(project, module, node.value, classes)
        ):
            return True
    if _depth >= 4:
        return False
    params = {a.arg for a in [*func.node.args.posonlyargs, *func.node.args.args, *func.node.args.kwonlyargs]}
    for name in returned & params:
        upstream = find_fixture(project, module, name)
        if upstream is not None and upstream is not func and fixture_client_class(project, upstream, classes, _depth + 1):
            return True
    return False


def parameters(func: FunctionInfo) -> list[ast.arg]:
    args = func.node.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]
