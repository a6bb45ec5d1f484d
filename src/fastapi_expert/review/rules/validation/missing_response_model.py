from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_nodes,
    own_nodes_of,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules._util import keyword, keyword_value
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.validation._models import (
    describe_route,
    http_routes,
    model_class,
    only_models,
)
from fastapi_expert.types import Severity

_JSON_RESPONSES = frozenset(
    {
        "fastapi.responses.JSONResponse",
        "fastapi.responses.ORJSONResponse",
        "fastapi.responses.UJSONResponse",
        "fastapi.JSONResponse",
        "starlette.responses.JSONResponse",
    }
)
_RESPONSE_MODULES = ("fastapi.responses.", "starlette.responses.", "fastapi.Response", "starlette.templating.")
_NO_BODY = frozenset({204, 304})
_STATUS_PREFIXES = ("fastapi.status.HTTP_", "starlette.status.HTTP_")
_UNTYPED = frozenset({"builtins.dict", "typing.Dict", "typing.Any", "typing_extensions.Any", "builtins.object"})
_ANY = frozenset({"typing.Any", "typing_extensions.Any", "builtins.object"})


def _untyped_return(project: Project, module: ModuleInfo, returns: ast.expr) -> bool:
    """`-> dict`, `-> Dict[str, Any]`, `-> dict[str, Any]`, `-> Any`."""
    if isinstance(returns, ast.Name | ast.Attribute):
        return project.resolve(module, returns) in _UNTYPED
    if isinstance(returns, ast.Subscript) and isinstance(returns.value, ast.Name | ast.Attribute):
        head = project.resolve(module, returns.value)
        if head not in {"builtins.dict", "typing.Dict"}:
            return False
        parts = returns.slice.elts if isinstance(returns.slice, ast.Tuple) else [returns.slice]
        value = parts[-1]
        return len(parts) == 2 and isinstance(value, ast.Name | ast.Attribute) and project.resolve(module, value) in _ANY
    return False


def _status(project: Project, module: ModuleInfo, expr: ast.expr | None) -> int | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int):
        return expr.value
    if isinstance(expr, ast.Name | ast.Attribute):
        qual = project.resolve(module, expr) or ""
        for prefix in _STATUS_PREFIXES:
            if qual.startswith(prefix):
                digits = qual[len(prefix) :].split("_", 1)[0]
                return int(digits) if digits.isdigit() else None
    return None


def _builds_model(ctx: FileContext, call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in {"model_validate", "model_construct", "parse_obj", "from_orm"}:
        func = func.value
    return isinstance(func, ast.Name | ast.Attribute) and model_class(ctx.project, ctx.resolve(func)) is not None


def _returned_callee(ctx: FileContext, endpoint: FunctionInfo | None, value: ast.expr) -> FunctionInfo | None:
    """The project function (not a constructor) whose result `value` is: `get_run(run_id)`,
    `await list_runs()`."""
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return None
    sym = ctx.project.lookup(ctx.project.call_target(ctx.module, endpoint, value))
    return sym if isinstance(sym, FunctionInfo) and sym.node.name != "__init__" else None


def _returns_models(ctx: FileContext, endpoint: FunctionInfo | None, value: ast.expr) -> bool:
    """Is `value` the result of a project function annotated to return models only
    (`return get_run(run_id)` with `def get_run(...) -> Run | None`, `await list_runs()`
    with `-> list[Run]`)? Like `Run.model_validate(row)`, it is already a model: it is
    validated where it is built and serialises as the model's fields only."""
    sym = _returned_callee(ctx, endpoint, value)
    return sym is not None and only_models(ctx.project, sym.module, sym.node.returns)


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A body of only a docstring, `pass` and `...`: an interface, not what runs."""
    return all(
        isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
        for stmt in node.body
    )


def _passes_result_through(project: Project, module: ModuleInfo, deco: ast.expr) -> bool:
    """Is `deco` a project decorator whose wrapper returns what the decorated
    function returns (`return await func(*args, **kwargs)` after a check)?"""
    if not isinstance(deco, ast.Name | ast.Attribute):
        return False
    sym = project.lookup(project.resolve(module, deco))
    if not isinstance(sym, FunctionInfo):
        return False
    args = [*sym.node.args.posonlyargs, *sym.node.args.args]
    if not args:
        return False
    wrapped = args[0].arg
    nested = {n.name: n for n in sym.node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    returned = [n.value for n in own_nodes_of(sym.node, ast.Return)]
    names = [r.id for r in returned if isinstance(r, ast.Name) and r.id in nested]
    if not returned or len(names) != len(returned):
        return False
    for name in names:
        results = [n.value for n in own_nodes_of(nested[name], ast.Return)]
        if not results:
            return False
        for result in results:
            value = result.value if isinstance(result, ast.Await) else result
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == wrapped):
                return False
    return True


def _returns_nothing(ctx: FileContext, endpoint: FunctionInfo | None, value: ast.expr) -> bool:
    """Is `value` the result of a project function that returns no value (`return
    await delete_token(...)` where `delete_token` only deletes)? Then the endpoint
    always answers `null`. The function says so by `-> None`, or, unannotated, it is a
    plain function with a body (not a method a subclass may override, not a stub)
    none of whose `return`s gives a value, undecorated or under project decorators
    that hand the result through."""
    sym = _returned_callee(ctx, endpoint, value)
    if sym is None:
        return False
    returns = sym.node.returns
    if returns is not None:
        return isinstance(returns, ast.Constant) and returns.value is None
    if sym.class_name is not None or sym.is_generator or _is_stub(sym.node):
        return False
    if not all(_passes_result_through(ctx.project, sym.module, d) for d in sym.node.decorator_list):
        return False
    return not any(
        isinstance(n, ast.Return) and n.value is not None and not (isinstance(n.value, ast.Constant) and n.value.value is None)
        for n in own_nodes(sym.node)
    )


def _model_variables(ctx: FileContext, node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Local names that hold a model instance (annotated, or built from a model)."""
    func = ctx.module.function_of_node.get(node)
    out = set()
    if func is not None:
        out = {name for name, qual in ctx.project.variable_types(func).items() if model_class(ctx.project, qual)}
    for n in own_nodes(node):
        if (
            isinstance(n, ast.Assign)
            and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name)
            and isinstance(n.value, ast.Call)
            and _builds_model(ctx, n.value)
        ):
            out.add(n.targets[0].id)
    return out


