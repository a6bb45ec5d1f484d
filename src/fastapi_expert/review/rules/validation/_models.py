"""Helpers shared by the Pydantic & data-validation rules (no rule lives here).

What is a Pydantic model, which models a route reads (request bodies) and
writes (response models), how a route parameter reaches FastAPI (`Query`,
`Body`, ...), and whether the project is on Pydantic v2.
"""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_nodes,
    parameter_defaults,
)
from fastapi_expert.review.model.project import Project

MODEL_BASES = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic.RootModel",
        "pydantic.root_model.RootModel",
        "sqlmodel.SQLModel",
        "sqlmodel.main.SQLModel",
    }
)
SETTINGS_BASES = frozenset(
    {
        "pydantic_settings.BaseSettings",
        "pydantic_settings.main.BaseSettings",
        "pydantic.BaseSettings",
        "pydantic.env_settings.BaseSettings",
    }
)
DATACLASS_DECORATORS = frozenset({"dataclasses.dataclass", "pydantic.dataclasses.dataclass"})
CLASSVAR = frozenset({"typing.ClassVar", "typing_extensions.ClassVar"})
PYDANTIC_FIELD = frozenset({"pydantic.Field", "pydantic.fields.Field", "sqlmodel.Field", "sqlmodel.main.Field"})
CONFIG_DICT = frozenset({"pydantic.ConfigDict", "pydantic.config.ConfigDict"})

_PARAM_KINDS = ("Query", "Path", "Body", "Header", "Cookie", "Form", "File", "Depends", "Security")
PARAM_FUNCTIONS: dict[str, str] = {
    f"{prefix}.{name}": name.lower()
    for prefix in ("fastapi", "fastapi.params", "fastapi.param_functions")
    for name in _PARAM_KINDS
}
REQUEST_CLASSES = frozenset({"fastapi.Request", "fastapi.requests.Request", "starlette.requests.Request"})

_V2_NAMES = frozenset(
    {
        "pydantic.ConfigDict",
        "pydantic.field_validator",
        "pydantic.model_validator",
        "pydantic.field_serializer",
        "pydantic.model_serializer",
        "pydantic.computed_field",
        "pydantic.TypeAdapter",
        "pydantic.RootModel",
        "pydantic.AliasChoices",
        "pydantic.AliasPath",
        "pydantic.ValidationInfo",
        "pydantic.SerializationInfo",
        "pydantic.BeforeValidator",
        "pydantic.AfterValidator",
        "pydantic.WrapValidator",
        "pydantic.PlainValidator",
        "pydantic.PlainSerializer",
        "pydantic.WrapSerializer",
        "pydantic.validate_call",
        "pydantic.with_config",
        "pydantic.JsonValue",
        "pydantic.Discriminator",
        "pydantic.Tag",
        "pydantic.SkipValidation",
        "pydantic.InstanceOf",
    }
)
_V2_MODULES = ("pydantic_settings", "pydantic_core", "pydantic.v1")


# -- classes ------------------------------------------------------------------


def class_info(module: ModuleInfo, node: ast.ClassDef) -> ClassInfo | None:
    """The ClassInfo of a module-level class node (None for nested classes)."""
    info = module.classes.get(node.name)
    return info if info is not None and info.node is node else None


def all_bases(project: Project, module: ModuleInfo, node: ast.ClassDef) -> set[str]:
    """Every base of a class node, through project classes, canonicalised."""
    out: set[str] = set()
    for base in node.bases:
        expr = base.value if isinstance(base, ast.Subscript) else base
        if not isinstance(expr, ast.Name | ast.Attribute):
            continue
        qual = project.resolve(module, expr)
        if not qual:
            continue
        out.add(qual)
        sym = project.lookup(qual)
        if isinstance(sym, ClassInfo):
            out.add(sym.qualname)
            out |= project.class_bases(sym)
    return out


