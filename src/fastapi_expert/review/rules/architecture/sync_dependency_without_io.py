from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from fastapi_expert.review.model.fastapi_model import (
    DEPENDS,
    SECURITY,
    Dependency,
    Route,
    marker_target,
)
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    parameter_defaults,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.types import ChainLink, Edit, Fix, Severity

_MARKERS = DEPENDS | SECURITY
# How deep the purity test follows calls into other project functions.
_MAX_DEPTH = 3

# -- what a value is ---------------------------------------------------------
#
# The test reads every expression of the body with a coarse kind of value, which
# says what may be done with it without calling unknown code:
#   DATA    plain data (str, int, dict, a validated Pydantic model, a header):
#           attributes, subscripts and the cheap methods of builtin types;
#   REQUEST the Starlette request or WebSocket: a few attributes, all of them
#           reads of the ASGI scope;
#   STORED  something stored on `request.state` / `app.state` at start-up:
#           attribute and subscript reads (no method calls);
#   OPAQUE  anything else (a sub-dependency's result of unknown type, an ORM
#           object): it may be passed on, compared and returned, never read
#           into: an attribute of an ORM object may lazy-load a relationship
#           (a query), and a property may do anything.
# A project class or an instance of one is ("class", qualname) / ("model",
# qualname): its fields are data, its methods and properties unknown code.

DATA = ("data", "")
REQUEST = ("request", "")
STORED = ("stored", "")
OPAQUE = ("opaque", "")
Kind = tuple[str, str]

_DATA_TYPES = frozenset(
    {
        *(f"builtins.{t}" for t in ("str", "int", "float", "bool", "bytes", "dict", "list", "tuple", "set", "frozenset")),
        *(f"typing.{t}" for t in ("Dict", "List", "Tuple", "Set", "FrozenSet", "Mapping", "Sequence", "Literal")),
        "typing_extensions.Literal",
        "collections.abc.Mapping",
        "collections.abc.Sequence",
        "uuid.UUID",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "decimal.Decimal",
        "pydantic.EmailStr",
        "pydantic.AnyUrl",
        "pydantic.HttpUrl",
        "fastapi.security.SecurityScopes",
        "fastapi.security.oauth2.SecurityScopes",
        "fastapi.security.HTTPAuthorizationCredentials",
        "fastapi.security.http.HTTPAuthorizationCredentials",
        "fastapi.security.HTTPBasicCredentials",
        "fastapi.security.http.HTTPBasicCredentials",
    }
)
_REQUEST_TYPES = frozenset(
    {
        "fastapi.Request",
        "fastapi.requests.Request",
        "starlette.requests.Request",
        "fastapi.requests.HTTPConnection",
        "starlette.requests.HTTPConnection",
        "fastapi.WebSocket",
        "fastapi.websockets.WebSocket",
        "starlette.websockets.WebSocket",
    }
)
# Objects FastAPI injects by type that are not request data (methods with effects).
_INJECTED_TYPES = frozenset(
    {
        "fastapi.Response",
        "fastapi.responses.Response",
        "starlette.responses.Response",
        "fastapi.BackgroundTasks",
        "fastapi.background.BackgroundTasks",
        "starlette.background.BackgroundTasks",
    }
)
# Request attributes that read the ASGI scope (the headers, query string and
# path parameters are parsed from it, nothing is received): request data.
_REQUEST_DATA_ATTRIBUTES = frozenset(
    {"headers", "query_params", "path_params", "cookies", "url", "base_url", "method", "client", "scope", "session"}
)
# `request.user` / `request.auth` are set by an authentication middleware and
# may be ORM objects: opaque (their attributes may lazy-load).
_REQUEST_OPAQUE_ATTRIBUTES = frozenset({"user", "auth"})

# Methods of builtin types (and of Starlette's header / query mappings) that
# only compute on the value in memory.
_CHEAP_METHODS = frozenset(
    {
        "startswith", "endswith", "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit",
        "splitlines", "replace", "casefold", "title", "capitalize", "isdigit", "isalnum", "isalpha",
        "isnumeric", "isdecimal", "isspace", "islower", "isupper", "removeprefix", "removesuffix",
        "partition", "rpartition", "join", "find", "rfind", "count", "encode", "decode", "zfill",
        "get", "getlist", "keys", "values", "items", "copy", "isoformat", "hex",
    }
)

