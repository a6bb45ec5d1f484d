from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    parameter_defaults,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import inherited_fields


def _variants(*names: str) -> frozenset[str]:
    return frozenset(f"fastapi.{p}{n}" for n in names for p in ("", "params.", "param_functions."))


_BODY_MARKERS = _variants("Body", "Form", "File")
_OTHER_MARKERS = _variants("Query", "Path", "Header", "Cookie", "Depends", "Security")
_MODEL_BASES = frozenset(
    {"pydantic.BaseModel", "pydantic.main.BaseModel", "sqlmodel.SQLModel", "sqlmodel.main.SQLModel"}
)
_UPLOADS = frozenset({"fastapi.UploadFile", "fastapi.datastructures.UploadFile", "starlette.datastructures.UploadFile"})
_COLLECTIONS = frozenset(
    {
        "builtins.list", "builtins.set", "builtins.tuple", "builtins.dict", "builtins.frozenset",
        "typing.List", "typing.Set", "typing.Tuple", "typing.Dict", "typing.FrozenSet",
        "typing.Sequence", "typing.Mapping", "collections.abc.Sequence", "collections.abc.Mapping",
    }
)
_OPTIONAL = frozenset({"typing.Optional", "typing.Union", "typing_extensions.Optional", "typing_extensions.Union"})
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE"})
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


def _marker(project: Project, module: ModuleInfo, expr: ast.expr | None) -> str | None:
    """`Body`/`Form`/`File` for a body marker, "other" for a marker of another
    source, None for none: a call in place (`= Depends(auth)`) or a module-level
    name bound to one (`auth_dep: Final = Depends(auth)`, `= auth_dep`)."""
    if isinstance(expr, ast.Name | ast.Attribute):
        symbol = project.lookup(module.resolve(expr))
        if isinstance(symbol, tuple) and isinstance(symbol[1], ast.Call):
            module, expr = symbol
    if isinstance(expr, ast.Call):
        target = project.resolve(module, expr.func)
        if target in _BODY_MARKERS:
            return target.rsplit(".", 1)[-1]
        if target in _OTHER_MARKERS:
            return "other"
    return None


def _annotated_parts(
    project: Project, module: ModuleInfo, annotation: ast.expr | None
) -> tuple[ModuleInfo, ast.expr | None, list[tuple[ModuleInfo, ast.expr]]]:
    """`Annotated[T, m1, m2]` (through aliases) split into T, with the module its
    names are read in, and each metadata item with the module it is written in."""
    inner_module, inner, _meta = project.annotated_parts(module, annotation)
    return inner_module, inner, project.annotated_metadata(module, annotation)


def _resolve(project: Project, module: ModuleInfo, expr: ast.expr) -> str | None:
    """`project.resolve`, and for a bare name a star import brought in
    (`from app.types import *`), the class it denotes there."""
    name = project.resolve(module, expr)
    if name is None and isinstance(expr, ast.Name) and module.star_imports:
        symbol = project.lookup(f"{module.name}.{expr.id}")
        if isinstance(symbol, ClassInfo):
            return symbol.qualname
    return name


def _unwrap_optional(project: Project, module: ModuleInfo, ann: ast.expr) -> list[ast.expr]:
    """The alternatives of `X | None`, `Optional[X]`, `Union[X, None]` (None dropped)."""
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        return [*_unwrap_optional(project, module, ann.left), *_unwrap_optional(project, module, ann.right)]
    if isinstance(ann, ast.Subscript) and project.resolve(module, ann.value) in _OPTIONAL:
        elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        return [e for elt in elts for e in _unwrap_optional(project, module, elt)]
    if isinstance(ann, ast.Constant) and ann.value is None:
        return []
    return [ann]


