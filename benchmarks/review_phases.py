"""Where a review's time goes: each phase of the pipeline, in one process, and the
rules that cost the most. For finding what to make faster next; figures are
printed, never asserted.

    python benchmarks/review_phases.py FOLDER [FOLDER ...] [--top N]

Several folders are reviewed one after the other, each as its own project (the
corpus: `DIR/src/*`), and the phases are summed. A rule's time is measured by
wrapping each of its handlers in a timer; the wrapper itself costs a few tenths of
a microsecond per call, which on `visit_Call` (every call of the code base) would
be most of a cheap rule's figure, so a handler that does nothing is timed the same
way beside the rules and its cost per call is taken off each rule's time. The rule
that first asks a question the project model answers lazily (a call's target, the
call sites of a function) pays for it; the others then read the kept answer.
"""

from __future__ import annotations

import argparse
import ast
import gc
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from fastapi_expert.config import Config
from fastapi_expert.review import engine
from fastapi_expert.review.discovery import discover
from fastapi_expert.review.model.module import ModuleInfo, build_module
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import FileContext, ProjectContext, Rule
from fastapi_expert.review.source import SourceError, SourceFile, parse_source_detailed
from fastapi_expert.types import Finding

_BASELINE = "(no-op)"  # the code under which the do-nothing handler's time is kept

# (rule code, "visit_X" or "check_file") -> [seconds, calls]
Spent = defaultdict[tuple[str, str], list[float]]


def _do_nothing(node: ast.AST, ctx: FileContext) -> None:
    return None


def _timed_rules(rule_set: engine.RuleSet, spent: Spent) -> None:
    """Wrap every visit and file check so its time and calls are charged to its rule,
    with a do-nothing handler per node type to measure what the wrapping costs."""
    for node_type, handlers in rule_set.by_node.items():
        wrapped: list[tuple[Rule, Callable[..., None]]] = []
        for rule, method in [*handlers, (handlers[0][0], _do_nothing)]:
            code = _BASELINE if method is _do_nothing else rule.code
            key = (code, node_type.__name__)

            def timed(node: ast.AST, ctx: FileContext, method: Callable[..., None] = method, key: tuple[str, str] = key) -> None:
                started = time.perf_counter()
                method(node, ctx)
                entry = spent[key]
                entry[0] += time.perf_counter() - started
                entry[1] += 1

            wrapped.append((rule, timed))
        rule_set.by_node[node_type] = wrapped
    for rule in rule_set.file_rules:
        check = rule.check_file

        def timed_check(ctx: FileContext, check: Callable[[FileContext], None] = check, code: str = rule.code) -> None:
            started = time.perf_counter()
            check(ctx)
            entry = spent[(code, "file")]
            entry[0] += time.perf_counter() - started
            entry[1] += 1

        rule.check_file = timed_check  # type: ignore[method-assign]


def _net(spent: Spent) -> list[tuple[float, str, str, int]]:
    """(seconds less the wrapper's cost, code, node type, calls), costliest first."""
    overhead = {node: seconds / calls for (code, node), (seconds, calls) in spent.items() if code == _BASELINE and calls}
    rows = [
        (seconds - calls * overhead.get(node, 0.0), code, node, int(calls))
        for (code, node), (seconds, calls) in spent.items()
        if code != _BASELINE
    ]
    return sorted(rows, reverse=True)


def _project_rules(project: Project, rule_set: engine.RuleSet, spent: Spent) -> float:
    """Run the whole-project rules once each (after the file rules, as the review
    does), charging each its time; return the total."""
    context = ProjectContext(project, lambda _f: None)
    total = 0.0
    for rule in rule_set.project_rules:
        context.rule = rule
        started = time.perf_counter()
        rule.check_project(context)
        seconds = time.perf_counter() - started
        entry = spent[(rule.code, "project")]
        entry[0] += seconds
        entry[1] += 1
        total += seconds
    return total


def _project_modules(folder: Path, config: Config, phases: defaultdict[str, float]) -> list[ModuleInfo]:
    clock = time.perf_counter()
    found = discover([folder], config, Path.cwd())
    texts = [(f, engine.read_file(f.path)[0]) for f in found]
    now = time.perf_counter()
    phases["discover and read"] += now - clock
    clock = now
    sources: list[tuple[str, SourceFile]] = []
    for f, text in texts:
        if text is None:
            continue
        try:
            sources.append((f.module, SourceFile(f.display, text, parse_source_detailed(text, f.display).tree)))
        except (SourceError, RecursionError):
            continue
    now = time.perf_counter()
    phases["parse"] += now - clock
    modules = [build_module(source, name) for name, source in sources]
    phases["module facts"] += time.perf_counter() - now
    return modules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", metavar="FOLDER")
    parser.add_argument("--top", type=int, default=10, help="how many rule handlers to list (default 10)")
    args = parser.parse_args()
    gc.disable()  # as the review does
    config = Config()
    phases: defaultdict[str, float] = defaultdict(float)
    spent: Spent = defaultdict(lambda: [0.0, 0])
    findings = 0
    for folder in args.folders:
        modules = _project_modules(folder, config, phases)
        clock = time.perf_counter()
        project = Project(modules)
        _ = project.fastapi
        now = time.perf_counter()
        phases["FastAPI model"] += now - clock
        _ = project.calls
        clock = time.perf_counter()
        phases["call graph (loop roots)"] += clock - now
        sink: list[Finding] = []
        bare = engine.RuleSet([])
        for module in modules:
            engine._run_file_rules(module, project, bare, sink.append)
        now = time.perf_counter()
        phases["walk, no rule"] += now - clock
        plain = engine.RuleSet(engine.enabled_rules(config))
        for module in modules:
            engine._run_file_rules(module, project, plain, sink.append)
        clock = time.perf_counter()
        phases["walk and rules"] += clock - now
        findings += len(sink)
        # The timed pass reads the answers the plain pass left on the nodes and
        # the project: it charges each rule its own work, not the first asker's.
        timed = engine.RuleSet(engine.enabled_rules(config))
        _timed_rules(timed, spent)
        for module in modules:
            engine._run_file_rules(module, project, timed, lambda _f: None)
        phases["project rules"] += _project_rules(project, plain, spent)
    for name, seconds in phases.items():
        print(f"{name:<24} {seconds:6.2f} s")
    rows = _net(spent)
    rule_seconds = sum(row[0] for row in rows)
    print(f"{'  of which rule code':<24} {rule_seconds:6.2f} s  (file rules timed again, wrapper cost taken off, and project rules; {findings} findings)")
    lazy = phases["walk and rules"] - phases["walk, no rule"] - (rule_seconds - phases["project rules"])
    print(f"{'  and model answers':<24} {lazy:6.2f} s  (asked first by the rules, kept for the second pass)")
    for seconds, code, node, calls in rows[: args.top]:
        print(f"    {code} {node:<18} {seconds:6.3f} s  {calls:8d} calls  {seconds / calls * 1e6:7.2f} us per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
