from __future__ import annotations

import ast

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import ClassInfo
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    CONFIG_DICT,
    class_info,
    describe_route,
    is_model_class,
    is_model_node,
    named_like_input,
    usage,
)
from fastapi_expert.types import Fix, Severity

_EXTRA_ENUM = frozenset({"pydantic.Extra", "pydantic.config.Extra"})


class ExtraAllowOnInputModel(Rule):
    """Flags a request model configured with `extra="allow"` (mass assignment).

    ## What it does
    Finds Pydantic models whose config allows undeclared fields,
    `model_config = ConfigDict(extra="allow")`, `{"extra": "allow"}`,
    `class M(BaseModel, extra="allow")`, or v1's `class Config: extra = "allow"`
    / `Extra.allow`, when the model (or a project subclass of it) is the body
    of some route, or is named like an input model (`*Create`, `*Update`,
    `*In`, `*Input`, `*Request`, `*Payload`, `*Patch`). A parameter whose
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
        for kw in node.keywords:
            if kw.arg == "extra" and self._is_allow(ctx, kw.value):
                return kw.value
        for stmt in node.body:
            if isinstance(stmt, ast.Assign | ast.AnnAssign):
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
                if not (isinstance(target, ast.Name) and target.id == "model_config"):
                    continue
                value = stmt.value
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute):
                    resolved = ctx.resolve(value.func) or ""
                    if resolved in CONFIG_DICT or resolved.endswith("ConfigDict"):
                        for kw in value.keywords:
                            if kw.arg == "extra" and self._is_allow(ctx, kw.value):
                                return kw.value
                elif isinstance(value, ast.Dict):
                    for key, item in zip(value.keys, value.values, strict=False):
                        if isinstance(key, ast.Constant) and key.value == "extra" and self._is_allow(ctx, item):
                            return item
            elif isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
                for inner in stmt.body:
                    if (
                        isinstance(inner, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "extra" for t in inner.targets)
                        and self._is_allow(ctx, inner.value)
                    ):
                        return inner.value
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
        used = usage(ctx.project).request
        for cls in [info, *self._subclasses(ctx, info)]:
            routes: list[Route] = used.get(cls.qualname, [])
            if routes:
                via = "" if cls is info else f" (through its subclass `{cls.node.name}`)"
                return f"is the request body of `{describe_route(routes[0])}`{via}"
        if named_like_input(node.name):
            return "is named like an input model"
        return None

    @staticmethod
    def _subclasses(ctx: FileContext, info: ClassInfo) -> list[ClassInfo]:
        out: list[ClassInfo] = []
        for module in ctx.project.modules:
            for cls in module.classes.values():
                if cls is not info and info.qualname in ctx.project.class_bases(cls) and is_model_class(ctx.project, cls):
                    out.append(cls)
        return out