def _body_type(project: Project, module: ModuleInfo, ann: ast.expr) -> str | None:
    """Why FastAPI reads a parameter of this type from the body, or None."""
    for alt in _unwrap_optional(project, module, ann):
        head = alt.value if isinstance(alt, ast.Subscript) else alt
        name = _resolve(project, module, head)
        if name is None:
            continue
        if name in _COLLECTIONS:
            return "a collection"
        if name in _UPLOADS:
            return "an uploaded file"
        symbol = project.lookup(name)
        if isinstance(symbol, ClassInfo) and project.class_bases(symbol) & _MODEL_BASES:
            return f"the model `{symbol.node.name}`"
    return None


def body_parameters(project: Project, func: FunctionInfo, path: str | None) -> list[tuple[ast.arg, str]]:
    """Parameters of an endpoint that FastAPI reads from the request body, with why."""
    module = func.module
    path_params = set(_PATH_PARAM.findall(path or ""))
    defaults = parameter_defaults(func.node)
    out: list[tuple[ast.arg, str]] = []
    args = func.node.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        inner_module, inner, meta = _annotated_parts(project, module, arg.annotation)
        marker = _marker(project, module, defaults.get(arg.arg))
        if marker is None:
            marker = next((m for m in (_marker(project, where, e) for where, e in meta) if m), None)
        if marker == "other":
            continue
        if marker is not None:
            out.append((arg, f"`{marker}()`"))
            continue
        if arg.arg in path_params or inner is None:
            continue
        why = _body_type(project, inner_module, inner)
        if why is not None:
            out.append((arg, why))
    return out


def body_lists_items(project: Project, func: FunctionInfo, path: str | None) -> bool:
    """Does the endpoint's request body carry a list of items: a collection
    parameter (`ids: list[int]`), or a model with a collection field
    (`DeleteRequest.user_ids: list[str]`)? The shape of a bulk operation, whose
    targets no single URL names."""
    for arg, why in body_parameters(project, func, path):
        if why == "a collection":
            return True
        inner_module, inner, _meta = _annotated_parts(project, func.module, arg.annotation)
        for alt in _unwrap_optional(project, inner_module, inner) if inner is not None else []:
            symbol = project.lookup(_resolve(project, inner_module, alt))
            if not isinstance(symbol, ClassInfo):
                continue
            if any(
                _body_type(project, owner.module, f.annotation) == "a collection"
                for owner, f in inherited_fields(project, symbol)
            ):
                return True
    return False


