from __future__ import annotations

import ast

from fastapi_expert.review.model.module import FunctionInfo, own_nodes
from fastapi_expert.review.rules._util import literal_str
from fastapi_expert.review.rules.architecture._deps import (
    FunctionNode,
    comes_after,
    is_engine,
    is_generator_dependency,
    is_session_factory,
    resource_names,
    statement_path,
    yielded_name,
    yields,
)
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.types import Severity

_TRANSACTION_OWNERS = ("sqlalchemy.", "sqlmodel.")


class CommitAfterYield(Rule):
    """Flags `session.commit()` placed after the `yield` of a generator dependency.

    ## What it does
    In a generator dependency (a function used with `Depends`, or a `get_*`
    generator yielding a database session), finds `commit()` calls on the
    session or connection that come after the `yield`, including in the
    `else:` or `finally:` of the `try` around it, and a `with session.begin():`
    / `engine.begin()` block wrapping the `yield` (which commits on exit).
    `rollback()` in an `except` after the `yield` is fine, and so is a
    dependency used only with `Depends(..., scope="function")`.

    ## Why is this bad?
    The code after `yield` is teardown, and FastAPI runs it late. The timing
    has changed across versions:

    - before 0.106.0 it ran after the response was sent (and after background
      tasks);
    - from 0.106.0 to 0.117.x it ran after the path operation returned but
      before the response was sent, so a failing commit turned into a `500`;
    - since 0.118.0 it again runs *after the response has been sent* (the
      change that made `StreamingResponse` work with such dependencies); 0.121.0
      named this default `scope="request"`.

    On current FastAPI, then, a commit that fails in the teardown (a unique or
    foreign-key violation, a serialization failure, a dropped connection)
    cannot change what the client was told: it already received `200`/`201`
    and a body for data that was never saved, and the error only reaches the
    logs. Since 0.121.0, `Depends(get_db, scope="function")` runs the exit code
    right after the path operation function, before the response is sent,
    which is why dependencies used only that way are not flagged. The portable
    fix is to commit explicitly in the route or service, where a failure
    becomes an error response, and keep only `rollback()`/`close()` in the
    teardown.

    ## References
    - https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/
    - https://fastapi.tiangolo.com/release-notes/#01180
    - https://github.com/fastapi/fastapi/pull/14262
    - https://docs.sqlalchemy.org/en/20/orm/session_basics.html#framing-out-a-begin-commit-rollback-block
    """

    code = "FX116"
    name = "commit-after-yield"
    summary = "`commit()` after `yield` in a dependency runs after the response is sent."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import SessionLocal
            from app.models import Order

            app = FastAPI()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                except Exception:
                    db.rollback()
                    raise
                finally:
                    db.close()

            @app.post("/orders", status_code=201)
            def create_order(order: dict, db: Session = Depends(get_db)):
                row = Order(**order)
                db.add(row)
                db.commit()
                return {"id": row.id}
            """
        ),
        Valid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import SessionLocal

            app = FastAPI()

            async def get_session():
                async with SessionLocal() as session:
                    yield session
                    await session.commit()

            SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

            @app.post("/tags")
            async def create_tag(tag: dict, session: SessionDep):
                return tag
            """
        ),
        Valid(
            """
            from fastapi import Request


            async def get_db(request: Request):
                async with request.app.state.sessionmaker() as session:
                    yield session
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import SessionLocal
            from app.models import Order

            app = FastAPI()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                    db.commit()
                except Exception:
                    db.rollback()
                    raise
                finally:
                    db.close()

            @app.post("/orders", status_code=201)
            def create_order(order: dict, db: Session = Depends(get_db)):
                db.add(Order(**order))
                return {"status": "created"}
            """,
            lines=(13,),
        ),
        Invalid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://app@db/app")
            SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

            async def get_session():
                async with SessionLocal() as session:
                    async with session.begin():
                        yield session

            SessionDep = Annotated[AsyncSession, Depends(get_session)]
            app = FastAPI()

            @app.post("/tags", status_code=201)
            async def create_tag(tag: dict, session: SessionDep):
                return tag
            """,
            lines=(11,),
        ),
        Invalid(
            """
            from fastapi import Request


            async def get_db(request: Request):
                async with request.app.state.sessionmaker() as session:
                    yield session
                    await session.commit()
            """,
            lines=(7,),
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
        if not found or not is_generator_dependency(ctx, func) or self._function_scoped(func, ctx):
            return
        first = found[0]
        sessions = resource_names(ctx, func)
        yielded = yielded_name(first) if isinstance(first, ast.Yield) else None
        if yielded:
            sessions.add(yielded)
        for child in own_nodes(node):
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "commit"
                and comes_after(child, first)
                and self._is_session(child, sessions, func, ctx)
            ):
                owner = ctx.source.segment(child.func.value)
                ctx.report(
                    child,
                    f"`{owner}.commit()` runs after `yield` in `{func.name}`, which FastAPI (>= 0.118) executes "
                    f"after the response is sent, so a failed commit still leaves the client with a "
                    f"success; commit explicitly in the route or service and keep only rollback/close here.",
                )
        path = statement_path(node, first) or []
        for step in path:
            if not isinstance(step, ast.With | ast.AsyncWith):
                continue
            for item in step.items:
                expr = item.context_expr
                if (
                    isinstance(expr, ast.Call)
                    and isinstance(expr.func, ast.Attribute)
                    and expr.func.attr == "begin"
                    and self._is_transaction_owner(expr.func.value, sessions, func, ctx)
                ):
                    owner = ctx.source.segment(expr.func.value)
                    ctx.report(
                        expr,
                        f"`{owner}.begin()` around `yield` in `{func.name}` commits when the dependency exits, "
                        f"which FastAPI (>= 0.118) does after the response is sent, so a failed commit still "
                        f"leaves the client with a success; commit explicitly in the route or service instead.",
                    )

    @staticmethod
    def _is_session(call: ast.Call, sessions: set[str], func: FunctionInfo, ctx: FileContext) -> bool:
        owner = call.func.value if isinstance(call.func, ast.Attribute) else None
        if isinstance(owner, ast.Name) and owner.id in sessions:
            return True
        target = ctx.call_target(call) or ""
        return target.startswith(_TRANSACTION_OWNERS)

    @staticmethod
    def _is_transaction_owner(owner: ast.expr, sessions: set[str], func: FunctionInfo, ctx: FileContext) -> bool:
        if isinstance(owner, ast.Name) and owner.id in sessions:
            return True
        project, module = ctx.project, ctx.module
        if is_session_factory(project, module, owner) or is_engine(project, module, owner):
            return True
        if isinstance(owner, ast.Name):
            types = project.variable_types(func)
            return types.get(owner.id, "").startswith(_TRANSACTION_OWNERS)
        return False

    @staticmethod
    def _function_scoped(func: FunctionInfo, ctx: FileContext) -> bool:
        """Every `Depends` on this function says `scope="function"` (FastAPI >= 0.121)."""
        scopes: list[str | None] = []
        for route in ctx.project.fastapi.routes:
            for dep in route.all_dependencies():
                if dep.target and ctx.project.canonical(dep.target) == func.qualname:
                    value = next((k.value for k in dep.marker.keywords if k.arg == "scope"), None)
                    scopes.append(literal_str(value))
        return bool(scopes) and all(s == "function" for s in scopes)
