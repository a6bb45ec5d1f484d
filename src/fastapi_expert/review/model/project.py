"""The whole project: names across modules, types of receivers, and the
FastAPI and call-graph facts built on top of them (see `fastapi_model` and
`callgraph`)."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING

from fastapi_expert.review.model.blocking import (
    FACTORY_RETURNS,
    RESOURCE_ATTRIBUTES,
    RESOURCE_CLIENTS,
    TYPE_ALIASES,
)
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_statements,
)

if TYPE_CHECKING:
    from fastapi_expert.review.model.callgraph import CallGraph
    from fastapi_expert.review.model.fastapi_model import FastAPIModel

Symbol = FunctionInfo | ClassInfo | tuple[ModuleInfo, ast.expr]

_ANNOTATED = {"typing.Annotated", "typing_extensions.Annotated"}
_OPTIONAL = {"typing.Optional", "typing_extensions.Optional"}
_UNION = {"typing.Union", "typing_extensions.Union"}
_BINDINGS = (ast.Assign, ast.AnnAssign, ast.With, ast.AsyncWith)


class Project:
    """Every module of one review, and the questions that span them."""

    def __init__(self, modules: Iterable[ModuleInfo]) -> None:
        self.modules: list[ModuleInfo] = list(modules)
        self.by_name: dict[str, ModuleInfo] = {}
        # A project reviewed from above its import root names its modules with an
        # extra prefix (`myproject.app.services` for `import app.services`): a
        # unique suffix matches too, but only one that starts at a package of the
        # project. A plain module never starts one: `app/utils/time.py` must not
        # capture the standard library's `time` (nor `app/core/json.py` `json`).
        packages = {m.name for m in self.modules if m.is_package}
        self._by_suffix: dict[str, list[ModuleInfo]] = defaultdict(list)
        for module in self.modules:
            self.by_name.setdefault(module.name, module)
            parts = module.name.split(".")
            for i in range(1, len(parts)):
                if ".".join(parts[: i + 1]) in packages:
                    self._by_suffix[".".join(parts[i:])].append(module)
        self._var_types: dict[ast.AST, dict[str, str]] = {}
        self._lookups: dict[str, Symbol | None] = {}
        # Keyed by the node itself, not its id: a node parsed from a string
        # annotation may be freed and its id reused.
        self._resolved: dict[ast.AST, tuple[ModuleInfo, str | None]] = {}
        self._class_bases: dict[ClassInfo, set[str]] = {}
        self._self_attributes: dict[tuple[str, str], str | None] = {}

    # -- modules and symbols ---------------------------------------------

    def find_module(self, name: str) -> ModuleInfo | None:
        module = self.by_name.get(name)
        if module is not None:
            return module
        candidates = self._by_suffix.get(name, [])
        return candidates[0] if len(candidates) == 1 else None

    def lookup(self, qualname: str | None, _depth: int = 0) -> Symbol | None:
        """The project definition a qualified name denotes, following re-exports."""
        if not qualname or _depth > 20:
            return None
        if _depth == 0:
            if qualname in self._lookups:
                return self._lookups[qualname]
            found = self._lookup(qualname, 0)
            self._lookups[qualname] = found
            return found
        return self._lookup(qualname, _depth)

    def _lookup(self, qualname: str, _depth: int) -> Symbol | None:
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.find_module(".".join(parts[:cut]))
            if module is None:
                continue
            head, rest = parts[cut], parts[cut + 1 :]
            if head in module.functions and not rest:
                return module.functions[head]
            if head in module.classes:
                cls = module.classes[head]
                if not rest:
                    return cls
                if len(rest) == 1:
                    return self.find_method(cls, rest[0])
                return None
            if head in module.imports:
                return self.lookup(".".join([module.imports[head], *rest]), _depth + 1)
            if head in module.assignments and not rest:
                return (module, module.assignments[head])
            sub = self.find_module(".".join(parts[: cut + 1]))
            if sub is not None and sub is not module:
                continue
            if module.star_imports:
                return self._through_star_imports(module, head, rest, _depth)
            return None
        return None

    def _through_star_imports(self, module: ModuleInfo, head: str, rest: list[str], depth: int) -> Symbol | None:
        """`head` brought into `module` by `from .errors import *` (through chains
        of them too): the first module reached that binds it, looked up there.
        Each module is visited once, whatever cycles the star imports form."""
        if head.startswith("_"):
            return None  # a star import leaves private names out
        seen = {module.name}
        queue = list(module.star_imports)
        while queue:
            target = self.find_module(queue.pop(0))
            if target is None or target.name in seen:
                continue
            seen.add(target.name)
            if not _exports(target, head):
                continue
            if head in target.functions or head in target.classes or head in target.imports or head in target.assignments:
                return self.lookup(".".join([target.name, head, *rest]), depth + 1)
            queue.extend(target.star_imports)
        return None

    def canonical(self, qualname: str | None) -> str | None:
        """Follow re-exports to where a project name is defined; external names unchanged."""
        if qualname is None:
            return None
        symbol = self.lookup(qualname)
        if isinstance(symbol, FunctionInfo | ClassInfo):
            return symbol.qualname
        return TYPE_ALIASES.get(qualname, qualname)

    def find_method(self, cls: ClassInfo, name: str, _seen: set[str] | None = None) -> FunctionInfo | None:
        """A method of a project class or of its project base classes."""
        seen = _seen or set()
        if cls.qualname in seen:
            return None
        seen.add(cls.qualname)
        if name in cls.methods:
            return cls.methods[name]
        for base in cls.bases:
            base_cls = self.lookup(base)
            if isinstance(base_cls, ClassInfo):
                found = self.find_method(base_cls, name, seen)
                if found:
                    return found
        return None

    def class_bases(self, cls: ClassInfo, _seen: set[str] | None = None) -> set[str]:
        """All base names of a class, through project classes, canonicalised.

        Rules ask this of the same classes again and again: the answer is kept
        per class and shared, so callers must not change it."""
        if _seen is None:
            known = self._class_bases.get(cls)
            if known is None:
                known = self._class_bases[cls] = self._all_bases(cls, set())
            return known
        return self._all_bases(cls, _seen)

    def _all_bases(self, cls: ClassInfo, seen: set[str]) -> set[str]:
        out: set[str] = set()
        for base in cls.bases:
            canon = self.canonical(base) or base
            if canon in seen:
                continue
            seen.add(canon)
            out.add(canon)
            sym = self.lookup(base)
            if isinstance(sym, ClassInfo):
                out |= self.class_bases(sym, seen)
        return out

    def resolve(self, module: ModuleInfo, expr: ast.expr) -> str | None:
        """Canonical qualified name of a dotted expression in `module`.

        Rules ask this of the same expressions (a call's callee) many times
        over: the answer is kept per node, with the module it was asked in."""
        cached = self._resolved.get(expr)
        if cached is not None and cached[0] is module:
            return cached[1]
        found = self.canonical(module.resolve(expr))
        self._resolved[expr] = (module, found)
        return found

    def function_for(self, module: ModuleInfo, node: ast.AST) -> FunctionInfo | None:
        return module.function_of_node.get(node)

    # -- aliases and annotations ------------------------------------------

    def expand_alias(self, module: ModuleInfo, expr: ast.expr, _depth: int = 0) -> tuple[ModuleInfo, ast.expr]:
        """Replace a name bound to a type alias (`SessionDep = Annotated[...]`) by its value."""
        if _depth > 10 or not isinstance(expr, ast.Name | ast.Attribute):
            return module, expr
        symbol = self.lookup(module.resolve(expr))
        if isinstance(symbol, tuple):
            target_module, value = symbol
            if isinstance(value, ast.Subscript | ast.Name | ast.Attribute | ast.BinOp):
                return self.expand_alias(target_module, value, _depth + 1)
        return module, expr

    def annotated_parts(self, module: ModuleInfo, annotation: ast.expr | None) -> tuple[ModuleInfo, ast.expr | None, list[ast.expr]]:
        """Split `Annotated[T, m1, m2]` (through aliases) into T and its metadata."""
        if annotation is None:
            return module, None, []
        module, annotation = self.expand_alias(module, annotation)
        if isinstance(annotation, ast.Subscript) and self.resolve(module, annotation.value) in _ANNOTATED:
            elts = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
            if elts:
                inner_module, inner, meta = self.annotated_parts(module, elts[0])
                return inner_module, inner, [*meta, *elts[1:]]
        return module, annotation, []

    def annotated_metadata(self, module: ModuleInfo, annotation: ast.expr | None) -> list[tuple[ModuleInfo, ast.expr]]:
        """The metadata of `Annotated[T, m1, m2]` (through aliases, in the order of
        `annotated_parts`), each with the module it is written in, which is where its
        names resolve: an alias of an alias (`Dep = Annotated[Attrs, Depends(get)]`
        over `Attrs = dict[str, Any]` imported from another module) has its `Depends`
        in the outer alias's module, not in the module of the type it wraps."""
        if annotation is None:
            return []
        module, annotation = self.expand_alias(module, annotation)
        if isinstance(annotation, ast.Subscript) and self.resolve(module, annotation.value) in _ANNOTATED:
            elts = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
            if elts:
                return [*self.annotated_metadata(module, elts[0]), *((module, e) for e in elts[1:])]
        return []

    def annotation_type(self, module: ModuleInfo, annotation: ast.expr | None) -> str | None:
        """The class an annotation names, unwrapping Annotated, Optional and `X | None`."""
        module, inner, _ = self.annotated_parts(module, annotation)
        if inner is None:
            return None
        if isinstance(inner, ast.Subscript):
            head = self.resolve(module, inner.value)
            if head in _OPTIONAL:
                return self.annotation_type(module, inner.slice)
            if head in _UNION and isinstance(inner.slice, ast.Tuple):
                return self._first_non_none(module, inner.slice.elts)
            return head
        if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.BitOr):
            return self._first_non_none(module, [inner.left, inner.right])
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            try:
                parsed = ast.parse(inner.value, mode="eval").body
            except SyntaxError:
                return None
            return self.annotation_type(module, parsed)
        return self.resolve(module, inner)

    def _first_non_none(self, module: ModuleInfo, elts: list[ast.expr]) -> str | None:
        for elt in elts:
            if isinstance(elt, ast.Constant) and elt.value is None:
                continue
            return self.annotation_type(module, elt)
        return None

    # -- receivers and call targets ---------------------------------------

    def variable_types(self, func: FunctionInfo) -> dict[str, str]:
        """Local name -> type qualname, from annotations and constructor calls,
        in statement order (a later binding wins)."""
        cached = self._var_types.get(func.node)
        if cached is not None:
            return cached
        types: dict[str, str] = {}
        self._var_types[func.node] = types
        module = func.module
        args = func.node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            t = self.annotation_type(module, arg.annotation)
            if t:
                types[arg.arg] = TYPE_ALIASES.get(t, t)
        # All these bindings are statements: walking statements only finds the
        # same nodes as `own_nodes` for a fraction of the cost. Sorted by position.
        bindings: list[ast.Assign | ast.AnnAssign | ast.With | ast.AsyncWith] = [
            node for node in own_statements(func.node) if isinstance(node, _BINDINGS)
        ]
        bindings.sort(key=lambda n: (n.lineno, n.col_offset))
        for node in bindings:
            if isinstance(node, ast.Assign):
                if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    t = self._value_type(module, func, node.value, types)
                    if t:
                        types[node.targets[0].id] = t
            elif isinstance(node, ast.AnnAssign):
                if isinstance(node.target, ast.Name):
                    t = self.annotation_type(module, node.annotation)
                    if t:
                        types[node.target.id] = TYPE_ALIASES.get(t, t)
            else:
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        t = self._value_type(module, func, item.context_expr, types)
                        if t:
                            types[item.optional_vars.id] = t
        return types

    def instance_type(self, qualname: str | None, _depth: int = 0) -> str | None:
        """The type of a module-level instance (`pwd_context = CryptContext(...)`,
        `SessionLocal = sessionmaker(...)`), wherever it is imported from."""
        if _depth > 8:
            return None
        symbol = self.lookup(qualname)
        if not isinstance(symbol, tuple):
            return None
        module, value = symbol
        return self._value_type(module, None, value, {}, _depth + 1)

    def _value_type(
        self, module: ModuleInfo, func: FunctionInfo | None, value: ast.expr, types: dict[str, str], _depth: int = 0
    ) -> str | None:
        if isinstance(value, ast.Await):
            value = value.value
        if not isinstance(value, ast.Call) or _depth > 8:
            return None
        target = self._target(module, func, value.func, types, _depth)
        if target is None:
            return None
        if target in FACTORY_RETURNS:
            return FACTORY_RETURNS[target]
        symbol = self.lookup(target)
        if isinstance(symbol, ClassInfo):
            return symbol.qualname
        if isinstance(symbol, FunctionInfo) and symbol.node.returns is not None:
            t = self.annotation_type(symbol.module, symbol.node.returns)
            return TYPE_ALIASES.get(t, t) if t else None
        if isinstance(symbol, tuple):
            # Calling a module-level instance: `SessionLocal()` opens a Session.
            made = self.instance_type(target, _depth + 1)
            return FACTORY_RETURNS.get(f"{made}.__call__") if made else None
        last = target.rsplit(".", 1)[-1]
        if last[:1].isupper() and symbol is None:
            return TYPE_ALIASES.get(target, target)
        return None

    def _target(
        self, module: ModuleInfo, func: FunctionInfo | None, expr: ast.expr, types: dict[str, str], _depth: int = 0
    ) -> str | None:
        if isinstance(expr, ast.Name):
            if func is not None:
                if expr.id in types:
                    return None  # calling a variable: unknown
                nested = _nested_function(func, expr.id)
                if nested is not None:
                    return nested.qualname
            return self.canonical(module.resolve(expr))
        if isinstance(expr, ast.Attribute):
            base = expr.value
            if isinstance(base, ast.Name) and func is not None:
                if base.id in types:
                    return f"{types[base.id]}.{expr.attr}"
                if base.id in {"self", "cls"} and func.class_name:
                    cls = self.lookup(func.class_name)
                    if isinstance(cls, ClassInfo):
                        method = self.find_method(cls, expr.attr)
                        if method is not None:
                            return method.qualname
                    return None
            if isinstance(base, ast.Call):
                inner = self._value_type(module, func, base, types, _depth + 1)
                return f"{inner}.{expr.attr}" if inner else None
            if isinstance(base, ast.Attribute):
                chained = self._resource_chain(module, func, expr, types, _depth)
                if chained is not None:
                    return chained
            full = self.canonical(module.resolve(expr))
            if full is not None and isinstance(base, ast.Name | ast.Attribute) and self.lookup(full) is None:
                # `pwd_context.hash(...)` on a module-level instance
                made = self.instance_type(module.resolve(base), _depth + 1)
                if made is not None:
                    return f"{made}.{expr.attr}"
            return full
        return None

    def _resource_chain(
        self, module: ModuleInfo, func: FunctionInfo | None, expr: ast.Attribute, types: dict[str, str], _depth: int
    ) -> str | None:
        """`client.chat.completions.create` on an instance of an SDK client whose
        methods hang off resource attributes (`RESOURCE_CLIENTS`): the client's type
        and the chain (`openai.OpenAI.chat.completions.create`). The receiver may be
        a local, a module-level instance or a constructor call."""
        attrs: list[str] = []
        node: ast.expr = expr
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        client: str | None = None
        if attrs[-1] in RESOURCE_ATTRIBUTES:
            if isinstance(node, ast.Call):
                client = self._value_type(module, func, node, types, _depth + 1)
            elif isinstance(node, ast.Name) and func is not None and node.id in types:
                client = types[node.id]
            elif isinstance(node, ast.Name) and node.id not in {"self", "cls"}:
                client = self.instance_type(module.resolve(node), _depth + 1)
        elif (
            len(attrs) > 2
            and attrs[-2] in RESOURCE_ATTRIBUTES
            and isinstance(node, ast.Name)
            and node.id == "self"
            and func is not None
            and func.class_name
        ):
            # `self.docker_client.containers.list()`: a client the class holds.
            client = self.self_attribute_type(func.class_name, attrs.pop())
        # Nearly every chained call (`os.path.join`, `self.db.execute`) stops at the tests above.
        if client not in RESOURCE_CLIENTS:
            return None
        return ".".join([client, *reversed(attrs)])

    def self_attribute_type(self, class_name: str, attr: str) -> str | None:
        """The declared type of `self.<attr>` in a method of `class_name`: a class-level
        annotation (`docker_client: docker.DockerClient`, also a dataclass or Pydantic
        field) in the class or a project base, else a constructor call `__init__`
        assigns to it (`self.client = docker.from_env()`)."""
        key = (class_name, attr)
        if key in self._self_attributes:
            return self._self_attributes[key]
        self._self_attributes[key] = None  # `self.a = self.a.images.get()` must not recurse
        found: str | None = None
        cls = self.lookup(class_name)
        if isinstance(cls, ClassInfo):
            classes = [cls, *(c for c in map(self.lookup, sorted(self.class_bases(cls))) if isinstance(c, ClassInfo))]
            for klass in classes:
                found = self._declared_attribute(klass, attr)
                if found is not None:
                    break
        self._self_attributes[key] = found
        return found

    def _declared_attribute(self, cls: ClassInfo, attr: str) -> str | None:
        for stmt in cls.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == attr:
                declared = self.annotation_type(cls.module, stmt.annotation)
                return TYPE_ALIASES.get(declared, declared) if declared else None
        init = cls.methods.get("__init__")
        if init is None:
            return None
        for node in own_statements(init.node):
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(
                isinstance(t, ast.Attribute) and t.attr == attr and isinstance(t.value, ast.Name) and t.value.id == "self"
                for t in targets
            ):
                return self._value_type(cls.module, init, node.value, self.variable_types(init))
        return None

    def call_target(self, module: ModuleInfo, func: FunctionInfo | None, call: ast.Call) -> str | None:
        """What a call calls, as a canonical qualified name (`requests.get`,
        `sqlalchemy.orm.Session.execute`, `app.services.fetch_user`).

        Several rules ask about the same call: the answer is kept on the node,
        with the function it was asked in. Receiver types depend on that function,
        and the same call can be asked about from two (a nested function's
        decorators are walked in the enclosing function but are nodes of the
        nested one too): an answer from one is never given to the other, so no
        finding depends on who asked first."""
        scope = func.node if func is not None else None
        cached: tuple[ast.AST | None, str | None] | None = getattr(call, "_fx_target", None)
        if cached is not None and cached[0] is scope:
            return cached[1]
        target = self._call_target(module, func, call)
        call._fx_target = (scope, target)  # type: ignore[attr-defined]
        return target

    def _call_target(self, module: ModuleInfo, func: FunctionInfo | None, call: ast.Call) -> str | None:
        types = self.variable_types(func) if func is not None else {}
        target = self._target(module, func, call.func, types)
        if target is None:
            return None
        symbol = self.lookup(target)
        if isinstance(symbol, ClassInfo):
            init = self.find_method(symbol, "__init__")
            if init is not None:
                return init.qualname
        return target

    # -- derived models ---------------------------------------------------

    @cached_property
    def fastapi(self) -> FastAPIModel:
        from fastapi_expert.review.model.fastapi_model import FastAPIModel

        return FastAPIModel(self)

    @cached_property
    def calls(self) -> CallGraph:
        from fastapi_expert.review.model.callgraph import CallGraph

        return CallGraph(self)

    def all_functions(self) -> Iterable[FunctionInfo]:
        for module in self.modules:
            yield from module.all_functions