def is_model_node(project: Project, module: ModuleInfo, node: ast.ClassDef) -> bool:
    """A Pydantic v2 / SQLModel model class (settings classes excluded)."""
    bases = all_bases(project, module, node)
    return bool(bases & MODEL_BASES) and not bases & SETTINGS_BASES


def is_settings_node(project: Project, module: ModuleInfo, node: ast.ClassDef) -> bool:
    return bool(all_bases(project, module, node) & SETTINGS_BASES)


def is_model_class(project: Project, cls: ClassInfo) -> bool:
    bases = project.class_bases(cls)
    return bool(bases & MODEL_BASES) and not bases & SETTINGS_BASES


def model_class(project: Project, qualname: str | None) -> ClassInfo | None:
    """The project model class a qualified name denotes."""
    sym = project.lookup(qualname)
    if isinstance(sym, ClassInfo) and is_model_class(project, sym):
        return sym
    return None


def is_dataclass_node(project: Project, module: ModuleInfo, node: ast.ClassDef) -> bool:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Name | ast.Attribute) and project.resolve(module, target) in DATACLASS_DECORATORS:
            return True
    return False


def is_table_model(node: ast.ClassDef) -> bool:
    """A SQLModel `table=True` class (not validated on construction)."""
    return any(k.arg == "table" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords)


_FROM_ATTRIBUTES = frozenset({"from_attributes", "orm_mode"})


def _true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def own_config(project: Project, module: ModuleInfo, node: ast.ClassDef) -> Iterator[tuple[str, ast.expr]]:
    """The (setting, value expression) pairs of the class's own config, wherever it
    is written: class keywords (`class M(BaseModel, extra="allow")`), `model_config =
    ConfigDict(...)` or a `{...}` dict, and v1's `class Config:` assignments. Only
    what the class itself declares, not what it inherits."""
    for kw in node.keywords:
        if kw.arg is not None:
            yield kw.arg, kw.value
    for stmt in node.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            value = stmt.value
            if not (isinstance(target, ast.Name) and target.id == "model_config") or value is None:
                continue
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute):
                resolved = project.resolve(module, value.func) or ""
                if resolved in CONFIG_DICT or resolved.endswith("ConfigDict"):
                    yield from ((kw.arg, kw.value) for kw in value.keywords if kw.arg is not None)
            elif isinstance(value, ast.Dict):
                for key, item in zip(value.keys, value.values, strict=False):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        yield key.value, item
        elif isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
            for inner in stmt.body:
                if isinstance(inner, ast.Assign):
                    for name in inner.targets:
                        if isinstance(name, ast.Name):
                            yield name.id, inner.value


def reads_attributes(project: Project, module: ModuleInfo, node: ast.ClassDef) -> bool:
    """Does the class's own config say it is read from objects (`from_attributes=True`,
    v1 `orm_mode = True`)? Such a model is built from ORM rows: an output or
    internal shape, not what a client sends."""
    return any(key in _FROM_ATTRIBUTES and _true(value) for key, value in own_config(project, module, node))


@dataclass
class FieldDef:
    """One annotated attribute in a class body."""

    stmt: ast.AnnAssign
    name: str

    @property
    def annotation(self) -> ast.expr:
        return self.stmt.annotation

    @property
    def value(self) -> ast.expr | None:
        return self.stmt.value


_RELATIONSHIP = frozenset({"sqlmodel.Relationship", "sqlmodel.main.Relationship"})


def own_fields(project: Project, module: ModuleInfo, node: ast.ClassDef) -> Iterator[FieldDef]:
    """Annotated attributes of a class body that are fields (not ClassVar, not a
    SQLModel `Relationship()`: an ORM link that Pydantic neither validates nor
    serialises, so a response model never carries what it points to)."""
    for stmt in node.body:
        if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
            continue
        if is_classvar(project, module, stmt.annotation) or _is_relationship(project, module, stmt.value):
            continue
        yield FieldDef(stmt, stmt.target.id)


def _is_relationship(project: Project, module: ModuleInfo, value: ast.expr | None) -> bool:
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name == "Relationship" and project.resolve(module, func) in _RELATIONSHIP


