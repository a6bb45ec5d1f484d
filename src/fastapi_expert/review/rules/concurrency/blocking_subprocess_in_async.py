from __future__ import annotations

import ast

from fastapi_expert.review.model.blocking import Blocking, BlockingKind
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import DirectBlockingCall
from fastapi_expert.types import Severity

_WAITS = "waits for the process to finish"
# What each call does while it holds the event loop.
_WHAT: dict[str, str] = {
    "subprocess.run": _WAITS,
    "subprocess.call": _WAITS,
    "subprocess.check_call": _WAITS,
    "subprocess.check_output": _WAITS,
    "subprocess.getoutput": "runs a shell and waits for the command to finish",
    "subprocess.getstatusoutput": "runs a shell and waits for the command to finish",
    "subprocess.Popen": "forks and starts a process synchronously",
    "subprocess.Popen.communicate": _WAITS,
    "subprocess.Popen.wait": _WAITS,
    "os.system": "runs a shell and waits for the command to finish",
    "os.popen": "forks and starts a shell synchronously",
    "os.wait": "waits for a child process to exit",
    "os.waitpid": "waits for a child process to exit",
    "builtins.input": "waits for terminal input",
}
_SHELL = frozenset({"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"})


class BlockingSubprocessInAsync(DirectBlockingCall, Rule):
    """Flags subprocess calls, `os.system`/`os.popen` and `input()` made directly in an `async def`.

    ## What it does
    Finds `subprocess.run/call/check_call/check_output/getoutput/Popen` (and
    `Popen.wait()`/`communicate()`), `os.system`, `os.popen`, `os.wait`,
    `os.waitpid` and `input()` in the body of a coroutine function, under any
    import alias. `asyncio.create_subprocess_exec`, calls handed to a
    worker thread and command-line commands (Typer, Click/asyncclick,
    Cyclopts, a coroutine only ever run with `asyncio.run(...)`, one only
    such commands await, or a coroutine of a script, a module that ends in
    `if __name__ == "__main__":`, imports no web framework or server, and no
    other module imports: alone on their loop) are not flagged, nor is an
    app's lifespan (or start-up and shutdown handlers) or what only it awaits,
    which run before the first request and after the last.

    The message says what each call does: `run()`/`call()`/`check_*()` wait
    for the process, `Popen()` forks and starts one synchronously,
    `os.system()` runs a shell and waits, `input()` waits for terminal input.

    ## Why is this bad?
    These calls hold the event loop while the operating system forks and
    starts a process, while another process runs to completion, or while
    waiting for a terminal that a server does not have: a thumbnail
    conversion or a `git` call of a few seconds freezes every request on the
    worker for those seconds, and even a bare `Popen()` costs a synchronous
    fork/exec per call. `asyncio.create_subprocess_exec(...)` followed by
    `await proc.communicate()` waits without blocking; `anyio.run_process` is
    the AnyIO equivalent.

    ## References
    - https://docs.python.org/3/library/asyncio-subprocess.html
    - https://anyio.readthedocs.io/en/stable/subprocesses.html
    - https://fastapi.tiangolo.com/async/
    """

    code = "FX205"
    name = "blocking-subprocess-in-async"
    summary = "A blocking subprocess, `os.system` or `input()` call inside `async def`."
    severity = Severity.ERROR
    kind = BlockingKind.PROCESS
    what = "waits for another process"

    valid = (
        Valid(
            """
            import asyncio
            import subprocess

            from fastapi import FastAPI

            app = FastAPI()

            @app.post("/videos/{video_id}/thumbnail")
            async def thumbnail(video_id: str):
                proc = await asyncio.create_subprocess_exec(
                    "ffmpeg", "-i", f"/srv/videos/{video_id}.mp4", "-frames:v", "1", f"/srv/thumbs/{video_id}.png",
                )
                await proc.communicate()
                return {"ok": proc.returncode == 0}

            @app.get("/version")
            def version():  # sync route: runs in the threadpool
                return {"git": subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()}
            """
        ),
        Valid(
            """
            import subprocess

            from fastapi import FastAPI
            from fastapi.concurrency import run_in_threadpool

            app = FastAPI()

            @app.post("/backups")
            async def backup():
                def dump() -> int:
                    return subprocess.run(["pg_dump", "-f", "/srv/backup.sql"], check=False).returncode

                return {"code": await run_in_threadpool(dump)}
            """
        ),
        Valid(
            # A maintenance script (`python -m app.tools.clean_cache`): nothing
            # imports it, so its coroutines run only on the loop it makes itself,
            # where asking the operator to confirm delays no request.
            """
            import asyncio

            from app.storage import open_cache

            class CleanupTool:
                async def run(self) -> None:
                    cache = await open_cache()
                    if input("Delete every cached answer? (y/n): ").strip().lower() == "y":
                        await cache.clear()

            async def main() -> None:
                await CleanupTool().run()

            if __name__ == "__main__":
                asyncio.run(main())
            """,
            filename="app/tools/clean_cache.py",
            files={
                "app/storage.py": """
class Cache:
    async def clear(self) -> None:
        return None

async def open_cache() -> Cache:
    return Cache()
""",
                "app/main.py": """
import asyncio

from fastapi import FastAPI

app = FastAPI()

@app.get("/health")
async def health() -> dict[str, str]:
    await asyncio.sleep(0)
    return {"status": "ok"}
""",
            },
        ),
    )
    invalid = (
        Invalid(
            """
            import subprocess as sp

            from fastapi import FastAPI

            app = FastAPI()

            @app.post("/videos/{video_id}/thumbnail")
            async def thumbnail(video_id: str):
                result = sp.run(["ffmpeg", "-i", f"/srv/videos/{video_id}.mp4", f"/srv/thumbs/{video_id}.png"])
                return {"ok": result.returncode == 0}
            """,
            lines=(9,),
        ),
        Invalid(
            """
            import os
            from subprocess import Popen

            async def rebuild_index():
                os.system("make -C /srv/search index")
                proc = Popen(["reindex", "--all"])
                proc.wait()
            """,
            lines=(5, 6, 7),
        ),
        Invalid(
            """
            import subprocess
            import sys

            from fastapi import APIRouter

            router = APIRouter(prefix="/sandboxes")

            @router.post("/{sandbox_id}/start", status_code=202)
            async def start_sandbox(sandbox_id: str) -> dict[str, int]:
                process = subprocess.Popen(
                    [sys.executable, "-m", "sandbox.server", "--id", sandbox_id],
                    stdout=subprocess.DEVNULL,
                    start_new_session=True,
                )
                return {"pid": process.pid}
            """,
            lines=(10,),
        ),
        Invalid(
            # Runs as a script too, but the app imports it and a route awaits it.
            """
            import asyncio
            import subprocess

            async def reindex() -> int:
                return subprocess.run(["reindex", "--all"], check=False).returncode

            if __name__ == "__main__":
                asyncio.run(reindex())
            """,
            lines=(5,),
            filename="app/tools/reindex.py",
            files={
                "app/main.py": """
from fastapi import FastAPI

from app.tools.reindex import reindex

app = FastAPI()

@app.post("/search/reindex")
async def start_reindex() -> dict[str, int]:
    return {"code": await reindex()}
""",
            },
        ),
    )

    def describe(self, target: str) -> str:
        return _WHAT.get(target, self.what)

    def message(self, ctx: FileContext, node: ast.Call, target: str, fact: Blocking) -> str:
        func = ctx.function()
        name = func.name if func is not None else "?"
        if target == "builtins.input":
            return (
                f"`input()` blocks the event loop inside `async def {name}` (waits for terminal input, "
                "and a server has no terminal); take the value from the request or the settings."
            )
        message = super().message(ctx, node, target, fact)
        if target in _SHELL:
            message = message.replace(
                "`asyncio.create_subprocess_exec(...)`", "`asyncio.create_subprocess_shell(...)`", 1
            )
        return message
