from __future__ import annotations

import ast

from fastapi_expert.review.model.module import own_nodes
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import chain_methods, session_method
from fastapi_expert.types import Fix, Severity


def _fetch_all(expr: ast.expr) -> ast.Call | None:
    """`x.all()` / `x.fetchall()` (no arguments), through `await` and parentheses."""
    if isinstance(expr, ast.Await):
        expr = expr.value
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr in {"all", "fetchall"}
        and not expr.args
        and not expr.keywords
    ):
        return expr
    return None


def _returns_written_rows(ctx: FileContext, receiver: ast.expr) -> bool:
    """Does the chain execute a write's `RETURNING` (`delete(X).where(...).returning(X.id)`,
    inline or a local the function assigned it to)? Its rows are the rows the write
    changed: there is nothing to `COUNT(*)` afterwards, and fetching the ids is how
    a batched delete or an `ON CONFLICT DO NOTHING` insert learns how many it did."""
    func = ctx.function()
    for _name, call in chain_methods(receiver):
        for arg in call.args[:1]:
            stmts: list[ast.expr] = [arg]
            if isinstance(arg, ast.Name) and func is not None:
                stmts = [
                    node.value
                    for node in own_nodes(func.node)
                    if isinstance(node, ast.Assign | ast.AnnAssign)
                    and node.value is not None
                    and any(
                        isinstance(t, ast.Name) and t.id == arg.id
                        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    )
                ]
            if any(method == "returning" for stmt in stmts for method, _call in chain_methods(stmt)):
                return True
    return False


class CountViaLenAll(Rule):
    """Flags `len(<query>.all())`: every row is loaded only to be counted.

    ## What it does
    Finds `len(...)` applied to `.all()` or `.fetchall()`:
    `len(session.execute(q).scalars().all())`, `len((await session.scalars(q)).all())`,
    `len(db.query(User).all())`, `len(cursor.fetchall())`. Not the rows a write
    returns (`delete(X).where(...).returning(X.id)`, inline or in a local): they are
    the rows it changed, and counting them is how many it changed.

    ## Why is this bad?
    The database sends every matching row, the driver decodes it and the ORM
    builds an object per row, all to produce one integer. With a large table
    this is seconds of work and a memory spike per request; `COUNT(*)` returns
    the number directly (and can use an index). Use
    `session.scalar(select(func.count()).select_from(Model).where(...))`, or
    `query.count()` on a legacy `Query`.

    ## Fix safety
    Offered only for a legacy `session.query(...)` chain, rewritten to
    `.count()`. It is unsafe: `Query.count()` counts the rows of the SQL query,
    while `.all()` de-duplicates ORM entities (with joined eager loading the two
    numbers can differ).

    ## References
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/select.html#selecting-orm-entities-and-attributes
    - https://docs.sqlalchemy.org/en/20/core/functions.html#sqlalchemy.sql.functions.count
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/query.html#sqlalchemy.orm.Query.count
    """

    code = "FX508"
    name = "count-via-len-all"
    summary = "`len(query.all())` loads every row just to count them."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import func, select
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.get("/users/count")
            async def count_users(session: AsyncSession = Depends(get_session)):
                total = await session.scalar(select(func.count()).select_from(User))
                return {"total": total}
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.get("/teams/{team_id}/members")
            def members(team_id: int, db: Session = Depends(get_db)):
                rows = db.scalars(select(Member).where(Member.team_id == team_id).limit(100)).all()
                return {"members": rows, "count": len(rows)}  # rows are needed anyway
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import delete
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.delete("/sessions/expired")
            async def purge(session: AsyncSession = Depends(get_session)):
                stmt = delete(UserSession).where(UserSession.expired).returning(UserSession.id)
                # the rows a write returns: how many it deleted, nothing left to COUNT(*)
                return {"deleted": len((await session.scalars(stmt)).all())}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.get("/stats")
            def stats(db: Session = Depends(get_db)):
                return {
                    "users": len(db.query(User).all()),
                    "open_orders": len(db.query(Order).filter(Order.status == "open").all()),
                }
            """,
            lines=(9, 10),
            fixed="""
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.get("/stats")
            def stats(db: Session = Depends(get_db)):
                return {
                    "users": db.query(User).count(),
                    "open_orders": db.query(Order).filter(Order.status == "open").count(),
                }
            """,
        ),
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.get("/orders/pending")
            async def pending(session: AsyncSession = Depends(get_session)):
                result = await session.execute(select(Order).where(Order.status == "pending"))
                return {"pending": len(result.scalars().all())}
            """,
            lines=(10,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if len(node.args) != 1 or node.keywords or not isinstance(node.func, ast.Name):
            return
        if ctx.resolve(node.func) != "builtins.len":
            return
        fetch = _fetch_all(node.args[0])
        if fetch is None or not isinstance(fetch.func, ast.Attribute):
            return
        receiver = fetch.func.value
        legacy = fetch.func.attr == "all" and any(
            session_method(ctx.call_target(call)) == "query" for _name, call in chain_methods(receiver)
        )
        if _returns_written_rows(ctx, receiver):
            return
        inner = ctx.source.segment(fetch)
        shown = inner if len(inner) <= 60 and "\n" not in inner else f"….{fetch.func.attr}()"
        if legacy:
            replacement = f"{ctx.source.segment(receiver)}.count()"
            ctx.report(
                node,
                f"`len({shown})` loads every row just to count them; use `.count()` on the query "
                "so the database returns only the number.",
                fix=Fix("Replace with `.count()`", (ctx.source.replace(node, replacement),), safe=False),
            )
            return
        ctx.report(
            node,
            f"`len({shown})` loads every row just to count them; count in the database with "
            "`session.scalar(select(func.count()).select_from(...))`.",
        )
