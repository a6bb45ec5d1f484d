"""Per-file facts: imports with aliases, definitions and module-level names.

Everything here is computed from one file alone, so it can be cached and built
in parallel; cross-file questions are answered by `project.Project`.
"""

from __future__ import annotations

import ast
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import TypeVar, cast

from fastapi_expert.review.source import SourceFile

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_N = TypeVar("_N", bound=ast.AST)


@dataclass(eq=False)
class FunctionInfo:
    """A function or method defined in the project."""

    qualname: str
    node: FunctionNode
    module: ModuleInfo
    class_name: str | None = None
    parent: FunctionInfo | None = None

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def is_async(self) -> bool:
        return isinstance(self.node, ast.AsyncFunctionDef)

    @cached_property
    def is_generator(self) -> bool:
        """True when the body yields (a FastAPI dependency with teardown)."""
        if not self.module.may_yield(self.node):
            return False
        return bool(own_nodes_of(self.node, ast.Yield) or own_nodes_of(self.node, ast.YieldFrom))


@dataclass(eq=False)
class ClassInfo:
    """A class defined in the project, with its bases resolved to qualified names."""

    qualname: str
    node: ast.ClassDef
    module: ModuleInfo
    bases: list[str] = field(default_factory=list)
    methods: dict[str, FunctionInfo] = field(default_factory=dict)


