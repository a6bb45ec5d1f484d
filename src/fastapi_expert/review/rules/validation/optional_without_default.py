from __future__ import annotations

import ast
import re
import weakref

from fastapi_expert.review.model.module import ClassInfo, ModuleInfo
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    PYDANTIC_FIELD,
    FieldDef,
    class_info,
    is_model_node,
    is_optional,
    is_settings_node,
    is_table_model,
    named_like_input,
    own_fields,
    reads_attributes,
    usage,
    uses_pydantic_v1_only,
)
from fastapi_expert.types import Edit, Fix, Severity


def _none_written(annotation: ast.expr) -> bool:
    """Is `None` (or `Optional`) written in the field's own annotation? A bare alias
    whose union holds `None` among other values (`JSONValue = Union[None, bool, int,
    str, ...]`) names a value domain where `null` is one value, not "may be left out"."""
    for n in ast.walk(annotation):
        if isinstance(n, ast.Constant) and n.value is None:
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            try:
                if _none_written(ast.parse(n.value, mode="eval").body):
                    return True
            except (SyntaxError, ValueError, RecursionError):
                continue
        if (isinstance(n, ast.Name) and n.id == "Optional") or (isinstance(n, ast.Attribute) and n.attr == "Optional"):
            return True
    return False


def _init_defaults(project: Project, info: ClassInfo | None) -> set[str]:
    """Parameters with a default of the model's own `__init__` (or a project base's).
    Pydantic v2 calls a custom `__init__` when it validates the model, nested ones
    included, so a field it fills (`def __init__(self, id=None, **data)`) may be left out."""
    if info is None:
        return set()
    init = project.find_method(info, "__init__")
    if init is None:
        return set()
    args = init.node.args
    positional = [*args.posonlyargs, *args.args]
    with_default = positional[len(positional) - len(args.defaults) :]
    names = {a.arg for a in with_default}
    names |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=False) if d is not None}
    return names


_INTENT = re.compile(r"\b(nullable|required)\b", re.IGNORECASE)


def _says_nullable_on_purpose(ctx: FileContext, node: ast.ClassDef, f: FieldDef) -> bool:
    """Does the author say the field is required-but-nullable on purpose: a comment on
    its line or the comment lines just above it says "nullable" or "required", or the
    class docstring names the field and says so (an empty body must not unpin: "the
    field is required and explicitly nullable")?"""
    line = f.stmt.lineno
    if "#" in ctx.source.line_text(line) and _INTENT.search(ctx.source.line_text(line).split("#", 1)[1]):
        return True
    above = line - 1
    while above > 0 and ctx.source.line_text(above).strip().startswith("#"):
        if _INTENT.search(ctx.source.line_text(above)):
            return True
        above -= 1
    doc = ast.get_docstring(node) or ""
    return any(f.name in sentence and _INTENT.search(sentence) for sentence in _SENTENCE.split(doc))


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


_PASSED: weakref.WeakKeyDictionary[Project, dict[str, frozenset[str] | None]] = weakref.WeakKeyDictionary()


def always_passed(project: Project, cls: ClassInfo) -> frozenset[str] | None:
    """The keywords every construction of `cls` in the project passes, when the
    project only ever builds it by calling it (`UserCreate(name=..., teams=...)`,
    with no `**data`) and names it elsewhere only in annotations of functions. None
    when it may be built from data: validated (`UserCreate.model_validate(d)`),
    subclassed, nested in another model, passed around as a class, or never built
    here (a library's public model, built by its users)."""
    cache = _PASSED.setdefault(project, {})
    if cls.qualname not in cache:
        cache[cls.qualname] = _always_passed(project, cls)
    return cache[cls.qualname]


_NAMES: weakref.WeakKeyDictionary[ModuleInfo, dict[str, list[ast.Name]]] = weakref.WeakKeyDictionary()
_IMPORTED_AS: weakref.WeakKeyDictionary[Project, dict[str, dict[ModuleInfo, set[str]]]] = weakref.WeakKeyDictionary()


