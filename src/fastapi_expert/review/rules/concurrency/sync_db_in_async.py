from __future__ import annotations

import ast

from fastapi_expert.review.model.blocking import Blocking, BlockingKind
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import (
    AWS_CLIENT_FACTORIES,
    DirectBlockingCall,
)
from fastapi_expert.types import Severity


class SyncDbInAsync(DirectBlockingCall, Rule):
    """Flags a synchronous database call made directly in an `async def`.

    ## What it does
    Finds calls that wait on a database in the body of a coroutine function:
    methods of a sync SQLAlchemy (or SQLModel) `Session`, `Engine` and
    `Connection`; `psycopg2`/`psycopg`/`pymysql`/`sqlite3` connections and
    cursors; sync `redis.Redis` commands; `pymongo` collection methods;
    `boto3.client()`/`boto3.resource()`, which load the service model and the
    credentials (from disk or the network) to build a client, whatever the
    service (the message says so, and for a client, which is thread-safe,
    advises building it once). The
    receiver's type comes from its annotation (also through an
    `Annotated[Session, Depends(get_db)]` alias), from its constructor, or from
    a session factory: `db = SessionLocal()` where
    `SessionLocal = sessionmaker(bind=engine)` is a sync `Session`, while
    `async_sessionmaker(...)` gives an `AsyncSession`, whose awaited methods are
    fine. A plain `def` route using a sync session is fine: FastAPI runs it in
    its threadpool; so is a command-line command (Typer, Click/asyncclick,
    Cyclopts, a coroutine only ever run with `asyncio.run(...)`, one only
    such commands await, or a coroutine of a script that no other module
    imports), which runs alone on its loop, and an app's lifespan
    (or start-up and shutdown handlers) and what only it awaits, which run
    before the first request and after the last.

    ## Why is this bad?
    In an `async def` the query runs on the event loop: for as long as the
    database takes to answer, the worker serves no other request, and under
    load the latency of one slow query spreads to every endpoint. Either keep
    the route sync (`def`) with the sync session, or use the async stack end
    to end (`create_async_engine`, `AsyncSession`, `await db.execute(...)`).

    ## References
    - https://fastapi.tiangolo.com/async/
    - https://fastapi.tiangolo.com/tutorial/sql-databases/
    - https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html
    - https://redis.readthedocs.io/en/stable/examples/asyncio_examples.html
    """

    code = "FX203"
    name = "sync-db-in-async"
    summary = "A synchronous database call inside `async def` blocks the event loop."
    severity = Severity.ERROR
    kind = BlockingKind.DATABASE
    what = "synchronous database I/O"

    def describe(self, target: str) -> str:
        if target in AWS_CLIENT_FACTORIES:
            return (
                "builds an AWS SDK client: loads the service model and the credentials, "
                "from disk or the network, and sets the client up in Python"
            )
        return self.what

    def message(self, ctx: FileContext, node: ast.Call, target: str, fact: Blocking) -> str:
        message = super().message(ctx, node, target, fact)
        if target == "boto3.client":
            # A client is thread-safe once built (a resource is not): one made at
            # start-up serves every request, and its calls can go to a thread.
            message = message.replace("; use ", "; build it once at start-up and reuse it, or use ", 1)
        return message

    valid = (
        Valid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            from app.models import User

            engine = create_async_engine("postgresql+asyncpg://app@db/app")
            SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
            app = FastAPI()

            async def get_db():
                async with SessionLocal() as session:
                    yield session

            DbSession = Annotated[AsyncSession, Depends(get_db)]

            @app.get("/users/{user_id}")
            async def read_user(user_id: int, db: DbSession):
                result = await db.execute(select(User).where(User.id == user_id))
                return result.scalar_one()

            @app.post("/users/{user_id}/touch")
            async def touch(user_id: int):
                async with SessionLocal() as db:
                    user = await db.get(User, user_id)
                    await db.commit()
                return {"id": user.id}
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.db import get_db
            from app.models import Item

            app = FastAPI()

            @app.get("/items")
            def list_items(db: Session = Depends(get_db)):  # sync route: runs in the threadpool
                return db.query(Item).all()
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy import select
            from sqlalchemy.orm import Session

            from app.db import get_db
            from app.models import User

            app = FastAPI()
            DbSession = Annotated[Session, Depends(get_db)]

            @app.get("/users/{user_id}")
            async def read_user(user_id: int, db: DbSession):
                return db.execute(select(User).where(User.id == user_id)).scalar_one()

            @app.delete("/users/{user_id}")
            async def delete_user(user_id: int, db: Session = Depends(get_db)):
                db.query(User).filter(User.id == user_id).delete()
                db.commit()
            """,
            lines=(15, 19, 20),
        ),
        Invalid(
            """
            from fastapi import FastAPI

            from app.db import SessionLocal
            from app.models import Order

            app = FastAPI()

            @app.post("/orders")
            async def create_order(item_id: int):
                db = SessionLocal()
                try:
                    order = Order(item_id=item_id)
                    db.add(order)
                    db.commit()
                    return {"id": order.id}
                finally:
                    db.close()
            """,
            lines=(14, 17),
            filename="app/main.py",
            files={
                "app/db.py": """
                from sqlalchemy import create_engine
                from sqlalchemy.orm import sessionmaker

                engine = create_engine("postgresql://app@db/app")
                SessionLocal = sessionmaker(bind=engine, autoflush=False)
                """,
            },
        ),
        Invalid(
            """
            import redis
            import sqlite3

            cache = redis.Redis(host="cache", port=6379)

            async def get_profile(user_id: int):
                cached = cache.get(f"profile:{user_id}")
                if cached:
                    return cached
                conn = sqlite3.connect("profiles.db")
                row = conn.execute("SELECT data FROM profiles WHERE id = ?", (user_id,)).fetchone()
                return row
            """,
            lines=(7, 10, 11),
        ),
    )