# Calls that compute in memory: builtins that do not iterate over their input
# (no loops either, below: a loop over a request's data may take longer than
# the hop it saves), exception classes, and clock reads.
_CHEAP_CALLS = frozenset(
    {
        *(
            f"builtins.{name}"
            for name in (
                "len", "int", "str", "float", "bool", "bytes", "dict", "list", "tuple", "set", "frozenset",
                "min", "max", "abs", "round", "isinstance", "issubclass", "hasattr", "repr", "divmod", "id",
            )
        ),
        "fastapi.HTTPException",
        "fastapi.exceptions.HTTPException",
        "starlette.exceptions.HTTPException",
        "fastapi.WebSocketException",
        "fastapi.exceptions.WebSocketException",
        "starlette.exceptions.WebSocketException",
        "uuid.UUID",
        "datetime.timedelta",
        # The clock: a vDSO read, no system call that can wait.
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.fromisoformat",
        "datetime.date.fromisoformat",
        # `os.environ` is a dict copied from the process environment when the
        # interpreter starts: reading it never calls `getenv(3)` (nor reads a
        # file), so it is as cheap as any dict lookup.
        "os.getenv",
        "os.environ.get",
    }
)
_EXCEPTION_BASES = frozenset(
    {
        "builtins.Exception",
        "builtins.BaseException",
        "builtins.ValueError",
        "builtins.RuntimeError",
        "builtins.LookupError",
        "builtins.KeyError",
        "builtins.PermissionError",
        *(c for c in _CHEAP_CALLS if c.endswith("Exception")),
    }
)
_PYDANTIC_MODELS = frozenset({"pydantic.BaseModel", "pydantic.main.BaseModel"})
# Reads the environment and `.env` files when built; SQLModel tables are ORM models.
_NOT_PLAIN_MODELS = frozenset(
    {
        "pydantic_settings.BaseSettings",
        "pydantic_settings.main.BaseSettings",
        "pydantic.BaseSettings",
        "pydantic.env_settings.BaseSettings",
        "sqlmodel.SQLModel",
        "sqlmodel.main.SQLModel",
    }
)
_ENUMS = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})
_DATACLASS_DECORATORS = frozenset({"dataclasses.dataclass", "pydantic.dataclasses.dataclass"})
# Methods that run project code when a model or dataclass is built or read.
_HOOKS = frozenset({"__init__", "__new__", "__post_init__", "model_post_init", "__getattr__", "__getattribute__", "_missing_"})
# Imported modules whose attributes are constants (`status.HTTP_404_NOT_FOUND`).
_CONSTANT_MODULES = frozenset({"fastapi.status", "starlette.status", "http.HTTPStatus", "http.client"})


def _weakest(a: Kind, b: Kind) -> Kind:
    return a if a == b else OPAQUE


@dataclass
class _Purity:
    """Per-review answers: does a project function provably do nothing that may
    block or take long? Memoised per function node."""

    project: Project
    memo: dict[tuple[ast.AST, bool], bool] = field(default_factory=dict)
    plain: dict[str, bool] = field(default_factory=dict)

    def function(self, func: FunctionInfo, *, injected: bool, depth: int = 0) -> bool:
        """`injected`: FastAPI calls it, so a parameter without a marker is request data."""
        key = (func.node, injected)
        known = self.memo.get(key)
        if known is not None:
            return known
        if depth > _MAX_DEPTH or func.node.decorator_list or func.is_async or func.is_generator:
            return False
        self.memo[key] = False  # recursion: not proven
        result = _Body(self, func, injected, depth).pure()
        self.memo[key] = result
        return result

    # -- project classes ----------------------------------------------------

    def _classes(self, cls: ClassInfo) -> list[ClassInfo]:
        bases = [self.project.lookup(b) for b in sorted(self.project.class_bases(cls))]
        return [cls, *(b for b in bases if isinstance(b, ClassInfo))]

    def defines(self, cls: ClassInfo, name: str) -> bool:
        """Is `name` a method or property of the class or of its project bases?"""
        return self.project.find_method(cls, name) is not None

    def plain_class(self, cls: ClassInfo) -> bool:
        """A Pydantic model, dataclass or enum of the project that no project code
        runs for when it is built or read (no validators, hooks or `__getattr__`)."""
        known = self.plain.get(cls.qualname)
        if known is not None:
            return known
        bases = self.project.class_bases(cls)
        result = False
        if not bases & _NOT_PLAIN_MODELS:
            kind_ok = bool(bases & (_PYDANTIC_MODELS | _ENUMS)) or any(
                self.project.resolve(c.module, d.func if isinstance(d, ast.Call) else d) in _DATACLASS_DECORATORS
                for c in self._classes(cls)
                for d in c.node.decorator_list
            )
            result = kind_ok and not any(self._runs_code(c) for c in self._classes(cls))
        self.plain[cls.qualname] = result
        return result

    @staticmethod
    def _runs_code(klass: ClassInfo) -> bool:
        for method in klass.methods.values():
            if method.name in _HOOKS:
                return True
            for deco in method.node.decorator_list:
                text = ast.unparse(deco.func if isinstance(deco, ast.Call) else deco)
                if "validator" in text or "serializer" in text:
                    return True
        return False

    def exception_class(self, cls: ClassInfo, depth: int) -> bool:
        """A project exception whose `__init__` (if any) is itself pure."""
        bases = self.project.class_bases(cls)
        if not bases & _EXCEPTION_BASES and not any(b.startswith("builtins.") and b.endswith("Error") for b in bases):
            return False
        init = self.project.find_method(cls, "__init__")
        return init is None or self.function(init, injected=False, depth=depth + 1)

    def data_class(self, qualname: str | None) -> Kind | None:
        """The kind of a value annotated with `qualname`, if it is plain data."""
        if qualname is None:
            return None
        if qualname in _DATA_TYPES:
            return DATA
        if qualname in _REQUEST_TYPES:
            return REQUEST
        sym = self.project.lookup(qualname)
        if isinstance(sym, ClassInfo) and self.plain_class(sym):
            return ("model", sym.qualname)
        return None