def _nested_function(func: FunctionInfo, name: str) -> FunctionInfo | None:
    """A function defined inside `func` (or an enclosing function) named `name`."""
    scope: FunctionInfo | None = func
    while scope is not None:
        found = _nested_defs(scope).get(name)
        if found is not None:
            return found
        scope = scope.parent
    return None


def _nested_defs(func: FunctionInfo) -> dict[str, FunctionInfo]:
    """The functions defined directly in `func`'s body, by name (kept on the node:
    every call by plain name asks this)."""
    cached: dict[str, FunctionInfo] | None = getattr(func.node, "_fx_nested_defs", None)
    if cached is None:
        cached = {}
        for stmt in func.node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                info = func.module.function_of_node.get(stmt)
                if info is not None:
                    cached.setdefault(stmt.name, info)
        func.node._fx_nested_defs = cached  # type: ignore[union-attr]
    return cached


def _exports(module: ModuleInfo, name: str) -> bool:
    """Does `from module import *` bind `name`: listed in a literal `__all__`
    when the module has one (a name `__all__` leaves out stays behind)?"""
    listed = module.assignments.get("__all__")
    if isinstance(listed, ast.List | ast.Tuple):
        return any(isinstance(e, ast.Constant) and e.value == name for e in listed.elts)
    return True


