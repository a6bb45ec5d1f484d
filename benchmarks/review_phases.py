"""Where a review's time goes: each phase of the pipeline, in one process, and the
rules that cost the most. For finding what to make faster next; figures are
printed, never asserted.

    python benchmarks/review_phases.py FOLDER [--top N]
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
from fastapi_expert.review.rules.base import FileContext, Rule
from fastapi_expert.review.source import SourceError, SourceFile, parse_source_detailed
from fastapi_expert.types import Finding


def _timed_rules(rule_set: engine.RuleSet, spent: defaultdict[str, float]) -> None:
    """Wrap every visit and file check so its time is charged to its rule."""
    for node_type, handlers in rule_set.by_node.items():
        wrapped: list[tuple[Rule, Callable[..., None]]] = []
        for rule, method in handlers:

            def timed(node: ast.AST, ctx: FileContext, method: Callable[..., None] = method, code: str = rule.code) -> None:
                started = time.perf_counter()
                method(node, ctx)
                spent[code] += time.perf_counter() - started

            wrapped.append((rule, timed))
        rule_set.by_node[node_type] = wrapped
    for rule in rule_set.file_rules:
        check = rule.check_file

        def timed_check(ctx: FileContext, check: Callable[[FileContext], None] = check, code: str = rule.code) -> None:
            started = time.perf_counter()
            check(ctx)
            spent[code] += time.perf_counter() - started

        rule.check_file = timed_check  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=10, help="how many rules to list (default 10)")
    args = parser.parse_args()
    gc.disable()  # as the review does
    config = Config()

    clock = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        print(f"{name:<24} {now - clock:6.2f} s")
        clock = now

    found = discover([args.folder], config, Path.cwd())
    texts = [(f, engine.read_file(f.path)[0]) for f in found]
    phase("discover and read")
    sources: list[tuple[str, SourceFile]] = []
    for f, text in texts:
        if text is None:
            continue
        try:
            sources.append((f.module, SourceFile(f.display, text, parse_source_detailed(text, f.display).tree)))
        except (SourceError, RecursionError):
            continue
    phase("parse")
    modules: list[ModuleInfo] = [build_module(source, name) for name, source in sources]
    phase("module facts")
    project = Project(modules)
    _ = project.fastapi
    phase("FastAPI model")
    _ = project.calls
    phase("call graph (loop roots)")
    bare = engine.RuleSet([])
    sink: list[Finding] = []
    for module in modules:
        engine._run_file_rules(module, project, bare, sink.append)
    phase("walk, no rule")
    rule_set = engine.RuleSet(engine.enabled_rules(config))
    spent: defaultdict[str, float] = defaultdict(float)
    _timed_rules(rule_set, spent)
    clock = time.perf_counter()
    for module in modules:
        engine._run_file_rules(module, project, rule_set, sink.append)
    phase("walk and rules")
    print(f"{'  of which rule code':<24} {sum(spent.values()):6.2f} s  ({len(sink)} findings)")
    for code, seconds in sorted(spent.items(), key=lambda item: -item[1])[: args.top]:
        print(f"    {code} {seconds:6.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
