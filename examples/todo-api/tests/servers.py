"""Throwaway PostgreSQL and Redis servers on loopback, for tests and the benchmark.

They run from the server binaries (Debian: `apt-get install postgresql redis-server`)
in a temporary directory, on a free port, and are always stopped. PostgreSQL refuses to
run as root, so as root (CI) it runs as the unprivileged `nobody` user via `runuser`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "install them with: apt-get install postgresql redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process`, killing it if it has not exited after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def run_uvicorn(env: dict[str, str], log: Path, *options: str) -> Iterator[int]:
    """One uvicorn worker of the app on a free loopback port (`env` added to the
    environment, its output in `log`); yields the port."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "todo_api.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                *options,
            ],
            env=os.environ | env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, 30)
            yield port
        finally:
            stop_process(process)


def postgres_bin_dir() -> Path | None:
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    # Debian installs each major version side by side; take the newest.
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return candidates[0].parent if candidates else None


def redis_server_bin() -> str | None:
    return shutil.which("redis-server")


def _as_unprivileged(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "nobody", "--", *cmd]


@dataclass(frozen=True)
class PostgresServer:
    port: int
    user: str = "postgres"

    def url(self, database: str, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"


@contextlib.contextmanager
def run_postgres() -> Iterator[PostgresServer]:
    bindir = postgres_bin_dir()
    if bindir is None:
        raise FileNotFoundError(f"PostgreSQL server binaries (pg_ctl) not found; {INSTALL_HINT}")
    # As root the server runs as `nobody`, which must be able to reach the directory:
    # /tmp is world-traversable, a custom TMPDIR under /root is not.
    parent = "/tmp" if os.geteuid() == 0 else None  # noqa: S108
    workdir = Path(tempfile.mkdtemp(prefix="todo-api-pg-", dir=parent))
    data = workdir / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(workdir, "nobody")
        shutil.chown(data, "nobody")
    port = free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    subprocess.run(
        _as_unprivileged(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
        env=env,
        cwd=workdir,
    )
    # fsync off: a crash only loses a throwaway test cluster, and it is much faster.
    options = f"-h 127.0.0.1 -p {port} -k {workdir} -F -c max_connections=200"
    subprocess.run(
        _as_unprivileged(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(workdir / "log"),
                "-w",
                "-t",
                "30",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        env=env,
        cwd=workdir,
    )
    try:
        wait_for_port(port, 30)
        yield PostgresServer(port)
    finally:
        subprocess.run(
            _as_unprivileged(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            check=False,
            capture_output=True,
            env=env,
            cwd=workdir,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def run_redis() -> Iterator[str]:
    binary = redis_server_bin()
    if binary is None:
        raise FileNotFoundError(f"redis-server not found; {INSTALL_HINT}")
    workdir = Path(tempfile.mkdtemp(prefix="todo-api-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 15)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)
        shutil.rmtree(workdir, ignore_errors=True)