def is_classvar(project: Project, module: ModuleInfo, annotation: ast.expr) -> bool:
    expr = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value.startswith(("ClassVar", "typing.ClassVar"))
    if not isinstance(expr, ast.Name | ast.Attribute):
        return False
    return project.resolve(module, expr) in CLASSVAR


def inherited_fields(project: Project, cls: ClassInfo) -> Iterator[tuple[ClassInfo, FieldDef]]:
    """Fields of a class and of its project base classes (nearest first)."""
    seen: set[str] = set()
    stack = [cls]
    while stack:
        current = stack.pop(0)
        if current.qualname in seen:
            continue
        seen.add(current.qualname)
        for f in own_fields(project, current.module, current.node):
            yield current, f
        for base in current.bases:
            sym = project.lookup(base)
            if isinstance(sym, ClassInfo):
                stack.append(sym)


# -- annotations --------------------------------------------------------------


def annotation_classes(project: Project, module: ModuleInfo, annotation: ast.expr | None) -> list[ClassInfo]:
    """Project classes named anywhere in a type (`list[UserOut] | None` -> UserOut)."""
    out: list[ClassInfo] = []
    if annotation is None:
        return out
    inner_module, inner, _meta = project.annotated_parts(module, annotation)
    if inner is not None:
        _collect_classes(project, inner_module, inner, out, 0)
    return out