def _imported_as(project: Project, qualname: str) -> dict[ModuleInfo, set[str]]:
    """The modules that import `qualname`, with the local names they bind it to
    (built once per project: every input model asks)."""
    index = _IMPORTED_AS.get(project)
    if index is None:
        index = _IMPORTED_AS[project] = {}
        for module in project.modules:
            for alias, qual in module.imports.items():
                index.setdefault(qual, {}).setdefault(module, set()).add(alias)
    return index.get(qualname, {})
_ANNOTATIONS: weakref.WeakKeyDictionary[ModuleInfo, set[int]] = weakref.WeakKeyDictionary()


def _names_of(module: ModuleInfo) -> dict[str, list[ast.Name]]:
    """The module's `Name` nodes by identifier (asked for every input model)."""
    found = _NAMES.get(module)
    if found is None:
        found = _NAMES[module] = {}
        for node in module.nodes_of(ast.Name):
            found.setdefault(node.id, []).append(node)
    return found


_ATTRIBUTES: weakref.WeakKeyDictionary[ModuleInfo, dict[str, list[ast.Attribute]]] = weakref.WeakKeyDictionary()
_CALLS: weakref.WeakKeyDictionary[ModuleInfo, dict[int, ast.Call]] = weakref.WeakKeyDictionary()


def _attributes_of(module: ModuleInfo) -> dict[str, list[ast.Attribute]]:
    """The module's `Attribute` nodes by attribute name (asked for every input model)."""
    found = _ATTRIBUTES.get(module)
    if found is None:
        found = _ATTRIBUTES[module] = {}
        for node in module.nodes_of(ast.Attribute):
            found.setdefault(node.attr, []).append(node)
    return found


def _calls_by_callee(module: ModuleInfo) -> dict[int, ast.Call]:
    """The module's calls by the id of their callee expression."""
    found = _CALLS.get(module)
    if found is None:
        found = _CALLS[module] = {id(c.func): c for c in module.nodes_of(ast.Call)}
    return found


def _annotation_nodes(module: ModuleInfo) -> set[int]:
    """Ids of every node inside a parameter or return annotation of the module's functions."""
    found = _ANNOTATIONS.get(module)
    if found is None:
        found = _ANNOTATIONS[module] = set()
        for func in module.all_functions:
            args = func.node.args
            for expr in [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)] + [func.node.returns]:
                if expr is not None:
                    found.update(id(n) for n in ast.walk(expr))
    return found


def _always_passed(project: Project, cls: ClassInfo) -> frozenset[str] | None:
    name = cls.node.name
    passed: frozenset[str] | None = None
    imported = _imported_as(project, cls.qualname)
    for module in project.modules:
        local = {name} | imported.get(module, set())
        if not any(module.spells(spelled) for spelled in local):
            continue  # no reference can be spelled here
        by_name = _names_of(module)
        refs: list[ast.expr] = [n for spelled in local for n in by_name.get(spelled, ())]
        refs += _attributes_of(module).get(name, ())
        refs = [n for n in refs if project.resolve(module, n) == cls.qualname]
        if not refs:
            continue
        calls = _calls_by_callee(module)
        annotations = _annotation_nodes(module) if any(id(ref) not in calls for ref in refs) else set()
        for ref in refs:
            call = calls.get(id(ref))
            if call is not None:
                if call.args or any(k.arg is None for k in call.keywords):
                    return None  # `UserCreate(**row)`: fields may be missing
                given = frozenset(k.arg for k in call.keywords if k.arg is not None)
                passed = given if passed is None else passed & given
            elif id(ref) not in annotations:
                return None
    return passed


