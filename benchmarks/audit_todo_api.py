"""Print the wall time of `fastapi-expert audit` on examples/todo-api, probes included.

The audit runs in the todo-api's own virtual environment (its dependencies are not
ours) with this checkout's `src` on PYTHONPATH, from a scratch directory (the app's
SQLite file lands there), as a user would run it:

    python benchmarks/audit_todo_api.py [--runs N]

Figures are printed, never asserted. The issue's budget is 2 s including the probes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TODO = ROOT / "examples" / "todo-api"
PYTHON = TODO / ".venv" / "bin" / "python"
BUDGET_SECONDS = 2.0


def one_run(workdir: str) -> tuple[float, dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [str(PYTHON), "-m", "fastapi_expert", "audit", "todo_api.app:create_app", "--factory", "--format", "json"]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if completed.returncode not in (0, 1):
        sys.exit(f"audit failed (exit {completed.returncode}): {completed.stderr.strip()}")
    summary = json.loads(completed.stdout)["summary"]
    return wall, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not PYTHON.exists():
        print(f"{PYTHON} does not exist: run `make -C examples/todo-api venv` first", file=sys.stderr)
        return 2
    walls: list[float] = []
    summary: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as workdir:
        for _ in range(args.runs):
            wall, summary = one_run(workdir)
            walls.append(wall)
    probes = summary.get("probes") or {}
    assert isinstance(probes, dict)
    print(f"audit todo_api.app:create_app (FastAPI {summary['fastapi_version']}, {summary['routes']} routes, "
          f"{probes.get('requests')} probe requests, {summary['findings']} findings)")
    print(f"wall time, whole process (interpreter start, imports, lifespan, probes), {args.runs} runs:")
    print(f"  median {statistics.median(walls):.2f} s   min {min(walls):.2f} s   max {max(walls):.2f} s")
    print(f"  inside the audit (import to report): {summary['seconds']:.2f} s; probes alone: {probes.get('seconds')} s")
    verdict = "within" if statistics.median(walls) < BUDGET_SECONDS else "OVER"
    print(f"  {verdict} the {BUDGET_SECONDS:g} s budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
