"""Review speed on the real-code corpus, beside the floor and the peers.

For each project of `benchmarks/corpus.py` (downloaded at run time, never
committed): our cold review (a fresh process, default `--jobs`), the floor
(`ast.parse` plus one `ast.walk` of every file, in one process), and the peers
installed in this environment: `ruff check --select FAST,ASYNC,S --no-cache`,
`bandit -r`, and `semgrep` when it is installed. Prints a markdown table with the
ratios. Figures are printed, never asserted.

    python benchmarks/compare_peers.py [--cache DIR] [--project NAME ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import PROJECTS, Project, download

BIN = Path(sys.executable).parent


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def count_lines(files: list[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in files)


def floor_seconds(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for _ in ast.walk(tree):
            pass
    return time.perf_counter() - started


def timed(command: list[str]) -> float | None:
    """Wall seconds of a command (None when the tool is not installed)."""
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        return None
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def tool(name: str) -> str:
    local = BIN / name
    return str(local) if local.exists() else name


def ratio(ours: float, other: float | None) -> str:
    return f"{ours / other:.2f}" if other else "n/a"


def seconds(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "not installed"


@dataclass
class Row:
    project: str
    files: int
    lines: int
    floor: float
    ours: float | None
    ruff: float | None
    bandit: float | None
    semgrep: float | None


def measure(project: Project, folder: Path) -> Row:
    files = python_files(folder)
    rules = Path(__file__).parent / "semgrep-rules"
    return Row(
        project=f"{project.name} {project.version}",
        files=len(files),
        lines=count_lines(files),
        floor=floor_seconds(files),
        ours=timed([tool("fastapi-expert"), "review", "--isolated", "--exit-zero", "--format", "json", "-o", os.devnull, str(folder)]),
        ruff=timed([tool("ruff"), "check", "--select", "FAST,ASYNC,S", "--no-cache", "--exit-zero", "--isolated", "-q", str(folder)]),
        bandit=timed([tool("bandit"), "-r", "-q", "-f", "json", "-o", os.devnull, str(folder)]),
        semgrep=timed([tool("semgrep"), "scan", "--config", str(rules), "--quiet", "--metrics=off", str(folder)])
        if rules.is_dir()
        else None,
    )


def total(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if len(known) == len(values) and known else None


def print_row(name: str, files: int, lines: int, floor: float, ours: float, ruff: float | None, bandit: float | None, semgrep: float | None) -> None:
    print(
        f"| {name} | {files} | {lines:,} | {floor:.1f} | {ours:.1f} | {seconds(ruff)} | {seconds(bandit)} "
        f"| {seconds(semgrep)} | {ratio(ours, floor)} | {ratio(ours, ruff)} | {ratio(ours, bandit)} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="keep the downloads here (default: a temporary folder)")
    parser.add_argument("--project", action="append", help="only these projects (repeatable)")
    args = parser.parse_args()
    chosen = tuple(p for p in PROJECTS if not args.project or p.name in args.project)
    with tempfile.TemporaryDirectory(prefix="fastapi-expert-corpus-") as tmp:
        folders = download(chosen, args.cache or Path(tmp))
        rows = [measure(project, folder) for project, folder in folders.items()]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print()
    print("| project | files | lines | floor s | ours s | ruff s | bandit s | semgrep s | ours/floor | ours/ruff | ours/bandit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print_row(r.project, r.files, r.lines, r.floor, r.ours or 0.0, r.ruff, r.bandit, r.semgrep)
    ours = sum(r.ours or 0.0 for r in rows)
    lines = sum(r.lines for r in rows)
    print_row(
        "**total**",
        sum(r.files for r in rows),
        lines,
        sum(r.floor for r in rows),
        ours,
        total([r.ruff for r in rows]),
        total([r.bandit for r in rows]),
        total([r.semgrep for r in rows]),
    )
    print()
    print(f"ours: {lines / ours:,.0f} lines/s cold; peak RSS of any child process: {peak:.0f} MiB")
    print("warm (cached) re-review: not measured: fastapi-expert has no result cache yet")
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