def parameter_defaults(node: FunctionNode) -> dict[str, ast.expr]:
    """Parameter name -> its default value, for the parameters that have one
    (positional and keyword-only)."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    out: dict[str, ast.expr] = {}
    for arg, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=False):
        out[arg.arg] = default
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=False):
        if kw_default is not None:
            out[arg.arg] = kw_default
    return out


def scope_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Nodes of a statement list in source order, not descending into nested
    functions, classes or lambdas (uncached, unlike `own_nodes`)."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _NESTED_SCOPES):
            continue
        children = child_nodes(node)
        children.reverse()
        stack.extend(children)


def scope_nodes_of(body: list[ast.stmt], types: tuple[type[_N], ...]) -> list[_N]:
    """The nodes of `scope_nodes(body)` that are instances of `types`, in the same
    order. One pass with the children gathered inline, no generator, and no
    descent into operators and expression contexts (so `types` must not be one of
    those): for a caller that wants a few node types out of a whole scope, about
    twice as fast as filtering `scope_nodes`."""
    out: list[_N] = []
    append = out.append
    stack: list[ast.AST] = list(reversed(body))
    pop, extend = stack.pop, stack.extend
    fields_of = _own_fields_of
    node_class = ast.AST
    while stack:
        node = pop()
        if isinstance(node, types):
            append(node)
        if isinstance(node, _NESTED_SCOPES):
            continue
        fields = fields_of.get(node.__class__)
        if fields is None:
            fields = fields_of[node.__class__] = fields_but(node.__class__, NEVER_NODE_FIELDS | OPERATOR_FIELDS)
        children: list[ast.AST] = []
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, node_class):
                        children.append(item)
            elif isinstance(value, node_class):
                children.append(value)
        if children:
            children.reverse()
            extend(children)
    return out


def own_nodes(func: ast.AST) -> tuple[ast.AST, ...]:
    """Nodes of a function's own body, not of functions or classes nested in it.

    Many rules ask this of the same function, so the answer is kept on the node
    itself (its lifetime is the tree's). The nodes and their order are those of
    a walk with `ast.iter_child_nodes`, less the operator and expression-context
    singletons (`Add`, `Eq`, `Load`: a third of all nodes, read by rules only as
    `node.op` or `node.ctx`); the children are gathered inline because the
    generator it uses was most of the cost of building the call graph."""
    cached: tuple[ast.AST, ...] | None = getattr(func, "_fx_own_nodes", None)
    if cached is not None:
        return cached
    out: list[ast.AST] = []
    append = out.append
    stack: list[ast.AST] = []
    push = stack.append
    pop = stack.pop
    fields_of = _own_fields_of
    node = func
    while True:
        fields = fields_of.get(node.__class__)
        if fields is None:
            fields = fields_of[node.__class__] = fields_but(node.__class__, NEVER_NODE_FIELDS | OPERATOR_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        push(item)
            elif isinstance(value, ast.AST):
                push(value)
        while stack:
            node = pop()
            append(node)
            if not isinstance(node, _NESTED_SCOPES):
                break
        else:
            break
    result = tuple(out)
    func._fx_own_nodes = result  # type: ignore[attr-defined]
    return result


def own_nodes_of(func: ast.AST, node_type: type[_N]) -> Sequence[_N]:
    """The nodes of `own_nodes(func)` of exactly `node_type`, in the same order.

    Most callers want one or two node types out of hundreds of nodes: an index
    by type, kept on the node, spares each of them a pass over all of them."""
    index: dict[type[ast.AST], list[ast.AST]] | None = getattr(func, "_fx_own_index", None)
    if index is None:
        index = {}
        for node in own_nodes(func):
            found = index.get(node.__class__)
            if found is None:
                index[node.__class__] = [node]
            else:
                found.append(node)
        func._fx_own_index = index  # type: ignore[attr-defined]
    return cast("list[_N]", index.get(node_type, []))


def own_statements(func: FunctionNode) -> list[ast.AST]:
    """The statements of a function's own body, blocks of compound statements
    included (with their except handlers and match cases), nested functions and
    classes not entered. Statements are a small part of a tree: a caller that
    wants only statement types (assignments, `with`) walks far fewer nodes
    than with `own_nodes`, which nothing else may have computed yet."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(reversed(func.body))
    while stack:
        stmt = stack.pop()
        out.append(stmt)
        if isinstance(stmt, _NESTED_SCOPES):
            continue
        for name in reversed(_blocks(type(stmt))):
            block = getattr(stmt, name, None)
            if block:
                stack.extend(reversed(block))
    return out


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# Fields that only ever hold names, flags or constants, never a node: not worth a getattr.
NEVER_NODE_FIELDS = frozenset(
    {"id", "attr", "arg", "module", "asname", "level", "kind", "type_comment", "conversion", "is_async", "simple", "tag"}
)
# Fields that hold only operators and expression contexts (`Add`, `Eq`, `Load`):
# singletons that rules read through their parent, never look for in a walk.
OPERATOR_FIELDS = frozenset({"ctx", "op", "ops"})
_child_fields_of: dict[type[ast.AST], tuple[str, ...]] = {}
_own_fields_of: dict[type[ast.AST], tuple[str, ...]] = {}


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """`list(ast.iter_child_nodes(node))`, without its generators."""
    out: list[ast.AST] = []
    for name in _child_fields(type(node)):
        value = getattr(node, name, None)
        if value.__class__ is list:
            for item in value:
                if isinstance(item, ast.AST):
                    out.append(item)
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


def _child_fields(node_type: type[ast.AST]) -> tuple[str, ...]:
    """The fields of a node type that may hold child nodes, in `_fields` order."""
    found = _child_fields_of.get(node_type)
    if found is None:
        found = _child_fields_of[node_type] = fields_but(node_type, NEVER_NODE_FIELDS)
    return found


def fields_but(node_type: type[ast.AST], skip: frozenset[str]) -> tuple[str, ...]:
    """The fields of `node_type` not in `skip`, in `_fields` order (a constant's
    `value` is never a node either)."""
    return tuple(f for f in node_type._fields if f not in skip and not (node_type is ast.Constant and f == "value"))


def module_name_for(path: str) -> str:
    """Dotted module name of a relative path (`app/api/users.py` -> `app.api.users`)."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    while parts and parts[0] in {".", ""}:
        parts.pop(0)
    return ".".join(parts)


@dataclass(eq=False)
class ModuleInfo:
    """Facts about one parsed file."""

    source: SourceFile
    name: str
    is_package: bool
    imports: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    assignments: dict[str, ast.expr] = field(default_factory=dict)
    all_functions: list[FunctionInfo] = field(default_factory=list)
    function_of_node: dict[ast.AST, FunctionInfo] = field(default_factory=dict)
    imported_modules: set[str] = field(default_factory=set)
    # Modules whose public names a module-level `from X import *` brings in.
    star_imports: list[str] = field(default_factory=list)
    _imports_cache: dict[str, bool] = field(default_factory=dict, repr=False)
    _packages_cache: dict[tuple[str, ...], bool] = field(default_factory=dict, repr=False)
    _spelled: dict[str, bool] = field(default_factory=dict, repr=False)
    _node_index: dict[type[ast.AST], list[ast.AST]] | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def tree(self) -> ast.Module:
        return self.source.tree

    def nodes_of(self, node_type: type[_N]) -> Sequence[_N]:
        """Every node of exactly `node_type` in the whole file (nested functions,
        classes and lambdas included), in no promised order. One walk per file
        builds the index for every type: a rule that scans all the project's
        calls asks this rather than walking every tree with `ast.walk`, whose
        generators cost several times as much. Operators and contexts are not
        indexed."""
        index = self._node_index
        if index is None:
            index = self._node_index = {}
            fields_of = _own_fields_of
            skip = NEVER_NODE_FIELDS | OPERATOR_FIELDS
            stack: list[ast.AST] = [self.tree]
            while stack:
                node = stack.pop()
                node_class = node.__class__
                found = index.get(node_class)
                if found is None:
                    index[node_class] = [node]
                else:
                    found.append(node)
                fields = fields_of.get(node_class)
                if fields is None:
                    fields = fields_of[node_class] = fields_but(node_class, skip)
                for name in fields:
                    value = getattr(node, name, None)
                    if value.__class__ is list:
                        for item in value:
                            if isinstance(item, ast.AST):
                                stack.append(item)
                    elif isinstance(value, ast.AST):
                        stack.append(value)
        return cast("list[_N]", index.get(node_type, []))

    def imports_module(self, prefix: str) -> bool:
        """Does the file import `prefix` or any submodule of it?"""
        known = self._imports_cache.get(prefix)
        if known is None:
            known = any(m == prefix or m.startswith(prefix + ".") for m in self.imported_modules)
            self._imports_cache[prefix] = known
        return known

    def imports_any_package(self, packages: tuple[str, ...]) -> bool:
        """Does the file import a module of one of the top-level `packages`?
        Rules ask this for every call they see: the answer is kept per tuple."""
        known = self._packages_cache.get(packages)
        if known is None:
            tops = {m.split(".", 1)[0] for m in self.imported_modules}
            known = any(p in tops for p in packages)
            self._packages_cache[packages] = known
        return known

    @cached_property
    def identifier_text(self) -> str:
        """The source as the parser reads its identifiers: NFKC-normalised (`mount`
        spelled with a fullwidth "m", U+FF4D, is the name `mount`); the text itself
        when it is ASCII."""
        text = self.source.text
        return text if text.isascii() else unicodedata.normalize("NFKC", text)

    def spells(self, identifier: str) -> bool:
        """Can the name or attribute `identifier` occur in this file? True when it is
        written as a whole word somewhere (`main` in `main()`, not in `domain`), in
        code, a string or a comment. A cheap, never-wrong "no": a rule that scans the
        whole project for uses of a name reads only the files that spell it."""
        # Kept per name: project-wide scans ask it of every module, and on a large code
        # base several ask the same common name (`router`) once per object so named.
        known = self._spelled.get(identifier)
        if known is None:
            known = self._spelled[identifier] = self._spells(identifier)
        return known

    def _spells(self, identifier: str) -> bool:
        text = self.identifier_text
        size = len(identifier)
        start = text.find(identifier)
        while start != -1:
            before = text[start - 1] if start else " "
            after = text[start + size] if start + size < len(text) else " "
            if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
                return True
            start = text.find(identifier, start + 1)
        return False

    @cached_property
    def yield_lines(self) -> list[int]:
        """The numbers of the lines where `yield` is written (in code or not)."""
        if "yield" not in self.source.text:
            return []
        return [number for number, line in enumerate(self.source.lines, 1) if "yield" in line]

    def may_yield(self, func: FunctionNode) -> bool:
        """Can `func` have a `yield` of its own? Not when none of its lines (from
        its first decorator to its end) spells the keyword: a cheap test that
        spares walking most functions to find out."""
        lines = self.yield_lines
        if not lines:
            return False
        start = min([func.lineno, *(d.lineno for d in func.decorator_list)])
        i = bisect_left(lines, start)
        return i < len(lines) and (func.end_lineno is None or lines[i] <= func.end_lineno)

    @cached_property
    def is_test(self) -> bool:
        p = PurePosixPath(self.path)
        return (
            p.name.startswith("test_")
            or p.name.endswith("_test.py")
            or p.name == "conftest.py"
            or "tests" in p.parts
            or "test" in p.parts
        )

    # -- name resolution -------------------------------------------------

    def resolve_name(self, name: str) -> str | None:
        """Qualified name of a module-level name (imports, then local definitions)."""
        if name in self.imports:
            return self.imports[name]
        if name in self.functions or name in self.classes or name in self.assignments:
            return f"{self.name}.{name}" if self.name else name
        if name in _BUILTINS:
            return f"builtins.{name}"
        return None

    def resolve(self, expr: ast.expr) -> str | None:
        """Qualified name of a dotted expression (`f.Depends` -> `fastapi.Depends`)."""
        if isinstance(expr, ast.Name):
            return self.resolve_name(expr.id)
        if isinstance(expr, ast.Attribute):
            base = self.resolve(expr.value)
            return f"{base}.{expr.attr}" if base else None
        return None


_BUILTINS = frozenset(
    {
        "open", "input", "print", "eval", "exec", "compile", "dict", "list", "set",
        "tuple", "str", "int", "float", "bool", "bytes", "object", "type", "len",
        "range", "sorted", "any", "all", "isinstance", "getattr", "setattr", "hash",
        "__import__", "breakpoint", "id", "iter", "next", "map", "filter", "zip",
        "repr", "format", "vars", "globals", "locals", "super", "min", "max", "sum",
        "abs", "round", "divmod", "pow", "enumerate", "reversed", "frozenset", "bytearray",
        "memoryview", "callable", "issubclass", "hasattr", "delattr", "chr", "ord",
        "BaseException", "Exception", "ValueError", "TypeError", "KeyError", "IndexError",
        "RuntimeError", "AttributeError", "LookupError", "OSError", "IOError",
        "PermissionError", "FileNotFoundError", "NotImplementedError", "AssertionError",
        "ArithmeticError", "ZeroDivisionError", "UnicodeDecodeError", "UnicodeError",
        "StopIteration", "TimeoutError", "ConnectionError", "ImportError",
    }
)


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    package_parts = module.split(".") if module else []
    if not is_package and package_parts:
        package_parts = package_parts[:-1]
    if level > 1:
        package_parts = package_parts[: len(package_parts) - (level - 1)] if level - 1 <= len(package_parts) else []
    base = ".".join(package_parts)
    if target:
        return f"{base}.{target}" if base else target
    return base


_STATEMENT_LISTS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
_blocks_of: dict[type[ast.AST], tuple[str, ...]] = {}


def _blocks(node_type: type[ast.AST]) -> tuple[str, ...]:
    """The statement-list fields of a node type, in `_fields` order (the order a
    full walk would visit them in: a later binding of a name wins)."""
    found = _blocks_of.get(node_type)
    if found is None:
        found = tuple(f for f in node_type._fields if f in _STATEMENT_LISTS)
        _blocks_of[node_type] = found
    return found


class _Collector:
    """Fills a ModuleInfo in one pass over the statements.

    Imports, definitions and assignments are statements, so expressions are
    never entered (a lambda is not a definition here): that keeps this pass a
    fraction of a full walk."""

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        self.scope: list[str] = []
        self.class_stack: list[ClassInfo] = []
        self.func_stack: list[FunctionInfo] = []

    def _qual(self, name: str) -> str:
        parts = [self.info.name] if self.info.name else []
        return ".".join([*parts, *self.scope, name])

    def statements(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.statement(stmt)

    def statement(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            self._import(node)
        elif isinstance(node, ast.ImportFrom):
            self._import_from(node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self._function(node)
        elif isinstance(node, ast.ClassDef):
            self._class(node)
        else:
            if isinstance(node, ast.Assign):
                self._assign(node)
            elif isinstance(node, ast.AnnAssign):
                self._ann_assign(node)
            elif type(node).__name__ == "TypeAlias":  # Python 3.12 `type X = ...`
                self._type_alias(node)
            # Compound statements (if, try, with, for, while, match): their
            # blocks, in source order; except handlers and match cases hold theirs.
            for field_name in _blocks(type(node)):
                block = getattr(node, field_name, None)
                if block:
                    self.statements(block)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.info.imported_modules.add(alias.name)
            local, full = (alias.asname, alias.name) if alias.asname else (alias.name.split(".")[0],) * 2
            # As for `from x import y`: an `import shutil` inside a function (kept
            # there to keep start-up light) binds the name as if module-level, unless
            # the module binds it otherwise at its top.
            self.info.imports.setdefault(local, full)
            if not self.func_stack and not self.class_stack:
                self.info.imports[local] = full

    def _import_from(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = _resolve_relative(self.info.name, self.info.is_package, node.level, node.module)
        else:
            base = node.module or ""
        self.info.imported_modules.add(base)
        for alias in node.names:
            if alias.name == "*":
                # `build_module` reads the imports twice (first alone, then in order).
                if not self.func_stack and not self.class_stack and base and base not in self.info.star_imports:
                    self.info.star_imports.append(base)
                continue
            local = alias.asname or alias.name
            full = f"{base}.{alias.name}" if base else alias.name
            self.info.imported_modules.add(full)
            # Imports inside functions still tell us what the file uses, and the
            # names they bind are resolved as if module-level (rarely ambiguous).
            self.info.imports.setdefault(local, full)
            if not self.func_stack and not self.class_stack:
                self.info.imports[local] = full

    def _function(self, node: FunctionNode) -> None:
        info = FunctionInfo(
            qualname=self._qual(node.name),
            node=node,
            module=self.info,
            class_name=self.class_stack[-1].qualname if self.class_stack and not self.func_stack else None,
            parent=self.func_stack[-1] if self.func_stack else None,
        )
        self.info.all_functions.append(info)
        self.info.function_of_node[node] = info
        if not self.scope:
            self.info.functions[node.name] = info
        elif self.class_stack and not self.func_stack:
            self.class_stack[-1].methods[node.name] = info
        self.scope.append(node.name)
        self.func_stack.append(info)
        self.statements(node.body)
        self.func_stack.pop()
        self.scope.pop()

    def _class(self, node: ast.ClassDef) -> None:
        bases = [b for b in (self.info.resolve(base) for base in node.bases) if b]
        cls = ClassInfo(self._qual(node.name), node, self.info, bases)
        if not self.scope:
            self.info.classes[node.name] = cls
        self.scope.append(node.name)
        self.class_stack.append(cls)
        saved = self.func_stack
        self.func_stack = []
        self.statements(node.body)
        self.func_stack = saved
        self.class_stack.pop()
        self.scope.pop()

    def _assign(self, node: ast.Assign) -> None:
        if not self.scope:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.info.assignments[target.id] = node.value

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        if not self.scope and isinstance(node.target, ast.Name) and node.value is not None:
            self.info.assignments[node.target.id] = node.value

    def _type_alias(self, node: ast.AST) -> None:
        name = getattr(node, "name", None)
        value = getattr(node, "value", None)
        if not self.scope and isinstance(name, ast.Name) and isinstance(value, ast.expr):
            self.info.assignments[name.id] = value


def build_module(source: SourceFile, name: str | None = None) -> ModuleInfo:
    """Collect the per-file facts of `source`."""
    is_package = PurePosixPath(source.path).name == "__init__.py"
    info = ModuleInfo(source=source, name=name if name is not None else module_name_for(source.path), is_package=is_package)
    # Imports first, so class bases and decorators resolve whatever the order.
    collector = _Collector(info)
    for stmt in source.tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            collector.statement(stmt)
    collector.statements(source.tree.body)
    return info
