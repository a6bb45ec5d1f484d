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


def _review_batch(indices: list[int]) -> list[Finding]:
    assert _STATE is not None, "worker started without the shared model"
    modules, project, run_file = _STATE
    out: list[Finding] = []
    for index in indices:
        run_file(modules[index], project, out.append)
    return out


# Batches per worker: enough that a slow batch at the end does not leave the
# other workers idle for long, few enough that a round trip per file (a
# thousand on a large project) does not eat the gain.
_BATCHES_PER_JOB = 8


def batches(modules: Sequence[ModuleInfo], indices: list[int], jobs: int) -> list[list[int]]:
    """Split the files into batches of about equal size in characters, the largest
    files first, so the work that remains at the end is small."""
    count = max(1, min(len(indices), jobs * _BATCHES_PER_JOB))
    out: list[list[int]] = [[] for _ in range(count)]
    sizes = [0] * count
    for index in sorted(indices, key=lambda i: -len(modules[i].source.text)):
        lightest = min(range(count), key=sizes.__getitem__)
        out[lightest].append(index)
        sizes[lightest] += len(modules[index].source.text)
    return [b for b in out if b]


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
        failed = _run_pool(batches(modules, list(range(len(modules))), jobs), jobs, findings)
        for index in failed:  # one at a time, to find the file that kills its worker
            if _run_pool([[index]], 1, findings):
                findings.append(_died(modules[index], *internal_code))
    finally:
        _STATE = None
    return findings


def _run_pool(work: list[list[int]], jobs: int, sink: list[Finding]) -> list[int]:
    """Run the batches; return the indices of those whose worker died before answering."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork")
    failed: list[int] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future[list[Finding]], list[int]] = {pool.submit(_review_batch, b): b for b in work}
        for future, batch in futures.items():
            try:
                sink.extend(future.result())
            except BrokenProcessPool:
                failed.extend(batch)
    return failed
