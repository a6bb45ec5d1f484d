"""Load the service with wrk and print requests/s and latency per endpoint.

Each variant (SQLite + in-memory backends; PostgreSQL + Redis when their binaries are
installed) runs one uvicorn worker on loopback. wrk runs in another process with one
thread and 32 connections for BENCH_DURATION seconds per endpoint. Every endpoint is
shown beside the same server's bare GET /health/live, the ceiling of the stack.

Usage: make bench  (or: .venv/bin/python bench/run_bench.py)
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import (  # noqa: E402 - needs the sys.path entry above
    postgres_bin_dir,
    redis_server_bin,
    run_postgres,
    run_redis,
    run_uvicorn,
)

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
VARIANTS = os.environ.get("BENCH_VARIANTS", "sqlite,postgres").split(",")
PASSWORD = "benchmark password"  # noqa: S105 - a throwaway local account


@dataclass
class Result:
    variant: str
    endpoint: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    redis_note: str = ""


def redis_counters(redis_url: str | None) -> tuple[int, int] | None:
    """(commands processed, socket reads) of the Redis server: reads ~ round trips."""
    if redis_url is None:
        return None
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.info("stats")
        return int(stats["total_commands_processed"]), int(stats["total_reads_processed"])
    finally:
        client.close()


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, script: Path | None) -> tuple[float, float, float, int, int]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency", "--timeout", "5s"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(
        [*cmd, url], check=True, capture_output=True, text=True, timeout=DURATION + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    # Anchored: the "Latency ... +/- Stdev" column ends in "%" too (e.g. "75.50%").
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(errors_match.group(1)) if errors_match else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return rps, p50, p99, errors, requests


def lua(path: Path, token: str, method: str = "GET", body: str | None = None) -> Path:
    lines = [
        f'wrk.method = "{method}"',
        f'wrk.headers["Authorization"] = "Bearer {token}"',
    ]
    if body is not None:
        lines += ['wrk.headers["Content-Type"] = "application/json"', f"wrk.body = '{body}'"]
    path.write_text("\n".join(lines) + "\n")
    return path


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [str(Path(sys.executable).parent / "alembic"), "upgrade", "head"],
        check=True,
        cwd=ROOT,
        env=os.environ | env,
        capture_output=True,
        timeout=120,
    )


def bench_variant(variant: str, env: dict[str, str], workdir: Path) -> list[Result]:
    env = env | {
        "JWT_SECRET": secrets.token_urlsafe(48),
        "ACCESS_LOG": "false",
        "LOG_LEVEL": "WARNING",
        # The limiter stays on (its cost is part of every request) but never trips.
        "RATE_LIMIT_DEFAULT": "100000000/minute",
        "RATE_LIMIT_AUTH": "100000000/minute",
        "RATE_LIMIT_TOKEN": "100000000/minute",
        "CACHE_TTL_SECONDS": "3600",
    }
    migrate(env)
    results: list[Result] = []
    with run_uvicorn(env, workdir / f"{variant}.log", "--log-level", "warning") as port:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            email = f"bench-{secrets.token_hex(4)}@example.com"
            client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            token = client.post(
                "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            ids = [
                client.post(
                    "/api/v1/todos", json={"title": f"todo {i}", "tags": ["bench"]}, headers=auth
                ).json()["id"]
                for i in range(100)
            ]
            client.get(f"/api/v1/todos/{ids[0]}", headers=auth)  # warm the read cache
        get_script = lua(workdir / "get.lua", token)
        post_script = lua(
            workdir / "post.lua", token, "POST", '{"title": "from wrk", "priority": "high"}'
        )
        cases = [
            ("GET /health/live (ceiling)", "/api/v1/health/live", None),
            ("GET /todos/{id} (cached)", f"/api/v1/todos/{ids[0]}", get_script),
            ("GET /todos (page of 20)", "/api/v1/todos?limit=20", get_script),
            ("POST /todos", "/api/v1/todos", post_script),
        ]
        only = os.environ.get("BENCH_ONLY")  # e.g. "POST": the ceiling plus matching rows
        cases = [c for i, c in enumerate(cases) if i == 0 or not only or only in c[0]]
        for name, path, script in cases:
            before = redis_counters(env.get("REDIS_URL"))
            rps, p50, p99, errors, requests = run_wrk(base + path, script)
            after = redis_counters(env.get("REDIS_URL"))
            note = ""
            if before is not None and after is not None and requests:
                commands, reads = (a - b for a, b in zip(after, before, strict=True))
                note = (
                    f"{reads / requests:.2f} Redis socket reads (round trips) and "
                    f"{commands / requests:.2f} commands as Redis counts them (a script's "
                    "inner commands included) per request"
                )
            results.append(Result(variant, name, rps, p50, p99, errors, requests, note))
            print(f"  {variant:<18} {name:<28} {rps:>9.0f} req/s", file=sys.stderr)
    if any(r.errors for r in results):
        log = (workdir / f"{variant}.log").read_text(errors="replace").splitlines()
        print(f"  server log of {variant} (last lines):", *log[-15:], sep="\n    ", file=sys.stderr)
    return results


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        found = re.search(r"Model name:\s+(.*)", lscpu)
        model = found.group(1).strip() if found else model
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"nproc={os.cpu_count()}, CPU: {model}, Python {platform.python_version()}, "
        f"wrk -t1 -c{CONNECTIONS} -d{DURATION}s, one uvicorn worker (uvloop + httptools); "
        f"load average at the end {load} (other processes on the machine skew the figures)"
    )


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="todo-bench-") as tmp:
        workdir = Path(tmp)
        print("benchmarking (this takes a minute or two)...", file=sys.stderr)
        sqlite_env = {"DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}"}
        if "sqlite" in VARIANTS:
            results += bench_variant("sqlite+memory", sqlite_env, workdir)
        if "postgres" not in VARIANTS:
            pass
        elif postgres_bin_dir() and redis_server_bin():
            with run_postgres() as pg, run_redis() as redis_url:
                pg_env = {"DATABASE_URL": pg.url("postgres"), "REDIS_URL": redis_url}
                results += bench_variant("postgres+redis", pg_env, workdir)
        else:
            print("PostgreSQL/redis-server missing: skipping that variant", file=sys.stderr)

    print(f"\nMachine: {machine()}\n")
    print("| backend | endpoint | req/s | p50 ms | p99 ms | % of ceiling | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    ok = True
    for variant in dict.fromkeys(r.variant for r in results):
        rows = [r for r in results if r.variant == variant]
        ceiling = rows[0].rps
        for r in rows:
            ratio = 100 * r.rps / ceiling if ceiling else 0.0
            print(
                f"| {r.variant} | {r.endpoint} | {r.rps:.0f} | {r.p50_ms:.2f} | "
                f"{r.p99_ms:.2f} | {ratio:.0f} % | {r.errors} |"
            )
            ok = ok and r.errors == 0
        cached = next((r for r in rows if "cached" in r.endpoint), None)
        if cached is not None:
            print(
                f"\n{variant}: cached GET /todos/{{id}} at {100 * cached.rps / ceiling:.0f} % "
                f"of the ceiling (target >= 50 %), p99 {cached.p99_ms:.1f} ms (target < 50 ms)"
            )
            if cached.redis_note:
                print(f"{variant}: cached GET /todos/{{id}}: {cached.redis_note}")
            print()
    if not ok:
        # Reported, not fatal: a timeout under overload is a result worth seeing.
        print("WARNING: some requests failed or timed out (see the errors column)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
