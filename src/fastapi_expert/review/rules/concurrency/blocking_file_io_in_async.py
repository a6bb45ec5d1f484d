from __future__ import annotations

from fastapi_expert.review.model.blocking import BlockingKind
from fastapi_expert.review.rules.base import Invalid, Rule, Valid
from fastapi_expert.review.rules.concurrency._blocking import DirectBlockingCall
from fastapi_expert.types import Severity


class BlockingFileIoInAsync(DirectBlockingCall, Rule):
    """Flags blocking file-system I/O made directly in an `async def`.

    ## What it does
    Finds `open()` / `io.open()`, `pathlib.Path` I/O methods (`read_text`,
    `write_bytes`, `iterdir`, `exists`...), `os.listdir`/`os.walk`/`os.remove`
    and friends, and `shutil` copies, moves and tree removals in the body of a
    coroutine function. Code handed to a thread (a nested `def` or `lambda`
    passed to `anyio.to_thread.run_sync`, `asyncio.to_thread` or
    `run_in_threadpool`) and async file APIs (`anyio.Path`, `aiofiles.open`)
    are not flagged, and neither are command-line commands (an `async def`
    registered with Typer, Click/asyncclick or Cyclopts, also by import path
    with Cyclopts' lazy loading, one that sync code only ever runs with
    `asyncio.run(...)` or `anyio.run(...)`, also one defined in the function
    that runs it, or a coroutine only such commands await or run, or any
    coroutine of a script: a module that ends in `if __name__ == "__main__":`,
    imports no web framework or server, and no other module imports), which
    run alone on the loop made for them. Nor is an app's lifespan (`lifespan=`,
    `on_startup=`, `@app.on_event("startup")` and their shutdown peers) or a
    coroutine only it awaits: the server runs it before it takes the first
    request and after it has answered the last (reading the configuration
    there delays no request). A lifespan or command that starts a task of its
    own (`create_task`, a task group) is flagged: the task shares its loop.

    ## Why is this bad?
    Disk I/O has no non-blocking mode on most systems: a read or a directory
    walk holds the event loop until the kernel answers, and on a network file
    system, a busy disk or a large file that is milliseconds to seconds in
    which the worker serves nobody. This is a warning rather than an error:
    reading a small local file (a template, a key loaded once) is often
    tolerated, but uploads, exports, reports and anything whose size a client
    controls should go through `anyio.Path`, `aiofiles` or a worker thread.

    ## References
    - https://fastapi.tiangolo.com/async/
    - https://anyio.readthedocs.io/en/stable/fileio.html
    - https://anyio.readthedocs.io/en/stable/threads.html
    - https://docs.python.org/3/library/asyncio-eventloop.html#executing-code-in-thread-or-process-pools
    """

    code = "FX204"
    name = "blocking-file-io-in-async"
    summary = "Blocking file or path I/O inside `async def` stalls the event loop."
    severity = Severity.WARNING
    kind = BlockingKind.FILE
    what = "file-system I/O"

    valid = (
        Valid(
            """
            import anyio
            from fastapi import FastAPI, UploadFile

            app = FastAPI()

            def _save(path: str, data: bytes) -> None:
                with open(path, "wb") as out:
                    out.write(data)

            @app.post("/uploads")
            async def upload(file: UploadFile):
                data = await file.read()
                await anyio.to_thread.run_sync(_save, f"/srv/uploads/{file.filename}", data)
                await anyio.to_thread.run_sync(lambda: open("/srv/uploads/index", "a").write(f"{file.filename}\\n"))
                return {"size": len(data)}
            """
        ),
        Valid(
            """
            import aiofiles
            import anyio
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/reports/{name}")
            async def report(name: str):
                async with aiofiles.open(f"/srv/reports/{name}.csv") as f:
                    body = await f.read()
                exists = await anyio.Path("/srv/reports/archive").exists()
                return {"body": body, "archived": exists}
            """
        ),
        Valid(
            # A command-line command runs alone on the loop its CLI creates for it:
            # writing the output file at the end delays nothing else.
            """
            import json

            import asyncclick as click
            import httpx

            @click.command()
            @click.argument("kind")
            @click.option("--output", default=None)
            async def export_template(kind: str, output: str | None) -> None:
                async with httpx.AsyncClient(base_url="http://127.0.0.1:8000") as client:
                    template = (await client.get(f"/templates/{kind}")).json()
                if output is None:
                    click.echo(json.dumps(template, indent=2))
                else:
                    with open(output, "w") as f:
                        json.dump(template, f, indent=2)
            """,
            filename="tools/cli.py",
        ),
        Valid(
            # A command that waits for the tasks it starts where it starts them: none
            # of them runs while it writes the report.
            """
            import asyncio
            import json

            import asyncclick as click
            import httpx

            async def fetch(client: httpx.AsyncClient, name: str) -> dict[str, str]:
                return (await client.get(f"/pools/{name}")).json()

            @click.command()
            @click.argument("names", nargs=-1)
            async def report(names: tuple[str, ...]) -> None:
                async with httpx.AsyncClient(base_url="http://127.0.0.1:8000") as client:
                    pools = await asyncio.gather(*(asyncio.create_task(fetch(client, n)) for n in names))
                    first = await asyncio.create_task(fetch(client, "default"))
                with open("pools.json", "w") as f:
                    json.dump([first, *pools], f)
            """,
            filename="tools/cli.py",
        ),
        Valid(
            # A script's coroutine, run by `asyncio.run()` on a loop made for it and
            # awaited nowhere else: its file writes delay nothing else.
            """
            import asyncio
            import json
            import sys

            import httpx

            async def _dump_openapi(base_url: str, output: str) -> None:
                async with httpx.AsyncClient(base_url=base_url) as client:
                    schema = (await client.get("/openapi.json")).json()
                with open(output, "w") as f:
                    json.dump(schema, f, indent=2)

            if __name__ == "__main__":
                asyncio.run(_dump_openapi(sys.argv[1], sys.argv[2]))
            """,
            filename="tools/dump_openapi.py",
        ),
        Valid(
            # The same with `anyio.run`, imported inside `main` to keep the script's
            # start-up light: the coroutine is still alone on the loop made for it.
            """
            import json
            import sys
            from pathlib import Path

            import httpx

            async def _replay(events_file: Path, api_url: str) -> None:
                events = json.loads(events_file.read_text(encoding="utf-8"))
                async with httpx.AsyncClient(base_url=api_url) as client:
                    for event in events:
                        await client.post("/events", json=event)

            def main(argv: list[str]) -> int:
                import anyio

                anyio.run(_replay, Path(argv[0]), argv[1])
                return 0

            if __name__ == "__main__":
                raise SystemExit(main(sys.argv[1:]))
            """,
            filename="tools/replay_events.py",
        ),
        Valid(
            # A Cyclopts command registered by import path (lazy loading): no
            # decorator marks it, but it runs alone on the CLI's loop all the same.
            """
            import json
            from pathlib import Path

            async def show_config(path: str = "/etc/myapp/config.json") -> None:
                config = json.loads(Path(path).read_text())
                print(json.dumps(config, indent=2))
            """,
            filename="myapp/cli/config.py",
            files={
                "myapp/cli/main.py": """
import cyclopts

app = cyclopts.App(name="myapp")
app.command("myapp.cli.config:show_config", name="config")

if __name__ == "__main__":
    app()
""",
            },
        ),
        Valid(
            # A prompt helper that only a Click command awaits: it runs on the
            # command's loop while the command waits for it, alone as well.
            """
            import os
            import shutil

            import click

            async def choose_dockerfile(build_dir: str) -> str:
                target = os.path.join(build_dir, "Dockerfile")
                if os.path.exists(target) and click.confirm("Keep the existing Dockerfile?"):
                    shutil.move(target, target + ".bak")
                return target

            @click.command()
            @click.argument("build_dir")
            async def build(build_dir: str) -> None:
                dockerfile = await choose_dockerfile(build_dir)
                click.echo(f"building with {dockerfile}")
            """,
            filename="tools/build.py",
        ),
        Valid(
            # Start-up work of the app: the lifespan the factory defines (handed
            # over through a parameter's default) and a start-up handler run before
            # the server accepts its first connection.
            """
            import json
            from collections.abc import AsyncIterator
            from contextlib import asynccontextmanager

            from fastapi import FastAPI

            def create_app(config_path: str = "/etc/app/config.json") -> FastAPI:
                @asynccontextmanager
                async def lifespan(app: FastAPI) -> AsyncIterator[None]:
                    with open(config_path) as config:
                        app.state.config = json.load(config)
                    yield

                return FastAPI(lifespan=lifespan)

            async def admin_lifespan(app: FastAPI) -> AsyncIterator[None]:
                with open("/etc/app/admins.txt") as admins:
                    app.state.admins = admins.read().split()
                yield

            def create_admin_app(lifespan=admin_lifespan) -> FastAPI:
                admin = FastAPI(lifespan=lifespan)

                @admin.on_event("shutdown")
                async def write_report() -> None:
                    with open("/var/log/app/admin-report.txt", "w") as report:
                        report.write("stopped\\n")

                return admin
            """,
            filename="app/factory.py",
        ),
    )
    invalid = (
        Invalid(
            # Package metadata is read from the installed files on every call.
            """
            from importlib.metadata import version

            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/health")
            async def health() -> dict[str, str]:
                return {"version": version("my-service")}
            """,
            lines=(9,),
        ),
        Invalid(
            """
            from fastapi import FastAPI, UploadFile

            app = FastAPI()

            @app.post("/uploads")
            async def upload(file: UploadFile):
                data = await file.read()
                with open(f"/srv/uploads/{file.filename}", "wb") as out:
                    out.write(data)
                return {"size": len(data)}
            """,
            lines=(8,),
        ),
        Invalid(
            """
            import os
            import shutil
            from pathlib import Path

            from fastapi import FastAPI

            app = FastAPI()
            EXPORTS = Path("/srv/exports")

            @app.get("/exports")
            async def list_exports():
                return sorted(os.listdir(EXPORTS))

            @app.post("/exports/{name}/archive")
            async def archive(name: str):
                text = Path(EXPORTS, name).read_text()
                shutil.move(str(EXPORTS / name), "/srv/archive/")
                return {"chars": len(text)}
            """,
            lines=(12, 16, 17),
        ),
        Invalid(
            # A command that starts a task of its own shares the loop with it.
            """
            import asyncio
            import shutil

            import asyncclick as click

            async def heartbeat() -> None:
                while True:
                    await asyncio.sleep(5)

            @click.command()
            async def serve() -> None:
                beat = asyncio.create_task(heartbeat())
                shutil.rmtree("/var/cache/app", ignore_errors=True)
                await beat
            """,
            lines=(13,),
            filename="tools/cli.py",
        ),
    )
