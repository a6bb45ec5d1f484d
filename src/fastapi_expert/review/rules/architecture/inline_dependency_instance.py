from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.module import ClassInfo
from fastapi_expert.review.rules.architecture._deps import is_marker
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

# A word boundary inside a CapWords name: before a capital that follows a lowercase
# letter or digit (`ApiKey`), and before the capital that starts a word after an
# acronym of two or more letters (`HTTPBearer`, `APIKeyHeader`), so acronyms stay
# whole and a lone leading capital stays with its word (`OAuth2...`, `ETag...`).
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z]{2})(?=[A-Z][a-z])")
# Verbs that lead the name of a factory-like callable (`get_repository`): the name
# suggested for its result keeps the verb and swaps the noun for the argument.
_FACTORY_VERBS = ("get_", "make_", "build_", "create_", "provide_")


def _snake(name: str) -> str:
    """`APIKeyHeader` -> `api_key_header`, `OAuth2PasswordBearer` -> `oauth2_password_bearer`."""
    return _WORD_BOUNDARY.sub("_", name).lower()


def _one_line(ctx: FileContext, node: ast.expr) -> str:
    """The source text of `node` on one line: a message must not carry the line
    breaks and indentation of a call split over several lines. The pieces keep
    their source text (quotes as written); only the layout is rebuilt."""
    text = ctx.source.segment(node)
    if text and "\n" not in text and "\r" not in text:
        return text
    if isinstance(node, ast.Call):
        parts = [_one_line(ctx, a) for a in node.args]
        parts += [
            f"{k.arg}={_one_line(ctx, k.value)}" if k.arg else f"**{_one_line(ctx, k.value)}" for k in node.keywords
        ]
        return f"{_one_line(ctx, node.func)}({', '.join(parts)})"
    return ast.unparse(node)


def _argument_word(call: ast.Call) -> str | None:
    """A snake_case word naming the first argument of `call` (`UserRepository`,
    `models.User`, `"admin"`), or None."""
    arg = call.args[0] if call.args else None
    if isinstance(arg, ast.Attribute):
        word = arg.attr
    elif isinstance(arg, ast.Name):
        word = arg.id
    elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        word = re.sub(r"\W+", "_", arg.value).strip("_")
    else:
        return None
    word = _snake(word)
    return word if word.isidentifier() else None


def _with_dependency(ctx: FileContext, marker: ast.Call, inline: ast.Call, name: str) -> str:
    """`marker` with its inline dependency replaced by `name`, keeping the marker
    as written and its other arguments (`Security(..., scopes=[...])`)."""
    # `_one_line(marker)` holds `_one_line(inline)` verbatim: both keep the pieces' text.
    return _one_line(ctx, marker).replace(_one_line(ctx, inline), name, 1)


