from __future__ import annotations

import ast

from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import (
    call_name,
    created_per_request,
)
from fastapi_expert.types import Severity

# Raw driver connects (one TCP + auth handshake each), and what to use instead.
_ASYNC_POOL = "a pool created once in the `lifespan` handler (`asyncpg.create_pool(...)`, or a SQLAlchemy async engine)"
_SYNC_POOL = "a pool created once at startup (a SQLAlchemy engine, or `psycopg_pool.ConnectionPool`)"
RAW_CONNECTS: dict[str, str] = {
    "psycopg2.connect": _SYNC_POOL,
    "psycopg.connect": _SYNC_POOL,
    "psycopg.Connection.connect": _SYNC_POOL,
    "psycopg.AsyncConnection.connect": "a `psycopg_pool.AsyncConnectionPool` opened in the `lifespan` handler",
    "asyncpg.connect": _ASYNC_POOL,
    "asyncpg.connection.connect": _ASYNC_POOL,
    "pymysql.connect": _SYNC_POOL,
    "MySQLdb.connect": _SYNC_POOL,
    "mysql.connector.connect": _SYNC_POOL,
    "aiomysql.connect": "an `aiomysql.create_pool(...)` pool created in the `lifespan` handler",
    "aiopg.connect": "an `aiopg.create_pool(...)` pool created in the `lifespan` handler",
}


class ConnectionWithoutPool(Rule):
    """Flags a raw database driver connection opened for each request.

    ## What it does
    Finds `psycopg2.connect`, `psycopg.connect`, `asyncpg.connect`,
    `pymysql.connect`, `aiomysql.connect` (and similar driver-level connects)
    called while serving a request: in a route endpoint, a dependency (typically
    a `yield` dependency that closes the connection afterwards), or a project
    function one of them calls. A connect whose result is kept for reuse
    (`app.state.conn = ...`, a `global`) and code not reachable from a route
    (migration scripts, CLI commands) are not flagged.

    ## Why is this bad?
    A driver-level connect performs a TCP handshake, often TLS, and the
    database's authentication exchange (for PostgreSQL also a backend process
    fork) before the first query: several milliseconds to tens of milliseconds
    added to every request, and one server connection per concurrent request
    with no upper bound. A pool keeps warm connections and caps their number.

    ## References
    - https://magicstack.github.io/asyncpg/current/usage.html#connection-pools
    - https://www.psycopg.org/psycopg3/docs/advanced/pool.html
    - https://docs.sqlalchemy.org/en/20/core/pooling.html
    - https://fastapi.tiangolo.com/advanced/events/
    """

    code = "FX502"
    name = "connection-without-pool"
    summary = "A raw driver connection is opened per request instead of borrowed from a pool."
    severity = Severity.WARNING

    valid = (
        Valid(
            """
            import asyncio

            import asyncpg

            async def migrate(dsn: str) -> None:
                # one-off script, not reachable from any route
                conn = await asyncpg.connect(dsn)
                try:
                    await conn.execute(open("schema.sql").read())
                finally:
                    await conn.close()

            if __name__ == "__main__":
                asyncio.run(migrate("postgresql://app@db/app"))
            """
        ),
        Valid(
            """
            from contextlib import asynccontextmanager

            import asyncpg
            from fastapi import FastAPI, Request

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                app.state.pool = await asyncpg.create_pool("postgresql://app@db/app", max_size=20)
                yield
                await app.state.pool.close()

            app = FastAPI(lifespan=lifespan)

            @app.get("/orders/{order_id}")
            async def read_order(order_id: int, request: Request):
                async with request.app.state.pool.acquire() as conn:
                    return dict(await conn.fetchrow("SELECT * FROM orders WHERE id = $1", order_id))
            """
        ),
    )
    invalid = (
        Invalid(
            """
            import asyncpg
            from fastapi import Depends, FastAPI

            app = FastAPI()

            async def get_conn():
                conn = await asyncpg.connect("postgresql://app@db/app")
                try:
                    yield conn
                finally:
                    await conn.close()

            @app.get("/orders/{order_id}")
            async def read_order(order_id: int, conn=Depends(get_conn)):
                return dict(await conn.fetchrow("SELECT * FROM orders WHERE id = $1", order_id))
            """,
            lines=(7,),
        ),
        Invalid(
            """
            import psycopg2 as pg
            from fastapi import FastAPI

            app = FastAPI()

            def fetch_user(user_id: int):
                with pg.connect("dbname=app user=app host=db") as conn:
                    with conn.cursor() as cur:
                        cur.execute("SELECT id, email FROM users WHERE id = %s", (user_id,))
                        return cur.fetchone()

            @app.get("/users/{user_id}")
            def read_user(user_id: int):
                return {"user": fetch_user(user_id)}
            """,
            lines=(7,),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        target = call_name(ctx, node)
        instead = RAW_CONNECTS.get(target) if target else None
        if instead is None:
            return
        scope = created_per_request(ctx, node)
        if scope is None:
            return
        ctx.report(
            node,
            f"`{target}()` opens a new database connection on every request (in {scope.describe()}); "
            f"borrow one from {instead}.",
            chain=scope.chain(),
        )
