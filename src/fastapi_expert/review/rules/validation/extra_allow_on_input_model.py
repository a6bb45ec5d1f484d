from __future__ import annotations

import ast
import weakref

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ClassInfo
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    annotation_classes,
    class_info,
    describe_route,
    inherited_fields,
    is_model_class,
    is_model_node,
    named_like_input,
    own_config,
    usage,
)
from fastapi_expert.types import Fix, Severity

_EXTRA_ENUM = frozenset({"pydantic.Extra", "pydantic.config.Extra"})
_DUMPS = frozenset({"model_dump", "dict"})
_SPREAD: weakref.WeakKeyDictionary[Project, dict[str, bool]] = weakref.WeakKeyDictionary()


def _dumped_field(expr: ast.expr) -> str | None:
    """`f` of `<x>.f.model_dump()` / `<x>.f.dict()`."""
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr in _DUMPS
        and isinstance(expr.func.value, ast.Attribute)
    ):
        return expr.func.value.attr
    return None


def _spreads(project: Project, field_name: str) -> bool:
    """Does some code of the project pass `**<x>.<field_name>.model_dump()` (or
    `.dict()`) to a call, or walk `<x>.<field_name>.model_dump().items()`?
    Only the files that spell the field's name are read; the answer is kept per
    field."""
    known = _SPREAD.setdefault(project, {})
    if field_name in known:
        return known[field_name]
    found = False
    for module in project.modules:
        if not module.spells(field_name):
            continue
        for call in module.nodes_of(ast.Call):
            if any(k.arg is None and _dumped_field(k.value) == field_name for k in call.keywords):
                found = True
            items = call.func
            if isinstance(items, ast.Attribute) and items.attr == "items" and _dumped_field(items.value) == field_name:
                found = True
            if found:
                break
        if found:
            break
    known[field_name] = found
    return found