def _callee(call: ast.Call) -> str:
    """The last name of the called object (`fastapi.security.HTTPBearer` -> `HTTPBearer`)."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return "dependency"


def _string_argument(call: ast.Call) -> str | None:
    """The first string argument of `call` (positional, then keyword) as an
    identifier: `RateLimiter(slug="chat-minute")` -> `chat_minute`."""
    for value in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            word = re.sub(r"\W+", "_", value.value).strip("_").lower()
            return word if word.isidentifier() else None
    return None


def _label(call: ast.Call) -> str | None:
    """A word telling `call` apart from other instances of its class: its string
    argument (`RateLimiter(slug="chat-minute")` -> `chat_minute`), else its first
    keyword set to a constant (`HTTPBearer(auto_error=False)` -> `no_auto_error`,
    `Limiter(per_minute=5)` -> `per_minute_5`); None for a call without such an
    argument, which keeps the plain name."""
    text = _string_argument(call)
    if text is not None:
        return text
    for k in call.keywords:
        if k.arg is None or not isinstance(k.value, ast.Constant):
            continue
        value = k.value.value
        if value is True:
            return k.arg
        if value is False or value is None:
            return f"no_{k.arg}"
        if isinstance(value, int | float):
            word = re.sub(r"\W+", "_", f"{k.arg}_{value}").strip("_").lower()
            return word if word.isidentifier() else None
    return None


def _suggested_name(callee: str, call: ast.Call) -> str:
    """A module-level name for the result of `call`: the callee in snake_case
    (`RoleChecker(...)` -> `role_checker`), but never the callee's own name. A
    callable named like a function (`get_repository(UserRepository)`, a class or
    not) would be shadowed by `get_repository = get_repository(...)`, so its
    first argument qualifies the name (`get_user_repository`)."""
    name = _snake(callee)
    if name != callee:
        return name
    word = _argument_word(call)
    if word is None:
        return f"{name}_dependency"
    verb = next((v for v in _FACTORY_VERBS if name.startswith(v)), None)
    if verb is not None and word != name[len(verb) :]:
        return f"{verb}{word}"
    return f"{name}_{word}"


class InlineDependencyInstance(Rule):
    """Flags `Depends(SomeClass(...))`: a dependency instance built inline.

    ## What it does
    Finds a `Depends(...)` / `Security(...)` marker whose dependency is the
    instance of a class built in place (`Depends(RoleChecker("admin"))`,
    `Security(HTTPBearer())`), in a route signature, an `Annotated[...]` alias
    or a `dependencies=[...]` list. Passing the class itself
    (`Depends(Pagination)`) or a module-level instance (`Depends(require_admin)`)
    is fine. Calls to project *functions* (dependency factories such as
    `Depends(limit_by_ip("login"))`) are left alone: tests usually override the
    dependencies those factories close over, and a cached factory returns the
    same object every time. A project class named like a function
    (`class get_repository:`) is still a class: each call builds a new instance.
    The message suggests a module-level name for the instance that never
    shadows the callable it calls (`get_user_repository =
    get_repository(UserRepository)`, not `get_repository = ...`).

    ## Why is this bad?
    `app.dependency_overrides` is keyed by the dependency object. An instance
    created inside the decorator or signature has no name a test can import, so
    the test cannot override it (it would need that very instance), and the
    test suite ends up calling the real auth or the real service. Each inline
    call also builds a separate object, so two routes that look alike do not
    share one override.

    ## References
    - https://fastapi.tiangolo.com/advanced/testing-dependencies/
    - https://fastapi.tiangolo.com/advanced/advanced-dependencies/
    """

    code = "FX105"
    name = "inline-dependency-instance"
    summary = "`Depends(SomeClass(...))` built inline cannot be overridden in tests."
    severity = Severity.INFO

    valid = (
        Valid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends

            from app.auth import RoleChecker, User

            router = APIRouter()
            require_admin = RoleChecker("admin")

            @router.delete("/users/{user_id}")
            def delete_user(user_id: int, admin: Annotated[User, Depends(require_admin)]):
                return {"deleted": user_id}
            """
        ),
        Valid(
            """
            from fastapi import APIRouter, Depends

            from app.pagination import Pagination

            router = APIRouter()

            @router.get("/items")
            def list_items(page: Pagination = Depends(Pagination)):
                return {"offset": page.offset}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Annotated

            from fastapi import APIRouter, Depends

            from app.auth import RoleChecker, User

            router = APIRouter()

            @router.delete("/users/{user_id}")
            def delete_user(user_id: int, admin: Annotated[User, Depends(RoleChecker("admin"))]):
                return {"deleted": user_id}

            @router.post("/reports", dependencies=[Depends(RoleChecker("analyst"))])
            def create_report():
                return {"ok": True}
            """,
            lines=(10, 13),
        ),
        Invalid(
            """
            import fastapi
            from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

            app = fastapi.FastAPI()

            @app.get("/me")
            def me(credentials: HTTPAuthorizationCredentials = fastapi.Security(HTTPBearer())):
                return {"token": credentials.credentials}
            """,
            lines=(7,),
        ),
        Invalid(
            """
            from fastapi import APIRouter, Depends
            from fastapi.security import APIKeyHeader

            from app.repositories import OrderRepository, get_repository

            router = APIRouter()

            @router.get("/orders")
            async def list_orders(
                orders: OrderRepository = Depends(
                    get_repository(OrderRepository)
                ),
                api_key: str = Depends(APIKeyHeader(name="X-API-Key")),
            ):
                return await orders.all()
            """,
            lines=(10, 13),
            files={
                "app/repositories.py": """
                    from fastapi import Depends

                    from app.db import get_session

                    class OrderRepository:
                        def __init__(self, session) -> None:
                            self.session = session

                    class get_repository:  # a class used like a dependency factory
                        def __init__(self, repository_class: type) -> None:
                            self.repository_class = repository_class

                        def __call__(self, session=Depends(get_session)):
                            return self.repository_class(session)
                """,
            },
        ),
    )

    def __init__(self) -> None:
        # module path -> suggested name -> the distinct instances that would get it
        # (their one-line text -> their string argument, if any)
        self._names: dict[str, dict[str, dict[str, str | None]]] = {}

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        arg = self._inline_instance(node, ctx)
        if arg is None:
            return
        if ctx.functions and not self._in_signature_position(ctx):
            return  # a marker in a body is FX101's concern
        suggested = self._unique_name(arg, ctx)
        ctx.report(
            node,
            f"`{_one_line(ctx, node)}` builds the dependency inline, so tests cannot replace it in "
            f"`app.dependency_overrides`; bind it to a module-level name (`{suggested} = "
            f"{_one_line(ctx, arg)}`) and use `{_with_dependency(ctx, node, arg, suggested)}`.",
        )

    def _inline_instance(self, node: ast.AST, ctx: FileContext) -> ast.Call | None:
        """The class instance built inside the marker `node` (`Depends(RoleChecker("admin"))`), or None."""
        if not isinstance(node, ast.Call) or not is_marker(ctx, node):
            return None
        arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "dependency"), None)
        if not isinstance(arg, ast.Call) or not self._instantiates_class(arg, ctx):
            return None
        return arg

    def _unique_name(self, call: ast.Call, ctx: FileContext) -> str:
        """The suggested name for `call`, made unique in its module: two different
        instances of one class (`RateLimiter(slug="minute")`, `RateLimiter(slug="day")`,
        often in the same signature) cannot both be bound to `rate_limiter`. They
        are told apart by their string argument or a keyword set to a constant
        (`http_bearer` and `http_bearer_no_auto_error`), else numbered."""
        names = self._names.get(ctx.module.path)
        if names is None:
            names = {}
            for node in ast.walk(ctx.module.tree):
                inline = self._inline_instance(node, ctx)
                if inline is not None:
                    texts = names.setdefault(_suggested_name(_callee(inline), inline), {})
                    texts.setdefault(_one_line(ctx, inline), _label(inline))
            self._names[ctx.module.path] = names
        name = _suggested_name(_callee(call), call)
        instances = names.get(name, {})
        if len(instances) < 2:
            return name
        label = _label(call)
        base = name if label is None else f"{name}_{label}"
        same = [text for text, other in instances.items() if other == label]
        text = _one_line(ctx, call)
        if len(same) < 2 or text not in same:
            return base
        return f"{base}_{same.index(text) + 1}"

    @staticmethod
    def _instantiates_class(call: ast.Call, ctx: FileContext) -> bool:
        """Is `call` a class instantiation (a project class, or an external CapWords name)?"""
        target = ctx.resolve(call.func)
        if target is None:
            return False
        symbol = ctx.project.lookup(target)
        if isinstance(symbol, ClassInfo):
            return True
        if symbol is not None:
            return False  # a project function: a dependency factory, often cached
        return target.rsplit(".", 1)[-1][:1].isupper()

    @staticmethod
    def _in_signature_position(ctx: FileContext) -> bool:
        inner = ctx.functions[-1]
        for anc in reversed(ctx.ancestors):
            if anc is inner:
                return False
            if isinstance(anc, ast.arguments | ast.Subscript):
                return True
            if isinstance(anc, ast.keyword) and anc.arg == "dependencies":
                return True
        return False
