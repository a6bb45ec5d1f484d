"""Password hashing with Argon2id (pwdlib).

Argon2 is deliberately slow and memory-hard, so hashing is CPU-bound work that would
block the event loop for tens of milliseconds: it always runs in a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from todo_api.settings import Settings


class PasswordHasher:
    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost_kib,
                    parallelism=settings.argon2_parallelism,
                ),
            )
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await run_in_threadpool(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Return (valid, new hash if the parameters changed and it should be re-stored).

        With no hash (unknown user) a dummy hash is verified anyway, so that response
        times do not reveal which e-mail addresses have an account.
        """
        if password_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash("dummy password to equalise timing")
            await run_in_threadpool(self._hash.verify, password, self._dummy_hash)
            return False, None
        return await run_in_threadpool(self._hash.verify_and_update, password, password_hash)


async def get_password_hasher(conn: HTTPConnection) -> PasswordHasher:
    hasher: PasswordHasher = conn.app.state.resources.password_hasher
    return hasher


PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