class ExtraAllowOnInputModel(Rule):
    """Flags a request model configured with `extra="allow"` (mass assignment).

    ## What it does
    Finds Pydantic models whose config allows undeclared fields,
    `model_config = ConfigDict(extra="allow")`, `{"extra": "allow"}`,
    `class M(BaseModel, extra="allow")`, or v1's `class Config: extra = "allow"`
    / `Extra.allow`, when the model (or a project subclass of it) is the body
    of some route, or is named like an input model (`*Create`, `*Update`,
    `*In`, `*Input`, `*Request`, `*Payload`, `*Patch`). A model that is only
    nested in a body (`version_info: VersionInfo` in `ReleaseCreate`) is an
    open sub-document: its extra keys stay inside that field's value, so it is
    flagged only when some code spreads that field's dump into a call
    (`Row(**body.address.model_dump())`) or walks its items. A parameter whose
    default is a dependency is not a body, also when the `Depends(...)` is a
    module-level alias (`token: Token = CurrentToken`, imported or not) or is
    returned by a project function (`limit: int = LimitBody()`).

    ## Why is this bad?
    With `extra="allow"` every key the client sends is kept on the model and
    returned by `model_dump()`. The common `User(**payload.model_dump())` or
    `for k, v in payload.model_dump().items(): setattr(user, k, v)` then writes
    attributes the API never meant to expose, such as `is_admin`, `owner_id` or
    `balance`: mass assignment (OWASP API3:2023). Input models should accept
    exactly the fields they declare; `"forbid"` also tells clients about typos.

    ## Fix safety
    The fix changes `"allow"` to `"forbid"`. It is unsafe: requests carrying
    extra keys that used to pass are now rejected with 422 (use `"ignore"`,
    Pydantic's default, to drop them silently instead).

    ## References
    - https://docs.pydantic.dev/latest/api/config/#pydantic.config.ConfigDict.extra
    - https://docs.pydantic.dev/latest/concepts/models/#extra-data
    - https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/
    - https://cheatsheetseries.owasp.org/cheatsheets/Mass_Assignment_Cheat_Sheet.html
    """

    code = "FX310"
    name = "extra-allow-on-input-model"
    summary = 'A request model accepts undeclared fields (`extra="allow"`): mass assignment.'
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict

            app = FastAPI()

            class UserUpdate(BaseModel):
                model_config = ConfigDict(extra="forbid")
                display_name: str | None = None

            class ProviderEvent(BaseModel):
                # an outgoing payload we pass through unchanged
                model_config = ConfigDict(extra="allow")
                kind: str

            @app.patch("/users/me", response_model=ProviderEvent)
            def update_me(changes: UserUpdate):
                return ProviderEvent(kind="user.updated", **changes.model_dump())
            """
        ),
        Valid(
            """
            from pydantic import BaseModel, ConfigDict

            class UpstreamResponse(BaseModel):
                model_config = ConfigDict(extra="allow")
                status: str
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            from app.security import CurrentTIToken, TIToken

            app = FastAPI()

            class TIStatePut(BaseModel):
                state: str

            @app.put("/task-instances/{ti_id}/state", status_code=204)
            def put_state(ti_id: str, body: TIStatePut, token: TIToken = CurrentTIToken) -> None:
                return None
            """,
            filename="app/main.py",
            files={
                "app/security.py": """
                    from fastapi import Depends
                    from pydantic import BaseModel, ConfigDict

                    class TIClaims(BaseModel):
                        # claims of a JWT we verified: not a request body
                        model_config = ConfigDict(extra="allow")
                        sub: str

                    class TIToken(BaseModel):
                        id: str
                        claims: TIClaims

                    def require_auth() -> TIToken:
                        return TIToken(id="ti", claims=TIClaims(sub="ti"))

                    CurrentTIToken: TIToken = Depends(require_auth)
                """
            },
        ),
        Valid(
            """
            from typing import Any, Optional

            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict, Field

            app = FastAPI()

            class BuildInfo(BaseModel, extra="allow"):
                # `kind` says which other keys (commit, branch, url...) come with it
                kind: str
                version: str

            class ReleaseCreate(BaseModel):
                model_config = ConfigDict(extra="forbid")
                name: str
                build_info: Optional[BuildInfo] = Field(default=None)

            @app.post("/releases/", status_code=201)
            def create_release(release: ReleaseCreate) -> dict[str, Any]:
                row = release.model_dump(exclude={"build_info"})
                return {"id": 1, **row}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel, ConfigDict

            app = FastAPI()

            class ProfileBase(BaseModel):
                model_config = ConfigDict(extra="allow")
                display_name: str

            class Profile(ProfileBase):
                bio: str = ""

            @app.put("/profile")
            def save_profile(profile: Profile):
                return {"saved": profile.model_dump()}
            """,
            lines=(7,),
            fixed="""
            from fastapi import Depends, FastAPI
            from pydantic import BaseModel, ConfigDict

            app = FastAPI()

            class ProfileBase(BaseModel):
                model_config = ConfigDict(extra="forbid")
                display_name: str

            class Profile(ProfileBase):
                bio: str = ""

            @app.put("/profile")
            def save_profile(profile: Profile):
                return {"saved": profile.model_dump()}
            """,
        ),
        Invalid(
            """
            from pydantic import BaseModel, Extra

            class OrderCreate(BaseModel):
                sku: str
                quantity: int

                class Config:
                    extra = Extra.allow

            class OrderPatch(BaseModel, extra="allow"):
                quantity: int | None = None
            """,
            lines=(8, 10),
            fixed="""
            from pydantic import BaseModel, Extra

            class OrderCreate(BaseModel):
                sku: str
                quantity: int

                class Config:
                    extra = Extra.forbid

            class OrderPatch(BaseModel, extra="forbid"):
                quantity: int | None = None
            """,
        ),
        Invalid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict

            from app.models import AddressRow

            app = FastAPI()

            class Address(BaseModel):
                model_config = ConfigDict(extra="allow")
                street: str

            class Customer(BaseModel):
                name: str
                address: Address

            @app.post("/customers", status_code=201)
            def add_customer(customer: Customer) -> dict[str, int]:
                row = AddressRow(**customer.address.model_dump())
                return {"id": row.id}
            """,
            lines=(9,),
            fixed="""
            from fastapi import FastAPI
            from pydantic import BaseModel, ConfigDict

            from app.models import AddressRow

            app = FastAPI()

            class Address(BaseModel):
                model_config = ConfigDict(extra="forbid")
                street: str

            class Customer(BaseModel):
                name: str
                address: Address

            @app.post("/customers", status_code=201)
            def add_customer(customer: Customer) -> dict[str, int]:
                row = AddressRow(**customer.address.model_dump())
                return {"id": row.id}
            """,
        ),
    )

    def visit_ClassDef(self, node: ast.ClassDef, ctx: FileContext) -> None:
        if not is_model_node(ctx.project, ctx.module, node):
            return
        value = self._extra_allow(ctx, node)
        if value is None:
            return
        reason = self._input_reason(ctx, node)
        if reason is None:
            return
        if isinstance(value, ast.Attribute):
            replacement = f"{ctx.source.segment(value.value)}.forbid"
        else:
            quote = ctx.source.segment(value)[:1] or '"'
            replacement = f"{quote}forbid{quote}"
        ctx.report(
            value,
            f'`{node.name}` keeps undeclared fields (`extra="allow"`) and {reason}, so clients can set '
            f'attributes the API never declared (mass assignment); use `extra="forbid"`.',
            fix=Fix('Use `extra="forbid"`', (ctx.source.replace(value, replacement),), safe=False),
        )

    def _extra_allow(self, ctx: FileContext, node: ast.ClassDef) -> ast.expr | None:
        """The `"allow"` / `Extra.allow` expression of the class's own config, if any."""
        for key, value in own_config(ctx.project, ctx.module, node):
            if key == "extra" and self._is_allow(ctx, value):
                return value
        return None

    @staticmethod
    def _is_allow(ctx: FileContext, value: ast.expr) -> bool:
        if isinstance(value, ast.Constant):
            return value.value == "allow"
        if isinstance(value, ast.Attribute) and value.attr == "allow":
            return ctx.resolve(value.value) in _EXTRA_ENUM
        return False

    def _input_reason(self, ctx: FileContext, node: ast.ClassDef) -> str | None:
        info = class_info(ctx.module, node)
        if info is None:
            return "is named like an input model" if named_like_input(node.name) else None
        used = usage(ctx.project)
        classes = [info, *self._subclasses(ctx, info)]
        for cls in classes:
            routes: list[Route] = used.direct_request.get(cls.qualname, [])
            if routes:
                via = "" if cls is info else f" (through its subclass `{cls.node.name}`)"
                return f"is the request body of `{describe_route(routes[0])}`{via}"
        # Only nested in a body (`version_info: VersionInfo` of `ReleaseCreate`): the
        # extra keys stay inside that field's value, an open sub-document, and reach no
        # attribute unless the code spreads that value into a constructor or a loop.
        for cls in classes:
            routes = used.request.get(cls.qualname, [])
            if not routes:
                continue
            for owner, name in self._holders(ctx, cls):
                if self._spread(ctx, name):
                    return (
                        f"is nested in the request body of `{describe_route(routes[0])}` "
                        f"(`{owner}.{name}`), whose dump the code spreads into an object"
                    )
        if named_like_input(node.name):
            return "is named like an input model"
        return None

    @staticmethod
    def _holders(ctx: FileContext, cls: ClassInfo) -> list[tuple[str, str]]:
        """(model, field) pairs of request models whose field holds `cls`."""
        out: list[tuple[str, str]] = []
        project = ctx.project
        for qualname in usage(project).request:
            holder = project.lookup(qualname)
            if not isinstance(holder, ClassInfo):
                continue
            for owner, f in inherited_fields(project, holder):
                if any(c is cls for c in annotation_classes(project, owner.module, f.annotation)):
                    out.append((holder.node.name, f.name))
        return out

    @staticmethod
    def _spread(ctx: FileContext, field_name: str) -> bool:
        """Does some code spread `<x>.<field_name>.model_dump()` (or `.dict()`) into a
        call (`Row(**body.meta.model_dump())`) or walk its items (`setattr` loops)?"""
        return _spreads(ctx.project, field_name)

    @staticmethod
    def _subclasses(ctx: FileContext, info: ClassInfo) -> list[ClassInfo]:
        out: list[ClassInfo] = []
        for module in ctx.project.modules:
            for cls in module.classes.values():
                if cls is not info and info.qualname in ctx.project.class_bases(cls) and is_model_class(ctx.project, cls):
                    out.append(cls)
        return out
