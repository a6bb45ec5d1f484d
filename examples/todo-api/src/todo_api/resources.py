"""Everything the lifespan opens and closes, in one typed object on `app.state`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from todo_api.auth.passwords import PasswordHasher
from todo_api.auth.tokens import VerifiedTokenCache
from todo_api.autopipeline import AutoPipeline
from todo_api.cache import Cache, MemoryCache, RedisCache
from todo_api.db import Base, make_engine, make_sessionmaker
from todo_api.notifier import LoggingNotifier, Notifier
from todo_api.pubsub import Broker, MemoryBroker, RedisBroker
from todo_api.ratelimit import RateLimiter
from todo_api.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Resources:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    cache: Cache
    rate_limiter: RateLimiter
    broker: Broker
    notifier: Notifier
    password_hasher: PasswordHasher
    token_cache: VerifiedTokenCache


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    engine = make_engine(settings)
    redis: Redis | None = None
    pipeline: AutoPipeline | None = None
    broker: Broker
    try:
        if settings.db_create_schema and not settings.is_production:
            # Dev/test convenience only; production schemas come from Alembic.
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
        if settings.redis_url:
            redis = Redis.from_url(settings.redis_url, health_check_interval=30)
            pipeline = AutoPipeline(redis)
            cache: Cache = RedisCache(
                redis, pipeline, settings.redis_key_prefix, settings.cache_ttl_seconds
            )
            broker = RedisBroker(redis, settings.redis_key_prefix)
        else:
            cache = MemoryCache(settings.cache_ttl_seconds)
            broker = MemoryBroker()
        await broker.start()
        try:
            yield Resources(
                engine=engine,
                sessionmaker=make_sessionmaker(engine),
                redis=redis,
                cache=cache,
                rate_limiter=RateLimiter.from_settings(settings, pipeline),
                broker=broker,
                notifier=LoggingNotifier(),
                password_hasher=PasswordHasher(settings),
                token_cache=VerifiedTokenCache(),
            )
        finally:
            await broker.stop()
    finally:
        if pipeline is not None:
            await pipeline.drain()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
