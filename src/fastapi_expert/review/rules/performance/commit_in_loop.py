from __future__ import annotations

import ast

from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import (
    describe_iter,
    is_attempt_loop,
    is_fixed_iteration,
    is_migration,
    session_method,
)
from fastapi_expert.types import Severity

CONNECTION_COMMITS = frozenset(
    {
        "sqlalchemy.engine.Connection.commit",
        "sqlalchemy.ext.asyncio.AsyncConnection.commit",
        "sqlalchemy.ext.asyncio.engine.AsyncConnection.commit",
        "psycopg2.Connection.commit",
        "psycopg.Connection.commit",
        "sqlite3.Connection.commit",
    }
)
_STOP = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.While,
         ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _periodic(ctx: FileContext, test: ast.expr) -> bool:
    """`if i % 500 == 0:` / `if len(batch) >= 500:`: a batch commit, not per item."""
    for sub in ast.walk(test):
        if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Mod):
            return True
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and ctx.resolve(sub.func) == "builtins.len":
            return True
    return False


class CommitInLoop(Rule):
    """Flags `session.commit()` called on every iteration of a loop over items.

    ## What it does
    Finds `commit()` on a SQLAlchemy / SQLModel `Session` or `AsyncSession`
    (receiver typed by annotation or constructor), or on a SQLAlchemy, psycopg
    or sqlite3 connection, inside the body of a `for` / `async for` loop. Not
    flagged: batch commits under a periodic condition (`if i % 500 == 0:`,
    `if len(batch) >= 500:`), commits inside a `try` within the loop (deliberate
    per-item isolation with rollback), loops over a literal collection or
    `range(<constant>)` (retries), retry loops over attempts
    (`for attempt in Retrying(...): with attempt: ...`, tenacity or stamina: one
    transaction per failed try), `while` loops (workers), and Alembic revisions
    (files under `migrations/versions/` or `alembic/versions/`, importing
    `alembic.op`, or shaped like a revision: `revision = "..."`, `down_revision`
    and `def upgrade()` at module level): a one-off data migration may commit as
    it goes, so that a long backfill keeps what it has done, and it runs once,
    with no request waiting on it.

    ## Why is this bad?
    Each commit is a separate transaction: a round trip, a write-ahead-log flush
    to disk on the database, and (with default session settings) every loaded
    object expired and reloaded on next access. Importing 1,000 rows this way is
    1,000 transactions instead of one, typically tens to hundreds of times
    slower, and a failure half-way leaves half the items stored. Add the items in
    the loop and commit once after it (or in fixed-size batches).

    ## References
    - https://docs.sqlalchemy.org/en/20/orm/session_basics.html#when-do-i-construct-a-session-when-do-i-commit-it-and-when-do-i-close-it
    - https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html#orm-bulk-insert-statements
    - https://www.postgresql.org/docs/current/populate.html#DISABLE-AUTOCOMMIT
    """

    code = "FX509"
    name = "commit-in-loop"
    summary = "`commit()` inside a loop runs one transaction per item."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            app = FastAPI()

            @app.post("/products/import", status_code=201)
            def import_products(items: list[ProductIn], db: Session = Depends(get_db)):
                for item in items:
                    db.add(Product(**item.model_dump()))
                db.commit()
                return {"imported": len(items)}
            """
        ),
        Valid(
            """
            from sqlalchemy.orm import Session

            def backfill(db: Session, rows: list[dict]) -> None:
                for i, row in enumerate(rows, start=1):
                    db.add(Event(**row))
                    if i % 1000 == 0:
                        db.commit()
                db.commit()
            """
        ),
        Valid(
            """
            from sqlalchemy.orm import Session
            from tenacity import Retrying, stop_after_attempt, wait_exponential

            def close_expired(db: Session) -> None:
                for attempt in Retrying(stop=stop_after_attempt(3), wait=wait_exponential(max=5), reraise=True):
                    with attempt:
                        db.query(Lease).filter(Lease.expired).delete()
                        db.commit()
            """
        ),
        Valid(
            # An Alembic revision (here outside a `migrations/versions/` folder, and without
            # `alembic.op`): a one-off backfill that commits as it goes, with no request waiting.
            """
            import sqlalchemy as sa
            from alembic import context
            from sqlalchemy.orm import Session

            revision = "7c1e2a9b0d4f"
            down_revision = "3f9a8e7d6c5b"

            def upgrade() -> None:
                session = Session(bind=context.get_bind())
                rows = session.execute(sa.text("SELECT id, title FROM article WHERE slug IS NULL")).all()
                for article_id, title in rows:
                    slug = title.lower().replace(" ", "-")
                    session.execute(sa.text("UPDATE article SET slug = :slug WHERE id = :id"), {"slug": slug, "id": article_id})
                    session.commit()

            def downgrade() -> None:
                pass
            """,
            filename="app/db/_migrations/versions/0042_backfill_slugs.py",
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.ext.asyncio import AsyncSession

            app = FastAPI()

            @app.post("/products/import", status_code=201)
            async def import_products(items: list[ProductIn], session: AsyncSession = Depends(get_session)):
                for item in items:
                    session.add(Product(**item.model_dump()))
                    await session.commit()
                return {"imported": len(items)}
            """,
            lines=(10,),
        ),
        Invalid(
            """
            from sqlmodel import Session

            def mark_read(session: Session, notifications: list[Notification]) -> None:
                for n in notifications:
                    n.read = True
                    session.add(n)
                    session.commit()
            """,
            lines=(7,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if not isinstance(node.func, ast.Attribute) or node.func.attr != "commit" or ctx.module.is_test:
            return
        if is_migration(ctx.module):
            return  # an Alembic revision runs once, by hand, with no request waiting
        target = ctx.call_target(node)
        if session_method(target) != "commit" and target not in CONNECTION_COMMITS:
            return
        child: ast.AST = node
        for ancestor in reversed(ctx.ancestors):
            if isinstance(ancestor, _STOP):
                return
            if isinstance(ancestor, ast.If) and _periodic(ctx, ancestor.test):
                return
            if isinstance(ancestor, ast.Try) and ancestor.handlers and any(child is s for s in ancestor.body):
                return
            if isinstance(ancestor, ast.For | ast.AsyncFor):
                if (
                    not any(child is s for s in ancestor.body)
                    or is_fixed_iteration(ctx, ancestor.iter)
                    or is_attempt_loop(ancestor)
                ):
                    return
                where = describe_iter(ctx, ancestor.iter)
                call = ctx.source.segment(node.func)
                ctx.report(
                    node,
                    f"`{call}()` inside {where} commits one transaction per item; "
                    "add the items in the loop and commit once after it (or in fixed-size batches).",
                )
                return
            child = ancestor
