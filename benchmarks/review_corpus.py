"""Review real FastAPI services (see `corpus.py`) and print a markdown table.

Per project: files, lines, findings per area (FX1..FX7), files not analysed
(FX001), internal errors (FX002), files read through the newer-syntax rewrite
(FX003) and time. Exit 1 on any internal error, or on any FX001 for a file that
the newest Python on this machine parses (a file left unanalysed only because
its syntax is newer than the interpreter running the review).

    python benchmarks/review_corpus.py [--cache DIR] [--json FILE] [--corpus first|second|all]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from glob import glob
from pathlib import Path

from corpus import CORPORA, Project, add_corpus_option, download

from fastapi_expert.config import Config
from fastapi_expert.review.engine import ReviewResult, review_paths

AREAS = ("FX1", "FX2", "FX3", "FX4", "FX5", "FX6", "FX7")

# Node positions outside f-string internals and type parameters (which older
# `ast` versions report differently or not at all), run by both interpreters.
_POSITIONS = """
import ast
def positions(tree):
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values if isinstance(v, ast.Constant))
        if type(node).__name__ in ("TypeVar", "TypeVarTuple", "ParamSpec"):
            skip.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        name = type(node).__name__
        if name in ("TypeAlias", "Assign"):
            name = "Assign"  # `type X = v` is an Assign on the older interpreter
        if name == "TryStar":
            name = "Try"
        if name in ("JoinedStr", "FormattedValue") or id(node) in skip or not hasattr(node, "lineno"):
            continue
        out.append((name, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset))
    return sorted(out)
