"""The wording of FX2 messages that were wrong on real code (second precision
sample, benchmarks/SAMPLE.md): the rule examples check *where* a rule fires, these check
*what it says*."""

from __future__ import annotations

from fastapi_expert.review.rules.base import Invalid
from rule_messages import findings as _findings


def test_fx202_offers_a_plain_def_only_when_the_route_awaits_nothing() -> None:
    # `oauth_callback` awaits a coroutine: as a plain `def` it would not compile,
    # so the message must not suggest it; `rates` awaits nothing, so it may.
    example = Invalid(
        """
        import requests
        from fastapi import FastAPI

        app = FastAPI()

        async def load_user(state: str) -> dict[str, str]:
            return {"id": state}

        @app.get("/oauth/callback")
        async def oauth_callback(code: str, state: str) -> dict[str, str]:
            user = await load_user(state)
            token = requests.post("https://provider.example/token", data={"code": code}, timeout=5).json()
            return {"user": user["id"], "scope": token["scope"]}

        @app.get("/rates")
        async def rates() -> dict[str, float]:
            return requests.get("https://rates.example/latest", timeout=5).json()
        """,
        lines=(12, 17),
        filename="app/main.py",
    )
    messages = {f.location.line: f.message for f in _findings("FX202", example)}
    assert list(messages) == [12, 17], messages
    assert messages[12] == (
        "`requests.post()` blocks the event loop inside `async def oauth_callback` "
        "(synchronous HTTP request); use a shared `httpx.AsyncClient`."
    ), messages[12]
    assert "plain `def`" not in messages[12]
    assert "or make `rates` a plain `def` so FastAPI runs it in the threadpool" in messages[17], messages[17]


def test_fx202_async_with_or_async_for_also_rule_out_a_plain_def() -> None:
    example = Invalid(
        """
        import httpx
        import requests
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/mirror")
        async def mirror() -> dict[str, int]:
            async with httpx.AsyncClient() as client:
                first = (await client.get("https://a.example")).status_code
            second = requests.get("https://b.example", timeout=5).status_code
            return {"a": first, "b": second}
        """,
        lines=(11,),
        filename="app/main.py",
    )
    (finding,) = _findings("FX202", example)
    assert "plain `def`" not in finding.message, finding.message


def test_fx210_names_a_constructor_by_its_class_and_methods_by_their_class() -> None:
    # The graph resolves `Connection(host)` to `Connection.__init__`; the message
    # and the chain must name what the code writes, not `__init__()`.
    example = Invalid(
        """
        from app.tunnel import Connection

        class Pool:
            def __init__(self) -> None:
                self.conns: dict[str, Connection] = {}

            async def ensure(self, host: str) -> Connection:
                conn = Connection(host)
                self.conns[host] = conn
                return conn
        """,
        lines=(8,),
        filename="app/pool.py",
        files={
            "app/tunnel.py": """
import subprocess

class Tunnel:
    def __init__(self, host: str) -> None:
        self.host = host
        self.version = subprocess.run(["ssh", "-V"], capture_output=True, timeout=5).stderr

class Connection:
    def __init__(self, host: str) -> None:
        self.tunnel = Tunnel(host)
""",
        },
    )
    (finding,) = _findings("FX210", example)
    assert finding.message.startswith(
        "`Connection()` blocks the event loop: it reaches `subprocess.run()` 2 call(s) down;"
    ), finding.message
    assert "__init__()" not in finding.message
    assert [link.note for link in finding.chain] == [
        "`Pool.ensure` calls `Connection()`",
        "`Connection.__init__` calls `Tunnel()`",
        "`Tunnel.__init__` makes the blocking call `subprocess.run()` (process)",
    ]


def test_fx210_names_a_method_call_as_written() -> None:
    example = Invalid(
        """
        from fastapi import FastAPI
        from app.server import LocalServer

        app = FastAPI()

        @app.get("/health")
        async def health() -> dict[str, bool]:
            server = LocalServer()
            server.start()
            return {"ok": True}
        """,
        lines=(9,),
        filename="app/main.py",
        files={
            "app/server.py": """
import time

class LocalServer:
    def start(self) -> None:
        time.sleep(0.5)
""",
        },
    )
    (finding,) = _findings("FX210", example)
    assert finding.message.startswith("`server.start()` blocks the event loop"), finding.message
    assert [link.note for link in finding.chain] == [
        "`health` calls `server.start()`",
        "`LocalServer.start` makes the blocking call `time.sleep()` (sleep)",
    ]


