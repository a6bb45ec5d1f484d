from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass
from enum import Enum

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, ModuleInfo, own_nodes
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._orm import SELECTS, STATEMENT_METHODS
from fastapi_expert.review.rules._util import add_import_edit
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    CONFIG_DICT,
    local_name_for,
    model_class,
    name_is_free,
)
from fastapi_expert.types import Edit, Fix, Severity

# -- what a schema is -----------------------------------------------------------

_PYDANTIC_MODELS = frozenset({"pydantic.BaseModel", "pydantic.main.BaseModel"})
# Bases that bring no Pydantic config of their own.
_NEUTRAL_BASES = frozenset(
    {"typing.Generic", "typing_extensions.Generic", "abc.ABC", "builtins.object", "object", "typing.Protocol"}
)
# SQLModel's own `model_config` sets `from_attributes=True` (sqlmodel/main.py): every
# subclass, table or not, reads objects by attribute.
_SQLMODEL = frozenset({"sqlmodel.SQLModel", "sqlmodel.main.SQLModel"})
_ROOT_MODELS = frozenset({"pydantic.RootModel", "pydantic.root_model.RootModel"})
_CONFIG_KEYS = frozenset({"from_attributes", "orm_mode"})
_MODEL_VALIDATORS = frozenset(
    {"pydantic.model_validator", "pydantic.functional_validators.model_validator"}
)
_ROOT_VALIDATORS = frozenset({"pydantic.root_validator", "pydantic.class_validators.root_validator"})
_TYPE_ADAPTERS = frozenset({"pydantic.TypeAdapter", "pydantic.type_adapter.TypeAdapter"})
_PARSE_OBJ_AS = frozenset({"pydantic.parse_obj_as", "pydantic.tools.parse_obj_as", "pydantic.deprecated.tools.parse_obj_as"})
_COLLECTIONS = frozenset(
    {
        "builtins.list", "builtins.set", "builtins.frozenset", "builtins.tuple",
        "typing.List", "typing.Set", "typing.FrozenSet", "typing.Tuple", "typing.Sequence", "typing.Iterable",
        "collections.abc.Sequence", "collections.abc.Iterable",
    }
)
_OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
_UNION = frozenset({"typing.Union", "typing_extensions.Union"})

# -- what an ORM class is ---------------------------------------------------------

_DECLARATIVE_BASES = frozenset(
    {
        "sqlalchemy.orm.DeclarativeBase",
        "sqlalchemy.orm.decl_api.DeclarativeBase",
        "sqlalchemy.orm.DeclarativeBaseNoMeta",
        "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta",
    }
)
_DECLARATIVE_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.declarative_base",
        "sqlalchemy.orm.decl_api.declarative_base",
        "sqlalchemy.ext.declarative.declarative_base",
    }
)
_DECLARATIVE_DECORATORS = frozenset(
    {"sqlalchemy.orm.as_declarative", "sqlalchemy.orm.decl_api.as_declarative", "sqlalchemy.ext.declarative.as_declarative"}
)


# A union of entity selects gives rows, not entities, unless rebuilt with `from_statement`.
_SAME_ENTITY_METHODS = STATEMENT_METHODS - {"union"}

class _Shape(Enum):
    """What an expression is known to hold, for one ORM class."""

    STATEMENT = "statement"  # select(User)...
    RESULT = "result"  # session.execute(select(User)): rows of one entity
    SCALARS = "scalars"  # session.scalars(...), session.exec(...), query(User)...: entities when iterated
    QUERY = "query"  # session.query(User)...
    INSTANCE = "instance"  # one User
    COLLECTION = "collection"  # a list of User


@dataclass(frozen=True)
class _Known:
    shape: _Shape
    orm: ClassInfo
    origin: ast.AST  # the binding or expression that proves it, for the message
    param: str | None = None  # set when a parameter annotation proves it


_ELEMENTS = {_Shape.SCALARS: _Shape.INSTANCE, _Shape.QUERY: _Shape.INSTANCE, _Shape.COLLECTION: _Shape.INSTANCE}
_PICK_ONE = frozenset({"first", "one", "one_or_none"})
_PICK_SCALAR = frozenset({"scalar_one", "scalar_one_or_none", "scalar"})


@dataclass(frozen=True)
class _Schema:
    """A project model known to lack `from_attributes=True`, whole MRO read."""

    cls: ClassInfo
    v1_config: bool  # it writes a v1 `class Config:` (the fix would not be mechanical)


_FIX_TITLE = "Set `from_attributes=True` in the schema's `model_config` (changes it for every caller)"

_CONFIGS: weakref.WeakKeyDictionary[Project, dict[str, _Schema | None]] = weakref.WeakKeyDictionary()
_ORM_CLASSES: weakref.WeakKeyDictionary[Project, dict[str, bool]] = weakref.WeakKeyDictionary()


