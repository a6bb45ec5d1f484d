from __future__ import annotations

import ast

from fastapi_expert.review.rules._util import add_import_edit
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    is_dataclass_node,
    is_model_node,
    is_settings_node,
    local_name_for,
    name_is_free,
    own_fields,
    uses_pydantic_v1_only,
)
from fastapi_expert.types import Edit, Fix, Severity

_FACTORIES = {"builtins.list": "list", "builtins.dict": "dict", "builtins.set": "set"}
_DATACLASS_FIELD = frozenset({"dataclasses.field"})
_PYDANTIC_FIELD = frozenset({"pydantic.Field", "pydantic.fields.Field", "sqlmodel.Field", "sqlmodel.main.Field"})


def _annotated_field(ctx: FileContext, annotation: ast.expr) -> ast.Call | None:
    """The `Field(...)` written among the metadata of this field's own
    `Annotated[X, Field(...)]`, if any (not one of an alias: the fix edits it here)."""
    written = annotation.slice.elts if isinstance(annotation, ast.Subscript) and isinstance(annotation.slice, ast.Tuple) else []
    _, _, metadata = ctx.project.annotated_parts(ctx.module, annotation)
    return next(
        (
            meta
            for meta in metadata
            if any(meta is w for w in written)
            and isinstance(meta, ast.Call)
            and isinstance(meta.func, ast.Name | ast.Attribute)
            and ctx.resolve(meta.func) in _PYDANTIC_FIELD
        ),
        None,
    )