def test_fx204_advises_a_thread_for_shutil_which_no_async_file_api_wraps() -> None:
    # `anyio.Path` and `aiofiles` have no `rmtree` (nor copies or archives): the
    # advice for `shutil` names the thread call; `os.remove` keeps the async APIs.
    example = Invalid(
        """
        import os
        import shutil

        from fastapi import FastAPI

        app = FastAPI()

        @app.delete("/workspaces/{name}", status_code=204)
        async def delete_workspace(name: str) -> None:
            shutil.rmtree(f"/srv/workspaces/{name}", ignore_errors=True)
            os.remove(f"/srv/workspaces/{name}.lock")
        """,
        lines=(10, 11),
        filename="app/main.py",
    )
    messages = {f.location.line: f.message for f in _findings("FX204", example)}
    assert list(messages) == [10, 11], messages
    assert messages[10] == (
        "`shutil.rmtree()` blocks the event loop inside `async def delete_workspace` (file-system I/O); "
        "use `await anyio.to_thread.run_sync(shutil.rmtree, ...)`, or make `delete_workspace` a plain `def` "
        "so FastAPI runs it in the threadpool."
    ), messages[10]
    assert "aiofiles" not in messages[10]
    assert messages[11].startswith("`os.remove()` blocks the event loop inside `async def delete_workspace`")
    assert "use `anyio.Path`/`aiofiles`, or `await anyio.to_thread.run_sync(...)`" in messages[11], messages[11]


def test_fx203_says_a_boto3_client_is_an_sdk_set_up_not_database_io() -> None:
    # A per-request `boto3.client("s3")` blocks while botocore loads the service
    # model and the credentials and builds the client; S3 is no database, and a
    # client (thread-safe) is best built once. The chain of FX210 says the same.
    example = Invalid(
        """
        import boto3
        from fastapi import Depends, FastAPI

        from app.storage import archive

        app = FastAPI()

        async def get_bucket_client(tenant: str):
            client = boto3.client("s3", endpoint_url=f"https://{tenant}.s3.example")
            yield client

        @app.get("/files/{key}")
        async def read_file(key: str, s3=Depends(get_bucket_client)) -> dict[str, str]:
            return {"key": key, "etag": s3.head_object(Bucket="files", Key=key)["ETag"]}

        @app.post("/files/{key}/archive", status_code=202)
        async def archive_file(key: str) -> None:
            archive(key)
        """,
        lines=(9,),
        filename="app/main.py",
        files={
            "app/storage.py": """
import boto3

def archive(key: str) -> None:
    boto3.resource("s3").Object("archive", key).copy_from(CopySource={"Bucket": "files", "Key": key})
""",
        },
    )
    (finding,) = _findings("FX203", example)
    assert finding.message == (
        "`boto3.client()` blocks the event loop inside `async def get_bucket_client` (builds an AWS SDK "
        "client: loads the service model and the credentials, from disk or the network, and sets the "
        "client up in Python); build it once at start-up and reuse it, or use `aioboto3`, or "
        "`await run_in_threadpool(...)`, or make `get_bucket_client` a plain `def` so FastAPI runs it "
        "in the threadpool."
    ), finding.message
    assert "database" not in finding.message
    (chained,) = _findings("FX210", example)
    assert chained.chain[-1].note == (
        "`archive` makes the blocking call `boto3.resource()` (AWS SDK client set-up)"
    ), chained.chain[-1].note


def test_fx204_metadata_advice_names_the_function_called() -> None:
    # Fifth sample: `distributions()` (a scan of every installed package) got the
    # advice written for `version()`, "`VERSION = version("pkg")`". A kept list of
    # distributions would not help either: each `dist.metadata` reads its file again.
    example = Invalid(
        """
        from importlib.metadata import distributions, requires

        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/plugins")
        async def plugins() -> dict[str, list[str]]:
            found = [d.metadata["Name"] for d in distributions() if d.metadata["Name"].startswith("myapp-")]
            return {"plugins": found, "needs": requires("myapp") or []}
        """,
        lines=(9, 10),
        filename="app/main.py",
    )
    messages = {f.location.line: f.message for f in _findings("FX204", example)}
    assert list(messages) == [9, 10], messages
    assert messages[9] == (
        "`distributions()` blocks the event loop inside `async def plugins` (file-system I/O); use what the "
        "code needs from `distributions()` computed once and kept (a `functools.cache`d helper; each "
        "`dist.metadata` reads its file again), or `await anyio.to_thread.run_sync(...)`, or make `plugins` "
        "a plain `def` so FastAPI runs it in the threadpool."
    ), messages[9]
    assert "version(" not in messages[9]
    assert '(`REQUIREMENTS = requires("pkg")`)' in messages[10], messages[10]