def _is_true(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def _is_false(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is False


# -- schemas ----------------------------------------------------------------------


def lacking_schema(project: Project, cls: ClassInfo) -> _Schema | None:
    """The schema, when every class of its MRO is read and none sets `from_attributes`
    / `orm_mode` nor can turn an object into a dict before validation; else None."""
    cache = _CONFIGS.setdefault(project, {})
    if cls.qualname not in cache:
        cache[cls.qualname] = _read_schema(project, cls)
    return cache[cls.qualname]


def _read_schema(project: Project, cls: ClassInfo) -> _Schema | None:
    bases = project.class_bases(cls)
    if bases & _SQLMODEL or bases & _ROOT_MODELS or not bases & _PYDANTIC_MODELS:
        return None
    seen: set[str] = set()
    todo = [cls]
    v1_config = False
    while todo:
        current = todo.pop()
        if current.qualname in seen:
            continue
        seen.add(current.qualname)
        verdict = _own_config(project, current)
        if verdict is None:
            return None
        v1_config = v1_config or (current is cls and verdict)
        for base in current.node.bases:
            expr = base.value if isinstance(base, ast.Subscript) else base
            if not isinstance(expr, ast.Name | ast.Attribute):
                return None
            name = project.resolve(current.module, expr)
            if name in _PYDANTIC_MODELS or name in _NEUTRAL_BASES:
                continue
            symbol = project.lookup(name)
            if not isinstance(symbol, ClassInfo):
                return None  # a base from a library: its config is not read here
            todo.append(symbol)
    return _Schema(cls, v1_config)


def _own_config(project: Project, cls: ClassInfo) -> bool | None:
    """None when the class sets `from_attributes` / `orm_mode` (or may: a config
    not written as literals), or has a hook that sees the raw input; else whether
    it writes a v1 `class Config:`."""
    module, node = cls.module, cls.node
    if node.decorator_list:
        return None
    for kw in node.keywords:
        if kw.arg is None or kw.arg in _CONFIG_KEYS:
            return None
    v1_config = False
    for stmt in node.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if names & {"model_config", "__config__", "Config"} and not _literal_config(project, module, stmt.value):
                return None
        elif isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
            if stmt.bases or stmt.keywords or not _literal_v1_config(stmt):
                return None
            v1_config = True
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            if stmt.name in {"model_validate", "from_orm", "validate", "__get_pydantic_core_schema__", "__init__"}:
                return None
            if any(_sees_raw_input(project, module, deco) for deco in stmt.decorator_list):
                return None
    return v1_config


def _literal_config(project: Project, module: ModuleInfo, value: ast.expr | None) -> bool:
    """`ConfigDict(...)` or `{...}` with literal keys, none of them `from_attributes`."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute):
        if project.resolve(module, value.func) not in CONFIG_DICT or value.args:
            return False
        return all(kw.arg is not None and kw.arg not in _CONFIG_KEYS for kw in value.keywords)
    if isinstance(value, ast.Dict):
        return all(
            isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value not in _CONFIG_KEYS
            for key in value.keys
        )
    return False


def _literal_v1_config(cfg: ast.ClassDef) -> bool:
    for stmt in cfg.body:
        if isinstance(stmt, ast.Assign):
            if any(not isinstance(t, ast.Name) or t.id in _CONFIG_KEYS for t in stmt.targets):
                return False
        elif isinstance(stmt, ast.AnnAssign) and (not isinstance(stmt.target, ast.Name) or stmt.target.id in _CONFIG_KEYS):
            return False
    return True


def _sees_raw_input(project: Project, module: ModuleInfo, deco: ast.expr) -> bool:
    """`@model_validator(mode="before" | "wrap")`, `@root_validator(pre=True)`: such a
    hook may turn the ORM object into a dict before the model checks its type."""
    call = deco if isinstance(deco, ast.Call) else None
    target = call.func if call is not None else deco
    if not isinstance(target, ast.Name | ast.Attribute):
        return False
    name = project.resolve(module, target)
    keywords = {kw.arg: kw.value for kw in call.keywords} if call is not None else {}
    if name in _MODEL_VALIDATORS:
        mode = keywords.get("mode")
        return not (isinstance(mode, ast.Constant) and mode.value == "after")
    if name in _ROOT_VALIDATORS:
        return "pre" in keywords and not _is_false(keywords["pre"])
    return False


# -- ORM classes --------------------------------------------------------------------


def orm_class(project: Project, qualname: str | None) -> ClassInfo | None:
    """The project class a name denotes when it is a mapped SQLAlchemy (or SQLModel
    `table=True`) class."""
    symbol = project.lookup(qualname)
    if not isinstance(symbol, ClassInfo):
        return None
    cache = _ORM_CLASSES.setdefault(project, {})
    known = cache.get(symbol.qualname)
    if known is None:
        known = cache[symbol.qualname] = _is_orm(project, symbol)
    return symbol if known else None


def _is_orm(project: Project, cls: ClassInfo) -> bool:
    bases = project.class_bases(cls)
    if bases & _SQLMODEL:
        return any(kw.arg == "table" and _is_true(kw.value) for kw in cls.node.keywords)
    if bases & _DECLARATIVE_BASES:
        return True
    for base in bases:
        symbol = project.lookup(base)
        if isinstance(symbol, tuple):
            module, value = symbol
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name | ast.Attribute)
                and project.resolve(module, value.func) in _DECLARATIVE_FACTORIES
            ):
                return True
        elif isinstance(symbol, ClassInfo):
            for deco in symbol.node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(target, ast.Name | ast.Attribute) and project.resolve(symbol.module, target) in _DECLARATIVE_DECORATORS:
                    return True
    return False


# -- what an expression holds ---------------------------------------------------------


class _Reader:
    """Answers "which ORM rows does this expression hold?" inside one function,
    only when every binding of every name on the way proves it."""

    def __init__(self, project: Project, module: ModuleInfo, func: FunctionInfo | None, ancestors: list[ast.AST]) -> None:
        self.project = project
        self.module = module
        self.func = func
        self.ancestors = ancestors
        self._visiting: set[str] = set()

    def _resolve(self, expr: ast.expr) -> str | None:
        return self.project.resolve(self.module, expr) if isinstance(expr, ast.Name | ast.Attribute) else None

    def _orm_named(self, expr: ast.expr) -> ClassInfo | None:
        return orm_class(self.project, self._resolve(expr)) if isinstance(expr, ast.Name | ast.Attribute) else None

    def read(self, expr: ast.expr, depth: int = 0) -> _Known | None:
        if depth > 12:
            return None
        if isinstance(expr, ast.Await):
            return self.read(expr.value, depth + 1)
        if isinstance(expr, ast.Name):
            return self._name(expr, depth)
        if isinstance(expr, ast.Subscript) and not isinstance(expr.slice, ast.Slice):
            inner = self.read(expr.value, depth + 1)
            if inner is not None and inner.shape is _Shape.COLLECTION:
                return _Known(_Shape.INSTANCE, inner.orm, inner.origin, inner.param)
            return None
        if isinstance(expr, ast.Call):
            return self._call(expr, depth)
        return None

    def _call(self, call: ast.Call, depth: int) -> _Known | None:
        func = call.func
        orm = self._orm_named(func)
        if orm is not None:
            return _Known(_Shape.INSTANCE, orm, call)  # `User(...)`
        name = self._resolve(func) if isinstance(func, ast.Name | ast.Attribute) else None
        if name in SELECTS:
            if len(call.args) == 1 and not call.keywords:
                entity = self._orm_named(call.args[0])
                if entity is not None:
                    return _Known(_Shape.STATEMENT, entity, call)
            return None
        if name == "builtins.list" and len(call.args) == 1:
            inner = self.read(call.args[0], depth + 1)
            if inner is not None and inner.shape in _ELEMENTS:
                return _Known(_Shape.COLLECTION, inner.orm, inner.origin, inner.param)
            return None
        if isinstance(func, ast.Attribute):
            found = self._method(call, func, depth)
            if found is not None:
                return found
        return self._returned(call)

    def _method(self, call: ast.Call, func: ast.Attribute, depth: int) -> _Known | None:
        attr = func.attr
        # Session calls: the receiver is not needed, the argument says it all.
        if attr in {"execute", "scalars", "exec", "scalar"} and call.args:
            stmt = self.read(call.args[0], depth + 1)
            if stmt is None or stmt.shape is not _Shape.STATEMENT:
                return None
            shape = {"execute": _Shape.RESULT, "scalar": _Shape.INSTANCE}.get(attr, _Shape.SCALARS)
            return _Known(shape, stmt.orm, call)
        if attr == "query" and len(call.args) == 1 and not call.keywords:
            entity = self._orm_named(call.args[0])
            return _Known(_Shape.QUERY, entity, call) if entity is not None else None
        if attr == "get" and call.args:
            entity = self._orm_named(call.args[0])
            if entity is not None:
                return _Known(_Shape.INSTANCE, entity, call)  # `session.get(User, id)`
        if attr not in _SAME_ENTITY_METHODS | _PICK_ONE | _PICK_SCALAR | {"all", "scalars", "unique", "get"}:
            return None
        base = self.read(func.value, depth + 1)
        if base is None:
            return None
        shape = base.shape
        if attr in _SAME_ENTITY_METHODS and shape in {_Shape.STATEMENT, _Shape.QUERY}:
            return _Known(shape, base.orm, call)
        if attr == "unique" and shape in {_Shape.RESULT, _Shape.SCALARS}:
            return _Known(shape, base.orm, call)
        if attr == "scalars" and shape is _Shape.RESULT and not call.args:
            return _Known(_Shape.SCALARS, base.orm, call)
        if attr in _PICK_SCALAR and shape is _Shape.RESULT:
            return _Known(_Shape.INSTANCE, base.orm, call)
        if attr in _PICK_ONE and shape in {_Shape.SCALARS, _Shape.QUERY}:
            return _Known(_Shape.INSTANCE, base.orm, call)
        if attr == "get" and shape is _Shape.QUERY:
            return _Known(_Shape.INSTANCE, base.orm, call)
        if attr == "all" and shape in {_Shape.SCALARS, _Shape.QUERY}:
            return _Known(_Shape.COLLECTION, base.orm, call)
        return None

    def _returned(self, call: ast.Call) -> _Known | None:
        """A project function whose return annotation names an ORM class (or a list of one)."""
        target = self.project.call_target(self.module, self.func, call)
        symbol = self.project.lookup(target)
        if not isinstance(symbol, FunctionInfo) or symbol.node.returns is None:
            return None
        found = self.annotation(symbol.module, symbol.node.returns)
        return _Known(found[0], found[1], call) if found is not None else None

    def annotation(self, module: ModuleInfo, annotation: ast.expr | None) -> tuple[_Shape, ClassInfo] | None:
        """`User`, `User | None`, `Optional[User]`, `list[User]`, `Sequence[User]`."""
        module, inner, _meta = self.project.annotated_parts(module, annotation)
        return _annotation_shape(self.project, module, inner, 0)

    # -- names ----------------------------------------------------------------

    def _name(self, name: ast.Name, depth: int) -> _Known | None:
        if name.id in self._visiting:
            return None
        self._visiting.add(name.id)
        try:
            comprehension = self._comprehension_binding(name)
            if comprehension is not None:
                inner = self.read(comprehension.iter, depth + 1)
                if inner is None or inner.shape not in _ELEMENTS:
                    return None
                return _Known(_Shape.INSTANCE, inner.orm, comprehension, inner.param)
            if self.func is None:
                return None
            return self._local(name.id, depth)
        finally:
            self._visiting.discard(name.id)

    def _comprehension_binding(self, name: ast.Name) -> ast.comprehension | None:
        for node in reversed(self.ancestors):
            if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
                for gen in node.generators:
                    if isinstance(gen.target, ast.Name) and gen.target.id == name.id:
                        return gen
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                break
        return None

    def _local(self, name: str, depth: int) -> _Known | None:
        """Every binding of `name` in the function proves the same shape; None when
        one does not, or when the name is not the function's own."""
        assert self.func is not None
        bindings = _bindings(self.func.node, name)
        if not bindings:
            return None
        found: _Known | None = None
        for binding in bindings:
            known = self._binding(binding, name, depth)
            if known is None or (found is not None and known.shape is not found.shape):
                return None
            found = found or known
        return found

    def _binding(self, binding: ast.AST, name: str, depth: int) -> _Known | None:
        if isinstance(binding, ast.arg):
            shape = self.annotation(self.module, binding.annotation)
            return _Known(shape[0], shape[1], binding, name) if shape is not None else None
        if isinstance(binding, ast.AnnAssign):
            shape = self.annotation(self.module, binding.annotation)
            if shape is not None:
                return _Known(shape[0], shape[1], binding)
            value = binding.value
        elif isinstance(binding, ast.Assign | ast.NamedExpr):
            value = binding.value
        elif isinstance(binding, ast.For | ast.AsyncFor):
            inner = self.read(binding.iter, depth + 1)
            if inner is None or inner.shape not in _ELEMENTS:
                return None
            return _Known(_Shape.INSTANCE, inner.orm, binding, inner.param)
        else:
            return None
        if value is None:
            return None
        known = self.read(value, depth + 1)
        return _Known(known.shape, known.orm, binding, known.param) if known is not None else None


def _annotation_shape(project: Project, module: ModuleInfo, expr: ast.expr | None, depth: int) -> tuple[_Shape, ClassInfo] | None:
    if expr is None or depth > 6:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            parsed = ast.parse(expr.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return None
        return _annotation_shape(project, module, parsed, depth + 1)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        parts = [p for p in (expr.left, expr.right) if not (isinstance(p, ast.Constant) and p.value is None)]
        return _annotation_shape(project, module, parts[0], depth + 1) if len(parts) == 1 else None
    if isinstance(expr, ast.Name | ast.Attribute):
        orm = orm_class(project, project.resolve(module, expr))
        return (_Shape.INSTANCE, orm) if orm is not None else None
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name | ast.Attribute):
        head = project.resolve(module, expr.value)
        args = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        if head in _OPTIONAL and len(args) == 1:
            return _annotation_shape(project, module, args[0], depth + 1)
        if head in _UNION:
            rest = [a for a in args if not (isinstance(a, ast.Constant) and a.value is None)]
            return _annotation_shape(project, module, rest[0], depth + 1) if len(rest) == 1 else None
        if head in _COLLECTIONS:
            if head in {"builtins.tuple", "typing.Tuple"}:
                if not (len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis):
                    return None
            elif len(args) != 1:
                return None
            element = _annotation_shape(project, module, args[0], depth + 1)
            if element is not None and element[0] is _Shape.INSTANCE:
                return (_Shape.COLLECTION, element[1])
    return None


def _bindings(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[ast.AST]:
    """Every place the function binds `name` itself (comprehension variables are
    their own scope). A binding this does not understand (a tuple target, `+=`,
    `with ... as`, `except ... as`, an import, `global`) is kept as itself, and the
    caller rejects it."""
    args = func.args
    out: list[ast.AST] = [
        a for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.arg == name
    ]
    if any(extra is not None and extra.arg == name for extra in (args.vararg, args.kwarg)):
        return [func]
    nodes = own_nodes(func)
    in_comprehension: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.comprehension):
            in_comprehension.update(id(n) for n in ast.walk(node.target))
    for node in nodes:
        if isinstance(node, ast.Global | ast.Nonlocal) and name in node.names:
            return [node]
        if isinstance(node, ast.Assign):
            if any(_stores(t, name) for t in node.targets):
                plain = all(isinstance(t, ast.Name) for t in node.targets if _stores(t, name))
                out.append(node if plain else node.targets[0])
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor | ast.NamedExpr):
            target = node.target
            if _stores(target, name) and id(target) not in in_comprehension:
                out.append(node if isinstance(target, ast.Name) and not isinstance(node, ast.AugAssign) else target)
        elif _binds_otherwise(node, name):
            out.append(node)
    return out


def _binds_otherwise(node: ast.AST, name: str) -> bool:
    """`with ... as name`, `except ... as name`, `import name`, `def name`, `del name`,
    `case name`: bindings whose value is not read here."""
    if isinstance(node, ast.With | ast.AsyncWith):
        return any(item.optional_vars is not None and _stores(item.optional_vars, name) for item in node.items)
    if isinstance(node, ast.Import | ast.ImportFrom):
        return any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names)
    if isinstance(node, ast.Delete):
        return any(_stores(t, name, ast.Del) for t in node.targets)
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return node.name == name
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    return False