class OptionalWithoutDefault(Rule):
    """Flags a Pydantic field typed `Optional[T]` / `T | None` that has no default.

    ## What it does
    Finds fields of Pydantic models and settings classes annotated
    `Optional[T]`, `T | None` or `Union[T, None]` (also inside `Annotated`)
    with no default value. A field whose `Annotated` metadata holds a
    `Field(...)` with a default, or that is written `= Field(...)` /
    `= Field(default=None)` / `= None`, says what it means and is left alone.
    Only input models are checked: request bodies (and the models nested in
    them), models named like input (`*Create`, `*Update`, `*In`, `*Request`,
    ...) and settings classes. Response models and internal models are left
    alone (there "always present, may be null" is often the accurate
    contract), and so is a model named like input that declares
    `from_attributes=True` (v1: `orm_mode = True`) and is no route's body: it is
    built from ORM objects (an event payload, a view), not sent by clients.
    In a project with routes, a model that is input by its name only is not
    flagged for a field that every construction in the project passes by
    keyword, when the project only ever builds it by calling it and names it
    elsewhere only in function annotations (an import script's `UserCreate`):
    no payload can leave that field out. A model that is validated from data
    (`model_validate`, `Model(**data)`), subclassed or nested is still checked.
    So are SQLModel `table=True` classes (not validated on construction) and
    projects that show they still run on Pydantic v1 (`from pydantic import
    BaseSettings`), where such a field defaults to `None`.

    Also left alone: a model named like input that no route reads as its body
    but that is module-private (`_MergeRequest`, parsing another API's reply)
    or a route's response model (`PromptCachingRequest`, a logged request in a
    report); a field whose type is a bare alias with `None` among its values
    (`tool_result: JSONValue`, `JSONValue = Union[None, bool, int, str, ...]`:
    `null` is one JSON value, not "may be left out"); a field the model's own
    `__init__` gives a default (`def __init__(self, id=None, **data)`: Pydantic
    v2 calls a custom `__init__` when it validates the model, nested too); and
    a field its author says is required-but-nullable on purpose, in a comment
    on or just above it, or in a sentence of the class docstring that names it
    ("nullable", "required").

    ## Why is this bad?
    In Pydantic v2, `Optional[T]` only means "may be `None`"; without a default
    the field is *required*: a request that omits it is rejected with a 422
    "Field required". In Pydantic v1 the same line made the field optional
    with a `None` default, so migrated code and developers used to v1 expect
    clients to be allowed to leave it out. The OpenAPI schema lists it as
    required, which surprises API consumers too. WARNING, because on a request
    model this turns into rejected requests in production.

    ## Fix safety
    The fix adds `= None`. It is unsafe: the field becomes optional, which
    changes the OpenAPI schema and accepts payloads that omit it; if
    "required but nullable" was intended, write `= Field(...)` instead.

    ## References
    - https://docs.pydantic.dev/latest/migration/#required-optional-and-nullable-fields
    - https://docs.pydantic.dev/latest/concepts/models/#required-fields
    - https://fastapi.tiangolo.com/tutorial/body/#import-pydantics-basemodel
    """

    code = "FX308"
    name = "optional-without-default"
    summary = "`Optional[T]` field with no default is required in Pydantic v2; add `= None` or make it explicit."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from typing import Optional

            from pydantic import BaseModel, Field

            class ItemUpdate(BaseModel):
                name: Optional[str] = None
                price: Optional[float] = Field(None, gt=0)
                description: str | None = Field(default=None, max_length=300)
                sku: Optional[str] = Field(...)  # explicitly required, may be null
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()

            class ItemOut(BaseModel):
                id: int
                description: str | None  # always sent by the server, may be null

            @app.get("/items/{item_id}", response_model=ItemOut)
            def get_item(item_id: int):
                return {"id": item_id, "description": None}
            """
        ),
        Valid(
            """
            from typing import Any, ClassVar, Union

            from pydantic import BaseModel, ConfigDict

            JsonValue = Union[str, int, float, bool, None, dict[str, Any], list[Any]]

            class SettingEventPayload(BaseModel):
                # what a consumer of the `setting.updated` event reads, built from the ORM row
                model_config: ClassVar[ConfigDict] = ConfigDict(from_attributes=True)

                name: str
                value: JsonValue
                previous: str | None

            def setting_updated(row: object) -> dict[str, Any]:
                return SettingEventPayload.model_validate(row).model_dump(mode="json")
            """
        ),
        Valid(
            """
            import json
            from typing import List, Optional

            from pydantic import BaseModel

            class TeamCreate(BaseModel):
                name: str

            class UserCreate(BaseModel):
                # what the import script reads from its file; the script always sets `teams`
                username: str
                teams: Optional[List[TeamCreate]]

            def build_user(entry: dict) -> UserCreate:
                return UserCreate(
                    username=entry["username"],
                    teams=[TeamCreate(name=name) for name in entry.get("teams", [])],
                )

            def import_users(path: str) -> list[UserCreate]:
                with open(path) as f:
                    return [build_user(entry) for entry in json.load(f)]
            """,
            filename="app/cli/import_users.py",
            files={
                "app/main.py": """
                    from fastapi import FastAPI
                    from pydantic import BaseModel

                    app = FastAPI()

                    class TeamOut(BaseModel):
                        name: str

                    @app.get("/teams")
                    def teams() -> list[TeamOut]:
                        return []
                """
            },
        ),
        Valid(
            # Required-but-nullable as meant: `null` is one value of a JSON alias; the model's
            # `__init__` fills the field (Pydantic v2 calls it when validating); the docstring
            # or a comment says so; a private model parsing another API's reply; a model
            # named `*Request` that routes only answer with (a logged request in a report).
            """
            import uuid
            from typing import Any, Union

            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict

            app = FastAPI()
            JSONValue = Union[None, bool, int, float, str, dict[str, Any], list[Any]]

            class ToolResultRequest(BaseModel):
                tool_call_id: str
                tool_result: JSONValue

            class DeploymentCreate(BaseModel):
                id: str | None
                model: str

                def __init__(self, id: str | None = None, **data: Any) -> None:
                    super().__init__(id=id or str(uuid.uuid4()), **data)

            class TriggerPinRequest(BaseModel):
                \"\"\"`flow_version_id=None` unpins, which is why the field is required and explicitly nullable.\"\"\"

                model_config = ConfigDict(extra="forbid")
                flow_version_id: uuid.UUID | None

            class ProjectReplacementRequest(BaseModel):
                # Nullable so a snapshot with a null description is restorable unchanged.
                description: str | None

            class _MergeRequest(BaseModel):
                merged_at: str | None

            class CachedRequest(BaseModel):
                request_id: str
                net_savings: float | None

            class CachedRequestsPage(BaseModel):
                requests: list[CachedRequest]

            @app.post("/tools/results")
            def add_result(body: ToolResultRequest) -> dict[str, str]:
                return {"status": "ok"}

            @app.post("/deployments")
            def add_deployment(body: DeploymentCreate) -> dict[str, str]:
                return {"id": body.id or ""}

            @app.put("/triggers/{trigger_id}/pin")
            def pin(trigger_id: int, body: TriggerPinRequest) -> dict[str, str]:
                return {"status": "ok"}

            @app.put("/projects/{project_id}")
            def replace(project_id: int, body: ProjectReplacementRequest) -> dict[str, str]:
                return {"status": "ok"}

            @app.get("/cache/requests")
            def cached_requests() -> CachedRequestsPage:
                return CachedRequestsPage(requests=[])

            def merged(payload: dict[str, Any]) -> bool:
                return _MergeRequest.model_validate(payload).merged_at is not None
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Optional, Union

            from pydantic import BaseModel

            class ItemUpdate(BaseModel):
                name: Optional[str]
                price: Union[float, None]
                description: str | None
                tags: list[str] = []
            """,
            lines=(6, 7, 8),
            fixed="""
            from typing import Optional, Union

            from pydantic import BaseModel

            class ItemUpdate(BaseModel):
                name: Optional[str] = None
                price: Union[float, None] = None
                description: str | None = None
                tags: list[str] = []
            """,
        ),
        Invalid(
            """
            from typing import Annotated

            import pydantic
            from fastapi import FastAPI

            app = FastAPI()

            class SignupRequest(pydantic.BaseModel):
                email: str
                referral_code: Annotated[str | None, pydantic.Field(max_length=20)]

            @app.post("/signup")
            def signup(body: SignupRequest) -> dict[str, str]:
                return {"email": body.email}
            """,
            lines=(10,),
            fixed="""
            from typing import Annotated

            import pydantic
            from fastapi import FastAPI

            app = FastAPI()

            class SignupRequest(pydantic.BaseModel):
                email: str
                referral_code: Annotated[str | None, pydantic.Field(max_length=20)] = None

            @app.post("/signup")
            def signup(body: SignupRequest) -> dict[str, str]:
                return {"email": body.email}
            """,
        ),
    )

    def visit_ClassDef(self, node: ast.ClassDef, ctx: FileContext) -> None:
        project, module = ctx.project, ctx.module
        if is_table_model(node) or not (is_model_node(project, module, node) or is_settings_node(project, module, node)):
            return
        if not self._input_model(ctx, node) or uses_pydantic_v1_only(project):
            return
        passed: frozenset[str] | None = None
        info = class_info(module, node)
        if info is not None and self._input_by_name_only(ctx, node, info) and project.fastapi.routes:
            # in a service, a model only its own code builds, always passing the field,
            # is never short of it (a routeless library's models are built by its users)
            passed = always_passed(project, info)
        init_defaults: set[str] | None = None
        for f in own_fields(project, module, node):
            if f.value is not None or f.name.startswith("_"):
                continue
            if passed is not None and f.name in passed:
                continue
            if not _none_written(f.annotation) or not is_optional(project, module, f.annotation):
                continue  # `tool_result: JSONValue`: `null` is one value of the alias's type
            if self._default_in_metadata(ctx, f.annotation):
                continue
            if init_defaults is None:
                init_defaults = _init_defaults(project, info)
            if f.name in init_defaults:
                continue
            if _says_nullable_on_purpose(ctx, node, f):
                continue
            end_line = f.stmt.end_lineno
            end_col = f.stmt.end_col_offset
            fix = None
            if end_line is not None and end_col is not None:
                col = ctx.source.column(end_line, end_col)
                fix = Fix("Add `= None`", (Edit(end_line, col, end_line, col, " = None"),), safe=False)
            ctx.report(
                f.stmt,
                f"`{f.name}: {ast.unparse(f.annotation)}` has no default, so Pydantic v2 makes it required "
                f"(it may only be null); add `= None` to make it optional, or `= Field(...)` to say it is required.",
                fix=fix,
            )

    @staticmethod
    def _input_model(ctx: FileContext, node: ast.ClassDef) -> bool:
        """A request body (also nested), a settings class, or named like an input model."""
        if is_settings_node(ctx.project, ctx.module, node):
            return True
        info = class_info(ctx.module, node)
        used = usage(ctx.project)
        if info is not None and info.qualname in used.request:
            return True
        if node.name.startswith("_") or (info is not None and info.qualname in used.response):
            # No route reads it: a module-private model (`_MergeRequest`, another API's
            # reply), or one routes answer with (`PromptCachingRequest`, a logged LLM
            # request in a report) is named like input by accident.
            return False
        # A model read from ORM objects (`from_attributes=True`) that no route takes as
        # its body is an output or internal shape, whatever its name (`*EventPayload`).
        return named_like_input(node.name) and not reads_attributes(ctx.project, ctx.module, node)

    @staticmethod
    def _input_by_name_only(ctx: FileContext, node: ast.ClassDef, info: ClassInfo) -> bool:
        """Is the class taken for input only because of its name (no route's body, no settings)?"""
        return not is_settings_node(ctx.project, ctx.module, node) and info.qualname not in usage(ctx.project).request

    @staticmethod
    def _default_in_metadata(ctx: FileContext, annotation: ast.expr) -> bool:
        """`Annotated[T | None, Field(None)]` / `Field(default=...)` / `Field(...)`: explicit either way."""
        # The metadata may be an alias's, written in another module: resolve it there.
        for module, m in ctx.project.annotated_metadata(ctx.module, annotation):
            if not isinstance(m, ast.Call) or not isinstance(m.func, ast.Name | ast.Attribute):
                continue
            if ctx.project.resolve(module, m.func) not in PYDANTIC_FIELD:
                continue
            if m.args or any(k.arg in {"default", "default_factory"} for k in m.keywords):
                return True
        return False
