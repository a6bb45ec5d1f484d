from __future__ import annotations

import ast
from collections.abc import Sequence

from fastapi_expert.review.model.fastapi_model import APP_CLASSES
from fastapi_expert.review.model.module import ClassInfo
from fastapi_expert.review.rules._util import is_true, keyword
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import is_test
from fastapi_expert.review.rules.security._web import (
    delete_argument_edit,
    emit,
    in_main_guard,
    words,
)
from fastapi_expert.types import Fix, Severity

_APP_CLASSES = APP_CLASSES | {"starlette.applications.Starlette", "starlette.Starlette"}
_UVICORN = frozenset({"uvicorn.run", "uvicorn.main.run", "uvicorn.Config", "uvicorn.config.Config"})
# Words of an `if` test that make the branch environment-gated:
# `if in_debug_mode():`, `if settings.debug:`, `if os.getenv("APP_ENV") == "local":`.
_ENV_WORDS = frozenset(
    {"debug", "dev", "development", "env", "environ", "environment", "getenv", "settings",
     "local", "testing"}
)


def _env_gated(ancestors: Sequence[ast.AST]) -> bool:
    """Is the node inside an `if` (or conditional expression) whose test reads
    the environment, the settings or a debug / development flag?"""
    for node in ancestors:
        if isinstance(node, ast.If | ast.IfExp) and _mentions_env(node.test):
            return True
    return False


def _mentions_env(test: ast.expr) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if set(words(text)) & _ENV_WORDS:
            return True
    return False