def _stores(target: ast.AST, name: str, kind: type[ast.expr_context] = ast.Store) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, kind) for n in ast.walk(target))


# -- the rule ------------------------------------------------------------------------------


class OrmObjectValidatedWithoutFromAttributes(Rule):
    """Flags an ORM object validated into a Pydantic schema that does not read attributes.

    ## What it does
    Finds `Schema.model_validate(obj)`, `TypeAdapter(Schema).validate_python(obj)`,
    `parse_obj_as(Schema, obj)` (and the list forms, `TypeAdapter(list[Schema])`,
    `[Schema.model_validate(x) for x in rows]`) where `obj` is known to be an
    instance of a project SQLAlchemy model (a `DeclarativeBase` / `declarative_base()`
    subclass, or a SQLModel `table=True` class), and `Schema` is a project Pydantic
    model none of whose classes sets `from_attributes=True` (`model_config`, class
    keywords, or v1's `orm_mode = True`), with no `from_attributes=True` passed to
    the call. The object is known when it comes from `session.get(User, id)`,
    `session.scalar(select(User)...)`, `.scalars(...).first()/one()/all()`,
    `(await session.execute(select(User))).scalar_one()`, `session.exec(select(User))`,
    `session.query(User)....first()`, `User(...)`, a parameter or variable annotated
    `User` / `list[User]`, or a project function annotated to return one; every
    binding of the variable must agree. `Schema.from_orm(...)` is flagged on any
    argument: without the setting it raises whatever it is given.

    Routes that simply return ORM objects are not flagged: FastAPI validates a
    `response_model` / return annotation with `from_attributes=True` itself.

    ## Why is this bad?
    Pydantic v2 validates a model from a dict or an instance of the model; it reads
    an arbitrary object's attributes only with `from_attributes`. Without it,
    `UserOut.model_validate(session.get(User, 1))` raises
    `ValidationError: Input should be a valid dictionary or instance of UserOut
    [type=model_type]` (tested with Pydantic 2.14 and SQLAlchemy 2.1, also for a
    SQLModel table instance given to a plain `BaseModel`), and `UserOut.from_orm(x)`
    raises `PydanticUserError` (v1: `ConfigError`) before looking at `x`. The code
    path is usually only hit at run time: a 500 on the endpoint, not a type error.

    FastAPI's own response validation is different: `serialize_response` calls
    `TypeAdapter.validate_python(value, from_attributes=True)`
    (`fastapi/_compat/v2.py`), so `return user` with `response_model=UserOut`
    works, and a SQLModel schema always works (SQLModel's base config sets
    `from_attributes=True`).

    ## Example
    ```python
    class UserOut(BaseModel):
        id: int
        email: str

    @router.get("/users/{user_id}/card")
    async def user_card(user_id: int, session: AsyncSession = Depends(get_session)) -> dict:
        user = await session.get(User, user_id)
        return {"user": UserOut.model_validate(user).model_dump()}
    ```

    ## Use instead
    ```python
    class UserOut(BaseModel):
        model_config = ConfigDict(from_attributes=True)

        id: int
        email: str
    ```

    ## Fix safety
    When the schema is defined in the same file and its config is a
    `model_config = ConfigDict(...)` call or absent, the fix adds
    `from_attributes=True` to it (inserting `model_config = ConfigDict(from_attributes=True)`
    as the class's first line when absent). It is unsafe: it changes the schema for
    every caller (an object with matching attributes is then accepted where it
    was rejected before).

    ## References
    - https://docs.pydantic.dev/latest/concepts/models/#arbitrary-class-instances
    - https://docs.pydantic.dev/latest/api/config/#pydantic.config.ConfigDict.from_attributes
    - https://docs.pydantic.dev/latest/migration/#changes-to-config
    - https://fastapi.tiangolo.com/tutorial/sql-databases/
    """

    code = "FX309"
    name = "orm-object-validated-without-from-attributes"
    summary = "An ORM object validated into a Pydantic schema without `from_attributes=True` raises `ValidationError`."
    severity = Severity.ERROR

    valid = (
        Valid(
            # the schema reads attributes: its model_config sets from_attributes
            """
            from fastapi import APIRouter, Depends
            from pydantic import BaseModel, ConfigDict
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import User

            router = APIRouter()

            class UserOut(BaseModel):
                model_config = ConfigDict(from_attributes=True)
                id: int
                email: str

            @router.get("/users/{user_id}/card")
            async def user_card(user_id: int, session: AsyncSession = Depends(get_session)) -> dict:
                user = await session.get(User, user_id)
                return {"user": UserOut.model_validate(user).model_dump()}
            """,
            filename="app/routes.py",
            files={
                "app/models.py": """
                    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                    class Base(DeclarativeBase):
                        pass

                    class User(Base):
                        __tablename__ = "users"
                        id: Mapped[int] = mapped_column(primary_key=True)
                        email: Mapped[str]
                    """,
                "app/db.py": """
                    async def get_session():
                        yield None
                    """,
            },
        ),
        Valid(
            # FastAPI validates a returned ORM object with from_attributes itself;
            # from_attributes=True on the call and a base class that sets it work too
            """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel, ConfigDict
            from sqlalchemy import select
            from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Item(Base):
                __tablename__ = "items"
                id: Mapped[int] = mapped_column(primary_key=True)
                name: Mapped[str]

            class OrmSchema(BaseModel):
                model_config = ConfigDict(from_attributes=True)

            class ItemOut(OrmSchema):
                id: int
                name: str

            class ItemPlain(BaseModel):
                id: int
                name: str

            def get_db():
                yield Session()

            @app.get("/items/{item_id}", response_model=ItemPlain)
            def read_item(item_id: int, db: Session = Depends(get_db)):
                return db.get(Item, item_id)

            @app.get("/items")
            def list_items(db: Session = Depends(get_db)) -> list[ItemOut]:
                rows = db.scalars(select(Item)).all()
                return [ItemOut.model_validate(row) for row in rows]

            @app.get("/items/{item_id}/plain")
            def read_plain(item_id: int, db: Session = Depends(get_db)) -> ItemPlain:
                return ItemPlain.model_validate(db.get(Item, item_id), from_attributes=True)
            """
        ),
        Valid(
            # the argument is not known to be an ORM object: a dict, a Row from
            # `.execute(...).first()`, a variable rebound to a dict on one path
            """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel
            from sqlalchemy import select
            from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

            app = FastAPI()

            class Base(DeclarativeBase):
                pass

            class Item(Base):
                __tablename__ = "items"
                id: Mapped[int] = mapped_column(primary_key=True)
                name: Mapped[str]

            class ItemOut(BaseModel):
                id: int
                name: str

            @app.get("/items/{item_id}")
            def read_item(item_id: int, db: Session, cached: dict | None = None) -> ItemOut:
                row = db.execute(select(Item)).first()
                item = db.get(Item, item_id)
                if cached is not None:
                    item = cached
                return ItemOut.model_validate(item)

            def from_payload(payload: dict) -> ItemOut:
                return ItemOut.model_validate(payload)
            """
        ),
        Valid(
            # SQLModel schemas read attributes (SQLModel's own config sets from_attributes)
            """
            from sqlmodel import Field, Session, SQLModel, select

            class HeroBase(SQLModel):
                name: str

            class Hero(HeroBase, table=True):
                id: int | None = Field(default=None, primary_key=True)

            class HeroPublic(HeroBase):
                id: int

            def list_heroes(session: Session) -> list[HeroPublic]:
                heroes = session.exec(select(Hero)).all()
                return [HeroPublic.model_validate(hero) for hero in heroes]
            """
        ),
        Valid(
            # a base from a library (its config is not read here) and a before-validator
            # that turns the object into a dict: the model may accept the object
            """
            from typing import Any

            from pydantic import BaseModel, model_validator
            from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

            from shared.schemas import OrmBaseModel

            class Base(DeclarativeBase):
                pass

            class Order(Base):
                __tablename__ = "orders"
                id: Mapped[int] = mapped_column(primary_key=True)
                total: Mapped[int]

            class OrderOut(OrmBaseModel):
                id: int

            class OrderSummary(BaseModel):
                id: int
                total: int

                @model_validator(mode="before")
                @classmethod
                def unpack(cls, data: Any) -> Any:
                    return data if isinstance(data, dict) else {"id": data.id, "total": data.total}

            def summarise(session: Session, order_id: int) -> tuple[OrderOut, OrderSummary]:
                order = session.get(Order, order_id)
                return OrderOut.model_validate(order), OrderSummary.model_validate(order)
            """
        ),
        Valid(
            # v1 style: orm_mode = True in class Config makes from_orm work
            """
            from pydantic import BaseModel
            from sqlalchemy.orm import Session

            from app.models import Note

            class NoteOut(BaseModel):
                id: int
                body: str

                class Config:
                    orm_mode = True

            def note_out(db: Session, note_id: int) -> NoteOut:
                return NoteOut.from_orm(db.query(Note).filter(Note.id == note_id).first())
            """,
            filename="app/notes.py",
            files={
                "app/models.py": """
                    from sqlalchemy import Column, Integer, String
                    from sqlalchemy.orm import declarative_base

                    Base = declarative_base()

                    class Note(Base):
                        __tablename__ = "notes"
                        id = Column(Integer, primary_key=True)
                        body = Column(String)
                    """,
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import APIRouter, Depends
            from pydantic import BaseModel, ConfigDict
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import User

            router = APIRouter()

            class UserOut(BaseModel):
                model_config = ConfigDict(str_strip_whitespace=True)
                id: int
                email: str

            @router.get("/users/{user_id}/card")
            async def user_card(user_id: int, session: AsyncSession = Depends(get_session)) -> dict:
                user = await session.get(User, user_id)
                return {"user": UserOut.model_validate(user).model_dump()}
            """,
            lines=(18,),
            filename="app/routes.py",
            files={
                "app/models.py": """
                    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                    class Base(DeclarativeBase):
                        pass

                    class User(Base):
                        __tablename__ = "users"
                        id: Mapped[int] = mapped_column(primary_key=True)
                        email: Mapped[str]
                    """,
                "app/db.py": """
                    async def get_session():
                        yield None
                    """,
            },
            fixed="""
            from fastapi import APIRouter, Depends
            from pydantic import BaseModel, ConfigDict
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session
            from app.models import User

            router = APIRouter()

            class UserOut(BaseModel):
                model_config = ConfigDict(from_attributes=True, str_strip_whitespace=True)
                id: int
                email: str

            @router.get("/users/{user_id}/card")
            async def user_card(user_id: int, session: AsyncSession = Depends(get_session)) -> dict:
                user = await session.get(User, user_id)
                return {"user": UserOut.model_validate(user).model_dump()}
            """,
        ),
        Invalid(
            """
            from pydantic import TypeAdapter
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.models import Item
            from app.schemas import ItemOut

            items_adapter = TypeAdapter(list[ItemOut])

            async def list_items(session: AsyncSession, owner_id: int) -> list[ItemOut]:
                result = await session.execute(select(Item).where(Item.owner_id == owner_id))
                items = result.scalars().all()
                return items_adapter.validate_python(items)

            async def newest_items(session: AsyncSession) -> list[ItemOut]:
                rows = await session.scalars(select(Item).order_by(Item.id.desc()).limit(10))
                return [ItemOut.model_validate(row) for row in rows]

            async def first_item(session: AsyncSession) -> ItemOut:
                item = (await session.execute(select(Item))).scalar_one()
                return TypeAdapter(ItemOut).validate_python(item)
            """,
            lines=(13, 17, 21),
            filename="app/services.py",
            files={
                "app/models.py": """
                    from sqlalchemy import ForeignKey
                    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                    class Base(DeclarativeBase):
                        pass

                    class Item(Base):
                        __tablename__ = "items"
                        id: Mapped[int] = mapped_column(primary_key=True)
                        owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
                        title: Mapped[str]
                    """,
                "app/schemas.py": """
                    from pydantic import BaseModel

                    class ItemBase(BaseModel):
                        title: str

                    class ItemOut(ItemBase):
                        id: int
                        owner_id: int
                    """,
            },
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel
            from sqlalchemy.orm import Session

            from app.crud import get_note
            from app.db import get_db
            from app.models import Note

            app = FastAPI()

            class NoteOut(BaseModel):
                \"\"\"A note as the API shows it.\"\"\"

                id: int
                body: str

            @app.get("/notes/{note_id}")
            def read_note(note_id: int, db: Session = Depends(get_db)) -> dict:
                note = get_note(db, note_id)
                return {"note": NoteOut.from_orm(note), "raw": NoteOut.model_validate(note)}

            def export(notes: list[Note]) -> list[dict]:
                return [NoteOut.model_validate(n).model_dump() for n in notes]
            """,
            lines=(20, 20, 23),
            files={
                "app/models.py": """
                    from sqlalchemy import Column, Integer, String
                    from sqlalchemy.orm import declarative_base

                    Base = declarative_base()

                    class Note(Base):
                        __tablename__ = "notes"
                        id = Column(Integer, primary_key=True)
                        body = Column(String)
                    """,
                "app/crud.py": """
                    from sqlalchemy.orm import Session

                    from app.models import Note

                    def get_note(db: Session, note_id: int) -> Note | None:
                        return db.query(Note).filter(Note.id == note_id).first()
                    """,
                "app/db.py": """
                    def get_db():
                        yield None
                    """,
            },
            fixed="""
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel
            from sqlalchemy.orm import Session

            from app.crud import get_note
            from app.db import get_db
            from app.models import Note
            from pydantic import ConfigDict

            app = FastAPI()

            class NoteOut(BaseModel):
                \"\"\"A note as the API shows it.\"\"\"

                model_config = ConfigDict(from_attributes=True)

                id: int
                body: str

            @app.get("/notes/{note_id}")
            def read_note(note_id: int, db: Session = Depends(get_db)) -> dict:
                note = get_note(db, note_id)
                return {"note": NoteOut.from_orm(note), "raw": NoteOut.model_validate(note)}

            def export(notes: list[Note]) -> list[dict]:
                return [NoteOut.model_validate(n).model_dump() for n in notes]
            """,
        ),
        Invalid(
            # a SQLModel table instance given to a plain BaseModel schema
            """
            from pydantic import BaseModel
            from sqlmodel import Field, Session, SQLModel, select

            class Hero(SQLModel, table=True):
                id: int | None = Field(default=None, primary_key=True)
                name: str

            class HeroCard(BaseModel):
                id: int
                name: str

            def hero_card(session: Session, name: str) -> HeroCard:
                hero = session.exec(select(Hero).where(Hero.name == name)).one()
                return HeroCard.model_validate(hero)
            """,
            lines=(14,),
        ),
    )

    # -- calls ----------------------------------------------------------------------

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if attr in {"model_validate", "validate", "from_orm"}:
                self._model_call(node, func, ctx)
            elif attr == "validate_python":
                self._adapter_call(node, func, ctx)
        elif isinstance(func, ast.Name) and func.id == "parse_obj_as":
            self._parse_obj_as(node, ctx)

    def _model_call(self, node: ast.Call, func: ast.Attribute, ctx: FileContext) -> None:
        receiver = func.value
        if not isinstance(receiver, ast.Name | ast.Attribute):
            return
        cls = model_class(ctx.project, ctx.resolve(receiver))
        if cls is None:
            return
        schema = lacking_schema(ctx.project, cls)
        if schema is None or not _plain_call(node):
            return
        head = _short(ctx, receiver)
        shown = f"{cls.node.name if head == '...' else head}.{func.attr}({_short(ctx, node.args[0])})"
        if func.attr == "from_orm":
            self._report(ctx, node, schema, f"`{shown}` raises `PydanticUserError` (Pydantic v1: `ConfigError`) whatever it is given: `{cls.node.name}` sets neither `from_attributes=True` nor `orm_mode = True`", v2=False)
            return
        if not node.args:
            return
        known = _reader(ctx).read(node.args[0])
        if known is None or known.shape is not _Shape.INSTANCE:
            return
        self._report_known(ctx, node, schema, shown, known, node.args[0])

    def _adapter_call(self, node: ast.Call, func: ast.Attribute, ctx: FileContext) -> None:
        adapted = _adapter_type(ctx, func.value)
        if adapted is None or not node.args or not _plain_call(node):
            return
        module, type_expr = adapted
        self._typed_validation(ctx, node, module, type_expr, node.args[0], f"`{_short(ctx, func.value)}.validate_python({_short(ctx, node.args[0])})`")

    def _parse_obj_as(self, node: ast.Call, ctx: FileContext) -> None:
        if ctx.resolve(node.func) not in _PARSE_OBJ_AS or len(node.args) != 2 or node.keywords:
            return
        type_expr, value = node.args
        self._typed_validation(ctx, node, ctx.module, type_expr, value, f"`parse_obj_as({_short(ctx, type_expr)}, {_short(ctx, value)})`")

    def _typed_validation(
        self, ctx: FileContext, node: ast.Call, module: ModuleInfo, type_expr: ast.expr, value: ast.expr, shown: str
    ) -> None:
        wanted = _schema_shape(ctx.project, module, type_expr)
        if wanted is None:
            return
        shape, cls = wanted
        schema = lacking_schema(ctx.project, cls)
        if schema is None:
            return
        known = _reader(ctx).read(value)
        if known is None or known.shape is not shape:
            return
        self._report_known(ctx, node, schema, shown.strip("`"), known, value)

    # -- reporting --------------------------------------------------------------------

    def _report_known(self, ctx: FileContext, node: ast.Call, schema: _Schema, shown: str, known: _Known, arg: ast.expr) -> None:
        value = _short(ctx, arg)
        what = "a list of ORM objects" if known.shape is _Shape.COLLECTION else "an ORM object"
        if isinstance(arg, ast.Name):
            origin = known.origin
            if known.param is not None:
                source = f"parameter `{known.param}`"
            elif isinstance(origin, ast.comprehension | ast.For | ast.AsyncFor):
                source = f"iterating `{_short(ctx, origin.iter)}`, line {_line(origin)}"
            else:
                source = f"line {_line(origin)}"
            because = f"`{value}` holds {what} (`{known.orm.node.name}`, from {source})"
        else:
            because = f"`{value}` gives {what} (`{known.orm.node.name}`)"
        name = schema.cls.node.name
        self._report(
            ctx,
            node,
            schema,
            f"`{shown}` raises `ValidationError` (`model_type`): {because}, and `{name}` does not set "
            f"`from_attributes=True`, so Pydantic accepts only a dict or an instance of `{name}` there",
            v2=True,
        )

    def _report(self, ctx: FileContext, node: ast.Call, schema: _Schema, problem: str, *, v2: bool) -> None:
        name = schema.cls.node.name
        if schema.v1_config:
            remedy = f"set `orm_mode = True` (v2: `from_attributes = True`) in `{name}.Config`"
        elif _has_model_config(schema.cls):
            remedy = f"add `from_attributes=True` to `{name}.model_config`"
        else:
            remedy = f"set `model_config = ConfigDict(from_attributes=True)` on `{name}`"
        if v2:
            remedy += " or pass `from_attributes=True` to this call"
        ctx.report(node, f"{problem}; {remedy}.", fix=_config_fix(ctx, schema))


# -- helpers ------------------------------------------------------------------------------


def _reader(ctx: FileContext) -> _Reader:
    return _Reader(ctx.project, ctx.module, ctx.function(), ctx.ancestors)


def _line(node: ast.AST) -> int | None:
    """The line of a binding (a comprehension's line is its iterable's)."""
    if isinstance(node, ast.comprehension):
        return node.iter.lineno
    return getattr(node, "lineno", None)


def _has_model_config(cls: ClassInfo) -> bool:
    for stmt in cls.node.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets):
            return True
    return False