class MutableFieldDefault(Rule):
    """Flags a model or dataclass field whose default is a mutable literal (`[]`, `{}`, `set()`).

    ## What it does
    Finds fields of Pydantic models (`BaseModel`, `SQLModel`, `BaseSettings`)
    and of dataclasses (standard or `pydantic.dataclasses`) declared with a
    list, dict or set literal as default: `tags: list[str] = []`,
    `meta: dict = {}`, `ids: set[int] = set()`.

    ## Why is this bad?
    On a `BaseModel` this is *not* the shared-state bug of plain Python:
    Pydantic copies a non-hashable default for every instance (v1 and v2 both
    deep-copy it in `FieldInfo.get_default`), so the code works. It still reads
    as the classic mutable-default mistake, linters that do not know Pydantic
    flag it, and the same line moved into a dataclass or a plain class *is*
    a bug: `@dataclass` (and `pydantic.dataclasses.dataclass`) refuses it with
    `ValueError: mutable default ... is not allowed: use default_factory` at
    import time, and a plain class shares one object between all instances.
    `default_factory` states the intent everywhere. Hence INFO: advice on
    clarity, not a defect in a `BaseModel`.

    ## Fix safety
    The fix replaces the default with `Field(default_factory=list)` (or
    `dict`, `set`, or a `lambda` returning a non-empty literal), and
    `field(default_factory=...)` in a dataclass, adding the import when
    needed. On Pydantic v1 (a project that shows it runs there, e.g. importing
    `pydantic.BaseSettings`), a field whose `Annotated[...]` already holds a
    `Field(...)` gets the factory inside that `Field` instead, and loses its
    value: v1 refuses a second `Field` as the value ("cannot specify
    `Annotated` and value `Field`s together"). It is safe: every instance
    still starts with its own fresh value.

    ## References
    - https://docs.pydantic.dev/latest/concepts/models/#fields-with-non-hashable-default-values
    - https://docs.pydantic.dev/latest/concepts/fields/#default-values
    - https://docs.python.org/3/library/dataclasses.html#mutable-default-values
    """

    code = "FX306"
    name = "mutable-field-default"
    summary = "A model field defaults to a mutable literal; use `Field(default_factory=...)`."
    severity = Severity.INFO

    valid = (
        Valid(
            """
            from pydantic import BaseModel, Field

            class Article(BaseModel):
                title: str
                tags: list[str] = Field(default_factory=list)
                meta: dict[str, str] = Field(default_factory=dict)
                slug: str = ""
            """
        ),
        Valid(
            """
            from typing import ClassVar

            from pydantic import BaseModel

            class Article(BaseModel):
                registry: ClassVar[dict[str, int]] = {}
                title: str

            class Plain:
                cache: dict[str, int] = {}
            """
        ),
    )
    invalid = (
        Invalid(
            # Pydantic v1 (its `BaseSettings`): the factory goes into the `Annotated` `Field`.
            """
            from typing import Annotated, List

            from pydantic import BaseModel, BaseSettings, Field

            class Settings(BaseSettings):
                hosts: Annotated[List[str], Field(description="Allowed hosts")] = ["localhost"]

            class Job(BaseModel):
                tags: Annotated[List[str], Field()] = []
                steps: Annotated[
                    List[str],
                    Field(
                        description="Steps",
                        max_items=20,
                    ),
                ] = []
            """,
            lines=(6, 9, 16),
            fixed="""
            from typing import Annotated, List

            from pydantic import BaseModel, BaseSettings, Field

            class Settings(BaseSettings):
                hosts: Annotated[List[str], Field(description="Allowed hosts", default_factory=lambda: ["localhost"])]

            class Job(BaseModel):
                tags: Annotated[List[str], Field(default_factory=list)]
                steps: Annotated[
                    List[str],
                    Field(
                        description="Steps",
                        max_items=20, default_factory=list,
                    ),
                ]
            """,
        ),
        Invalid(
            """
            from pydantic import BaseModel

            class ArticleCreate(BaseModel):
                title: str
                tags: list[str] = []
                meta: dict[str, str] = {}
            """,
            lines=(5, 6),
            fixed="""
            from pydantic import BaseModel
            from pydantic import Field

            class ArticleCreate(BaseModel):
                title: str
                tags: list[str] = Field(default_factory=list)
                meta: dict[str, str] = Field(default_factory=dict)
            """,
        ),
        Invalid(
            """
            import dataclasses

            import pydantic

            @dataclasses.dataclass
            class Filters:
                statuses: list[str] = ["open", "pending"]

            class Settings(pydantic.BaseModel):
                ids: set[int] = set()
            """,
            lines=(7, 10),
            fixed="""
            import dataclasses

            import pydantic

            @dataclasses.dataclass
            class Filters:
                statuses: list[str] = dataclasses.field(default_factory=lambda: ["open", "pending"])

            class Settings(pydantic.BaseModel):
                ids: set[int] = pydantic.Field(default_factory=set)
            """,
        ),
    )

    def visit_ClassDef(self, node: ast.ClassDef, ctx: FileContext) -> None:
        project, module = ctx.project, ctx.module
        is_dataclass = is_dataclass_node(project, module, node)
        if not is_dataclass and not (is_model_node(project, module, node) or is_settings_node(project, module, node)):
            return
        for f in own_fields(project, module, node):
            value = f.value
            if value is None or f.name.startswith("_"):
                continue
            factory = self._factory(ctx, value)
            if factory is None:
                continue
            # Pydantic v1 refuses a `Field` as the value of a field whose `Annotated`
            # holds one ("cannot specify `Annotated` and value `Field`s together"): there
            # the factory goes into that `Field`, and the value goes.
            fix: Fix | None
            inner = None if is_dataclass or not uses_pydantic_v1_only(project) else _annotated_field(ctx, f.annotation)
            if inner is not None:
                fix = self._fix_inside(ctx, f.annotation, inner, value, factory)
            else:
                fix = self._fix(ctx, node, value, factory, is_dataclass)
            shown = ctx.source.segment(value)
            if "\n" in shown or len(shown) > 40:
                shown = "[...]" if isinstance(value, ast.List | ast.ListComp) else "{...}"
                # the message names the factory as briefly as the value (the fix writes it whole)
                factory = f"lambda: {shown}" if factory.startswith("lambda") else factory
            if inner is not None:
                message = (
                    f"`{f.name}` defaults to a mutable `{shown}` (Pydantic copies it, but it reads "
                    f"like the shared-default bug); drop it and add `default_factory={factory}` to the "
                    "`Field(...)` in its `Annotated` (Pydantic v1 refuses a second `Field` as the value)."
                )
            elif is_dataclass:
                message = (
                    f"`{f.name}` defaults to a mutable `{shown}`, which a dataclass rejects with "
                    f"`ValueError`; use `field(default_factory={factory})`."
                )
            else:
                message = (
                    f"`{f.name}` defaults to a mutable `{shown}` (Pydantic copies it, but it reads "
                    f"like the shared-default bug); use `Field(default_factory={factory})`."
                )
            ctx.report(value, message, fix=fix)

    @staticmethod
    def _factory(ctx: FileContext, value: ast.expr) -> str | None:
        """The `default_factory` that rebuilds `value`, or None if it is not a mutable literal."""
        if isinstance(value, ast.List) and not value.elts:
            return "list"
        if isinstance(value, ast.Dict) and not value.keys:
            return "dict"
        if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
            return f"lambda: {ctx.source.segment(value) or ast.unparse(value)}"
        if isinstance(value, ast.Call) and not value.args and not value.keywords and isinstance(value.func, ast.Name):
            factory = _FACTORIES.get(ctx.resolve(value.func) or "")
            if factory is not None:
                return factory
        return None

    @staticmethod
    def _fix_inside(ctx: FileContext, annotation: ast.expr, field: ast.Call, value: ast.expr, factory: str) -> Fix:
        """`x: Annotated[list[str], Field(max_length=5)] = []` becomes
        `x: Annotated[list[str], Field(max_length=5, default_factory=list)]`: the factory
        goes after the call's last argument (before a trailing comma, if any)."""
        source = ctx.source
        after_annotation = source.location(annotation)
        end_of_value = source.location(value)
        drop = Edit(
            after_annotation.end_line, after_annotation.end_column, end_of_value.end_line, end_of_value.end_column, ""
        )
        arguments: list[ast.expr | ast.keyword] = [*field.args, *field.keywords]
        if arguments:
            last = source.location(max(arguments, key=lambda a: (a.end_lineno or 0, a.end_col_offset or 0)))
            insert = source.insert_at(last.end_line, last.end_column, f", default_factory={factory}")
        else:
            callee = source.location(field.func)
            insert = source.insert_at(callee.end_line, callee.end_column + 1, f"default_factory={factory}")
        return Fix(f"Move it into the `Annotated` `Field` as `default_factory={factory}`", (insert, drop))

    @staticmethod
    def _fix(ctx: FileContext, cls: ast.ClassDef, value: ast.expr, factory: str, is_dataclass: bool) -> Fix | None:
        module = ctx.module
        qualnames, module_name, bare = (
            (_DATACLASS_FIELD, "dataclasses", "field") if is_dataclass else (_PYDANTIC_FIELD, "pydantic", "Field")
        )
        class_names = {
            t.id
            for stmt in cls.body
            for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
            if isinstance(t, ast.Name)
        }
        edits: list[Edit] = []
        name = local_name_for(module, set(qualnames))
        if name is None:
            alias = next((local for local, qual in module.imports.items() if qual == module_name), None)
            if alias is not None:
                name = f"{alias}.{bare}"
            elif name_is_free(module, bare):
                name = bare
                extra = add_import_edit(ctx, f"from {module_name} import {bare}")
                if extra is not None:
                    edits.append(extra)
            else:
                return None
        if name.split(".")[0] in class_names:
            return None
        edits.insert(0, ctx.source.replace(value, f"{name}(default_factory={factory})"))
        return Fix(f"Use `{bare}(default_factory={factory})`", tuple(edits))
