"""GET /health/live (process is up) and /health/ready (dependencies reachable)."""

from __future__ import annotations

import logging
from typing import Literal

import anyio
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from todo_api.problems import problem_response, problem_responses

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/health", tags=["health"])

CHECK_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    checks: dict[str, Literal["ok", "failed"]] = Field(default_factory=dict)


@router.get(
    "/live",
    response_model=Health,
    summary="Liveness",
    description="200 while the process serves requests. Touches nothing else.",
)
async def live() -> Health:
    return Health()


@router.get(
    "/ready",
    response_model=Health,
    summary="Readiness",
    description="Checks the database (and Redis when configured); 503 if one fails.",
    responses=problem_responses(503),
)
async def ready(request: Request) -> Health | JSONResponse:
    resources = request.app.state.resources
    checks: dict[str, Literal["ok", "failed"]] = {}

    async def check_db() -> None:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def check_redis() -> None:
        await resources.redis.ping()

    probes = {"database": check_db}
    if resources.redis is not None:
        probes["redis"] = check_redis
    for name, probe in probes.items():
        try:
            with anyio.fail_after(CHECK_TIMEOUT_SECONDS):
                await probe()
            checks[name] = "ok"
        except Exception:  # any failure means "not ready"; the reason goes to the log only
            logger.warning("readiness check failed", extra={"check": name}, exc_info=True)
            checks[name] = "failed"
    if all(result == "ok" for result in checks.values()):
        return Health(checks=checks)
    return problem_response(
        request,
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail="A dependency is unavailable.",
        extra={"checks": checks},
    )
