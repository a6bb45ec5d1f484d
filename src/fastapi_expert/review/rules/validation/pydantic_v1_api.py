from __future__ import annotations

import ast

from fastapi_expert.review.model.module import ClassInfo, FunctionInfo, own_nodes
from fastapi_expert.review.rules._util import add_import_edit
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    CONFIG_DICT,
    PARAM_FUNCTIONS,
    is_model_class,
    is_model_node,
    is_settings_node,
    local_name_for,
    model_class,
    name_is_free,
    uses_pydantic_v2,
)
from fastapi_expert.types import Edit, Fix, Severity

_V1_DECORATORS = {
    "pydantic.validator": ("@validator", "@field_validator (a `@classmethod`)"),
    "pydantic.class_validators.validator": ("@validator", "@field_validator (a `@classmethod`)"),
    "pydantic.root_validator": ("@root_validator", "@model_validator(mode=...)"),
    "pydantic.class_validators.root_validator": ("@root_validator", "@model_validator(mode=...)"),
}
_DUMP_KWARGS = frozenset({"include", "exclude", "by_alias", "exclude_unset", "exclude_defaults", "exclude_none"})
# v1 instance method -> (v2 name, keyword arguments the rename keeps equivalent)
_INSTANCE_METHODS: dict[str, tuple[str, frozenset[str] | None]] = {
    "dict": ("model_dump", _DUMP_KWARGS),
    "json": ("model_dump_json", _DUMP_KWARGS),
    "copy": ("model_copy", frozenset({"update", "deep"})),
}
# v1 class method -> (v2 name or a description, positional args allowed, keywords allowed); None: no fix
_CLASS_METHODS: dict[str, tuple[str, int, frozenset[str]] | tuple[str, None, None]] = {
    "parse_obj": ("model_validate", 1, frozenset()),
    "parse_raw": ("model_validate_json", 1, frozenset()),
    "from_orm": ("model_validate", 1, frozenset()),
    "schema": ("model_json_schema", 0, frozenset({"by_alias", "ref_template"})),
    "construct": ("model_construct", 1, frozenset({"_fields_set"})),
    "update_forward_refs": ("model_rebuild", 0, frozenset()),
    "parse_file": ("model_validate_json(Path(...).read_text())", None, None),
    "schema_json": ("json.dumps(Model.model_json_schema())", None, None),
}
_FIELD_FUNCTIONS = frozenset({"pydantic.Field", "pydantic.fields.Field"})
_CON_FUNCTIONS = frozenset(
    {"pydantic.constr", "pydantic.conlist", "pydantic.conset", "pydantic.types.constr", "pydantic.types.conlist", "pydantic.types.conset"}
)
_FIELD_RENAMES = {"regex": "pattern", "min_items": "min_length", "max_items": "max_length"}
_FIELD_REMOVED = {"const": "use a `Literal[...]` type", "unique_items": "use a `set[...]` type"}
_CONFIG_RENAMES = {
    "orm_mode": "from_attributes",
    "allow_population_by_field_name": "populate_by_name",
    "anystr_strip_whitespace": "str_strip_whitespace",
    "anystr_lower": "str_to_lower",
    "anystr_upper": "str_to_upper",
    "min_anystr_length": "str_min_length",
    "max_anystr_length": "str_max_length",
    "validate_all": "validate_default",
    "schema_extra": "json_schema_extra",
    "keep_untouched": "ignored_types",
}
_CONFIG_KEYS_V2 = frozenset(
    {
        *_CONFIG_RENAMES.values(),
        "extra",
        "frozen",
        "arbitrary_types_allowed",
        "use_enum_values",
        "validate_assignment",
        "title",
        "json_encoders",
        "allow_inf_nan",
        "alias_generator",
        "str_max_length",
        "protected_namespaces",
        "revalidate_instances",
        "strict",
        "hide_input_in_errors",
        "defer_build",
        "coerce_numbers_to_str",
        "use_attribute_docstrings",
        "loc_by_alias",
    }
)
_EXTRA_ENUM = frozenset({"pydantic.Extra", "pydantic.config.Extra"})


def _rename_attr(ctx: FileContext, attr: ast.Attribute, new: str) -> Edit | None:
    """An edit replacing the attribute name at the end of `attr`."""
    end_line = attr.end_lineno
    end_col = attr.end_col_offset
    if end_line is None or end_col is None:
        return None
    end = ctx.source.column(end_line, end_col)
    start = end - len(attr.attr)
    if ctx.source.line_text(end_line)[start - 1 : end - 1] != attr.attr:
        return None
    return Edit(end_line, start, end_line, end, new)