class DebugEnabled(Rule):
    """Flags `FastAPI(debug=True)` and `uvicorn.run(..., reload=True)` in application code.

    ## What it does
    Finds `FastAPI(debug=True)` / `Starlette(debug=True)` (also for subclasses
    of the app class) and `app.debug = True`, and `uvicorn.run(...)` or
    `uvicorn.Config(...)` with `reload=True` outside an
    `if __name__ == "__main__":` block. Values read from settings
    (`debug=settings.debug`) are not flagged, nor is code in a branch gated on
    the environment: inside an `if` (or conditional expression) whose test
    mentions debug, dev / development, env / environ / `getenv`, settings,
    local or testing (`if in_debug_mode():`, `if settings.debug:`,
    `if os.getenv("APP_ENV") == "local":`). Test files are skipped.

    ## Why is this bad?
    With `debug=True`, Starlette's `ServerErrorMiddleware` answers every
    unhandled exception with the full traceback, source lines and local context
    (as HTML for browsers, plain text otherwise): file paths, SQL, and often
    secrets in variables are sent to whoever triggered the error. `reload=True`
    runs a file watcher that restarts the server on any change, in a single
    process that ignores `workers`; it is a development convenience, not
    something a production entry point should ever start. (Severity: error for
    `debug`, warning for `reload`.)

    ## Fix safety
    The fix deletes the `debug=True` argument (with its comma). It is offered
    as safe: the only runtime difference is that unhandled errors get a plain
    "Internal Server Error" response instead of a traceback page, which is the
    point. No fix is offered for `reload=True` or `app.debug = True`.

    ## References
    - https://fastapi.tiangolo.com/reference/fastapi/#fastapi.FastAPI--debug
    - https://www.starlette.io/applications/
    - https://www.uvicorn.org/settings/#development
    - https://owasp.org/www-community/Improper_Error_Handling
    """

    code = "FX413"
    name = "debug-enabled"
    summary = "Debug mode or auto-reload is switched on in application code."
    severity = Severity.ERROR

    valid = (
        Valid(
            # A test suite shipped inside the package (it imports pytest): test code.
            """
            import pytest
            from fastapi import FastAPI
            from fastapi.testclient import TestClient

            @pytest.fixture
            def client() -> TestClient:
                return TestClient(FastAPI(debug=True))
            """,
            filename="app/testing/suite.py",
        ),
        Valid(
            """
            import uvicorn
            from fastapi import FastAPI

            from app.settings import settings

            app = FastAPI(title="Orders", debug=settings.debug)

            if __name__ == "__main__":
                uvicorn.run("app.main:app", host="127.0.0.1", port=8000, reload=True)
            """,
            filename="app/main.py",
            files={"app/settings.py": "class Settings:\n    debug = False\n\nsettings = Settings()\n"},
        ),
        Valid(
            """
            from fastapi import FastAPI

            app = FastAPI(debug=False)
            """
        ),
        Valid(
            """
            import os

            from fastapi import FastAPI

            def in_debug_mode() -> bool:
                return os.getenv("KHOJ_DEBUG", "false").lower() == "true"

            if in_debug_mode():
                app = FastAPI(debug=True)
            else:
                app = FastAPI(docs_url=None, redoc_url=None)
            """,
            filename="app/main.py",
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI

            app = FastAPI(title="Orders", debug=True, version="1.0")
            """,
            lines=(3,),
            fixed="""
            from fastapi import FastAPI

            app = FastAPI(title="Orders", version="1.0")
            """,
        ),
        Invalid(
            """
            import fastapi
            import uvicorn

            app = fastapi.FastAPI(
                title="Orders",
                debug=True,
            )

            def main() -> None:
                uvicorn.run(app, host="0.0.0.0", port=8000, reload=True)
            """,
            lines=(6, 10),
            fixed="""
            import fastapi
            import uvicorn

            app = fastapi.FastAPI(
                title="Orders",
            )

            def main() -> None:
                uvicorn.run(app, host="0.0.0.0", port=8000, reload=True)
            """,
        ),
        Invalid(
            """
            from starlette.applications import Starlette

            app = Starlette(debug=True, routes=[])
            app.debug = True
            """,
            lines=(3, 4),
            fixed="""
            from starlette.applications import Starlette

            app = Starlette(routes=[])
            app.debug = True
            """,
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if is_test(ctx):
            return
        target = ctx.resolve(node.func)
        if target is None:
            return
        if self._is_app_class(target, ctx):
            kw = keyword(node, "debug")
            if kw is None or not is_true(kw.value) or _env_gated(ctx.ancestors):
                return
            edit = delete_argument_edit(ctx, node, kw)
            fix = Fix("Remove `debug=True`", (edit,)) if edit is not None else None
            name = target.rsplit(".", 1)[-1]
            ctx.report(
                kw,
                f"`{name}(debug=True)` sends full tracebacks of unhandled errors to clients; "
                "remove it or read it from settings that default to `False`.",
                fix=fix,
            )
        elif target in _UVICORN:
            kw = keyword(node, "reload")
            if kw is None or not is_true(kw.value) or in_main_guard(ctx.ancestors) or _env_gated(ctx.ancestors):
                return
            emit(
                ctx,
                Severity.WARNING,
                kw,
                f"`{ast.unparse(node.func)}(..., reload=True)` starts the development file "
                "watcher from application code; pass `--reload` on the command line in development "
                'or keep it under `if __name__ == "__main__":`.',
            )

    def visit_Assign(self, node: ast.Assign, ctx: FileContext) -> None:
        if is_test(ctx) or not is_true(node.value) or _env_gated(ctx.ancestors):
            return
        for target in node.targets:
            if not isinstance(target, ast.Attribute) or target.attr != "debug":
                continue
            ref = ctx.project.fastapi.object_ref(ctx.module, ctx.function(), target.value)
            obj = ctx.project.fastapi.objects.get(ref) if ref else None
            if obj is None:
                obj_type = self._value_class(target.value, ctx)
                if obj_type is None:
                    continue
            elif obj.kind != "app":
                continue
            ctx.report(
                node,
                f"`{ast.unparse(target)} = True` sends full tracebacks of unhandled errors to "
                "clients; remove it or read the flag from settings that default to `False`.",
            )

    @staticmethod
    def _value_class(expr: ast.expr, ctx: FileContext) -> str | None:
        """`app` bound at module level to `Starlette(...)` (not collected as a FastAPI object)."""
        if not isinstance(expr, ast.Name):
            return None
        value = ctx.module.assignments.get(expr.id)
        if isinstance(value, ast.Call):
            target = ctx.resolve(value.func)
            if target in _APP_CLASSES:
                return target
        return None

    @staticmethod
    def _is_app_class(target: str, ctx: FileContext) -> bool:
        if target in _APP_CLASSES:
            return True
        symbol = ctx.project.lookup(target)
        return isinstance(symbol, ClassInfo) and bool(ctx.project.class_bases(symbol) & _APP_CLASSES)
