"""Review speed on the real-code corpus, beside the floor and the peers.

For each project of `benchmarks/corpus.py` (downloaded at run time, never
committed), in the same run:

- ours, cold: a fresh process and an empty result cache (default `--jobs`);
- ours, warm: the same review again, answered from the cache;
- ours, one file changed: a comment appended to the project's largest file,
  then the review again (the cache reuses results only for an unchanged scope,
  so this is a full analysis; the file is restored afterwards);
- the floor: `ast.parse` plus one `ast.walk` of every file, in one process;
- the peers installed in this environment: `ruff check --select FAST,ASYNC,S
  --no-cache`, `bandit -r`, and `semgrep scan` with the local rules of
  `benchmarks/semgrep-rules/` when semgrep is installed (`make bench-peers`
  installs bandit into the venv and semgrep into `.venv-semgrep`; semgrep gets
  `--jobs` = the cores, as we do, and no version check: offline, that check
  stalls each run for about 97 s).

Prints a markdown table with the ratios and each run's peak memory. Figures are
printed, never asserted.

    python benchmarks/compare_peers.py [--cache DIR] [--corpus first|second|all] [--project NAME ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import CORPORA, Project, add_corpus_option, download

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
SEMGREP_ENV = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}


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


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float  # the largest resident set of the process (or of its largest child)


def timed(command: list[str], env: dict[str, str] | None = None) -> Run | None:
    """Wall time and peak memory of a command (None when the tool is not installed)."""
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        return None
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not the sum of all children
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
    return Run(elapsed, usage.ru_maxrss / 1024)


def tool(name: str) -> str:
    local = BIN / name
    if local.exists():
        return str(local)
    beside = ROOT / f".venv-{name}" / "bin" / name
    return str(beside) if beside.exists() else name


def ratio(ours: float, other: Run | float | None) -> str:
    value = other.seconds if isinstance(other, Run) else other
    return f"{ours / value:.2f}" if value else "n/a"


def seconds(value: Run | float | None) -> str:
    if value is None:
        return "not installed"
    return f"{value.seconds if isinstance(value, Run) else value:.2f}"


@dataclass
class Row:
    project: str
    files: int
    lines: int
    floor: float
    cold: Run
    warm: Run
    changed: Run
    ruff: Run | None
    bandit: Run | None
    semgrep: Run | None


def ours(folder: Path, cache: Path) -> list[str]:
    return [
        tool("fastapi-expert"), "review", "--isolated", "--exit-zero", "--cache-dir", str(cache),
        "--format", "json", "-o", os.devnull, str(folder),
    ]


def touch_largest(files: list[Path]) -> tuple[Path, bytes]:
    """Append a comment to the largest file; returns it and its old bytes."""
    largest = max(files, key=lambda p: p.stat().st_size)
    old = largest.read_bytes()
    largest.write_bytes(old + b"\n# edited by benchmarks/compare_peers.py\n")
    return largest, old


def measure(project: Project, folder: Path) -> Row:
    files = python_files(folder)
    rules = Path(__file__).parent / "semgrep-rules"
    with tempfile.TemporaryDirectory(prefix="fastapi-expert-bench-cache-") as cache:
        cold = timed(ours(folder, Path(cache)))
        warm = timed(ours(folder, Path(cache)))
        edited, old = touch_largest(files)
        try:
            changed = timed(ours(folder, Path(cache)))
        finally:
            edited.write_bytes(old)
    assert cold is not None and warm is not None and changed is not None
    return Row(
        project=f"{project.name} {project.version}",
        files=len(files),
        lines=count_lines(files),
        floor=floor_seconds(files),
        cold=cold,
        warm=warm,
        changed=changed,
        ruff=timed([tool("ruff"), "check", "--select", "FAST,ASYNC,S", "--no-cache", "--exit-zero", "--isolated", "-q", str(folder)]),
        bandit=timed([tool("bandit"), "-r", "-q", "-f", "json", "-o", os.devnull, str(folder)]),
        semgrep=timed(
            [
                tool("semgrep"), "scan", "--config", str(rules), "--quiet", "--metrics=off",
                "--disable-version-check", "--jobs", str(os.cpu_count() or 1), str(folder),
            ],
            SEMGREP_ENV,
        )
        if rules.is_dir()
        else None,
    )


def total(values: list[Run | None]) -> float | None:
    known = [v.seconds for v in values if v is not None]
    return sum(known) if len(known) == len(values) and known else None


HEADER = (
    "| project | files | lines | floor s | cold s | warm s | 1 file changed s | peak MiB | ruff s | bandit s | semgrep s "
    "| cold/floor | cold/ruff | cold/bandit | cold/semgrep |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def print_row(name: str, files: int, lines: int, floor: float, cold: float, warm: float, changed: float, peak: float,
              ruff: Run | float | None, bandit: Run | float | None, semgrep: Run | float | None) -> None:
    print(
        f"| {name} | {files} | {lines:,} | {floor:.2f} | {cold:.2f} | {warm:.2f} | {changed:.2f} | {peak:.0f} "
        f"| {seconds(ruff)} | {seconds(bandit)} | {seconds(semgrep)} "
        f"| {ratio(cold, floor)} | {ratio(cold, ruff)} | {ratio(cold, bandit)} | {ratio(cold, semgrep)} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="keep the downloads here (default: a temporary folder)")
    parser.add_argument("--project", action="append", help="only these projects (repeatable)")
    add_corpus_option(parser)
    args = parser.parse_args()
    chosen = tuple(p for p in CORPORA[args.corpus] if not args.project or p.name in args.project)
    with tempfile.TemporaryDirectory(prefix="fastapi-expert-corpus-") as tmp:
        folders = download(chosen, args.cache or Path(tmp))
        rows = [measure(project, folder) for project, folder in folders.items()]
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print()
    print(HEADER)
    for r in rows:
        print_row(r.project, r.files, r.lines, r.floor, r.cold.seconds, r.warm.seconds, r.changed.seconds,
                  r.cold.peak_mib, r.ruff, r.bandit, r.semgrep)
    lines = sum(r.lines for r in rows)
    cold = sum(r.cold.seconds for r in rows)
    print_row(
        "**total**",
        sum(r.files for r in rows),
        lines,
        sum(r.floor for r in rows),
        cold,
        sum(r.warm.seconds for r in rows),
        sum(r.changed.seconds for r in rows),
        max(r.cold.peak_mib for r in rows),
        total([r.ruff for r in rows]),
        total([r.bandit for r in rows]),
        total([r.semgrep for r in rows]),
    )
    print()
    print(f"ours: {lines / cold:,.0f} lines/s cold; peak memory of one review: {max(r.cold.peak_mib for r in rows):.0f} MiB")
    print(
        f"warm, unchanged: slowest project {max(r.warm.seconds for r in rows):.2f} s, "
        f"median {statistics.median(r.warm.seconds for r in rows):.2f} s; "
        f"one file changed: slowest {max(r.changed.seconds for r in rows):.2f} s (a full analysis: see the README)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