class _Body:
    """The purity test of one function body."""

    def __init__(self, purity: _Purity, func: FunctionInfo, injected: bool, depth: int) -> None:
        self.purity = purity
        self.project = purity.project
        self.func = func
        self.module: ModuleInfo = func.module
        self.depth = depth
        self.is_init = func.name == "__init__" and func.class_name is not None
        self.kinds: dict[str, Kind] = self._parameters(injected)

    # -- parameters and locals ---------------------------------------------

    def _parameters(self, injected: bool) -> dict[str, Kind]:
        node = self.func.node
        defaults = parameter_defaults(node)
        args = node.args
        kinds: dict[str, Kind] = {}
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            kinds[arg.arg] = self._parameter_kind(arg, defaults.get(arg.arg), injected)
        for star in (args.vararg, args.kwarg):
            if star is not None:
                kinds[star.arg] = DATA if injected else OPAQUE
        return kinds

    def _parameter_kind(self, arg: ast.arg, default: ast.expr | None, injected: bool) -> Kind:
        if self.is_init and arg.arg == "self":
            return ("self", self.func.class_name or "")
        annotation = self.project.annotation_type(self.module, arg.annotation)
        known = self.purity.data_class(annotation)
        if known is not None:
            return known
        if not injected or annotation in _INJECTED_TYPES or self._has_marker(arg, default):
            return OPAQUE
        # FastAPI fills a parameter without a marker from the request (query,
        # path, header, cookie or body), validated: request data. A body model
        # of the project may still have properties: those are project code.
        sym = self.project.lookup(annotation)
        return ("validated", sym.qualname) if isinstance(sym, ClassInfo) else DATA

    def _has_marker(self, arg: ast.arg, default: ast.expr | None) -> bool:
        if isinstance(default, ast.Call) and self.project.resolve(self.module, default.func) in _MARKERS:
            return True
        _module, _inner, meta = self.project.annotated_parts(self.module, arg.annotation)
        return any(isinstance(m, ast.Call) and self.project.resolve(_module, m.func) in _MARKERS for m in meta)

    def _bind(self, target: ast.expr, kind: Kind) -> bool:
        if isinstance(target, ast.Name):
            previous = self.kinds.get(target.id)
            self.kinds[target.id] = kind if previous is None else _weakest(previous, kind)
            return True
        if isinstance(target, ast.Tuple | ast.List):
            return all(self._bind(elt, OPAQUE) for elt in target.elts)
        # `self.detail = detail` in a project exception's `__init__`
        return self.is_init and isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"

    # -- statements --------------------------------------------------------

    def pure(self) -> bool:
        return self._block(self.func.node.body)

    def _block(self, body: Sequence[ast.stmt]) -> bool:
        return all(self._statement(stmt) for stmt in body)

    def _statement(self, stmt: ast.stmt) -> bool:
        if isinstance(stmt, ast.Pass):
            return True
        if isinstance(stmt, ast.Expr):
            value = stmt.value
            if isinstance(value, ast.Constant):
                return True  # a docstring
            return isinstance(value, ast.Call) and self._expr(value) is not None
        if isinstance(stmt, ast.Return):
            return stmt.value is None or self._expr(stmt.value) is not None
        if isinstance(stmt, ast.Assign):
            kind = self._expr(stmt.value)
            return kind is not None and all(self._bind(t, kind) for t in stmt.targets)
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is None:
                return isinstance(stmt.target, ast.Name)
            kind = self._expr(stmt.value)
            return kind is not None and self._bind(stmt.target, kind)
        if isinstance(stmt, ast.AugAssign):
            return isinstance(stmt.target, ast.Name) and self._expr(stmt.target) is not None and self._expr(stmt.value) is not None
        if isinstance(stmt, ast.If):
            return self._expr(stmt.test) is not None and self._block(stmt.body) and self._block(stmt.orelse)
        if isinstance(stmt, ast.Raise):
            return all(e is None or self._expr(e) is not None for e in (stmt.exc, stmt.cause))
        if isinstance(stmt, ast.Assert):
            return self._expr(stmt.test) is not None and (stmt.msg is None or self._expr(stmt.msg) is not None)
        if isinstance(stmt, ast.Try):
            return (
                self._block(stmt.body)
                and all(self._handler(h) for h in stmt.handlers)
                and self._block(stmt.orelse)
                and self._block(stmt.finalbody)
            )
        # Loops, `with`, imports (the first one runs a module), `global`, nested
        # definitions, `del`, `match`: not proven cheap.
        return False

    def _handler(self, handler: ast.ExceptHandler) -> bool:
        if handler.name:
            self.kinds[handler.name] = OPAQUE
        return self._block(handler.body)

    # -- expressions ---------------------------------------------------------

    def _expr(self, expr: ast.expr) -> Kind | None:
        """The kind of the expression's value, or None when computing it may run
        code that is not proven cheap."""
        if isinstance(expr, ast.Constant):
            return DATA
        if isinstance(expr, ast.Name):
            return self._name(expr)
        if isinstance(expr, ast.JoinedStr):
            return DATA if all(self._expr(v) is not None for v in expr.values) else None
        if isinstance(expr, ast.FormattedValue):
            ok = self._expr(expr.value) is not None and (expr.format_spec is None or self._expr(expr.format_spec) is not None)
            return DATA if ok else None
        if isinstance(expr, ast.Compare):
            return DATA if self._all([expr.left, *expr.comparators]) else None
        if isinstance(expr, ast.BoolOp):
            kinds = [self._expr(v) for v in expr.values]
            return _merge(kinds)
        if isinstance(expr, ast.UnaryOp):
            return DATA if self._expr(expr.operand) is not None else None
        if isinstance(expr, ast.BinOp):
            return DATA if self._all([expr.left, expr.right]) else None
        if isinstance(expr, ast.IfExp):
            if self._expr(expr.test) is None:
                return None
            return _merge([self._expr(expr.body), self._expr(expr.orelse)])
        if isinstance(expr, ast.Tuple | ast.List | ast.Set):
            return DATA if self._all(expr.elts) else None
        if isinstance(expr, ast.Dict):
            return DATA if self._all([k for k in expr.keys if k is not None]) and self._all(expr.values) else None
        if isinstance(expr, ast.Starred):
            return self._expr(expr.value)
        if isinstance(expr, ast.NamedExpr):
            kind = self._expr(expr.value)
            return kind if kind is not None and self._bind(expr.target, kind) else None
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr)
        if isinstance(expr, ast.Subscript):
            return self._subscript(expr)
        if isinstance(expr, ast.Call):
            return self._call(expr)
        # Comprehensions (loops), lambdas, `await`, `yield`, slices.
        return None

    def _all(self, exprs: Iterable[ast.expr]) -> bool:
        return all(self._expr(e) is not None for e in exprs)

    def _name(self, expr: ast.Name) -> Kind:
        kind = self.kinds.get(expr.id)
        if kind is not None:
            return kind
        # A module-level name: reading it is a dict lookup; what it is says what
        # may be read from it.
        qualname = self.project.resolve(self.module, expr)
        if qualname in _CONSTANT_MODULES:
            return ("constants", qualname)
        if qualname == "os":
            return ("module", "os")
        sym = self.project.lookup(qualname)
        if isinstance(sym, ClassInfo):
            return ("class", sym.qualname)
        if isinstance(sym, tuple):
            owner, value = sym
            if isinstance(value, ast.Constant | ast.Dict | ast.List | ast.Tuple | ast.Set | ast.JoinedStr):
                return DATA
            if isinstance(value, ast.Call):
                made = self.project.lookup(self.project.resolve(owner, value.func))
                if isinstance(made, ClassInfo):
                    return ("model", made.qualname)
        return OPAQUE

    def _read(self, base: Kind, attr: str) -> Kind | None:
        """The kind of `base.attr`, or None when reading it may run unknown code."""
        tag, qualname = base
        if tag == "data":
            return DATA
        if tag in {"stored", "constants"}:
            return base
        if tag == "module":
            return ("environ", "") if attr == "environ" else None
        if tag == "request":
            if attr in _REQUEST_DATA_ATTRIBUTES:
                return DATA
            if attr == "state":
                return STORED
            if attr == "app":
                return ("app", "")
            return OPAQUE if attr in _REQUEST_OPAQUE_ATTRIBUTES else None
        if tag == "app":
            return STORED if attr == "state" else None
        if tag in {"class", "model", "validated"}:
            cls = self.project.lookup(qualname)
            if not isinstance(cls, ClassInfo) or self.purity.defines(cls, attr):
                return None  # a method or a property: project code
            if self.project.find_method(cls, "__getattr__") is not None:
                return None
            declared = self.project.self_attribute_type(cls.qualname, attr)
            known = self.purity.data_class(declared)
            if tag == "class" and self._is_enum(cls):
                return ("model", cls.qualname)  # an enum member
            if known is not None:
                return known
            plain = tag == "validated" or (tag == "model" and self.purity.plain_class(cls))
            return DATA if plain else OPAQUE
        return None

    def _is_enum(self, cls: ClassInfo) -> bool:
        return bool(self.project.class_bases(cls) & _ENUMS)

    def _attribute(self, expr: ast.Attribute) -> Kind | None:
        base = self._expr(expr.value)
        return None if base is None else self._read(base, expr.attr)

    def _subscript(self, expr: ast.Subscript) -> Kind | None:
        base = self._expr(expr.value)
        if base is None or self._expr(expr.slice) is None:
            return None
        tag = base[0]
        if tag in {"data", "environ"}:
            return DATA
        return STORED if tag == "stored" else None

    # -- calls --------------------------------------------------------------

    def _call(self, call: ast.Call) -> Kind | None:
        if not self._all(call.args) or not self._all(k.value for k in call.keywords):
            return None
        callee = call.func
        if isinstance(callee, ast.Attribute):
            method = self._method(call, callee)
            if method is not None:
                return method
        if isinstance(callee, ast.Name) and callee.id == "getattr" and callee.id not in self.kinds:
            return self._getattr(call)
        target = self.project.call_target(self.module, self.func, call)
        if target in _CHEAP_CALLS:
            return OPAQUE if target is not None and target.endswith(("Exception", "Error")) else DATA
        if target is not None and target.startswith("builtins.") and target.endswith(("Error", "Exception")):
            return OPAQUE
        return self._project_call(call, target)

    def _method(self, call: ast.Call, callee: ast.Attribute) -> Kind | None:
        if self._is_super_init(callee):
            return OPAQUE
        if callee.attr not in _CHEAP_METHODS:
            return None
        base = self._expr(callee.value)
        if base is None:
            return None
        tag = base[0]
        if tag == "data" or (tag == "environ" and callee.attr == "get"):
            return DATA
        return None

    def _is_super_init(self, callee: ast.Attribute) -> bool:
        """`super().__init__(...)` in the `__init__` of a project exception."""
        inner = callee.value
        return (
            self.is_init
            and callee.attr == "__init__"
            and isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Name)
            and inner.func.id == "super"
            and not inner.args
        )

    def _getattr(self, call: ast.Call) -> Kind | None:
        """`getattr(obj, "name", default)`: an attribute read with a literal name."""
        if len(call.args) not in {2, 3} or call.keywords:
            return None
        name = call.args[1]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            return None
        base = self._expr(call.args[0])
        read = None if base is None else self._read(base, name.value)
        if read is None:
            return None
        return read if len(call.args) == 2 else _merge([read, self._expr(call.args[2])])

    def _project_call(self, call: ast.Call, target: str | None) -> Kind | None:
        sym = self.project.lookup(target)
        if isinstance(sym, FunctionInfo):
            if sym.name == "__init__" and sym.class_name is not None:
                cls = self.project.lookup(sym.class_name)
                if isinstance(cls, ClassInfo) and self.purity.exception_class(cls, self.depth):
                    return OPAQUE
                return None
            if sym.class_name is not None or sym.parent is not None:
                return None  # methods and closures: their state is unknown
            if not self.purity.function(sym, injected=False, depth=self.depth + 1):
                return None
            returned = self.project.annotation_type(sym.module, sym.node.returns)
            return self.purity.data_class(returned) or OPAQUE
        if isinstance(sym, ClassInfo):
            if self.purity.plain_class(sym):
                return ("model", sym.qualname)
            if self.purity.exception_class(sym, self.depth):
                return OPAQUE
        return None


