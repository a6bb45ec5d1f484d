from __future__ import annotations

import ast

from fastapi_expert.review.rules._util import keyword
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.performance._scope import (
    call_name,
    created_per_request,
    short,
)
from fastapi_expert.types import Severity

# Calls that build a connection pool (or a factory bound to one).
POOL_FACTORIES = frozenset(
    {
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "sqlalchemy.engine.create.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.ext.asyncio.engine.create_async_engine",
        "sqlmodel.create_engine",
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.session.sessionmaker",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.ext.asyncio.session.async_sessionmaker",
        "redis.Redis",
        "redis.StrictRedis",
        "redis.client.Redis",
        "redis.Redis.from_url",
        "redis.from_url",
        "redis.asyncio.Redis",
        "redis.asyncio.StrictRedis",
        "redis.asyncio.client.Redis",
        "redis.asyncio.Redis.from_url",
        "redis.asyncio.from_url",
        "aioredis.Redis",
        "aioredis.from_url",
        "pymongo.MongoClient",
        "pymongo.mongo_client.MongoClient",
        "motor.motor_asyncio.AsyncIOMotorClient",
        "asyncpg.create_pool",
        "asyncpg.pool.create_pool",
        "aiomysql.create_pool",
        "psycopg_pool.ConnectionPool",
        "psycopg_pool.AsyncConnectionPool",
        "psycopg2.pool.SimpleConnectionPool",
        "psycopg2.pool.ThreadedConnectionPool",
    }
)

_REDIS = "redis."


