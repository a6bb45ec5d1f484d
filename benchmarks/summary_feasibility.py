"""Module summaries on the real-code corpus: are they faithful, and are they
cheap enough for the incremental review of `docs/incremental-review.md`?

For each project: every module's summary is checked against its tree
(`summary.mismatches`, after a JSON round trip), then timed: building the
summaries, writing them as JSON, and reading them back both as one file and as
one file per module (the two layouts a cache could use). The warm-review target
is 0.5 s for a whole re-review with one file changed; reading the summaries is
one part of it. Figures are printed, never asserted.

    python benchmarks/summary_feasibility.py [--cache DIR] [--project NAME ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

from corpus import PROJECTS, download

from fastapi_expert.config import Config
from fastapi_expert.review import engine
from fastapi_expert.review.discovery import discover
from fastapi_expert.review.model.module import ModuleInfo, build_module
from fastapi_expert.review.model.summary import ModuleSummary, mismatches, summarise
from fastapi_expert.review.source import SourceError, SourceFile, parse_source_detailed


def _modules(folder: Path) -> tuple[list[ModuleInfo], float]:
    started = time.perf_counter()
    modules: list[ModuleInfo] = []
    for found in discover([folder], Config(), folder):
        text = engine.read_file(found.path)[0]
        if text is None:
            continue
        try:
            tree = parse_source_detailed(text, found.display).tree
        except (SourceError, RecursionError):
            continue
        modules.append(build_module(SourceFile(found.display, text, tree), found.module))
    return modules, time.perf_counter() - started


def _measure(name: str, folder: Path, scratch: Path) -> tuple[str, int]:
    modules, parse_seconds = _modules(folder)
    started = time.perf_counter()
    summaries = [summarise(module) for module in modules]
    summarise_seconds = time.perf_counter() - started
    started = time.perf_counter()
    blob = json.dumps([s.to_json() for s in summaries], separators=(",", ":"))
    dump_seconds = time.perf_counter() - started

    started = time.perf_counter()
    restored = [ModuleSummary.from_json(item) for item in json.loads(blob)]
    load_seconds = time.perf_counter() - started

    per_module = scratch / name
    per_module.mkdir()
    for i, summary in enumerate(summaries):
        (per_module / f"{i}.json").write_text(json.dumps(summary.to_json(), separators=(",", ":")))
    started = time.perf_counter()
    for i in range(len(summaries)):
        ModuleSummary.from_json(json.loads((per_module / f"{i}.json").read_text()))
    files_seconds = time.perf_counter() - started

    problems = [p for module, summary in zip(modules, restored, strict=True) for p in mismatches(module, summary)]
    problems += [f"{s.path}: changed by the JSON round trip" for s, r in zip(summaries, restored, strict=True) if s != r]
    for problem in problems[:5]:
        print(f"  {problem}", file=sys.stderr)
    calls = sum(len(f.calls) for s in summaries for f in s.functions)
    row = (
        f"| {name} | {len(modules)} | {calls:,} | {parse_seconds:.2f} | {summarise_seconds:.2f} | "
        f"{len(blob) / 1e6:.1f} | {dump_seconds:.2f} | {load_seconds:.3f} | {files_seconds:.3f} | {len(problems)} |"
    )
    return row, len(problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="keep the corpus downloads here (default: a temporary folder)")
    parser.add_argument("--project", action="append", help="only these projects (repeatable)")
    args = parser.parse_args()
    gc.disable()  # as the review does
    projects = tuple(p for p in PROJECTS if not args.project or p.name in args.project)
    with tempfile.TemporaryDirectory(prefix="fastapi-expert-summaries-") as tmp:
        folders = download(projects, args.cache or Path(tmp) / "corpus")
        print(
            "| project | modules | call sites | parse and facts s | summarise s | JSON MB | write s | "
            "read (one file) s | read (a file per module) s | mismatches |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        total = 0
        for project, folder in folders.items():
            scratch = Path(tmp) / "summaries"
            scratch.mkdir(exist_ok=True)
            row, problems = _measure(f"{project.name} {project.version}", folder, scratch)
            print(row, flush=True)
            total += problems
    print(f"\nmismatches between summaries and trees: {total}")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