def _merge(kinds: Iterable[Kind | None]) -> Kind | None:
    out: Kind | None = None
    for kind in kinds:
        if kind is None:
            return None
        out = kind if out is None else _weakest(out, kind)
    return out


# -- uses of a dependency ----------------------------------------------------


@dataclass(eq=False)
class _Use:
    """A plain function FastAPI calls as a dependency, with the routes that
    depend on it and the first marker that names it."""

    func: FunctionInfo
    marker: Dependency
    routes: list[Route] = field(default_factory=list)


def _named_function(project: Project, dep: Dependency) -> FunctionInfo | None:
    """The project function `Depends(f)` names (not `Depends(factory())`, whose
    target is the factory, nor a class)."""
    call = dep.marker
    expr = marker_target(call)
    if not isinstance(expr, ast.Name | ast.Attribute):
        return None
    sym = project.lookup(dep.target)
    return sym if isinstance(sym, FunctionInfo) else None


def _dependency_uses(project: Project) -> list[_Use]:
    uses: dict[ast.AST, _Use] = {}
    for route in project.fastapi.routes:
        for dep in route.all_dependencies():
            func = _named_function(project, dep)
            if func is None:
                continue
            use = uses.get(func.node)
            if use is None:
                use = uses[func.node] = _Use(func, dep)
            if not use.routes or use.routes[-1] is not route:
                use.routes.append(route)
    return list(uses.values())