def _decorated(func: FunctionInfo, name: str) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id == name) or (isinstance(d, ast.Attribute) and d.attr == name)
        for d in func.node.decorator_list
    )


def positional_parameters(project: Project, module: ModuleInfo, callee: FunctionInfo, call: ast.Call) -> list[str]:
    """The names of `callee`'s parameters that the positional arguments of `call` (made
    in `module`) fill, in order. A method's receiver (`self`, `cls`) is left out when
    the call passes it implicitly: `obj.method(...)`, `super().method(...)`,
    `Class.classmethod(...)`. An unbound call through the class, `Class.method(obj, ...)`,
    passes `self` as its first argument: there it is kept."""
    args = callee.node.args
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    if (
        callee.class_name is None
        or not positional
        or positional[0] not in {"self", "cls"}
        or _decorated(callee, "staticmethod")
        or not isinstance(call.func, ast.Attribute)
    ):
        return positional
    receiver = call.func.value
    if (
        positional[0] == "self"
        and not _decorated(callee, "classmethod")
        and isinstance(receiver, ast.Name | ast.Attribute)
        and isinstance(project.lookup(project.resolve(module, receiver)), ClassInfo)
    ):
        return positional  # `Service.batch(self, ids)`: `self` is passed explicitly
    return positional[1:]