def _collect_classes(project: Project, module: ModuleInfo, expr: ast.expr, out: list[ClassInfo], depth: int) -> None:
    if depth > 8:
        return
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            parsed = ast.parse(expr.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return
        _collect_classes(project, module, parsed, out, depth + 1)
    elif isinstance(expr, ast.Subscript):
        _collect_classes(project, module, expr.value, out, depth + 1)
        parts = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        for part in parts:
            _collect_classes(project, module, part, out, depth + 1)
    elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        _collect_classes(project, module, expr.left, out, depth + 1)
        _collect_classes(project, module, expr.right, out, depth + 1)
    elif isinstance(expr, ast.Tuple | ast.List):
        for elt in expr.elts:
            _collect_classes(project, module, elt, out, depth + 1)
    elif isinstance(expr, ast.Name | ast.Attribute):
        sym = project.lookup(module.resolve(expr))
        if isinstance(sym, ClassInfo):
            if all(c is not sym for c in out):
                out.append(sym)
        elif isinstance(sym, tuple):
            alias_module, value = sym
            if isinstance(value, ast.Subscript | ast.BinOp | ast.Name | ast.Attribute):
                _collect_classes(project, alias_module, value, out, depth + 1)


# type constructors an annotation wraps its element types in
_WRAPPERS = frozenset(
    {
        "typing.Optional",
        "typing.Union",
        "typing_extensions.Optional",
        "typing_extensions.Union",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
        "builtins.frozenset",
        "typing.List",
        "typing.Tuple",
        "typing.Set",
        "typing.FrozenSet",
        "typing.Sequence",
        "collections.abc.Sequence",
    }
)


def only_models(project: Project, module: ModuleInfo, annotation: ast.expr | None) -> bool:
    """Does the type name project models and nothing else (`Item`, `Item | None`,
    `list[Item]`, `Optional["Item"]`, through `Annotated` and aliases)? A value of
    it serialises as the models' fields only."""
    if annotation is None:
        return False
    inner_module, inner, _meta = project.annotated_parts(module, annotation)
    if inner is None:
        return False
    leaves: list[ast.expr] = []
    stack: list[ast.expr] = [inner]
    while stack and len(leaves) < 20:
        expr = stack.pop()
        if isinstance(expr, ast.Constant) and (expr.value is None or expr.value is Ellipsis):
            continue  # `Item | None`, `tuple[Item, ...]`
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            try:  # a forward reference, `"Item | None"`
                stack.append(ast.parse(expr.value, mode="eval").body)
            except (SyntaxError, ValueError, RecursionError):
                return False
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            stack += [expr.left, expr.right]
        elif (
            isinstance(expr, ast.Subscript)
            and isinstance(expr.value, ast.Name | ast.Attribute)
            and project.resolve(inner_module, expr.value) in _WRAPPERS
        ):
            stack += expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        else:
            leaves.append(expr)
    return bool(leaves) and all(
        isinstance(leaf, ast.Name | ast.Attribute)
        and model_class(project, project.resolve(inner_module, leaf)) is not None
        for leaf in leaves
    )


def is_optional(project: Project, module: ModuleInfo, annotation: ast.expr) -> bool:
    """`Optional[T]`, `T | None`, `Union[..., None]` (through `Annotated`)."""
    inner_module, inner, _ = project.annotated_parts(module, annotation)
    return inner is not None and _is_optional(project, inner_module, inner, 0)


def _is_none(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None


def _is_optional(project: Project, module: ModuleInfo, expr: ast.expr, depth: int) -> bool:
    if depth > 5:
        return False
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            parsed = ast.parse(expr.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return False
        return _is_optional(project, module, parsed, depth + 1)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        return _is_none(expr.left) or _is_none(expr.right) or _is_optional(project, module, expr.left, depth + 1) or _is_optional(project, module, expr.right, depth + 1)
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name | ast.Attribute):
        head = project.resolve(module, expr.value)
        if head in {"typing.Optional", "typing_extensions.Optional"}:
            return True
        if head in {"typing.Union", "typing_extensions.Union"}:
            parts = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
            return any(_is_none(p) for p in parts)
    return False


# -- route parameters ---------------------------------------------------------


@dataclass
class Param:
    """One parameter of an endpoint or dependency, as FastAPI will read it."""

    arg: ast.arg
    default: ast.expr | None
    kind: str | None  # "query", "body", "depends", ... from the marker; None without one
    marker: ast.Call | None
    marker_in_default: bool
    module: ModuleInfo  # where `inner` and `meta` resolve
    inner: ast.expr | None  # the annotation without `Annotated[...]`
    meta: list[ast.expr] = field(default_factory=list)


def param_kind(project: Project, module: ModuleInfo, expr: ast.expr | None) -> tuple[str, ast.Call] | None:
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name | ast.Attribute):
        kind = PARAM_FUNCTIONS.get(project.resolve(module, expr.func) or "")
        if kind is not None:
            return kind, expr
    return None


_DEPENDENCY_KINDS = frozenset({"depends", "security"})


def _returned_dependency(project: Project, func: FunctionInfo) -> ast.Call | None:
    """The `Depends(...)` / `Security(...)` a project function returns (a factory
    such as `def LimitBody(): ...; return Depends(get_limit)`), if every return does."""
    found: ast.Call | None = None
    local: dict[str, ast.expr] = {}
    returns: list[ast.expr] = []
    for node in own_nodes(func.node):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            local[node.targets[0].id] = node.value
        elif isinstance(node, ast.Return) and node.value is not None:
            returns.append(node.value)
    for returned in returns:
        value = local.get(returned.id, returned) if isinstance(returned, ast.Name) else returned
        kind = param_kind(project, func.module, value)
        if kind is None or kind[0] not in _DEPENDENCY_KINDS:
            return None
        found = found or kind[1]
    return found


def default_dependency(project: Project, module: ModuleInfo, default: ast.expr | None) -> tuple[str, ast.Call] | None:
    """A default that is a dependency although it is not spelled `Depends(...)` here:
    a module-level alias (`CurrentUser = Depends(get_user)`, also imported), or a
    call to a project function that returns one (`limit: int = LimitBody()`)."""
    if isinstance(default, ast.Name | ast.Attribute):
        sym = project.lookup(project.resolve(module, default))
        if isinstance(sym, tuple):
            alias_module, value = sym
            kind = param_kind(project, alias_module, value)
            if kind is not None and kind[0] in _DEPENDENCY_KINDS:
                return kind
    elif isinstance(default, ast.Call) and isinstance(default.func, ast.Name | ast.Attribute):
        sym = project.lookup(project.resolve(module, default.func))
        if isinstance(sym, FunctionInfo):
            call = _returned_dependency(project, sym)
            if call is not None:
                kind_name = param_kind(project, sym.module, call)
                if kind_name is not None:
                    return kind_name
    return None


def parameters(project: Project, func: FunctionInfo) -> list[Param]:
    module = func.module
    args = func.node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = parameter_defaults(func.node)
    out: list[Param] = []
    for arg in [*positional, *args.kwonlyargs]:
        if arg.arg in {"self", "cls"}:
            continue
        default = defaults.get(arg.arg)
        inner_module, inner, meta = project.annotated_parts(module, arg.annotation)
        found = param_kind(project, module, default)
        in_default = found is not None
        if found is None:
            for where, m in project.annotated_metadata(module, arg.annotation):
                found = param_kind(project, where, m)
                if found is not None:
                    break
        kind, marker = found if found is not None else (None, None)
        if kind is None:
            aliased = default_dependency(project, module, default)
            if aliased is not None:
                # the marker lives in another function or module: not for fixes
                kind, marker, in_default = aliased[0], None, False
        out.append(Param(arg, default, kind, marker, in_default, inner_module, inner, meta))
    return out


def path_names(route: Route) -> set[str]:
    names: set[str] = set()
    for path in [route.path or "", *route.full_paths]:
        names |= {m.split(":", 1)[0] for m in re.findall(r"{([^}]*)}", path)}
    return names


def routes_path_names(routes: list[Route]) -> set[str]:
    """The path parameter names of all `routes` (of one endpoint) together."""
    names: set[str] = set()
    for route in routes:
        names |= path_names(route)
    return names


def http_routes(project: Project, node: ast.AST) -> list[Route]:
    return [r for r in project.fastapi.routes_for(node) if not r.is_websocket]


# -- which models are read and written ------------------------------------------


@dataclass
class Usage:
    """Model qualname -> the routes that read it as a body / write it as a response."""

    request: dict[str, list[Route]] = field(default_factory=dict)
    response: dict[str, list[Route]] = field(default_factory=dict)
    # model qualname -> routes where it is *directly* the body / response (not nested)
    direct_request: dict[str, list[Route]] = field(default_factory=dict)
    direct_response: dict[str, list[Route]] = field(default_factory=dict)


_USAGE: weakref.WeakKeyDictionary[Project, Usage] = weakref.WeakKeyDictionary()


def usage(project: Project) -> Usage:
    cached = _USAGE.get(project)
    if cached is None:
        cached = _build_usage(project)
        _USAGE[project] = cached
    return cached


def request_models(project: Project, route: Route) -> list[ClassInfo]:
    """Model classes the route reads as its body (or form)."""
    func = route.endpoint
    if func is None:
        return []
    out: list[ClassInfo] = []
    in_path = path_names(route)
    for p in parameters(project, func):
        if p.kind not in {None, "body", "form"} or p.arg.arg in in_path:
            continue
        for cls in annotation_classes(project, func.module, p.arg.annotation):
            if is_model_class(project, cls) and cls not in out:
                out.append(cls)
    return out


def response_models(project: Project, route: Route) -> list[ClassInfo]:
    """Model classes the route serialises (`response_model=` or the return annotation)."""
    if route.is_websocket:
        return []
    has_keyword = any(k.arg == "response_model" for k in route.node.keywords)
    if has_keyword:
        expr = route.keyword("response_model")
        classes = annotation_classes(project, route.module, expr)
    elif route.endpoint is not None:
        classes = annotation_classes(project, route.endpoint.module, route.endpoint.node.returns)
    else:
        classes = []
    return [c for c in classes if is_model_class(project, c)]


def _nested(project: Project, roots: list[ClassInfo], memo: dict[ClassInfo, list[ClassInfo]]) -> list[ClassInfo]:
    """Roots and the models their fields contain, transitively. `memo` keeps the
    models each class's fields name (in order, repeats included): many routes
    share their models."""
    out: list[ClassInfo] = []
    stack = list(roots)
    while stack and len(out) < 500:
        cls = stack.pop()
        if cls in out:
            continue
        out.append(cls)
        subs = memo.get(cls)
        if subs is None:
            subs = memo[cls] = [
                sub
                for owner, f in inherited_fields(project, cls)
                for sub in annotation_classes(project, owner.module, f.annotation)
                if is_model_class(project, sub)
            ]
        for sub in subs:
            if sub not in out:
                stack.append(sub)
    return out


def _build_usage(project: Project) -> Usage:
    result = Usage()
    memo: dict[ClassInfo, list[ClassInfo]] = {}
    for route in project.fastapi.routes:
        if route.is_websocket:
            continue
        req = request_models(project, route)
        resp = response_models(project, route)
        for cls in req:
            result.direct_request.setdefault(cls.qualname, []).append(route)
        for cls in resp:
            result.direct_response.setdefault(cls.qualname, []).append(route)
        for cls in _nested(project, req, memo):
            result.request.setdefault(cls.qualname, []).append(route)
        for cls in _nested(project, resp, memo):
            result.response.setdefault(cls.qualname, []).append(route)
    return result


# -- names --------------------------------------------------------------------

_INPUT_SUFFIXES = ("Create", "Update", "In", "Input", "Request", "Payload", "Patch")
_OUTPUT_SUFFIXES = ("Out", "Response", "Read", "Public", "Output")


def _suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    return any(name == s or (name.endswith(s) and not name[-len(s) - 1].isupper()) for s in suffixes)


def named_like_input(name: str) -> bool:
    return _suffix(name, _INPUT_SUFFIXES)


def named_like_output(name: str) -> bool:
    return _suffix(name, _OUTPUT_SUFFIXES)


def describe_route(route: Route) -> str:
    method = route.methods[0] if route.methods else "GET"
    return f"{method} {route.display_path}"


# -- project facts -------------------------------------------------------------

_V2: weakref.WeakKeyDictionary[Project, bool] = weakref.WeakKeyDictionary()


def uses_pydantic_v2(project: Project) -> bool:
    """Does the code show it runs on Pydantic v2 (v2-only imports or `model_config`)?"""
    cached = _V2.get(project)
    if cached is None:
        cached = _uses_v2(project)
        _V2[project] = cached
    return cached


def _uses_v2(project: Project) -> bool:
    for module in project.modules:
        for qual in module.imports.values():
            if qual in _V2_NAMES or qual.startswith(tuple(m + "." for m in _V2_MODULES)) or qual in _V2_MODULES:
                return True
        if any(m == p or m.startswith(p + ".") for m in module.imported_modules for p in _V2_MODULES):
            return True
        for cls in module.classes.values():
            for stmt in cls.node.body:
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else (
                    stmt.target if isinstance(stmt, ast.AnnAssign) else None
                )
                if isinstance(target, ast.Name) and target.id == "model_config":
                    return True
    return False


def local_name_for(module: ModuleInfo, qualnames: frozenset[str] | set[str]) -> str | None:
    """A module-level name bound (by import) to one of `qualnames`."""
    for local, qual in module.imports.items():
        if qual in qualnames:
            return local
    return None


def name_is_free(module: ModuleInfo, name: str) -> bool:
    return (
        name not in module.imports
        and name not in module.classes
        and name not in module.functions
        and name not in module.assignments
    )


_V1_ONLY = frozenset({"pydantic.BaseSettings", "pydantic.env_settings", "pydantic.generics", "pydantic.generics.GenericModel"})


def uses_pydantic_v1_only(project: Project) -> bool:
    """Does the code show it runs on Pydantic v1 (v1-only imports, no v2 evidence)?"""
    if uses_pydantic_v2(project):
        return False
    return any(qual in _V1_ONLY for module in project.modules for qual in module.imports.values())