# the name of a call that answers with a redirect: `redirect`, `authorize_redirect`, `get_login_redirect`
_REDIRECT_CALL = re.compile(r"(?:^|_)redirect$", re.IGNORECASE)
_TYPEVAR = frozenset({"typing.TypeVar", "typing_extensions.TypeVar"})


def _is_response_class(project: Project, qual: str | None) -> bool:
    """A Starlette/FastAPI `Response` class, or a project class derived from one
    (not merely named `*Response`: a Pydantic `UserResponse` is a JSON value)."""
    if not qual:
        return False
    if qual.startswith(_RESPONSE_MODULES):
        return True
    sym = project.lookup(qual)
    return isinstance(sym, ClassInfo) and any(b.startswith(_RESPONSE_MODULES) for b in project.class_bases(sym))


def _returned_class(project: Project, func: FunctionInfo) -> str | None:
    """The class a project function's return annotation names; for a TypeVar
    (`-> ResponseT`, `ResponseT = TypeVar("ResponseT", bound=Response)`), its bound."""
    if func.node.returns is None:
        return None
    qual = project.annotation_type(func.module, func.node.returns)
    sym = project.lookup(qual)
    if isinstance(sym, tuple):
        module, value = sym
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name | ast.Attribute)
            and project.resolve(module, value.func) in _TYPEVAR
        ):
            bound = keyword_value(value, "bound")
            return project.annotation_type(module, bound) if bound is not None else None
    return qual


def _makes_response(ctx: FileContext, endpoint: FunctionInfo | None, value: ast.expr) -> bool:
    """Is `value` a `Response` object: built from a response class (also a project
    subclass), or returned by a project function annotated to return one (a helper
    such as `await flow.login_redirect(...)` or `await page.render()`)?"""
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    # Receiver types are the endpoint's (`flow: LoginFlow = Depends(...)`): the rule
    # visits the `def` itself, before the engine enters its body.
    target = ctx.project.call_target(ctx.module, endpoint, value)
    target = target or (ctx.resolve(func) if isinstance(func, ast.Name | ast.Attribute) else None) or ""
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if target.startswith(_RESPONSE_MODULES) or name.endswith("Response"):
        return True
    sym = ctx.project.lookup(target)
    if isinstance(sym, FunctionInfo):
        if sym.node.name == "__init__" and sym.class_name:
            return _is_response_class(ctx.project, sym.class_name)
        return _is_response_class(ctx.project, _returned_class(ctx.project, sym))
    if sym is None and _REDIRECT_CALL.search(name):
        # a library's redirect helper (Authlib's `await oauth.github.authorize_redirect(...)`
        # returns a `RedirectResponse`); the project's own functions are judged by their
        # annotation above
        return True
    return _is_response_class(ctx.project, target)


