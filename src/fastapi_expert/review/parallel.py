"""Per-file rules in several processes.

The model is built once, in this process: parsing, names, routes and the call
graph. Worker processes are then *forked*, so they share that model without
pickling a single tree, each runs the per-file rules on the files it is given,
and only the findings travel back. Where `fork` is not available (Windows,
macOS defaults) the review simply stays in one process.

A worker that dies (a segfault in an extension, an `os._exit` in a plugin rule)
does not end the review: the files it had are retried one at a time, and a file
that kills its worker again is reported as FX002 with its path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fastapi_expert.review.model.module import ModuleInfo
from fastapi_expert.review.model.project import Project
from fastapi_expert.types import Finding, Location

if TYPE_CHECKING:
    from concurrent.futures import Future

# Below this many files, starting processes costs more than it saves.
MIN_FILES_FOR_PARALLEL = 48

FileRunner = Callable[[ModuleInfo, Project, Callable[[Finding], None]], None]

# Set in the parent just before forking; the children read their copy.
_STATE: tuple[Sequence[ModuleInfo], Project, FileRunner] | None = None


def fork_available() -> bool:
    """Fork only where it exists and only from a single-threaded process: forking
    a process with threads (an editor's language server, the MCP server) can
    deadlock the child on a lock another thread held."""
    import multiprocessing  # not at module level: it costs start-up time on every review

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _review_one(index: int) -> list[Finding]:
    assert _STATE is not None, "worker started without the shared model"
    modules, project, run_file = _STATE
    out: list[Finding] = []
    run_file(modules[index], project, out.append)
    return out


def _died(module: ModuleInfo, code: str, name: str) -> Finding:
    from fastapi_expert.types import Severity

    return Finding(
        code,
        name,
        Severity.ERROR,
        Location(module.path, 1, 1, 1, 1),
        "internal error: the worker process died while reviewing this file; the review went on without it",
    )


def run_parallel(
    modules: Sequence[ModuleInfo],
    project: Project,
    run_file: FileRunner,
    jobs: int,
    internal_code: tuple[str, str],
) -> list[Finding]:
    """Run `run_file` on every module in `jobs` forked processes."""
    global _STATE  # noqa: PLW0603 - forked workers inherit the model through this global
    _STATE = (modules, project, run_file)
    findings: list[Finding] = []
    try:
        pending = list(range(len(modules)))
        failed = _run_pool(pending, jobs, findings)
        for index in failed:  # one at a time, to find the file that kills its worker
            if _run_pool([index], 1, findings):
                findings.append(_died(modules[index], *internal_code))
    finally:
        _STATE = None
    return findings


def _run_pool(indices: list[int], jobs: int, sink: list[Finding]) -> list[int]:
    """Run the indices; return those whose worker died before answering."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork")
    failed: list[int] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future[list[Finding]], int] = {pool.submit(_review_one, i): i for i in indices}
        for future, index in futures.items():
            try:
                sink.extend(future.result())
            except BrokenProcessPool:
                failed.append(index)
    return failed