def _short(ctx: FileContext, node: ast.AST) -> str:
    text = ctx.source.segment(node) or ast.unparse(node)
    return text if len(text) <= 40 and "\n" not in text else "..."


def _plain_call(node: ast.Call) -> bool:
    """One positional value, and neither `from_attributes=` nor `**kwargs`."""
    if any(kw.arg is None or kw.arg == "from_attributes" for kw in node.keywords):
        return False
    return len(node.args) == 1 and not isinstance(node.args[0], ast.Starred)


def _adapter_type(ctx: FileContext, receiver: ast.expr) -> tuple[ModuleInfo, ast.expr] | None:
    """The type of `TypeAdapter(T)` called in place, or bound to a module-level name."""
    module = ctx.module
    call: ast.expr | None = receiver
    if isinstance(receiver, ast.Name | ast.Attribute):
        symbol = ctx.project.lookup(ctx.resolve(receiver))
        if not isinstance(symbol, tuple):
            return None
        module, call = symbol
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name | ast.Attribute)):
        return None
    if ctx.project.resolve(module, call.func) not in _TYPE_ADAPTERS or len(call.args) != 1 or call.keywords:
        return None
    return module, call.args[0]


def _schema_shape(project: Project, module: ModuleInfo, expr: ast.expr) -> tuple[_Shape, ClassInfo] | None:
    """`Schema` / `Schema | None` -> one instance; `list[Schema]` / `Sequence[Schema]` -> a list."""
    if isinstance(expr, ast.Name | ast.Attribute):
        cls = model_class(project, project.resolve(module, expr))
        return (_Shape.INSTANCE, cls) if cls is not None else None
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name | ast.Attribute):
        head = project.resolve(module, expr.value)
        args = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        if head in _COLLECTIONS - {"builtins.tuple", "typing.Tuple"} and len(args) == 1:
            inner = _schema_shape(project, module, args[0])
            return (_Shape.COLLECTION, inner[1]) if inner is not None and inner[0] is _Shape.INSTANCE else None
    return None


