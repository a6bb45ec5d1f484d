from __future__ import annotations

import ast

from fastapi_expert.review.model.blocking import Blocking, BlockingKind
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import DirectBlockingCall, call_name
from fastapi_expert.types import Severity


class CpuBoundInAsync(DirectBlockingCall, Rule):
    """Flags password hashing and other CPU-heavy calls made directly in an `async def`.

    ## What it does
    Finds deliberately slow, CPU-bound calls in the body of a coroutine
    function: `bcrypt.hashpw/checkpw/kdf`, passlib's `CryptContext.hash/verify`
    (also on a module-level `pwd_context = CryptContext(...)` imported from
    another module) and `passlib.hash.<scheme>.hash/verify`,
    `pwdlib.PasswordHash.hash/verify`, argon2's `PasswordHasher`, and
    `hashlib.pbkdf2_hmac`/`hashlib.scrypt`. Calls handed to a worker thread
    and command-line commands (Typer, Click/asyncclick, Cyclopts, a coroutine
    only ever run with `asyncio.run(...)`, one only such commands await, or a
    coroutine of a script that no other module imports: alone on their loop)
    are not flagged, nor is an app's lifespan (or
    start-up and shutdown handlers) or what only it awaits, which run before
    the first request and after the last.

    ## Why is this bad?
    Password hashes are designed to cost tens to hundreds of milliseconds of
    CPU. Run on the event loop, every login or sign-up stalls all other
    requests of the worker for that long, and a burst of logins (or a
    credential-stuffing attack) takes the whole service down. Run the hash in
    a thread: `await run_in_threadpool(pwd_context.verify, password, hashed)`.
    bcrypt and argon2 release the GIL while hashing, so threads give real
    parallelism. Alternatively declare the route (or the auth dependency)
    with plain `def`, which FastAPI runs in its threadpool.

    ## References
    - https://fastapi.tiangolo.com/async/
    - https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/
    - https://www.starlette.io/threadpool/
    - https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
    """

    code = "FX206"
    name = "cpu-bound-in-async"
    summary = "Password hashing or other CPU-heavy work inside `async def` stalls the event loop."
    severity = Severity.WARNING
    kind = BlockingKind.CPU
    what = "CPU-heavy work"

    valid = (
        Valid(
            """
            from fastapi import FastAPI, HTTPException
            from fastapi.concurrency import run_in_threadpool
            from passlib.context import CryptContext

            app = FastAPI()
            pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")

            @app.post("/login")
            async def login(username: str, password: str):
                hashed = await load_hash(username)
                if not await run_in_threadpool(pwd_context.verify, password, hashed):
                    raise HTTPException(status_code=401, detail="Invalid credentials")
                return {"ok": True}

            async def load_hash(username: str) -> str:
                return "$2b$12$..."
            """
        ),
        Valid(
            """
            from fastapi import FastAPI
            from pwdlib import PasswordHash

            app = FastAPI()
            password_hash = PasswordHash.recommended()

            @app.post("/users")
            def create_user(email: str, password: str):  # sync route: runs in the threadpool
                return {"email": email, "hash": password_hash.hash(password)}
            """
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import FastAPI, HTTPException

            from app.security import pwd_context

            app = FastAPI()

            @app.post("/login")
            async def login(username: str, password: str, stored_hash: str):
                if not pwd_context.verify(password, stored_hash):
                    raise HTTPException(status_code=401, detail="Invalid credentials")
                return {"ok": True}
            """,
            lines=(9,),
            filename="app/main.py",
            files={
                "app/security.py": """
                from passlib.context import CryptContext

                pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
                """,
            },
        ),
        Invalid(
            """
            import hashlib

            import bcrypt
            from fastapi import FastAPI

            app = FastAPI()

            @app.post("/users")
            async def register(email: str, password: str):
                hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
                key = hashlib.pbkdf2_hmac("sha256", password.encode(), b"salt", 600_000)
                return {"email": email, "hash": hashed.decode(), "key": key.hex()}
            """,
            lines=(10, 11),
        ),
    )

    def message(self, ctx: FileContext, node: ast.Call, target: str, fact: Blocking) -> str:
        func = ctx.function()
        name = func.name if func is not None else "?"
        callee = call_name(ctx, node)
        return (
            f"`{callee}()` is CPU-heavy and blocks the event loop inside `async def {name}`; "
            f"run it in a thread with `await run_in_threadpool({callee}, ...)`."
        )
