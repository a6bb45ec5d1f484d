"""Cold review time of several versions of the tool on the same corpus, alternated.

On a machine whose speed drifts during the day, two benchmark runs made hours apart
cannot tell a slower version from a slower machine; this runs the versions in turn,
round after round, so that each round sees the same machine. Each version is a `src`
folder (of a checkout or `git worktree` of the commit to compare), put first on
`PYTHONPATH` of a fresh `python -m fastapi_expert review --no-cache` per project.

    git worktree add /tmp/old <commit>
    python benchmarks/compare_versions.py --corpus DIR/src /tmp/old/src src

`DIR` is the folder given to `review_corpus.py --cache` or `compare_peers.py --cache`.
"""

from __future__ import annotations

import argparse
import compileall
import os
import subprocess
import sys
import time
from pathlib import Path


def cold_total(src: Path, projects: list[Path], jobs: int | None = None) -> float:
    """Seconds of wall time for a cold review of every project, one after the other."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    extra = [] if jobs is None else ["--jobs", str(jobs)]
    start = time.perf_counter()
    for project in projects:
        subprocess.run(
            [sys.executable, "-m", "fastapi_expert", "review", "--no-cache", *extra, str(project)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding one folder per project")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--jobs",
        type=int,
        action="append",
        help="run each version with this `--jobs` too (repeatable: `--jobs 1 --jobs 2` compares one process with two)",
    )
    parser.add_argument("--project", action="append", help="only the corpus folders with these names (repeatable)")
    parser.add_argument("sources", type=Path, nargs="+", help="`src` folders of the versions to compare")
    args = parser.parse_args()
    projects = sorted(p for p in args.corpus.iterdir() if p.is_dir() and (not args.project or p.name in args.project))
    if not projects:
        parser.error(f"no project folder in {args.corpus}")
    for src in args.sources:
        if not (src / "fastapi_expert").is_dir():
            parser.error(f"{src} holds no fastapi_expert package")
        compileall.compile_dir(src / "fastapi_expert", quiet=1)  # as an installed package is
    print(f"{len(projects)} projects, {args.rounds} rounds, versions alternated in each round")
    runs: list[tuple[Path, int | None]] = [(src, jobs) for src in args.sources for jobs in (args.jobs or [None])]
    totals: dict[str, list[float]] = {}
    for round_number in range(1, args.rounds + 1):
        for src, jobs in runs:
            label = str(src) if jobs is None else f"{src} --jobs {jobs}"
            seconds = cold_total(src, projects, jobs)
            totals.setdefault(label, []).append(seconds)
            print(f"round {round_number}  {label}  {seconds:6.2f} s", flush=True)
    for label, seconds_list in totals.items():
        print(f"mean  {label}  {sum(seconds_list) / len(seconds_list):6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
