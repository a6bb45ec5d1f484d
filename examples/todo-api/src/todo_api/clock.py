"""The current time as a dependency, so tests can move it (`dependency_overrides`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def get_clock() -> Clock:
    """Dependency returning the clock; override it in tests to freeze or shift time."""
    return utc_now