def _config_fix(ctx: FileContext, schema: _Schema) -> Fix | None:
    """Add `from_attributes=True` to the schema's `model_config`, when the schema is in
    this file and its config is a `ConfigDict(...)` call or absent."""
    cls = schema.cls
    if cls.module is not ctx.module or schema.v1_config or cls.node.keywords:
        return None
    config: ast.Call | None = None
    for stmt in cls.node.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets):
                if not isinstance(stmt.value, ast.Call):
                    return None
                config = stmt.value
    if config is not None:
        edit = _into_call(ctx, config)
        return Fix(_FIX_TITLE, (edit,), safe=False) if edit else None
    return _new_config(ctx, cls.node)


def _into_call(ctx: FileContext, call: ast.Call) -> Edit | None:
    end_line, end_col = call.func.end_lineno, call.func.end_col_offset
    if end_line is None or end_col is None:
        return None
    column = ctx.source.column(end_line, end_col)
    if ctx.source.line_text(end_line)[column - 1 : column] != "(":
        return None
    if not call.keywords:
        return ctx.source.insert_at(end_line, column + 1, "from_attributes=True")
    first = call.keywords[0]
    if first.lineno == end_line:
        return ctx.source.insert_at(end_line, column + 1, "from_attributes=True, ")
    indent = ctx.source.line_text(first.lineno)[: first.col_offset]
    if indent.strip():
        return None
    return ctx.source.insert_at(first.lineno, ctx.source.column(first.lineno, first.col_offset), f"from_attributes=True,\n{indent}")