"""
_NATIVE_DUMP = _POSITIONS + """
import json, sys
print(json.dumps({p: positions(ast.parse(open(p, "rb").read())) for p in sys.argv[1:]}))
"""
_PARSES = "import ast, sys\nfor p in sys.argv[1:]:\n    try:\n        ast.parse(open(p, 'rb').read())\n        print(p)\n    except Exception:\n        pass\n"


def newest_python() -> tuple[str, tuple[int, int]] | None:
    """The newest interpreter on this machine other than the running one."""
    candidates = glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python"))
    candidates += [f"/usr/bin/python3.{minor}" for minor in range(10, 20)]
    best: tuple[str, tuple[int, int]] | None = None
    for exe in candidates:
        if not os.path.exists(exe):
            continue
        try:
            out = subprocess.run(
                [exe, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                capture_output=True, text=True, timeout=20, check=True,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            continue
        version = (int(out[0]), int(out[1]))
        if best is None or version > best[1]:
            best = (exe, version)
    return best


def parsed_by(python: str, paths: list[str]) -> set[str]:
    if not paths:
        return set()
    out = subprocess.run([python, "-c", _PARSES, *paths], capture_output=True, text=True, check=False)
    return set(out.stdout.splitlines())


def differential(newest: tuple[str, tuple[int, int]] | None) -> tuple[int, int, list[str]]:
    """Read the newest interpreter's own standard library through the rewrite.

    Every file there that this interpreter's `ast` rejects but the newest one
    parses is read with `parse_newer`, and each node's position is compared
    with the newest interpreter's native tree. Returns (files, identical, problems).
    """
    if newest is None or newest[1] <= sys.version_info[:2]:
        return 0, 0, []
    from fastapi_expert.review.compat import parse_newer
    from fastapi_expert.review.source import decode_source

    lib = subprocess.run(
        [newest[0], "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    rejected: list[str] = []
    for path in sorted(Path(lib).rglob("*.py")):
        if "site-packages" in path.parts:
            continue
        try:
            ast.parse(path.read_bytes())
        except SyntaxError:
            rejected.append(str(path))
        except (ValueError, RecursionError):
            continue
    newer = parsed_by(newest[0], rejected)
    native = json.loads(
        subprocess.run([newest[0], "-c", _NATIVE_DUMP, *sorted(newer)], capture_output=True, text=True, check=True).stdout
    )
    namespace: dict[str, object] = {}
    exec(_POSITIONS, namespace)
    positions = namespace["positions"]
    identical = 0
    problems: list[str] = []
    for path in sorted(newer):
        outcome = parse_newer(decode_source(Path(path).read_bytes()), path)
        if outcome.tree is None:
            problems.append(f"{path}: not rewritten: {outcome.reason}")
            continue
        got = [list(p) for p in positions(outcome.tree)]  # type: ignore[operator]
        if got == native[path]:
            identical += 1
        else:
            problems.append(f"{path}: node positions differ from Python {newest[1][0]}.{newest[1][1]}")
    return len(newer), identical, problems


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def review(project: Project, folder: Path) -> tuple[ReviewResult, float]:
    started = time.perf_counter()
    result = review_paths([folder], Config(), cwd=folder)
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="keep the downloads here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write every finding here (for reading a sample)")
    add_corpus_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fastapi-expert-corpus-") as tmp:
        folders = download(CORPORA[args.corpus], args.cache or Path(tmp))
        return run(folders, args.json)


def run(folders: dict[Project, Path], json_out: Path | None) -> int:
    newest = newest_python()
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    rows: list[str] = []
    totals: Counter[str] = Counter()
    failures: list[str] = []
    dump: list[dict[str, object]] = []
    header = "| project | files | lines | " + " | ".join(AREAS) + " | FX001 | FX002 | newer syntax (FX003) | seconds |"
    rows.append(header)
    rows.append("|" + "---|" * (header.count("|") - 1))
    for project, folder in folders.items():
        result, seconds = review(project, folder)
        codes = Counter(f.code for f in result.findings)
        areas = Counter(f.code[:3] for f in result.findings if f.code[2] != "0")
        newer = 0
        for f in result.findings:
            if f.code == "FX003":
                match = re.match(r"(\d+) files?", f.message)
                newer = int(match.group(1)) if match else 1
        unanalysed = sorted(str(folder / f.path) for f in result.findings if f.code == "FX001")
        if newest is not None and newest[1] > sys.version_info[:2]:
            too_new = parsed_by(newest[0], unanalysed)
        else:
            too_new = set()
        for f in result.findings:
            if f.code == "FX002":
                failures.append(f"{project.name}: {f.path}:{f.location.line}: {f.message}")
        for path in sorted(too_new):
            failures.append(f"{project.name}: {path}: not analysed, but Python {newest[1] if newest else '?'} parses it")
        rows.append(
            f"| {project.name} {project.version} | {result.files:,} | {result.lines:,} | "
            + " | ".join(str(areas.get(a, 0)) for a in AREAS)
            + f" | {codes.get('FX001', 0)} | {codes.get('FX002', 0)} | {newer} | {seconds:.1f} |"
        )
        totals["files"] += result.files
        totals["lines"] += result.lines
        totals["FX001"] += codes.get("FX001", 0)
        totals["FX002"] += codes.get("FX002", 0)
        totals["newer"] += newer
        totals["too_new"] += len(too_new)
        for a in AREAS:
            totals[a] += areas.get(a, 0)
        totals["ms"] += round(seconds * 1000)
        for f in result.findings:
            dump.append({"project": project.name, "root": str(folder), "code": f.code, "path": f.path,
                         "line": f.location.line, "column": f.location.column, "message": f.message})
    rows.append(
        f"| **total ({len(folders)})** | {totals['files']:,} | {totals['lines']:,} | "
        + " | ".join(str(totals[a]) for a in AREAS)
        + f" | {totals['FX001']} | {totals['FX002']} | {totals['newer']} | {totals['ms'] / 1000:.1f} |"
    )
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.machine()}; "
          f"review run by Python {platform.python_version()}; "
          f"newest Python for the FX001 check: {newest[1] if newest else 'none'}")
    print()
    print("\n".join(rows))
    print()
    print(f"files not analysed because their syntax is newer than Python {running}: {totals['too_new']}")
    files, identical, problems = differential(newest)
    if files:
        print(
            f"rewrite check: {files} files of Python {newest[1][0]}.{newest[1][1]}'s standard library use syntax "  # type: ignore[index]
            f"that Python {running} rejects; read through the rewrite with node positions identical to "
            f"the native tree: {identical}; not read: {sum('not rewritten' in p for p in problems)}"
        )
        for problem in problems:
            print("  ", problem)
    if json_out is not None:
        json_out.write_text(json.dumps(dump, indent=1), encoding="utf-8")
    for line in failures:
        print("FAIL", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