def _shape_ok(func: FunctionInfo) -> bool:
    """A plain module-level `def`, undecorated, that is not a generator."""
    return not (func.is_async or func.class_name or func.parent or func.node.decorator_list or func.is_generator)


def _used_only_as_dependency(project: Project, func: FunctionInfo) -> bool:
    """Is every reference to `func` in the project the callable of a
    `Depends(...)` / `Security(...)` marker, or a key of `dependency_overrides`?
    A direct call (`get_config()` in a test or a script) would get a coroutine
    once the function is `async def`."""
    name = func.name
    reach = _reaching_imports(func.module.name)
    for module in project.modules:
        if not _may_name(module, func.module, name, reach) or not module.spells(name):
            continue
        refs: list[ast.expr] = [n for n in module.nodes_of(ast.Name) if n.id == name]
        refs += [a for a in module.nodes_of(ast.Attribute) if a.attr == name]
        refs = [r for r in refs if project.canonical(module.resolve(r)) == func.qualname]
        if refs and not set(refs) <= _dependency_slots(project, module):
            return False
    return True


def _reaching_imports(module_name: str) -> frozenset[str]:
    """What a module imports when it may reach a function of `module_name`: the
    module, a package above it (`import app; app.deps.f`, re-exports), each also
    without leading packages (a project reviewed from above its import root)."""
    parts = module_name.split(".")
    return frozenset(".".join(parts[i:j]) for j in range(1, len(parts) + 1) for i in range(j))