def test_fx208_does_not_claim_a_lost_exception_when_the_coroutine_catches_every_one() -> None:
    # Sixth sample: a route hands its clean-up to `asyncio.create_task(...)`; the
    # coroutine is one `try` whose `except Exception:` logs and rolls back, so
    # "its exception is never seen" was false. The task can still be collected.
    # A coroutine that lets an error out (`notify`) keeps the full message.
    example = Invalid(
        """
        import asyncio
        import logging

        from fastapi import FastAPI

        app = FastAPI()
        logger = logging.getLogger(__name__)

        async def release(sandbox_id: str) -> None:
            \"\"\"Stop the sandbox after the answer was sent.\"\"\"
            try:
                await asyncio.sleep(1)
            except Exception:
                logger.exception("could not release %s", sandbox_id)

        async def notify(sandbox_id: str) -> None:
            await asyncio.sleep(1)

        @app.delete("/sandboxes/{sandbox_id}")
        async def delete_sandbox(sandbox_id: str) -> dict[str, bool]:
            asyncio.create_task(release(sandbox_id))
            asyncio.create_task(notify(sandbox_id))
            return {"ok": True}
        """,
        lines=(21, 22),
        filename="app/main.py",
    )
    messages = {f.location.line: f.message for f in _findings("FX208", example)}
    assert list(messages) == [21, 22], messages
    assert messages[21] == (
        "The task from `asyncio.create_task()` is discarded, so it can be garbage-collected before it "
        "finishes; use `BackgroundTasks` in the route."
    ), messages[21]
    assert "its exception is never seen" in messages[22], messages[22]


def test_fx208_offers_no_task_group_in_a_plain_def() -> None:
    # Seventh sample: a client's `__del__` schedules its own `aclose()` with
    # `asyncio.get_running_loop().create_task(...)` and drops the task. A plain
    # `def` cannot `async with asyncio.TaskGroup()`, so only the kept reference is
    # advice there; a coroutine gets both.
    example = Invalid(
        """
        import asyncio

        import httpx

        class ClosingClient(httpx.AsyncClient):
            def __del__(self) -> None:
                try:
                    asyncio.get_running_loop().create_task(self.aclose())
                except Exception:
                    pass

        async def refresh() -> None: ...

        async def schedule_refresh() -> None:
            asyncio.create_task(refresh())
        """,
        lines=(8, 15),
        filename="app/client.py",
    )
    messages = {f.location.line: f.message for f in _findings("FX208", example)}
    assert list(messages) == [8, 15], messages
    assert messages[8] == (
        "The task from `asyncio.get_running_loop().create_task()` is discarded, so it can be garbage-collected "
        "before it finishes and its exception is never seen; keep a reference (a set plus "
        "`task.add_done_callback(tasks.discard)`)."
    ), messages[8]
    assert "or use an `asyncio.TaskGroup`" in messages[15], messages[15]


def test_fx208_long_running_loop_is_kept_and_cancelled() -> None:
    # Fresh corpus (a retention pruner started from a startup handler): the task runs a
    # `while True:` poller. A `TaskGroup` would wait for it forever and `BackgroundTasks`
    # runs after one response; the advice is to keep it and cancel it at shutdown. The
    # poller logs a failed round and goes on: no exception reaches the task. A flusher
    # without such a `try` still loses its exception.
    example = Invalid(
        """
        import asyncio
        import logging

        from fastapi import FastAPI

        app = FastAPI()
        logger = logging.getLogger(__name__)

        async def prune_expired() -> None: ...

        async def retention_loop() -> None:
            interval = 3600
            while True:
                try:
                    await prune_expired()
                except Exception:
                    logger.exception("retention prune failed")
                await asyncio.sleep(interval)

        async def flush_loop() -> None:
            while True:
                await asyncio.sleep(5)
                await prune_expired()

        @app.on_event("startup")
        async def start_background_jobs() -> None:
            asyncio.create_task(retention_loop())
            asyncio.create_task(flush_loop())
        """,
        lines=(27, 28),
    )
    messages = {f.location.line: f.message for f in _findings("FX208", example)}
    assert list(messages) == [27, 28], messages
    assert messages[27] == (
        "The task from `asyncio.create_task()` is discarded, so it can be garbage-collected before it "
        "finishes; it runs until cancelled: keep the task (on `app.state` or in a module-level set) and "
        "cancel it at shutdown."
    ), messages[27]
    assert "its exception is never seen; it runs until cancelled" in messages[28], messages[28]
