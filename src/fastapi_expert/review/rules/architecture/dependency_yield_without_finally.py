from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo, own_nodes
from fastapi_expert.review.rules.architecture._deps import (
    CLOSE_METHODS,
    FunctionNode,
    comes_after,
    is_generator_dependency,
    is_resource_call,
    resource_names,
    statement_path,
    yielded_name,
    yields,
)
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Edit, Fix, Severity


def _close_calls(func: FunctionNode) -> list[tuple[ast.Call, str, str]]:
    """`x.close()`-like calls on a plain name, with the name and the method."""
    out: list[tuple[ast.Call, str, str]] = []
    for node in own_nodes(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOSE_METHODS
            and isinstance(node.func.value, ast.Name)
        ):
            out.append((node, node.func.value.id, node.func.attr))
    return out


def _local_names(func: FunctionNode) -> set[str]:
    names: set[str] = set()
    for node in own_nodes(func):
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


class DependencyYieldWithoutFinally(Rule):
    """Flags a dependency that cleans up after `yield` without `try/finally`, or returns a session nobody closes.

    ## What it does
    Looks at generator dependencies (functions used with `Depends`, and `get_*`
    generators that yield a database session or connection). It flags the
    `yield` when a `.close()` (or `aclose()`, `release()`, ...) of the yielded
    resource follows it unprotected, that is with no `try/finally` and no
    `with` / `async with` block around the `yield`, and when an opened session
    or connection is yielded and never closed at all. It also flags a plain
    (non-generator) dependency that `return`s a freshly opened session
    (`SessionLocal()`, `Session(engine)`, `engine.connect()`, a driver's
    `connect()`) and never closes it.

    ## Why is this bad?
    When the route (or a later dependency) raises, FastAPI throws the exception
    into the generator at the `yield`. Without `finally` the code after the
    `yield` never runs, so every failing request leaks a connection until the
    pool is exhausted and the service hangs. FastAPI never closes what a
    dependency *returns*, so a returned session leaks on every request.

    ## Fix safety
    The fix wraps the `yield` in `try:` and moves the statements after it into
    `finally:`. It is unsafe: the moved code now also runs when the request
    fails, which changes behaviour if it does more than release the resource
    (a `commit()` there would then commit a failed unit of work).

    ## References
    - https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/
    - https://docs.sqlalchemy.org/en/20/orm/session_basics.html#opening-and-closing-a-session
    - https://docs.python.org/3/reference/compound_stmts.html#the-try-statement
    """

    code = "FX103"
    name = "dependency-yield-without-finally"
    summary = "Dependency cleanup after `yield` without `try/finally`, or a returned session that is never closed."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import SessionLocal
            from app.models import User

            app = FastAPI()

            async def get_db():
                async with SessionLocal() as session:
                    yield session

            @app.get("/users/{user_id}")
            async def read_user(user_id: int, db: AsyncSession = Depends(get_db)):
                return await db.get(User, user_id)
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import SessionLocal
            from app.models import User

            app = FastAPI()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            @app.get("/users/{user_id}")
            def read_user(user_id: int, db: Session = Depends(get_db)):
                return db.get(User, user_id)
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import SessionLocal
            from app.models import User

            app = FastAPI()

            def get_db():
                db = SessionLocal()
                yield db
                db.close()

            @app.get("/users/{user_id}")
            def read_user(user_id: int, db: Session = Depends(get_db)):
                return db.get(User, user_id)
            """,
            lines=(11,),
            fixed="""
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import SessionLocal
            from app.models import User

            app = FastAPI()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            @app.get("/users/{user_id}")
            def read_user(user_id: int, db: Session = Depends(get_db)):
                return db.get(User, user_id)
            """,
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session, sessionmaker

            engine = create_engine("postgresql+psycopg://app@db/app")
            SessionLocal = sessionmaker(bind=engine, autoflush=False)

            app = FastAPI()

            def get_session() -> Session:
                return SessionLocal()

            @app.post("/orders")
            def create_order(payload: dict, session: Session = Depends(get_session)):
                session.execute(...)
                return {"ok": True}
            """,
            lines=(11,),
        ),
        Invalid(
            """
            import httpx
            from fastapi import Depends, FastAPI

            app = FastAPI()

            async def get_client():
                client = httpx.AsyncClient(base_url="https://billing.internal")
                yield client
                await client.aclose()

            @app.get("/invoices")
            async def invoices(client: httpx.AsyncClient = Depends(get_client)):
                return (await client.get("/invoices")).json()
            """,
            lines=(8,),
            fixed="""
            import httpx
            from fastapi import Depends, FastAPI

            app = FastAPI()

            async def get_client():
                client = httpx.AsyncClient(base_url="https://billing.internal")
                try:
                    yield client
                finally:
                    await client.aclose()

            @app.get("/invoices")
            async def invoices(client: httpx.AsyncClient = Depends(get_client)):
                return (await client.get("/invoices")).json()
            """,
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef, ctx: FileContext) -> None:
        self._check(node, ctx)

    def _check(self, node: FunctionNode, ctx: FileContext) -> None:
        func = ctx.module.function_of_node.get(node)
        if func is None:
            return
        found = yields(ctx.module, node)
        if found:
            if is_generator_dependency(ctx, func):
                self._check_generator(node, func, found[0], ctx)
        elif ctx.is_dependency(node):
            self._check_return(node, func, ctx)

    def _check_generator(self, node: FunctionNode, func: FunctionInfo, first: ast.Yield | ast.YieldFrom, ctx: FileContext) -> None:
        if not isinstance(first, ast.Yield):
            return
        path = statement_path(node, first)
        if path is None:
            return
        for step in path:
            if isinstance(step, ast.With | ast.AsyncWith):
                return
            if isinstance(step, ast.Try) and step.finalbody:
                return
            if type(step).__name__ == "TryStar" and getattr(step, "finalbody", None):
                return
        yielded = yielded_name(first)
        resources = resource_names(ctx, func)
        owned = _local_names(node) | ({yielded} if yielded else set())
        closes = _close_calls(node)
        after = [(name, method) for call, name, method in closes if name in owned and comes_after(call, first)]
        if after:
            name, method = after[0]
            ctx.report(
                first,
                f"`{func.name}` releases `{name}` after `yield` without `try/finally`: when the route "
                f"raises, the exception is thrown in at the `yield` and `{name}.{method}()` "
                f"never runs, leaking it; wrap the `yield` in `try:` ... `finally:` (or a `with` block).",
                fix=self._fix(node, path, ctx),
            )
            return
        opened = (yielded is not None and yielded in resources) or is_resource_call(ctx, func, first.value)
        if opened and not any(name == yielded for _call, name, _method in closes):
            what = f"`{yielded}`" if yielded else "the session it opens"
            ctx.report(
                first,
                f"`{func.name}` yields {what} and never closes it, so every request leaks a "
                f"connection; open it with `with` (`with SessionLocal() as db: yield db`) or close it in `finally:`.",
            )

    def _check_return(self, node: FunctionNode, func: FunctionInfo, ctx: FileContext) -> None:
        resources = resource_names(ctx, func)
        closed = {name for _call, name, _method in _close_calls(node)}
        for child in own_nodes(node):
            if not isinstance(child, ast.Return) or child.value is None:
                continue
            value = child.value
            if isinstance(value, ast.Name):
                if value.id not in resources or value.id in closed:
                    continue
            elif not is_resource_call(ctx, func, value):
                continue
            ctx.report(
                child,
                f"`{func.name}` returns an opened session that nothing closes (FastAPI never cleans up "
                f"returned values), leaking a connection per request; `yield` it inside "
                f"`try:` ... `finally: db.close()` (or `with SessionLocal() as db: yield db`).",
            )

    @staticmethod
    def _fix(node: FunctionNode, path: list[ast.AST], ctx: FileContext) -> Fix | None:
        stmt = path[0]
        if not isinstance(stmt, ast.stmt) or stmt not in node.body:
            return None
        index = node.body.index(stmt)
        rest = node.body[index + 1 :]
        if not rest:
            return None
        lines = ctx.source.lines
        first_line, last_line = stmt.lineno, rest[-1].end_lineno or rest[-1].lineno
        indent = ctx.source.indent_of(first_line)
        if stmt.col_offset != len(indent.encode("utf-8")):
            return None
        for part in [stmt, *rest]:
            for sub in ast.walk(part):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str | bytes) and (sub.end_lineno or sub.lineno) > sub.lineno:
                    return None  # re-indenting would change a multi-line string
        if last_line > len(lines) or (rest[-1].end_col_offset or 0) < len(lines[last_line - 1].rstrip().encode("utf-8")):
            return None  # something else shares the last line
        stmt_end = stmt.end_lineno or stmt.lineno
        head = lines[first_line - 1 : stmt_end]
        tail = lines[stmt_end:last_line]
        while tail and not tail[0].strip():
            tail = tail[1:]

        def shift(block: list[str]) -> str:
            return "\n".join(("    " + line) if line.strip() else line for line in block)

        text = f"{indent}try:\n{shift(head)}\n{indent}finally:\n{shift(tail)}"
        end_col = len(lines[last_line - 1]) + 1
        return Fix(
            "Wrap the `yield` in `try/finally`",
            (Edit(first_line, 1, last_line, end_col, text),),
            safe=False,
        )