def _may_name(module: ModuleInfo, defining: ModuleInfo, name: str, reach: frozenset[str]) -> bool:
    """A cheap filter before reading a module's text: a module other than the
    function's own names it only through an import binding the name, a star
    import, or an import of its module or of a package above it."""
    return (
        module is defining
        or bool(module.star_imports)
        or name in module.imports
        or not reach.isdisjoint(module.imported_modules)
    )


def _dependency_slots(project: Project, module: ModuleInfo) -> set[ast.AST]:
    """The expressions of a module where naming a function does not call it: the
    callable of a marker, and a key of `dependency_overrides`."""
    slots: set[ast.AST] = set()
    for call in module.nodes_of(ast.Call):
        if project.resolve(module, call.func) in _MARKERS:
            if call.args:
                slots.add(call.args[0])
            slots.update(k.value for k in call.keywords if k.arg == "dependency")
    for sub in module.nodes_of(ast.Subscript):
        if isinstance(sub.value, ast.Attribute) and sub.value.attr == "dependency_overrides":
            slots.add(sub.slice)
    return slots


def _route_label(route: Route) -> str:
    if route.is_websocket:
        return f"WebSocket {route.display_path}"
    return f"{'|'.join(route.methods)} {route.display_path}"


class SyncDependencyWithoutIo(Rule):
    """Flags a plain `def` dependency whose body provably does no I/O.

    ## What it does
    Finds a module-level `def` function that routes use through
    `Depends(f)` / `Security(f)` (in a signature, `Annotated[...]`, or a
    `dependencies=[...]` list of a route, router, include or app) whose body only
    assigns, compares, branches, raises, formats and reads: attributes and
    subscripts of request data, validated models and `request.state` /
    `app.state`, and calls to cheap builtins (`len`, `int`, `min`...),
    `HTTPException`, the project's plain Pydantic models, dataclasses and enums,
    and project functions that pass the same test. It stays silent on anything
    else: a generator (teardown), a decorated function, a method or a closure, a
    loop, a call to a library or to an unresolved function (JWT decoding is CPU
    work, building settings reads files, `request.body()` waits), an attribute of
    a sub-dependency's result of unknown type (an ORM relationship may lazy-load),
    and a function that the project also calls directly (a test calling
    `get_config()` would get a coroutine once it is `async def`).

    ## Why is this bad?
    FastAPI calls a `def` dependency through `run_in_threadpool`
    (`solve_dependencies` in `fastapi/dependencies/utils.py`, when
    `_is_coroutine_callable` is false): every request waits for a hop to a
    worker thread and back, and holds one of the 40 tokens of anyio's default
    thread limiter, which sync routes, sync dependencies and `UploadFile` I/O all
    share. On the machine this rule was written on (FastAPI 0.165, anyio 4.16),
    the hop cost about 0.1 ms per call against 0.2 µs for awaiting an
    `async def`, and a route with one such dependency served requests 10 to 15 %
    slower under `TestClient`. A dependency that never blocks gains nothing from
    the thread: as `async def` it runs on the event loop with no hop.

    ## Fix safety
    The fix turns `def` into `async def`. It is unsafe: code outside the
    reviewed tree (another package, a script) may call the function directly and
    would then get a coroutine; inside the project it is only ever named by
    `Depends(...)` markers and `dependency_overrides`, which keep working.

    ## References
    - https://fastapi.tiangolo.com/async/#dependencies
    - https://fastapi.tiangolo.com/tutorial/dependencies/#to-async-or-not-to-async
    - https://github.com/astral-sh/ruff/issues/15279
    - https://anyio.readthedocs.io/en/stable/threads.html#adjusting-the-default-maximum-worker-thread-count
    """

    code = "FX104"
    name = "sync-dependency-without-io"
    summary = "Sync `def` dependency that does no I/O pays a threadpool hop on every request."
    severity = Severity.INFO

    valid = (
        Valid(
            """
            from fastapi import Depends, FastAPI, Query
            from pydantic import BaseModel

            app = FastAPI()

            class Page(BaseModel):
                limit: int
                offset: int

            async def pagination(limit: int = Query(50, ge=1), offset: int = Query(0, ge=0)) -> Page:
                return Page(limit=min(limit, 100), offset=offset)

            @app.get("/items")
            async def list_items(page: Page = Depends(pagination)):
                return {"limit": page.limit, "offset": page.offset}
            """
        ),
        # Decoding a JWT is CPU work in a library, and `get_settings` is cached
        # (decorated): neither is proven cheap, so the threadpool may be the right place.
        Valid(
            """
            from functools import lru_cache
            from typing import Annotated

            import jwt
            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import OAuth2PasswordBearer

            from app.config import Settings

            app = FastAPI()
            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

            @lru_cache
            def get_settings() -> Settings:
                return Settings()

            def current_user_id(
                token: Annotated[str, Depends(oauth2_scheme)],
                settings: Annotated[Settings, Depends(get_settings)],
            ) -> int:
                try:
                    claims = jwt.decode(token, settings.secret_key, algorithms=["HS256"])
                except jwt.InvalidTokenError:
                    raise HTTPException(status_code=401, detail="Invalid token")
                return int(claims["sub"])

            @app.get("/me")
            async def me(user_id: Annotated[int, Depends(current_user_id)]):
                return {"id": user_id}
            """,
            filename="app/main.py",
            files={"app/__init__.py": "", "app/config.py": "from pydantic_settings import BaseSettings\n\nclass Settings(BaseSettings):\n    secret_key: str\n"},
        ),
        # `user.organization` may be a lazy-loaded relationship (a query): an attribute
        # of a sub-dependency's ORM object is never read as data.
        Valid(
            """
            from fastapi import APIRouter, Depends

            from app.auth import get_current_user
            from app.models import Organization, User

            router = APIRouter()

            def current_organization(user: User = Depends(get_current_user)) -> Organization:
                return user.organization

            @router.get("/organization")
            async def read_organization(org: Organization = Depends(current_organization)):
                return {"name": org.name}
            """,
            filename="app/routes.py",
            files={
                "app/__init__.py": "",
                "app/models.py": (
                    "from sqlalchemy.orm import DeclarativeBase, Mapped, relationship\n\n"
                    "class Base(DeclarativeBase):\n    pass\n\n"
                    "class Organization(Base):\n    __tablename__ = 'organizations'\n\n"
                    "class User(Base):\n    __tablename__ = 'users'\n"
                    "    organization: Mapped[Organization] = relationship()\n"
                ),
            },
        ),
        # `api_version` is also called directly by the CLI: as `async def` it would
        # hand the CLI a coroutine.
        Valid(
            """
            from fastapi import Depends, FastAPI, Header

            app = FastAPI()

            def api_version(x_api_version: str = Header("2024-01-01")) -> str:
                return x_api_version.strip()

            @app.get("/status")
            async def status(version: str = Depends(api_version)):
                return {"version": version}
            """,
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/cli.py": "from app.main import api_version\n\ndef show() -> None:\n    print(api_version(' 2025-01-01 '))\n",
            },
        ),
        # A generator (teardown after the response), a closure built by a factory, a
        # loop over the scopes, and a callable instance: none is a plain function
        # whose whole work is proven cheap.
        Valid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI, HTTPException, Security
            from fastapi.security import SecurityScopes

            app = FastAPI()

            def request_tags():
                tags: dict[str, str] = {}
                yield tags

            def require_role(role: str):
                def checker(x_role: str | None = None) -> None:
                    if x_role != role:
                        raise HTTPException(status_code=403)
                return checker

            def check_scopes(security_scopes: SecurityScopes, x_scopes: str = "") -> None:
                granted = x_scopes.split()
                for scope in security_scopes.scopes:
                    if scope not in granted:
                        raise HTTPException(status_code=403, detail=f"Missing scope {scope}")

            class Paginator:
                def __call__(self, limit: int = 50) -> int:
                    return min(limit, 100)

            paginate = Paginator()

            @app.get("/admin/reports", dependencies=[Depends(require_role("admin")), Security(check_scopes, scopes=["reports"])])
            async def reports(tags: Annotated[dict[str, str], Depends(request_tags)], limit: Annotated[int, Depends(paginate)]):
                return {"limit": limit, "tags": tags}
            """
        ),
        # Building `Filters` runs the project's validator, and `settings.database_url`
        # is a property: project code the test does not follow into.
        Valid(
            """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel, field_validator

            from app.config import settings

            app = FastAPI()

            class Filters(BaseModel):
                q: str

                @field_validator("q")
                @classmethod
                def known_words(cls, value: str) -> str:
                    return value

            def filters(q: str = "") -> Filters:
                return Filters(q=q)

            def database_url() -> str:
                return settings.database_url

            @app.get("/search")
            async def search(f: Filters = Depends(filters), url: str = Depends(database_url)):
                return {"q": f.q, "db": url}
            """,
            filename="app/main.py",
            files={
                "app/__init__.py": "",
                "app/config.py": (
                    "class Config:\n    @property\n    def database_url(self) -> str:\n"
                    "        return open('/run/secrets/db').read()\n\nsettings = Config()\n"
                ),
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI, Query
            from pydantic import BaseModel

            app = FastAPI()

            class Page(BaseModel):
                limit: int
                offset: int

            def pagination(limit: int = Query(50, ge=1), offset: int = Query(0, ge=0)) -> Page:
                return Page(limit=min(limit, 100), offset=offset)

            @app.get("/items")
            async def list_items(page: Page = Depends(pagination)):
                return {"limit": page.limit, "offset": page.offset}
            """,
            lines=(10,),
            fixed="""
            from fastapi import Depends, FastAPI, Query
            from pydantic import BaseModel

            app = FastAPI()

            class Page(BaseModel):
                limit: int
                offset: int

            async def pagination(limit: int = Query(50, ge=1), offset: int = Query(0, ge=0)) -> Page:
                return Page(limit=min(limit, 100), offset=offset)

            @app.get("/items")
            async def list_items(page: Page = Depends(pagination)):
                return {"limit": page.limit, "offset": page.offset}
            """,
        ),
        # Across files: a lifespan-built client read from `app.state`, and a header
        # check used by a router's `dependencies=[...]`; tests only override them.
        Invalid(
            """
            from typing import Annotated

            from fastapi import Header, HTTPException, Request, status

            from app.search import SearchClient

            def get_search_client(request: Request) -> SearchClient:
                return request.app.state.search_client

            def require_json(content_type: Annotated[str, Header()] = "application/json") -> None:
                if not content_type.lower().startswith("application/json"):
                    raise HTTPException(
                        status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                        detail=f"Expected JSON, got {content_type!r}",
                    )
            """,
            lines=(7, 10),
            filename="app/deps.py",
            files={
                "app/__init__.py": "",
                "app/search.py": "class SearchClient:\n    async def query(self, text: str) -> list[str]:\n        return []\n",
                "app/routes.py": (
                    "from typing import Annotated\n\nfrom fastapi import APIRouter, Depends\n\n"
                    "from app.deps import get_search_client, require_json\nfrom app.search import SearchClient\n\n"
                    "router = APIRouter(prefix='/search', dependencies=[Depends(require_json)])\n"
                    "SearchDep = Annotated[SearchClient, Depends(get_search_client)]\n\n"
                    "@router.post('/')\nasync def search(client: SearchDep, text: str):\n"
                    "    return await client.query(text)\n\n"
                    "@router.get('/suggest')\nasync def suggest(client: SearchDep, prefix: str):\n"
                    "    return await client.query(prefix)\n"
                ),
                "app/main.py": "from fastapi import FastAPI\n\nfrom app.routes import router\n\napp = FastAPI()\napp.include_router(router)\n",
                "tests/test_search.py": (
                    "from app.deps import get_search_client\nfrom app.main import app\n\n"
                    "app.dependency_overrides[get_search_client] = lambda: None\n"
                ),
            },
        ),
        # A chain of cheap project helpers: an enum, a dataclass and an exception
        # whose `__init__` only calls `super().__init__`.
        Invalid(
            """
            from dataclasses import dataclass
            from enum import Enum
            from typing import Annotated

            from fastapi import APIRouter, Depends, Header, HTTPException

            router = APIRouter()

            class Channel(str, Enum):
                STABLE = "stable"
                BETA = "beta"

            @dataclass(frozen=True)
            class ClientInfo:
                channel: Channel
                build: int

            class BadClientHeader(HTTPException):
                def __init__(self, header: str) -> None:
                    super().__init__(status_code=400, detail=f"Malformed {header} header")

            def _parse_build(raw: str) -> int:
                if not raw.isdigit():
                    raise BadClientHeader("X-Client-Build")
                return int(raw)

            def client_info(
                x_client_channel: Annotated[str, Header()] = "stable",
                x_client_build: Annotated[str, Header()] = "0",
            ) -> ClientInfo:
                try:
                    channel = Channel(x_client_channel)
                except ValueError:
                    raise BadClientHeader("X-Client-Channel")
                return ClientInfo(channel=channel, build=_parse_build(x_client_build))

            @router.get("/updates")
            async def updates(client: Annotated[ClientInfo, Depends(client_info)]):
                return {"channel": client.channel, "build": client.build}
            """,
            lines=(27,),
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        project = ctx.project
        purity = _Purity(project)
        for use in _dependency_uses(project):
            func = use.func
            if not _shape_ok(func) or func.module.is_test:
                continue
            if not purity.function(func, injected=True):
                continue
            if not _used_only_as_dependency(project, func):
                continue
            self._report(ctx, use)

    def _report(self, ctx: ProjectContext, use: _Use) -> None:
        func = use.func
        node = func.node
        line = func.module.source.line_text(node.lineno)
        start = line.find(func.name, node.col_offset)
        span = ast.Name(
            id=func.name,
            lineno=node.lineno,
            col_offset=node.col_offset,
            end_lineno=node.lineno,
            end_col_offset=start + len(func.name) if start >= 0 else node.col_offset + 3,
        )
        routes = use.routes
        first = f"`{_route_label(routes[0])}`"
        where = first if len(routes) == 1 else f"{first} and {len(routes) - 1} other route{'s' if len(routes) > 2 else ''}"
        message = (
            f"`{func.name}` is a plain `def` dependency that does no I/O, yet FastAPI runs it in the "
            f"threadpool on every request to {where} (a thread hop and one of anyio's 40 tokens per call); "
            f"declare it `async def` so it runs on the event loop with no hop, which is safe since it never blocks."
        )
        marker = use.marker
        link = ChainLink(
            marker.module.source.location(marker.marker),
            f"`{' '.join(marker.module.source.segment(marker.marker).split())}` makes FastAPI call it for {first}",
        )
        column = func.module.source.column(node.lineno, node.col_offset)
        fix = Fix("Declare the dependency `async def`", (Edit(node.lineno, column, node.lineno, column, "async "),), safe=False)
        ctx.report(func.module, span, message, fix=fix, chain=(link,))