def _v2_name(attr: str) -> str:
    """The v2 method name of a v1 one (`dict` -> `model_dump`), bare: `model_validate`
    for `parse_obj`, not a description."""
    if attr in _INSTANCE_METHODS:
        return _INSTANCE_METHODS[attr][0]
    return _CLASS_METHODS[attr][0].split("(", 1)[0]


def _calls_attr(nodes: list[ast.stmt] | list[ast.expr], attr: str) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == attr
        for stmt in nodes
        for n in ast.walk(stmt)
    )


def _fallback_of_v2(ctx: FileContext, call: ast.Call, v2: str) -> bool:
    """Is the v1 call the fallback of its own v2 spelling, for an object that may not
    be a v2 model: in the `except` of a `try` that calls the v2 name (`try: return
    self.model_dump() / except Exception: return self.dict()`), or in the branch of an
    `if` (or conditional expression) whose other branch or test does? Compatibility
    code written for both versions: the v2 path is the one that runs."""
    child: ast.AST = call
    for ancestor in reversed(ctx.ancestors):
        if isinstance(ancestor, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            return _after_v2_return(ancestor, child, v2)
        if isinstance(ancestor, ast.Try) and child in ancestor.handlers and _calls_attr(ancestor.body, v2):
            return True
        if isinstance(ancestor, ast.If | ast.IfExp):
            body = ancestor.body if isinstance(ancestor.body, list) else [ancestor.body]
            orelse = ancestor.orelse if isinstance(ancestor.orelse, list) else [ancestor.orelse]
            other = orelse if any(child is n for n in body) else body if any(child is n for n in orelse) else None
            if other is not None and (_calls_attr(other, v2) or _mentions(ancestor.test, v2)):
                return True
        if _after_v2_return(ancestor, child, v2):
            return True
        child = ancestor
    return False


def _after_v2_return(parent: ast.AST, stmt: ast.AST, v2: str) -> bool:
    """Does an earlier statement of the same block return through the v2 name
    (`if hasattr(self, "model_copy"): return self.model_copy()`, then `return self.copy()`)?"""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if not isinstance(block, list) or not any(stmt is s for s in block):
            continue
        for earlier in block[: next(i for i, s in enumerate(block) if s is stmt)]:
            if (
                isinstance(earlier, ast.If)
                and earlier.body
                and isinstance(earlier.body[-1], ast.Return | ast.Raise)
                and (_mentions(earlier.test, v2) or _calls_attr(earlier.body, v2))
            ):
                return True
    return False


def _mentions(test: ast.expr, v2: str) -> bool:
    """Does an `if` test ask for the v2 method (`hasattr(obj, "model_dump")`)?"""
    return any(isinstance(n, ast.Constant) and n.value == v2 for n in ast.walk(test))


def _rename_keyword(ctx: FileContext, kw: ast.keyword, new: str) -> Edit | None:
    line = getattr(kw, "lineno", None)
    col = getattr(kw, "col_offset", None)
    if line is None or col is None or kw.arg is None:
        return None
    start = ctx.source.column(line, col)
    if ctx.source.line_text(line)[start - 1 : start - 1 + len(kw.arg)] != kw.arg:
        return None
    return Edit(line, start, line, start + len(kw.arg), new)


class PydanticV1Api(Rule):
    """Flags Pydantic v1 API used in a project that runs on Pydantic v2.

    ## What it does
    In a project that shows it is on Pydantic v2 (it imports v2-only names
    such as `ConfigDict`, `field_validator`, `pydantic_settings`, or declares
    `model_config`), finds the v1 spellings that v2 only keeps as deprecated
    shims, or has removed:

    - `@validator` / `@root_validator` on a model (use `@field_validator` /
      `@model_validator`);
    - a nested `class Config:` (use `model_config = ConfigDict(...)`), and v1
      config keys such as `orm_mode` in a `ConfigDict` (`from_attributes`);
    - `.dict()`, `.json()`, `.copy()` on a value known to be a model instance
      (a parameter annotated with a project model, or a variable built by
      `Model(...)` / `Model.model_validate(...)`), and `Model.parse_obj()`,
      `.parse_raw()`, `.from_orm()`, `.schema()`, `.construct()`,
      `.update_forward_refs()`, `.parse_file()`, `.schema_json()`;
    - `Field(regex=...)`, `min_items=`/`max_items=`, `const=`, `unique_items=`
      (and `regex=` in `constr()` and FastAPI's `Query()`/`Path()`/...).

    Files that import `pydantic.v1` use the v1 API on purpose and are skipped.
    So is a v1 method call that is the fallback of its own v2 spelling, in code
    written to run on both: in the `except` of a `try` that calls the v2 name
    (`try: return self.model_dump() / except Exception: return self.dict()`),
    in the other branch of an `if` (or conditional expression) that calls it
    or tests for it (`hasattr(obj, "model_dump")`), or after an `if` that
    returns through it.

    ## Why is this bad?
    The v1 methods and decorators emit `PydanticDeprecatedSince20` warnings and
    will be removed in Pydantic v3; some v1 spellings already fail in v2
    (`Field(regex=...)` and `const=` raise at import, `.json(indent=2)` raises
    `TypeError`). Mixed code is also harder to read: two names for each
    operation, and `@validator` differs from `@field_validator` in subtle ways
    (`each_item`, `always`, `pre`).

    ## Fix safety
    Renames are offered where v2's deprecated shim is itself a call of the new
    name with the same arguments, so behaviour is unchanged: `.dict(...)` ->
    `.model_dump(...)`, `.json(...)` -> `.model_dump_json(...)` (only with the
    arguments the v2 shim forwards; `.json(indent=2)`, which raises
    `TypeError` in v2, gets the same rename as an *unsafe* fix since it turns
    an exception into output), `.copy(update=, deep=)` ->
    `.model_copy(...)`, `parse_obj`/`from_orm` -> `model_validate`, `parse_raw`
    -> `model_validate_json`, `schema` -> `model_json_schema`, `construct` ->
    `model_construct`, `regex=` -> `pattern=`, `min_items=`/`max_items=` ->
    `min_length=`/`max_length=`, v1 config keys -> their v2 names, and a
    `class Config:` made only of known `key = value` lines (and no comments) ->
    `model_config = ConfigDict(...)`, which is what v2 does with it at class
    creation. Validators are not rewritten: their signatures and options
    differ.

    ## References
    - https://docs.pydantic.dev/latest/migration/
    - https://docs.pydantic.dev/latest/migration/#changes-to-pydanticbasemodel
    - https://docs.pydantic.dev/latest/migration/#changes-to-config
    - https://docs.pydantic.dev/latest/migration/#changes-to-validators
    - https://github.com/pydantic/bump-pydantic
    """

    code = "FX307"
    name = "pydantic-v1-api"
    summary = "Pydantic v1 API (`.dict()`, `@validator`, `class Config`, `regex=`) in a Pydantic v2 project."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict, Field, field_validator

            app = FastAPI()

            class UserCreate(BaseModel):
                model_config = ConfigDict(from_attributes=True)

                username: str = Field(pattern=r"^[a-z0-9_]+$", max_length=32)

                @field_validator("username")
                @classmethod
                def lower(cls, v: str) -> str:
                    return v.lower()

            @app.post("/users")
            def create_user(user: UserCreate, extra: dict):
                cache = {"a": 1}
                return {**user.model_dump(), "cache": cache.copy(), "extra": extra.copy()}
            """
        ),
        Valid(
            """
            from pydantic import ConfigDict
            from pydantic.v1 import BaseModel, validator

            class LegacyEvent(BaseModel):
                name: str

                @validator("name")
                def strip(cls, v):
                    return v.strip()

                class Config:
                    orm_mode = True

            def dump(event: LegacyEvent) -> dict:
                return event.dict()
            """
        ),
        Valid(
            # Code written for both versions: the v1 spelling is only the fallback of the
            # v2 one it sits next to (an `except`, the other branch, after an early return).
            """
            from pydantic import BaseModel, ConfigDict

            class Event(BaseModel):
                model_config = ConfigDict(frozen=True)
                name: str

                def json(self, **kwargs):
                    try:
                        return self.model_dump(**kwargs)
                    except Exception:  # Pydantic v1
                        return self.dict(**kwargs)

                def clone(self) -> "Event":
                    if hasattr(self, "model_copy"):
                        return self.model_copy()
                    return self.copy()

            def dump(event: Event) -> dict:
                return event.model_dump() if hasattr(event, "model_dump") else event.dict()
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict, Field, validator

            app = FastAPI()

            class UserCreate(BaseModel):
                username: str = Field(regex=r"^[a-z0-9_]+$")
                tags: list[str] = Field(default_factory=list, max_items=10)

                @validator("username")
                def lower(cls, v):
                    return v.lower()

            class UserOut(BaseModel):
                id: int
                username: str

                class Config:
                    orm_mode = True

            @app.post("/users")
            def create_user(user: UserCreate):
                data = user.dict(exclude_unset=True)
                copy = UserCreate.parse_obj(data)
                return {"json": copy.json(), "data": data}
            """,
            lines=(7, 8, 10, 18, 23, 24, 25),
            fixed="""
            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict, Field, validator

            app = FastAPI()

            class UserCreate(BaseModel):
                username: str = Field(pattern=r"^[a-z0-9_]+$")
                tags: list[str] = Field(default_factory=list, max_length=10)

                @validator("username")
                def lower(cls, v):
                    return v.lower()

            class UserOut(BaseModel):
                id: int
                username: str

                model_config = ConfigDict(from_attributes=True)

            @app.post("/users")
            def create_user(user: UserCreate):
                data = user.model_dump(exclude_unset=True)
                copy = UserCreate.model_validate(data)
                return {"json": copy.model_dump_json(), "data": data}
            """,
        ),
        Invalid(
            """
            from pydantic import BaseModel, ConfigDict, Extra

            class ItemRead(BaseModel):
                model_config = ConfigDict(orm_mode=True)
                id: int

            class ItemPatch(BaseModel):
                name: str | None = None

                class Config:
                    extra = Extra.forbid
                    anystr_strip_whitespace = True

            def to_read(row) -> ItemRead:
                return ItemRead.from_orm(row)
            """,
            lines=(4, 10, 15),
            fixed="""
            from pydantic import BaseModel, ConfigDict, Extra

            class ItemRead(BaseModel):
                model_config = ConfigDict(from_attributes=True)
                id: int

            class ItemPatch(BaseModel):
                name: str | None = None

                model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

            def to_read(row) -> ItemRead:
                return ItemRead.model_validate(row)
            """,
        ),
    )

    def __init__(self) -> None:
        self._local_types: dict[ast.AST, dict[str, str]] = {}

    # -- gate ---------------------------------------------------------------

    @staticmethod
    def _active(ctx: FileContext) -> bool:
        return not ctx.module.imports_module("pydantic.v1") and uses_pydantic_v2(ctx.project)

    # -- classes ------------------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef, ctx: FileContext) -> None:
        project, module = ctx.project, ctx.module
        is_settings = is_settings_node(project, module, node)
        if not (is_settings or is_model_node(project, module, node)) or not self._active(ctx):
            return
        has_model_config = False
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self._decorators(ctx, stmt)
            elif isinstance(stmt, ast.Assign | ast.AnnAssign):
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
                if isinstance(target, ast.Name) and target.id == "model_config" and stmt.value is not None:
                    has_model_config = True
                    self._config_value(ctx, stmt.value)
        for stmt in node.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
                self._config_class(ctx, stmt, has_model_config, is_settings)

    def _decorators(self, ctx: FileContext, func: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in func.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if not isinstance(target, ast.Name | ast.Attribute):
                continue
            found = _V1_DECORATORS.get(ctx.resolve(target) or "")
            if found is None:
                continue
            old, new = found
            ctx.report(
                deco,
                f"`{old}` on `{func.name}` is Pydantic v1 API, deprecated in v2; use `{new}`.",
            )

    def _config_value(self, ctx: FileContext, value: ast.expr) -> None:
        """v1 keys in `model_config = ConfigDict(...)` or `{...}`."""
        if isinstance(value, ast.Call):
            for kw in value.keywords:
                new = _CONFIG_RENAMES.get(kw.arg or "")
                if new is None:
                    continue
                edit = _rename_keyword(ctx, kw, new)
                ctx.report(
                    kw,
                    f"`{kw.arg}` is the Pydantic v1 name of this config key; use `{new}`.",
                    fix=Fix(f"Rename to `{new}`", (edit,)) if edit else None,
                )
        elif isinstance(value, ast.Dict):
            for key in value.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value in _CONFIG_RENAMES:
                    new = _CONFIG_RENAMES[key.value]
                    quote = ctx.source.segment(key)[:1] or '"'
                    ctx.report(
                        key,
                        f"`{key.value}` is the Pydantic v1 name of this config key; use `{new}`.",
                        fix=Fix(f"Rename to `{new}`", (ctx.source.replace(key, f"{quote}{new}{quote}"),)),
                    )

    def _config_class(self, ctx: FileContext, cfg: ast.ClassDef, has_model_config: bool, is_settings: bool) -> None:
        keys = [
            t.id
            for stmt in cfg.body
            if isinstance(stmt, ast.Assign)
            for t in stmt.targets
            if isinstance(t, ast.Name)
        ]
        renamed = [f"`{k}` -> `{_CONFIG_RENAMES[k]}`" for k in keys if k in _CONFIG_RENAMES]
        hint = f" ({', '.join(renamed)})" if renamed else ""
        if has_model_config:
            message = "`class Config:` is Pydantic v1 API and cannot be combined with `model_config`; move its keys into `model_config`."
        elif is_settings:
            message = f"`class Config:` is Pydantic v1 API; use `model_config = SettingsConfigDict(...)`{hint}."
        else:
            message = f"`class Config:` is Pydantic v1 API, deprecated in v2; use `model_config = ConfigDict(...)`{hint}."
        fix = None if has_model_config or is_settings else self._config_fix(ctx, cfg)
        ctx.report(cfg, message, fix=fix)

    def _config_fix(self, ctx: FileContext, cfg: ast.ClassDef) -> Fix | None:
        start, end = cfg.lineno, cfg.end_lineno or cfg.lineno
        if any("#" in ctx.source.line_text(n) for n in range(start, end + 1)):
            return None
        items: list[str] = []
        for stmt in cfg.body:
            if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                continue
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                return None
            key = stmt.targets[0].id
            value = stmt.value
            if key == "allow_mutation":
                if isinstance(value, ast.Constant) and value.value is False:
                    items.append("frozen=True")
                    continue
                if isinstance(value, ast.Constant) and value.value is True:
                    continue
                return None
            key = _CONFIG_RENAMES.get(key, key)
            if key not in _CONFIG_KEYS_V2:
                return None
            text = ctx.source.segment(value)
            if key == "extra" and isinstance(value, ast.Attribute) and ctx.resolve(value.value) in _EXTRA_ENUM:
                text = f'"{value.attr}"'
            if not text or "\n" in text:
                return None
            items.append(f"{key}={text}")
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
        edits.insert(0, ctx.source.replace(cfg, f"model_config = {name}({', '.join(items)})"))
        return Fix("Replace `class Config` with `model_config = ConfigDict(...)`", tuple(edits))

    # -- calls --------------------------------------------------------------

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and (func.attr in _INSTANCE_METHODS or func.attr in _CLASS_METHODS):
            if self._active(ctx):
                self._method(ctx, node, func)
            return
        if not node.keywords or not isinstance(func, ast.Name | ast.Attribute) or not any(
            kw.arg in _FIELD_RENAMES or kw.arg in _FIELD_REMOVED for kw in node.keywords
        ):
            return
        target = ctx.resolve(func) or ""
        is_fastapi = target in PARAM_FUNCTIONS
        if not (target in _FIELD_FUNCTIONS or target in _CON_FUNCTIONS or is_fastapi) or not self._active(ctx):
            return
        shown = func.id if isinstance(func, ast.Name) else func.attr
        for kw in node.keywords:
            if kw.arg is None:
                continue
            if kw.arg in _FIELD_RENAMES and (not is_fastapi or kw.arg == "regex"):
                new = _FIELD_RENAMES[kw.arg]
                edit = _rename_keyword(ctx, kw, new)
                ctx.report(
                    kw,
                    f"`{shown}({kw.arg}=...)` is deprecated since FastAPI 0.100 (Pydantic v2); use `{new}=`."
                    if is_fastapi
                    else f"`{shown}({kw.arg}=...)` is the Pydantic v1 spelling; use `{new}=`.",
                    fix=Fix(f"Rename to `{new}=`", (edit,)) if edit else None,
                )
            elif kw.arg in _FIELD_REMOVED and not is_fastapi:
                ctx.report(
                    kw,
                    f"`{shown}({kw.arg}=...)` was removed in Pydantic v2; {_FIELD_REMOVED[kw.arg]}.",
                )

    def _method(self, ctx: FileContext, node: ast.Call, func: ast.Attribute) -> None:
        attr = func.attr
        receiver = func.value
        shown = ctx.source.segment(receiver) or ast.unparse(receiver)
        if "\n" in shown or len(shown) > 40:
            shown = "..."
        if attr in _CLASS_METHODS:
            cls = self._class_receiver(ctx, receiver)
            if cls is None or ctx.project.find_method(cls, attr) is not None:
                return
            if _fallback_of_v2(ctx, node, _v2_name(attr)):
                return  # asked only of a model's call: it walks the enclosing blocks
            new, n_args, allowed = _CLASS_METHODS[attr]
            fix = None
            if (
                n_args is not None
                and allowed is not None
                and len(node.args) <= n_args
                and all(k.arg in allowed for k in node.keywords)
            ):
                edit = _rename_attr(ctx, func, new)
                fix = Fix(f"Rename to `{new}`", (edit,)) if edit else None
            ctx.report(
                node,
                f"`{shown}.{attr}()` is Pydantic v1 API, deprecated in v2; use `{shown}.{new}()`."
                if fix is not None or n_args is not None
                else f"`{shown}.{attr}()` is Pydantic v1 API, deprecated in v2; use `{new.replace('Model', shown)}`.",
                fix=fix,
            )
            return
        cls = self._instance_receiver(ctx, node, receiver)
        if cls is None or ctx.project.find_method(cls, attr) is not None:
            return
        if _fallback_of_v2(ctx, node, _v2_name(attr)):
            return
        new, kw_allowed = _INSTANCE_METHODS[attr]
        fix = None
        keywords = {k.arg for k in node.keywords}
        message = f"`{shown}.{attr}()` is Pydantic v1 API, deprecated in v2; use `{shown}.{new}()`."
        if not node.args and kw_allowed is not None and None not in keywords:
            edit = _rename_attr(ctx, func, new)
            if keywords <= kw_allowed:
                fix = Fix(f"Rename to `{new}`", (edit,)) if edit else None
            elif attr == "json" and keywords <= kw_allowed | {"indent"}:
                # v2's `.json()` raises TypeError on json.dumps() arguments; model_dump_json takes indent
                message = f"`{shown}.json(indent=...)` raises `TypeError` in Pydantic v2; use `{shown}.model_dump_json(indent=...)`."
                fix = Fix(f"Rename to `{new}`", (edit,), safe=False) if edit else None
        ctx.report(node, message, fix=fix)

    def _class_receiver(self, ctx: FileContext, receiver: ast.expr) -> ClassInfo | None:
        if isinstance(receiver, ast.Name) and receiver.id == "cls":
            return self._enclosing_model(ctx)
        if isinstance(receiver, ast.Name | ast.Attribute):
            return model_class(ctx.project, ctx.resolve(receiver))
        return None

    def _enclosing_model(self, ctx: FileContext) -> ClassInfo | None:
        func = ctx.function()
        if func is None or func.class_name is None:
            return None
        sym = ctx.project.lookup(func.class_name)
        return sym if isinstance(sym, ClassInfo) and is_model_class(ctx.project, sym) else None

    def _instance_receiver(self, ctx: FileContext, node: ast.Call, receiver: ast.expr) -> ClassInfo | None:
        if isinstance(receiver, ast.Name) and receiver.id == "self":
            return self._enclosing_model(ctx)
        if isinstance(receiver, ast.Call):
            # `Model(...).dict()`, `Model.model_validate(x).dict()`
            return self._built_model(ctx, receiver)
        if not isinstance(receiver, ast.Name):
            return None
        func = ctx.function()
        if func is None:
            return None
        target = ctx.call_target(node)
        if target and "." in target:
            cls = model_class(ctx.project, target.rsplit(".", 1)[0])
            if cls is not None:
                return cls
        qual = self._locals(ctx, func).get(receiver.id)
        return model_class(ctx.project, qual) if qual else None

    def _built_model(self, ctx: FileContext, call: ast.Call) -> ClassInfo | None:
        func = call.func
        if isinstance(func, ast.Name | ast.Attribute):
            cls = model_class(ctx.project, ctx.resolve(func))
            if cls is not None:
                return cls
        if isinstance(func, ast.Attribute) and func.attr in {
            "model_validate",
            "model_validate_json",
            "model_construct",
            "parse_obj",
            "parse_raw",
            "from_orm",
            "construct",
        }:
            return self._class_receiver(ctx, func.value)
        return None

    def _locals(self, ctx: FileContext, func: FunctionInfo) -> dict[str, str]:
        """Variables assigned `Model.model_validate(...)` and friends (not in the core's inference)."""
        cached = self._local_types.get(func.node)
        if cached is not None:
            return cached
        found: dict[str, str] = {}
        for n in own_nodes(func.node):
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Call):
                cls = self._built_model(ctx, n.value)
                if cls is not None:
                    found[n.targets[0].id] = cls.qualname
        self._local_types[func.node] = found
        return found