class DeleteWithBody(Rule):
    """Flags a DELETE (or GET/HEAD) route whose endpoint reads a request body.

    ## What it does
    For path operations whose methods are only DELETE, GET or HEAD, finds endpoint
    parameters that FastAPI fills from the request body: a parameter marked
    `Body()`, `Form()` or `File()` (as default or in `Annotated`), or an unmarked
    parameter typed with a Pydantic model of the project (a `BaseModel` /
    `SQLModel` subclass, also one a star import brings in), a list, set, tuple
    or dict, or `UploadFile`. Parameters
    marked `Query()`, `Path()`, `Header()`, `Cookie()`, `Depends()` or `Security()`
    (including Pydantic query-parameter models, `Annotated[Filters, Query()]`,
    through `Annotated` aliases imported from other modules, and defaults bound
    at module level: `auth_dep = Depends(auth)`) and path parameters are not
    bodies. When the route's path could not be read, the message names the
    route by its endpoint.

    ## Why is this bad?
    RFC 9110 gives content in a GET, HEAD or DELETE request no defined semantics
    and warns that some implementations reject it. In practice proxies, load
    balancers, CDNs and HTTP client libraries (browsers' `fetch` for GET, many
    generated SDKs) drop the body or refuse to send it, so the endpoint works in
    tests and fails behind the gateway; caches also ignore the body when keying a
    GET. Put identifiers in the path and filters in the query string; a bulk
    delete with a body is better modelled as `POST /items/bulk-delete` or a
    `DELETE` with ids in the query.

    ## References
    - https://www.rfc-editor.org/rfc/rfc9110#name-delete
    - https://www.rfc-editor.org/rfc/rfc9110#name-get
    - https://fastapi.tiangolo.com/tutorial/body/
    - https://fastapi.tiangolo.com/tutorial/query-param-models/
    """

    code = "FX711"
    name = "delete-with-body"
    summary = "A DELETE/GET route reads a request body, which proxies and clients may drop."

    valid = (
        Valid(
            # Dependencies, not bodies: an `Annotated` alias written in another module than
            # the `dict` alias it wraps, and a default bound at module level to `Depends()`.
            """
            from typing import Final

            from fastapi import APIRouter, Depends

            from app.scope import ScopeDep, current_user

            router = APIRouter()
            user_dep: Final = Depends(current_user)


            @router.get("/models")
            async def list_models(scope: ScopeDep, user: dict = user_dep) -> list[str]:
                return []
            """,
            files={
                "app/types.py": """
                    from typing import Any

                    Scope = dict[str, Any]
                """,
                "app/scope.py": """
                    from typing import Annotated

                    from fastapi import Depends, Query

                    from app.types import Scope

                    def current_user() -> dict:
                        return {}

                    def resolve_scope(project_id: str | None = Query(None)) -> Scope:
                        return {"project_id": project_id}

                    ScopeDep = Annotated[Scope, Depends(resolve_scope)]
                """,
            },
        ),
        Valid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Query
            from pydantic import BaseModel

            router = APIRouter()


            class ItemFilters(BaseModel):
                tag: str | None = None
                limit: int = 50


            @router.get("/items")
            def list_items(filters: Annotated[ItemFilters, Query()]):
                return []


            @router.delete("/items/{item_id}", status_code=204)
            def delete_item(item_id: int, hard: bool = False):
                return None
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()


            class ItemIds(BaseModel):
                ids: list[int]


            @app.post("/items/bulk-delete", status_code=204)
            def bulk_delete(payload: ItemIds):
                return None
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI
            from pydantic import BaseModel

            app = FastAPI()


            class DeleteRequest(BaseModel):
                reason: str


            @app.delete("/accounts/{account_id}")
            def close_account(account_id: int, request: DeleteRequest):
                return {"closed": account_id, "reason": request.reason}
            """,
            lines=(12,),
        ),
        Invalid(
            """
            from typing import Annotated

            import fastapi as f

            router = f.APIRouter()


            @router.delete("/items")
            def delete_items(ids: list[int]):
                return {"deleted": ids}


            @router.get("/reports/{report_id}")
            def read_report(
                report_id: int,
                columns: Annotated[list[str], f.Body(embed=True)],
            ):
                return {"id": report_id, "columns": columns}
            """,
            lines=(9, 16),
        ),
        Invalid(
            # A model brought in by a star import is a body all the same.
            """
            from fastapi import APIRouter

            from app.types import *

            router = APIRouter()


            @router.delete("/keys")
            async def delete_keys(data: KeyRequest) -> None:
                return None
            """,
            lines=(9,),
            filename="app/keys.py",
            files={
                "app/types.py": """
                    from pydantic import BaseModel

                    class KeyRequest(BaseModel):
                        keys: list[str]
                """
            },
        ),
    )

    def _check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        routes: list[Route] = [
            r for r in ctx.routes_of(node) if r.methods and set(r.methods) <= _NO_BODY_METHODS and not r.is_websocket
        ]
        if not routes:
            return
        func = ctx.module.function_of_node.get(node)
        if func is None:
            return
        route = routes[0]
        method = "/".join(route.methods)
        # A path the model could not read (`APIRouter(prefix=API + TAGS)` with `""`, a
        # constant `@router.delete(BATCH)`) is named by its endpoint instead.
        shown = route.display_path
        where = f"`{method} {shown}`" if shown not in ("", "<dynamic>") else f"`{method}` of `{func.name}`"
        for arg, why in body_parameters(ctx.project, func, route.path):
            ctx.report(
                arg,
                f"{where} reads `{arg.arg}` ({why}) from the request body, "
                f"which {method} requests should not carry (RFC 9110) and proxies may drop; take "
                "identifiers from the path and filters from the query instead.",
            )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)