def _response_variables(ctx: FileContext, node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Local names some assignment binds to a `Response` object."""
    out: set[str] = set()
    endpoint = ctx.module.function_of_node.get(node)
    for n in own_nodes(node):
        if (
            isinstance(n, ast.Assign | ast.AnnAssign)
            and n.value is not None
            and _makes_response(ctx, endpoint, n.value)
        ):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            out |= {t.id for t in targets if isinstance(t, ast.Name)}
    return out


def _def_header(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
    """A node spanning `def name` / `async def name`, to report on the header only."""
    keyword_len = len("async def ") if isinstance(node, ast.AsyncFunctionDef) else len("def ")
    return ast.Name(
        id=node.name,
        lineno=node.lineno,
        col_offset=node.col_offset,
        end_lineno=node.lineno,
        end_col_offset=node.col_offset + keyword_len + len(node.name.encode("utf-8")),
    )


class MissingResponseModel(Rule):
    """Flags an HTTP route with neither `response_model=` nor a typed return annotation.

    ## What it does
    Finds path operations whose decorator has no `response_model=` and whose
    endpoint has no return annotation, or only `-> dict`, `-> dict[str, Any]` or
    `-> Any`. Routes that do not answer with a JSON model are left alone: a
    non-JSON `response_class=` (HTML, redirect, streaming, file, plain
    `Response`, also as the router's `default_response_class`), `status_code=204`, `include_in_schema=False`, endpoints that
    return a `Response` object, and endpoints that return no value, also
    through a project function that returns none (`return await
    delete_token(...)` where `delete_token` is annotated `-> None`, or is a
    plain function with a body, not a method or a stub, none of whose
    `return`s gives a value, under no decorator but project ones whose wrapper
    returns the wrapped function's result): such a route always answers
    `null`. A `Response`
    object is one built from a response class (or a project subclass of one),
    or returned by a project function annotated to return one, also through a
    variable (`response = await flow.login_redirect(...)`; `-> R` with
    `R = TypeVar("R", bound=Response)` counts too), or by a library call named
    for a redirect (Authlib's `authorize_redirect(...)`). A value that is
    already a model is serialised as that model's fields only, so it is not
    flagged either: a model built in the endpoint (`UserOut(...)`,
    `UserOut.model_validate(row)`), or the result of a project function
    annotated to return models (`return get_run(run_id)` with
    `def get_run(...) -> Run | None`).

    ## Why is this bad?
    With a response model FastAPI validates what the endpoint returns and,
    above all, filters it: only the declared fields are sent. Without one
    whatever the function returns is serialised as is, so an ORM object or a
    dict built from one can leak columns such as `hashed_password` or internal
    flags, a bug fails silently instead of with a clear error, and the OpenAPI
    document has no schema for client generators.

    ## References
    - https://fastapi.tiangolo.com/tutorial/response-model/
    - https://fastapi.tiangolo.com/tutorial/response-model/#return-type-and-data-filtering
    - https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/
    """

    code = "FX302"
    name = "missing-response-model"
    summary = "A route has no `response_model` and no typed return: output unvalidated, unfiltered, undocumented."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import FastAPI, status
            from fastapi.responses import HTMLResponse, RedirectResponse
            from pydantic import BaseModel

            app = FastAPI()

            class UserOut(BaseModel):
                id: int
                email: str

            @app.get("/users/{user_id}", response_model=UserOut)
            def get_user(user_id: int):
                return {"id": user_id, "email": "a@example.com", "hashed_password": "x"}

            @app.get("/me")
            def me() -> UserOut:
                return UserOut(id=1, email="a@example.com")

            @app.get("/", response_class=HTMLResponse)
            def home():
                return "<h1>Hello</h1>"

            @app.get("/docs-old")
            def old_docs():
                return RedirectResponse("/docs")

            @app.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
            def delete_user(user_id: int):
                return None
            """
        ),
        Valid(
            """
            from fastapi import APIRouter

            from app.metrics import collect_metrics

            router = APIRouter()

            @router.get("/internal/metrics", include_in_schema=False)
            def metrics():
                return collect_metrics()

            @router.post("/import")
            def import_rows(rows: list[int]):
                return {"imported": len(rows)}

            @router.websocket("/ws")
            async def ws(websocket):
                await websocket.accept()
            """
        ),
        Valid(
            """
            from typing import TypeVar

            from fastapi import APIRouter, Depends, Request, Response
            from fastapi.responses import RedirectResponse
            from starlette.templating import Jinja2Templates, _TemplateResponse

            router = APIRouter()
            templates = Jinja2Templates(directory="templates")
            R = TypeVar("R", bound=Response)

            class LoginFlow:
                async def remember(self, response: R, user_id: int) -> R:
                    response.set_cookie("login", str(user_id), httponly=True)
                    return response

            class Page:
                def __init__(self, request: Request, name: str) -> None:
                    self.request = request
                    self.name = name

                async def render(self) -> _TemplateResponse:
                    return templates.TemplateResponse(self.request, self.name)

            def get_flow() -> LoginFlow:
                return LoginFlow()

            @router.get("/authorize")
            async def authorize(screen: str = "login", flow: LoginFlow = Depends(get_flow)):
                response = RedirectResponse("/register" if screen == "register" else "/login", status_code=302)
                response = await flow.remember(response, 1)
                return response

            @router.api_route("/consent", methods=["GET", "POST"])
            async def consent(request: Request, flow: LoginFlow = Depends(get_flow)):
                if request.method == "POST":
                    done = await flow.remember(RedirectResponse("/done", status_code=302), 1)
                    return done
                return await Page(request, "consent.html").render()
            """
        ),
        Valid(
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            router = APIRouter()

            class Run(BaseModel):
                id: int
                state: str

            @router.get("/runs/latest/{run_id}")
            def latest_run_compat(run_id: int):
                # kept for old clients: answers like the route it forwards to
                return get_run(run_id)

            @router.get("/runs/{run_id}")
            def get_run(run_id: int) -> Run | None:
                return Run(id=run_id, state="done") if run_id else None

            @router.get("/runs")
            async def list_runs_compat():
                return await list_runs()

            @router.get("/v2/runs")
            async def list_runs() -> list[Run]:
                return []
            """
        ),
        Valid(
            """
            from authlib.integrations.starlette_client import OAuth
            from fastapi import APIRouter, Request

            oauth = OAuth()
            oauth.register(name="github", client_id="id", client_secret="secret")
            router = APIRouter(prefix="/auth")

            @router.get("/login")
            async def login(request: Request):
                return await oauth.github.authorize_redirect(request, str(request.url_for("callback")))

            @router.get("/callback")
            async def callback(request: Request) -> dict[str, str]:
                token = await oauth.github.authorize_access_token(request)
                return {"user": str(token.get("userinfo"))}
            """
        ),
        Valid(
            # The endpoint answers what a helper returns, and the helper returns nothing:
            # the response is always `null`, with nothing to validate, filter or describe.
            """
            from fastapi import APIRouter, Request

            from app.store import delete_api_token, forget_device

            router = APIRouter()

            @router.delete("/auth/token")
            async def delete_token(request: Request, token: str):
                return await delete_api_token(user=request.user, token=token)

            @router.delete("/auth/devices/{device_id}")
            def delete_device(request: Request, device_id: int):
                return forget_device(request.user, device_id)
            """,
            filename="app/routers/auth.py",
            files={
                "app/store.py": """
                    from functools import wraps

                    from app.models import ApiToken, Device

                    def require_user(func):
                        @wraps(func)
                        async def wrapper(*args, **kwargs):
                            if not any(a is not None for a in kwargs.values()):
                                raise ValueError("a user is required")
                            return await func(*args, **kwargs)

                        return wrapper

                    @require_user
                    async def delete_api_token(user, token: str):
                        "Delete the user's API token"
                        await ApiToken.objects.filter(token=token, user=user).adelete()

                    def forget_device(user, device_id: int) -> None:
                        Device.objects.filter(id=device_id, user=user).delete()
                        return None
                """
            },
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Any

            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import get_db
            from app.models import User

            app = FastAPI()

            @app.get("/users/{user_id}")
            def get_user(user_id: int, db: Session = Depends(get_db)):
                return db.get(User, user_id)

            @app.get("/users/{user_id}/profile")
            def get_profile(user_id: int, db: Session = Depends(get_db)) -> dict[str, Any]:
                user = db.get(User, user_id)
                return user.__dict__
            """,
            lines=(12, 16),
        ),
        Invalid(
            """
            import fastapi

            router = fastapi.APIRouter(prefix="/items")

            @router.post("/", status_code=201)
            async def create_item(name: str):
                item = await save_item(name)
                return item

            async def save_item(name: str):
                ...
            """,
            lines=(6,),
        ),
        Invalid(
            # Near misses: a helper that returns the row it deleted, and one that is only
            # declared here (a stub whose implementation may return anything).
            """
            from fastapi import APIRouter, Request

            from app.store import archive_api_token, revoke_api_token

            router = APIRouter()

            @router.delete("/auth/token")
            async def delete_token(request: Request, token: str):
                return await archive_api_token(user=request.user, token=token)

            @router.post("/auth/token/revoke")
            async def revoke_token(request: Request, token: str):
                return await revoke_api_token(token)
            """,
            lines=(8, 12),
            filename="app/routers/auth.py",
            files={
                "app/store.py": """
                    from app.models import ApiToken

                    async def archive_api_token(user, token: str):
                        row = await ApiToken.objects.aget(token=token, user=user)
                        row.archived = True
                        await row.asave()
                        return row

                    async def revoke_api_token(token: str):
                        ...
                """
            },
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> None:
        routes = http_routes(ctx.project, node)
        if not routes or ctx.module.is_test:
            return
        if node.returns is not None and not _untyped_return(ctx.project, ctx.module, node.returns):
            return
        if not self._returns_json_value(node, ctx):
            return
        for route in routes:
            call = route.node
            if isinstance(call.func, ast.Attribute) and call.func.attr in {"route", "add_route"}:
                continue  # Starlette-style routes take no response model
            if keyword(call, "response_model") is not None:
                continue  # set, or explicitly None
            in_schema = keyword_value(call, "include_in_schema")
            if isinstance(in_schema, ast.Constant) and in_schema.value is False:
                continue
            if _status(ctx.project, route.module, keyword_value(call, "status_code")) in _NO_BODY:
                continue
            if not self._json_route(ctx, route):
                continue
            if node.returns is None:
                what = "has no `response_model` and no return annotation"
            else:
                what = f"returns `{ast.unparse(node.returns)}` with no `response_model`"
            ctx.report(
                _def_header(node),
                f"`{describe_route(route)}` {what}, so its output is neither validated nor filtered and "
                "has no OpenAPI schema; declare a Pydantic model as the return type or `response_model=`.",
            )

    @staticmethod
    def _json_route(ctx: FileContext, route: Route) -> bool:
        """Does the route answer with JSON (no non-JSON `response_class` on it or its router)?"""
        fastapi = ctx.project.fastapi
        candidates: list[tuple[ModuleInfo, ast.expr | None]] = [(route.module, route.keyword("response_class"))]
        owner = fastapi.objects.get(route.router)
        if owner is not None:
            candidates.append((owner.module, owner.keyword("default_response_class")))
        for inc in reversed(fastapi.include_chain(route.router)):
            candidates.append((inc.module, keyword_value(inc.node, "default_response_class")))
        for module, expr in candidates:
            if expr is not None:
                return ctx.project.resolve(module, expr) in _JSON_RESPONSES
        return True

    @staticmethod
    def _returns_json_value(node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> bool:
        """Does the endpoint return a value FastAPI will serialise as JSON, other
        than a dict literal with explicit keys?"""
        returns_value = False
        models = _model_variables(ctx, node)
        responses: set[str] | None = None
        for n in own_nodes(node):
            if isinstance(n, ast.Yield | ast.YieldFrom):
                return False
            if not isinstance(n, ast.Return) or n.value is None:
                continue
            value = n.value
            if isinstance(value, ast.Constant) and value.value is None:
                continue
            if isinstance(value, ast.Dict) and None not in value.keys:
                continue  # a dict literal lists its keys: nothing leaks by accident
            if isinstance(value, ast.Call) and _builds_model(ctx, value):
                continue  # `UserOut(...)`, `UserOut.model_validate(row)`: already a model
            if _returns_models(ctx, ctx.module.function_of_node.get(node), value):
                continue
            if isinstance(value, ast.Name) and value.id in models:
                continue
            if _returns_nothing(ctx, ctx.module.function_of_node.get(node), value):
                continue  # always `null`
            returns_value = True
            if _makes_response(ctx, ctx.module.function_of_node.get(node), value):
                return False
            if isinstance(value, ast.Name):
                if responses is None:
                    responses = _response_variables(ctx, node)
                if value.id in responses:
                    return False
        return returns_value