def _new_config(ctx: FileContext, node: ast.ClassDef) -> Fix | None:
    """Insert `model_config = ConfigDict(from_attributes=True)` before the class's first
    statement after its docstring (with the `ConfigDict` import when needed)."""
    body = node.body
    first = body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    if has_doc and len(body) < 2:
        return None
    anchor = body[1] if has_doc else first
    decorators: list[ast.expr] = getattr(anchor, "decorator_list", [])
    start = decorators[0].lineno if decorators else anchor.lineno
    line = ctx.source.line_text(start)
    indent = line[: len(line) - len(line.lstrip())]
    above = ctx.source.line_text(start - 1).strip()
    if start == node.lineno or not indent or above.startswith("#"):
        return None  # a one-line class, or a comment that belongs to the next statement
    edits: list[Edit] = []
    name = local_name_for(ctx.module, CONFIG_DICT)
    if name is None:
        alias = next((local for local, qual in ctx.module.imports.items() if qual == "pydantic"), None)
        if alias is not None:
            name = f"{alias}.ConfigDict"
        elif name_is_free(ctx.module, "ConfigDict"):
            name = "ConfigDict"
            extra = add_import_edit(ctx, "from pydantic import ConfigDict")
            if extra is not None:
                edits.append(extra)
        else:
            return None
    edits.insert(0, Edit(start, 1, start, 1, f"{indent}model_config = {name}(from_attributes=True)\n\n"))
    return Fix(_FIX_TITLE, tuple(edits), safe=False)
