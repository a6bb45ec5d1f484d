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
    PYDANTIC_FIELD,
    describe_route,
    http_routes,
    inherited_fields,
    model_class,
    only_models,
    own_config,
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


_MODEL_BUILDERS = frozenset({"model_validate", "model_construct", "parse_obj", "from_orm"})


def _builds_model(ctx: FileContext, call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _MODEL_BUILDERS:
        func = func.value
    return isinstance(func, ast.Name | ast.Attribute) and model_class(ctx.project, ctx.resolve(func)) is not None


def _local_function(func: FunctionInfo | None, name: str) -> FunctionInfo | None:
    """A function defined in the body of `func` or of a function around it, named
    `name` (`def _serve_index(): ...` next to the routes an app factory declares)."""
    while func is not None:
        # also under an `if` or a `try` of that body, not inside another function
        defs: list[ast.FunctionDef | ast.AsyncFunctionDef] = [
            *own_nodes_of(func.node, ast.FunctionDef),
            *own_nodes_of(func.node, ast.AsyncFunctionDef),
        ]
        for stmt in defs:
            if stmt.name == name:
                return func.module.function_of_node.get(stmt)
        func = func.parent
    return None


def _callee(project: Project, module: ModuleInfo, func: FunctionInfo | None, call: ast.Call) -> object:
    """The project symbol `call` (made in `func`) calls. A function nested in an
    enclosing function has a qualified name no module-level lookup finds: it is
    found by the call's plain name in the enclosing bodies."""
    target = project.call_target(module, func, call)
    sym = project.lookup(target)
    if sym is None and isinstance(call.func, ast.Name):
        return _local_function(func, call.func.id)
    return sym


def _returned_callee(ctx: FileContext, endpoint: FunctionInfo | None, value: ast.expr) -> FunctionInfo | None:
    """The project function (not a constructor) whose result `value` is: `get_run(run_id)`,
    `await list_runs()`."""
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return None
    sym = _callee(ctx.project, ctx.module, endpoint, value)
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
    return _body_is_what_runs(ctx.project, sym) and not _returned_values(sym)


def _returns_literal_dicts(ctx: FileContext, endpoint: FunctionInfo | None, value: ast.expr) -> bool:
    """Is `value` the result of a plain project function (see `_body_is_what_runs`)
    every `return` of which gives a dict literal with explicit keys (`return
    get_configuration()` where it builds `{"requireLogin": ..., "ui": {...}}`)? Like
    such a literal in the endpoint, it lists its keys: nothing leaks by accident."""
    sym = _returned_callee(ctx, endpoint, value)
    if sym is None or not _body_is_what_runs(ctx.project, sym):
        return False
    values = _returned_values(sym)
    return bool(values) and all(isinstance(v, ast.Dict) and not _spreads(v) for v in values)


def _spreads(literal: ast.Dict) -> bool:
    """Does the dict literal, or one nested in it, spread another mapping (`{**record}`),
    whose keys it does not list?"""
    return any(isinstance(n, ast.Dict) and None in n.keys for n in ast.walk(literal))


def _body_is_what_runs(project: Project, func: FunctionInfo) -> bool:
    """Can the function's own `return`s tell what a call of it gives? Not for a method
    (a subclass may override it), a generator, a stub, or one under a decorator other
    than a project one whose wrapper hands the result through."""
    if func.class_name is not None or func.is_generator or _is_stub(func.node):
        return False
    return all(_passes_result_through(project, func.module, d) for d in func.node.decorator_list)


def _returned_values(func: FunctionInfo) -> list[ast.expr]:
    """The values the function's own `return`s give, less `return None`."""
    return [
        n.value
        for n in own_nodes_of(func.node, ast.Return)
        if n.value is not None and not (isinstance(n.value, ast.Constant) and n.value.value is None)
    ]


def _model_variables(ctx: FileContext, node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Local names that hold a model instance (annotated, or built from a model)."""
    func = ctx.module.function_of_node.get(node)
    out: set[str] = set()
    if func is not None:
        out = {name for name, qual in ctx.project.variable_types(func).items() if model_class(ctx.project, qual)}
    returned: dict[str, bool] = {}  # name -> is every binding a models-returning call
    for n in own_nodes(node):
        if isinstance(n, ast.Assign) and len(n.targets) == 1:
            target, value = n.targets[0], n.value
        elif isinstance(n, ast.AnnAssign) and n.value is not None:
            target, value = n.target, n.value
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        if isinstance(value, ast.Call) and _builds_model(ctx, value):
            out.add(target.id)  # `run = Run.model_validate(row)`
        else:
            returned[target.id] = returned.get(target.id, True) and _returns_models(ctx, func, value)
    # `toolset: Final = await get_toolset(id)` with `-> Toolset | None`: a model, validated
    # where it is built, when every binding of the name is one (a name bound once to
    # `-> FilePage` and once to a library call's result may hold anything)
    candidates = {name for name, models in returned.items() if models}
    if candidates:
        out |= candidates - _rebound_names(node)
    return out


def _rebound_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names bound otherwise than by a plain assignment: a loop, a `with`, `:=`, `+=`,
    an unpacking, an `Assign` with several targets."""
    out: set[str] = set()
    for n in own_nodes(node):
        if isinstance(n, ast.For | ast.AsyncFor | ast.NamedExpr | ast.AugAssign):
            out |= _bound_names(n.target)
        elif isinstance(n, ast.With | ast.AsyncWith):
            out |= {name for i in n.items if i.optional_vars is not None for name in _bound_names(i.optional_vars)}
        elif isinstance(n, ast.Assign) and (len(n.targets) > 1 or not isinstance(n.targets[0], ast.Name)):
            out |= {name for t in n.targets for name in _bound_names(t)}
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


# how many unannotated project helpers deep a returned value is followed to a response
_HELPER_DEPTH = 2


def _makes_response(ctx: FileContext, endpoint: FunctionInfo | None, value: ast.expr) -> bool:
    """Is the endpoint's `value` a `Response` object (see `_is_response`)?"""
    return _is_response(ctx.project, ctx.module, endpoint, value, 0)


def _is_response(project: Project, module: ModuleInfo, func: FunctionInfo | None, value: ast.expr, depth: int) -> bool:
    """Is `value`, in `func` of `module`, a `Response` object: built from a response
    class (also a project subclass), or returned by a project function annotated to
    return one (a helper such as `await flow.login_redirect(...)` or `await
    page.render()`), or by an unannotated plain project function every `return` of
    which gives one (`return await indexer(...)` where `indexer` ends with `return
    Response(content=names)`)?"""
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return False
    callee = value.func
    # Receiver types are the function's (`flow: LoginFlow = Depends(...)`): the rule
    # visits the endpoint's `def` itself, before the engine enters its body.
    target = project.call_target(module, func, value)
    target = target or (project.resolve(module, callee) if isinstance(callee, ast.Name | ast.Attribute) else None) or ""
    name = callee.attr if isinstance(callee, ast.Attribute) else callee.id if isinstance(callee, ast.Name) else ""
    if target.startswith(_RESPONSE_MODULES) or name.endswith("Response"):
        return True
    sym = project.lookup(target) if target else None
    if sym is None and isinstance(callee, ast.Name):
        sym = _local_function(func, callee.id)
    if isinstance(sym, FunctionInfo):
        if sym.node.name == "__init__" and sym.class_name:
            return _is_response_class(project, sym.class_name)
        if sym.node.returns is None:
            return depth < _HELPER_DEPTH and _answers_responses(project, sym, depth + 1)
        return _is_response_class(project, _returned_class(project, sym))
    if sym is None and _REDIRECT_CALL.search(name):
        # a library's redirect helper (Authlib's `await oauth.github.authorize_redirect(...)`
        # returns a `RedirectResponse`); the project's own functions are judged by their
        # annotation above
        return True
    return _is_response_class(project, target)


def _answers_responses(project: Project, helper: FunctionInfo, depth: int) -> bool:
    """Does every `return` of the unannotated project function `helper` give a
    `Response` (or `None`), and one at least? An endpoint that returns its result
    answers with that response as is, and `response_model` would never apply."""
    if not _body_is_what_runs(project, helper):
        return False
    values = _returned_values(helper)
    if not values:
        return False
    variables: set[str] | None = None
    for value in values:
        if isinstance(value, ast.Name):
            if variables is None:
                variables = _variables_always_responses(project, helper, depth)
            if value.id in variables:
                continue
        if not _is_response(project, helper.module, helper, value, depth):
            return False
    return True


def _variables_always_responses(project: Project, func: FunctionInfo, depth: int) -> set[str]:
    """Local names every binding of which is an assignment of a `Response` object
    (a name also bound otherwise, by a loop or a `with`, may hold anything)."""
    values: dict[str, list[ast.expr]] = {}
    other: set[str] = set()
    for n in own_nodes(func.node):
        if isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None:
            for target in n.targets if isinstance(n, ast.Assign) else [n.target]:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(n.value)
                else:
                    other |= _bound_names(target)  # unpacked: `response, status = ...`
        elif isinstance(n, ast.For | ast.AsyncFor | ast.NamedExpr | ast.AugAssign):
            other |= _bound_names(n.target)
        elif isinstance(n, ast.With | ast.AsyncWith):
            other |= {name for i in n.items if i.optional_vars is not None for name in _bound_names(i.optional_vars)}
    return {
        name
        for name, bound in values.items()
        if name not in other and all(_is_response(project, func.module, func, v, depth) for v in bound)
    }


def _bound_names(target: ast.expr) -> set[str]:
    """The names an assignment target binds: `a`, `a, (b, *c)`; not `a.x` or `a[k]`,
    which set a part of an object `a` already holds."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return {name for elt in target.elts for name in _bound_names(elt)}
    return set()


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


# `model_dump` keywords -> the route keyword that serialises a response model the same way
_DUMP_KEYWORDS = {
    "exclude_none": "response_model_exclude_none",
    "exclude_unset": "response_model_exclude_unset",
    "exclude_defaults": "response_model_exclude_defaults",
    "include": "response_model_include",
    "exclude": "response_model_exclude",
}
_ALIAS_KEYWORDS = frozenset({"alias", "serialization_alias"})


def _has_aliases(project: Project, cls: ClassInfo) -> bool:
    """Does the model (or a project base) give a field an alias (`Field(alias=...)`,
    an `alias_generator`)? FastAPI serialises a response model by alias, `model_dump()`
    by field name."""
    for owner in [cls, *(b for b in (project.lookup(q) for q in project.class_bases(cls)) if isinstance(b, ClassInfo))]:
        if any(name == "alias_generator" for name, _ in own_config(project, owner.module, owner.node)):
            return True
    for owner, f in inherited_fields(project, cls):
        _, _, meta = project.annotated_parts(owner.module, f.annotation)
        for call in [f.value, *meta]:
            if isinstance(call, ast.Call) and any(
                k.arg in _ALIAS_KEYWORDS and isinstance(call.func, ast.Name | ast.Attribute)
                and project.resolve(owner.module, call.func) in PYDANTIC_FIELD
                for k in call.keywords
            ):
                return True
    return False


def _dumped_model(
    ctx: FileContext, endpoint: FunctionInfo | None, value: ast.expr, models: set[str]
) -> tuple[bool, ClassInfo | None]:
    """Is `value` the dump of a model (`token.model_dump(exclude_none=True)` with
    `token = TokenResponse(...)`, `get_run(id).dict()`), and of which class when
    known? `model_dump` is Pydantic's own name, so any receiver counts; `.dict()`
    only on a value known to be a model."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
        return False, None
    attr, receiver = value.func.attr, value.func.value
    if attr not in {"model_dump", "dict"}:
        return False, None
    cls: ClassInfo | None = None
    known = False
    if isinstance(receiver, ast.Name) and receiver.id in models:
        known = True
        qual = ctx.project.variable_types(endpoint).get(receiver.id) if endpoint is not None else None
        cls = model_class(ctx.project, qual)
    elif isinstance(receiver, ast.Call) and _builds_model(ctx, receiver):
        known = True
        func_expr = receiver.func
        if isinstance(func_expr, ast.Attribute) and func_expr.attr in _MODEL_BUILDERS:
            func_expr = func_expr.value
        cls = model_class(ctx.project, ctx.resolve(func_expr)) if isinstance(func_expr, ast.Name | ast.Attribute) else None
    elif _returns_models(ctx, endpoint, receiver):
        known = True
    return known or attr == "model_dump", cls


def _dump_advice(ctx: FileContext, dump: ast.Call, cls: ClassInfo | None) -> str:
    """`response_model=TokenResponse` with the keywords that keep the dump's output
    (`response_model_exclude_none=True`)."""
    extra = [
        f"`{_DUMP_KEYWORDS[k.arg]}={ast.unparse(k.value)}`" for k in dump.keywords if k.arg in _DUMP_KEYWORDS
    ]
    by_alias = next((k.value for k in dump.keywords if k.arg == "by_alias"), None)
    explicit = isinstance(by_alias, ast.Constant) and by_alias.value is True
    if not explicit and (by_alias is not None or (cls is not None and _has_aliases(ctx.project, cls))):
        extra.append("`response_model_by_alias=False`")
    if extra:
        model = f"`response_model={cls.node.name}`" if cls is not None else "that model as `response_model=`"
        return f"declare {model} with {', '.join(extra)}"
    model = f"`{cls.node.name}`" if cls is not None else "that model"
    return f"declare {model} as the return type or `response_model=`"


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
    for a redirect (Authlib's `authorize_redirect(...)`), or by an unannotated
    plain project function (not a method or a stub, as above) every `return`
    of which gives a `Response` (`return await indexer(...)` where `indexer`
    answers `Response(content="Failed", status_code=500)` or
    `Response(content=names)`). A helper defined in the function that
    declares the routes (an app factory's `def serve_index(): return
    Response(...)`, also under an `if`) counts as a project function. A value
    that is already a model is serialised as that model's fields only, so it
    is not flagged either: a model built in the endpoint (`UserOut(...)`,
    `UserOut.model_validate(row)`), or the result of a project function
    annotated to return models (`return get_run(run_id)` with
    `def get_run(...) -> Run | None`), also through a variable every binding
    of which is such a result (`toolset: Final = await get_toolset(id)`). Nor
    is `return []` (an empty list holds nothing to validate or leak), nor the
    result of a plain project function (as above) every `return` of which is
    a dict literal with explicit keys, none spreading another mapping
    (`return get_configuration()`), like such a literal in the endpoint
    itself. When the endpoint has a parameter named `response_model` (written
    among the parameters instead of in the decorator, where FastAPI reads it
    as a query parameter), the message says so. An endpoint that returns a
    model's dump (`return token.model_dump(exclude_none=True)`) is still
    flagged, for the
    OpenAPI schema it lacks, but its message says that the data itself is
    validated and filtered, and names the route keywords that answer the same
    JSON through `response_model=` (`response_model_exclude_none=True`, and
    `response_model_by_alias=False` for a model with aliases, which FastAPI
    serialises by alias and `model_dump()` by field name).

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
        Valid(
            # The endpoints answer what an unannotated helper returns, and every `return` of
            # the helper gives a `Response`: FastAPI sends it as is, `response_model` never applies.
            """
            from fastapi import APIRouter, Request, Response, UploadFile

            from app.exports import export_rows

            router = APIRouter()

            @router.put("/content")
            async def put_content(request: Request, files: list[UploadFile]):
                return await index_files(request, files, regenerate=True)

            @router.get("/content/export")
            def export_content(request: Request, fmt: str = "csv"):
                return export_rows(request.user, fmt)

            async def index_files(request: Request, files: list[UploadFile], regenerate: bool = False):
                names = [f.filename or "" for f in files]
                try:
                    await request.app.state.index.update(names, regenerate=regenerate)
                except Exception:
                    return Response(content="Failed", status_code=500)
                return Response(content=",".join(names), status_code=200)
            """,
            filename="app/routers/content.py",
            files={
                "app/exports.py": """
                    from fastapi.responses import JSONResponse, PlainTextResponse

                    def export_rows(user, fmt: str):
                        if fmt == "json":
                            response = JSONResponse({"rows": []})
                        else:
                            response = PlainTextResponse("id,name\\n")
                        response.headers["Content-Disposition"] = f"attachment; filename=rows.{fmt}"
                        return response
                """
            },
        ),
        Valid(
            # An app factory's routes answer what a helper defined next to them returns
            # (a `Response`); a route answers a variable bound to a helper's result that is
            # annotated as a model, an empty list, or a helper's dict literal: nothing
            # unvalidated leaves.
            """
            from typing import Final

            from fastapi import FastAPI, Response
            from pydantic import BaseModel

            class Toolset(BaseModel):
                id: str

            async def get_toolset(toolset_id: str) -> Toolset | None:
                return Toolset(id=toolset_id) if toolset_id else None

            async def list_toolsets() -> list[Toolset]:
                return []

            def get_configuration():
                return {"requireLogin": True, "ui": {"theme": "dark"}}

            def create_app(index_html: str | None) -> FastAPI:
                app = FastAPI()

                if index_html is not None:
                    def serve_index():
                        return Response(index_html, media_type="text/html")

                    @app.get("/")
                    def root():
                        return serve_index()

                @app.get("/toolsets/{toolset_id}")
                async def fetch_toolset(toolset_id: str):
                    toolset: Final = await get_toolset(toolset_id)
                    return toolset

                @app.get("/toolsets")
                async def fetch_toolsets(enabled: bool = True):
                    if not enabled:
                        return []
                    return await list_toolsets()

                @app.get("/auth/config")
                def auth_config():
                    return get_configuration()

                return app
            """
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
        Invalid(
            # A model's dump is validated and holds the model's fields only, but has no
            # schema: the message says so and names the route keywords that keep the
            # dump's output (`exclude_none`, names rather than aliases).
            """
            from fastapi import APIRouter, Response
            from pydantic import BaseModel, Field

            router = APIRouter()

            class TokenOut(BaseModel):
                access_token: str
                token_type: str = "bearer"
                refresh_token: str | None = None

            class ProviderInfo(BaseModel):
                issuer: str
                jwks_uri: str = Field(alias="jwksUri")

            @router.post("/token")
            async def token(response: Response):
                out = TokenOut(access_token="jwt")
                response.headers["Cache-Control"] = "no-store"
                return out.model_dump(exclude_none=True)

            @router.get("/provider")
            def provider():
                return ProviderInfo(issuer="https://id.example.com", jwksUri="/jwks").model_dump()
            """,
            lines=(16, 22),
        ),
        Invalid(
            # Near misses: a helper that answers a `Response` only on failure and the
            # indexed rows otherwise, and a method (a subclass may return anything).
            """
            from fastapi import APIRouter, Request, Response

            router = APIRouter()

            class Indexer:
                async def run(self, names: list[str]):
                    return Response(content=",".join(names))

            @router.put("/content")
            async def put_content(request: Request, names: list[str]):
                return await index_names(names)

            @router.patch("/content")
            async def patch_content(names: list[str]):
                return await Indexer().run(names)

            async def index_names(names: list[str]):
                if not names:
                    return Response(content="Nothing to index", status_code=400)
                rows = [{"name": n, "indexed": True} for n in names]
                return rows
            """,
            lines=(10, 14),
        ),
        Invalid(
            # `response_model=` slipped into the parameters: FastAPI reads it as a query
            # parameter, and the route has no response model; the message says so.
            """
            from fastapi import APIRouter
            from pydantic import BaseModel

            from app.db import find_teams

            router = APIRouter()

            class TeamOut(BaseModel):
                id: str

            @router.get("/teams/available")
            async def list_available_teams(user_id: str, response_model=list[TeamOut]):
                return await find_teams(user_id)
            """,
            lines=(12,),
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
        values = self._json_values(node, ctx)
        if not values:
            return
        what_dumped = self._dump_message(ctx, node, values)
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
            if what_dumped is not None:
                ctx.report(_def_header(node), f"`{describe_route(route)}` {what_dumped}")
                continue
            if node.returns is None:
                what = "has no `response_model` and no return annotation"
            else:
                what = f"returns `{ast.unparse(node.returns)}` with no `response_model`"
            advice = "declare a Pydantic model as the return type or `response_model=`"
            if any(a.arg == "response_model" for a in [*node.args.args, *node.args.kwonlyargs]):
                # `response_model=list[Team]` written among the endpoint's parameters, not
                # in the decorator: FastAPI takes it for a query parameter
                advice = (
                    "`response_model` is written as a parameter of the endpoint, where FastAPI reads it as "
                    "a query parameter; move it into the route decorator"
                )
            ctx.report(
                _def_header(node),
                f"`{describe_route(route)}` {what}, so its output is neither validated nor filtered and "
                f"has no OpenAPI schema; {advice}.",
            )

    @staticmethod
    def _dump_message(
        ctx: FileContext, node: ast.FunctionDef | ast.AsyncFunctionDef, values: list[ast.expr]
    ) -> str | None:
        """When every value is a model's dump (`return token.model_dump(exclude_none=True)`),
        what the message says instead: the data is the model's, validated and
        filtered; the schema is what is missing."""
        endpoint = ctx.module.function_of_node.get(node)
        models = _model_variables(ctx, node)
        dumps: list[tuple[ast.Call, ClassInfo | None]] = []
        for value in values:
            is_dump, cls = _dumped_model(ctx, endpoint, value, models)
            if not is_dump or not isinstance(value, ast.Call):
                return None
            dumps.append((value, cls))
        first, cls = dumps[0]
        if any(other is not cls for _, other in dumps):
            cls = None
        shown = ctx.source.segment(first) or ast.unparse(first)
        if len(shown) > 60 or "\n" in shown:
            assert isinstance(first.func, ast.Attribute)
            receiver = first.func.value
            head = ast.unparse(receiver)
            if isinstance(receiver, ast.Call) and (len(head) > 40 or "\n" in head):
                head = f"{ast.unparse(receiver.func)}(...)"
            shown = f"{head}.{first.func.attr}({'...' if first.args or first.keywords else ''})"
        of = f"`{cls.node.name}`" if cls is not None else "a Pydantic model"
        return (
            f"returns `{shown}`, a dump of {of} with no `response_model`: the data is validated and holds the "
            f"model's fields only, but the route has no OpenAPI schema for clients; {_dump_advice(ctx, first, cls)}."
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
    def _json_values(node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext) -> list[ast.expr]:
        """The values the endpoint returns that FastAPI serialises as JSON with
        nothing to filter them: not a dict literal with explicit keys, not a model.
        Empty when there is none, or when it returns a `Response`."""
        returns_value: list[ast.expr] = []
        models = _model_variables(ctx, node)
        responses: set[str] | None = None
        for n in own_nodes(node):
            if isinstance(n, ast.Yield | ast.YieldFrom):
                return []
            if not isinstance(n, ast.Return) or n.value is None:
                continue
            value = n.value
            if isinstance(value, ast.Constant) and value.value is None:
                continue
            if isinstance(value, ast.List | ast.Tuple) and not value.elts:
                continue  # `return []`: nothing to validate, filter or leak
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
            if _returns_literal_dicts(ctx, ctx.module.function_of_node.get(node), value):
                continue  # a helper's dict literal lists its keys
            returns_value.append(value)
            if _makes_response(ctx, ctx.module.function_of_node.get(node), value):
                return []
            if isinstance(value, ast.Name):
                if responses is None:
                    responses = _response_variables(ctx, node)
                if value.id in responses:
                    return []
        return returns_value