class EnginePerRequest(Rule):
    """Flags an engine, connection pool or database client created inside a route or dependency.

    ## What it does
    Finds `create_engine(...)`, `create_async_engine(...)`, `sessionmaker(...)` /
    `async_sessionmaker(...)`, `redis.Redis(...)` / `Redis.from_url(...)` (sync and
    `redis.asyncio`), `pymongo.MongoClient(...)`, `AsyncIOMotorClient(...)` and
    `asyncpg.create_pool(...)` called while serving a request: in a route
    endpoint, in a dependency, or in a project function one of them calls. A
    client that is kept for reuse (assigned to `app.state`, `self.…` or a
    `global`, built in an `@lru_cache` function, or assigned to a local that
    the function then keeps: `ENGINES[key] = engine`, `cache.set(key, client)`,
    the get-or-create of a cache; nor what such a call returns) is not flagged, nor is
    `Redis(connection_pool=pool)` on a shared pool. The lazy singleton is
    recognised through calls too: a function called as
    `global _db; if _db is None: _db = get_new_db()` (or after an early
    `if _db is not None: return _db`) runs once per process, so the engine it
    (or a constructor it calls) creates is not per request.

    ## Why is this bad?
    Each of these objects owns a connection pool. Building one per request opens
    fresh TCP (and TLS, and authentication) handshakes on every call, never
    reuses a connection, and leaves pools behind for the garbage collector: under
    load the database runs out of connection slots (`too many clients`) and
    latency climbs. Create the engine or client once, in the `lifespan` handler
    or at module level, and share it (`app.state`, a dependency returning it).

    ## References
    - https://docs.sqlalchemy.org/en/20/tutorial/engine.html
    - https://docs.sqlalchemy.org/en/20/core/pooling.html
    - https://fastapi.tiangolo.com/advanced/events/
    - https://redis.readthedocs.io/en/stable/connections.html
    - https://pymongo.readthedocs.io/en/stable/faq.html#how-does-connection-pooling-work-in-pymongo
    - https://magicstack.github.io/asyncpg/current/usage.html#connection-pools
    """

    code = "FX501"
    name = "engine-per-request"
    summary = "A database engine, pool or client is created on every request instead of once."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            from contextlib import asynccontextmanager

            from fastapi import Depends, FastAPI, Request
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            @asynccontextmanager
            async def lifespan(app: FastAPI):
                engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_size=10)
                app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
                yield
                await engine.dispose()

            app = FastAPI(lifespan=lifespan)

            async def get_session(request: Request):
                async with request.app.state.sessions() as session:
                    yield session

            @app.get("/users/{user_id}")
            async def read_user(user_id: int, session: AsyncSession = Depends(get_session)):
                return await session.get(User, user_id)
            """
        ),
        Valid(
            """
            from functools import lru_cache

            import redis
            from fastapi import Depends, FastAPI

            app = FastAPI()
            pool = redis.ConnectionPool.from_url("redis://cache:6379/0")

            @lru_cache
            def get_mongo():
                from pymongo import MongoClient
                return MongoClient("mongodb://mongo:27017")

            def get_redis():
                return redis.Redis(connection_pool=pool)  # cheap: shares the pool

            @app.get("/counter")
            def counter(r: redis.Redis = Depends(get_redis)):
                return {"hits": r.incr("hits"), "dbs": get_mongo().list_database_names()}
            """
        ),
        Valid(
            """
            from fastapi import Depends, FastAPI

            from app.db import get_session

            app = FastAPI()

            @app.get("/runs")
            async def list_runs(session=Depends(get_session)) -> list[int]:
                return []
            """,
            filename="app/main.py",
            files={
                "app/db.py": """
                    from typing import Optional

                    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

                    DATABASE_URL = "postgresql+asyncpg://app@db/app"

                    class Database:
                        def __init__(self, url: str) -> None:
                            self.engine = create_async_engine(url, pool_size=10)
                            self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

                    _db: Optional[Database] = None

                    def get_new_db() -> Database:
                        return Database(DATABASE_URL)

                    def get_db() -> Database:
                        global _db
                        if _db is None:
                            _db = get_new_db()
                        return _db

                    async def get_session():
                        async with get_db().sessions() as session:
                            yield session
                """
            },
        ),
        Valid(
            # Get-or-create: the engine is kept in a module-level dict, built once per URL.
            """
            from fastapi import FastAPI
            from sqlalchemy import text
            from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

            app = FastAPI()
            _engines: dict[str, AsyncEngine] = {}

            async def tenant_engine(url: str) -> AsyncEngine:
                engine = _engines.get(url)
                if engine is None:
                    engine = create_async_engine(url, pool_size=5)
                    _engines[url] = engine
                return engine

            @app.get("/tenants/{url}/ping")
            async def ping(url: str):
                async with (await tenant_engine(url)).connect() as conn:
                    return {"ok": (await conn.execute(text("SELECT 1"))).scalar()}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import Depends, FastAPI
            from sqlalchemy import create_engine
            from sqlalchemy.orm import Session, sessionmaker

            app = FastAPI()

            def get_db():
                engine = create_engine("postgresql://app@db/app")
                SessionLocal = sessionmaker(bind=engine)
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            @app.get("/items")
            def list_items(db: Session = Depends(get_db)):
                return db.query(Item).limit(50).all()
            """,
            lines=(8, 9),
        ),
        Invalid(
            """
            import redis.asyncio as aioredis
            from fastapi import FastAPI

            app = FastAPI()

            async def cached_profile(user_id: int):
                client = aioredis.Redis.from_url("redis://cache:6379/0")
                return await client.get(f"profile:{user_id}")

            @app.get("/profiles/{user_id}")
            async def profile(user_id: int):
                return {"profile": await cached_profile(user_id)}
            """,
            lines=(7,),
        ),
        Invalid(
            """
            import asyncpg
            from motor.motor_asyncio import AsyncIOMotorClient
            from fastapi import APIRouter

            router = APIRouter()

            @router.get("/reports/{report_id}")
            async def report(report_id: int):
                pool = await asyncpg.create_pool("postgresql://app@db/app")
                mongo = AsyncIOMotorClient("mongodb://mongo:27017")
                row = await pool.fetchrow("SELECT * FROM reports WHERE id = $1", report_id)
                return {"row": dict(row), "meta": await mongo.app.meta.find_one({"id": report_id})}
            """,
            lines=(9, 10),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        target = call_name(ctx, node)
        if target is None or target not in POOL_FACTORIES:
            return
        if target.startswith(_REDIS) and keyword(node, "connection_pool") is not None:
            return
        scope = created_per_request(ctx, node)
        if scope is None:
            return
        what = "session factory" if target.rsplit(".", 1)[-1].endswith("sessionmaker") else "connection pool"
        ctx.report(
            node,
            f"`{short(target)}()` runs on every request (in {scope.describe()}), building a new {what} each time; "
            "create it once in the `lifespan` handler (or at module level) and share it.",
            chain=scope.chain(),
        )
