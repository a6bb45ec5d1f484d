"""The review pipeline: read -> parse once -> model -> walk once -> findings.

    sources ──► SourceFile (ast) ──► ModuleInfo ──► Project
                                          │            │
                        per-file rules ◄──┘            └──► project rules
                                  └──────► findings ◄──────┘
                                  (selection, per-file-ignores, noqa)
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import gc
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from fastapi_expert.config import Config
from fastapi_expert.review import parallel
from fastapi_expert.review.cache import FileState, ResultCache, content_digest
from fastapi_expert.review.discovery import discover, module_name
from fastapi_expert.review.model.module import (
    NEVER_NODE_FIELDS,
    OPERATOR_FIELDS,
    ModuleInfo,
    build_module,
    fields_but,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.registry import all_rules
from fastapi_expert.review.rules.base import FileContext, ProjectContext, Rule
from fastapi_expert.review.selection import is_enabled
from fastapi_expert.review.source import (
    MAX_FILE_BYTES,
    SourceError,
    SourceFile,
    decode_source,
    parse_source_detailed,
)
from fastapi_expert.review.suppression import Suppressions
from fastapi_expert.review.tool_codes import (
    FILE_NOT_ANALYSED,
    INTERNAL_ERROR,
    NEWER_SYNTAX_ANALYSED,
    ToolCode,
)
from fastapi_expert.types import Finding, Location

if TYPE_CHECKING:
    from fastapi_expert.review.compat import NewerSyntax

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass
class ReviewResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    seconds: float = 0.0
    sources: dict[str, str] = field(default_factory=dict)
    from_cache: bool = False

    @property
    def internal_errors(self) -> int:
        return sum(1 for f in self.findings if f.code == INTERNAL_ERROR.code)


@dataclass(frozen=True)
class InputFile:
    display: str
    module: str
    text: str | None
    error: SourceError | None = None


class RuleSet:
    """The enabled rules, indexed by the node types they visit."""

    def __init__(self, rules: Iterable[type[Rule]]) -> None:
        self.rules = [cls() for cls in rules]
        self.by_node: dict[type[ast.AST], list[tuple[Rule, Callable[..., None]]]] = {}
        for rule in self.rules:
            for name in rule.node_types:
                node_type = getattr(ast, name)
                self.by_node.setdefault(node_type, []).append((rule, getattr(rule, f"visit_{name}")))
        self.file_rules = [r for r in self.rules if r.has_file_check()]
        self.project_rules = [r for r in self.rules if r.has_project_check()]
        self.fields = _Fields(self.by_node)


def enabled_rules(config: Config) -> list[type[Rule]]:
    return [
        r
        for r in all_rules()
        if is_enabled(r.code, r.name, r.default_enabled, config.select, config.extend_select, config.ignore)
    ]


def read_file(path: Path) -> tuple[str | None, SourceError | None]:
    _, text, error = _read(path)
    return text, error


def _read(path: Path) -> tuple[bytes | None, str | None, SourceError | None]:
    """The bytes (for the cache's content hash), the decoded text, or why not."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, None, SourceError(
                f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for source files"
            )
        data = path.read_bytes()
    except OSError as exc:
        return None, None, SourceError(f"cannot read file: {exc.strerror or exc}")
    try:
        return data, decode_source(data), None
    except SourceError as exc:
        return data, None, exc


def review_paths(paths: list[Path], config: Config, cwd: Path | None = None, cache: ResultCache | None = None) -> ReviewResult:
    """Review files and folders; with a cache, an unchanged scope is answered from it."""
    started = time.perf_counter()
    inputs: list[InputFile] = []
    states: list[FileState] = []
    for found in discover(paths, config, cwd):
        data, text, error = _read(found.path)
        inputs.append(InputFile(found.display, found.module, text, error))
        if cache is not None:
            digest = content_digest(data) if data is not None else f"unreadable: {error}"
            states.append(FileState(found.display, found.module, digest))
    if cache is not None:
        hit = cache.load(states)
        if hit is not None:
            return ReviewResult(
                findings=hit.findings,
                files=len(inputs),
                lines=sum(hit.lines.values()),
                seconds=time.perf_counter() - started,
                sources={i.display: i.text for i in inputs if i.text is not None},
                from_cache=True,
            )
    result = run_review(inputs, config)
    if cache is not None and not result.internal_errors:
        cache.store(states, result.findings, {path: count_lines(text) for path, text in result.sources.items()})
    return result


def count_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def review_sources(sources: Mapping[str, str], config: Config | None = None) -> ReviewResult:
    """Review in-memory files (`{"app/main.py": "..."}`): tests, stdin, MCP."""
    config = config or Config()
    packages = {Path(p).parent for p in sources if PurePosixPath(p).name == "__init__.py"}
    inputs = [
        InputFile(path, module_name(Path(path), Path("."), packages), text)
        for path, text in sources.items()
    ]
    return run_review(inputs, config)


def _tool_finding(tool: ToolCode, path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(tool.code, tool.name, tool.severity, Location(path, line, column, line, column), message)


def run_review(inputs: list[InputFile], config: Config) -> ReviewResult:
    with _without_cyclic_gc():
        return _run_review(inputs, config)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for one review.

    A review allocates millions of AST nodes that all live until it ends; each
    collection would walk every one of them again, for nothing (on the corpus,
    parsing took 2.7x longer with the collector on). Reference counting still
    frees what the review drops; the collector resumes, and catches up, after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_review(inputs: list[InputFile], config: Config) -> ReviewResult:
    started = time.perf_counter()
    result = ReviewResult()
    rule_set = RuleSet(enabled_rules(config))
    raw: list[Finding] = []
    modules: list[ModuleInfo] = []
    newer: dict[str, NewerSyntax] = {}
    for item in inputs:
        result.files += 1
        if item.text is None:
            err = item.error or SourceError("cannot read file")
            raw.append(_tool_finding(FILE_NOT_ANALYSED, item.display, str(err), err.line, err.column))
            continue
        result.sources[item.display] = item.text
        result.lines += count_lines(item.text)
        try:
            parsed = parse_source_detailed(item.text, item.display)
            modules.append(build_module(SourceFile(item.display, item.text, parsed.tree), item.module))
            if parsed.newer is not None:
                newer[item.display] = parsed.newer
        except SourceError as exc:
            raw.append(_tool_finding(FILE_NOT_ANALYSED, item.display, str(exc), exc.line, exc.column))
        except RecursionError:
            raw.append(_tool_finding(FILE_NOT_ANALYSED, item.display, "cannot analyse: the code is nested too deeply"))

    project = Project(modules)
    jobs = config.jobs if config.jobs is not None else parallel.default_jobs()
    if len(modules) >= parallel.MIN_FILES_FOR_PARALLEL and jobs > 1 and parallel.fork_available():
        # Build the shared facts once, before forking, so no worker rebuilds them.
        _ = project.fastapi, project.calls
        raw += parallel.run_parallel(
            modules,
            project,
            lambda module, proj, emit: _run_file_rules(module, proj, rule_set, emit),
            jobs,
            (INTERNAL_ERROR.code, INTERNAL_ERROR.name),
        )
    else:
        for module in modules:
            _run_file_rules(module, project, rule_set, raw.append)
    project_ctx = ProjectContext(project, raw.append)
    for rule in rule_set.project_rules:
        project_ctx.rule = rule
        try:
            rule.check_project(project_ctx)
        except Exception as exc:  # a crash in one rule must not end the review
            raw.append(_internal(rule, "<project>", exc))

    if newer:
        raw = [_without_fix_on_rewrite(f, newer) for f in raw]
        if is_enabled(
            NEWER_SYNTAX_ANALYSED.code, NEWER_SYNTAX_ANALYSED.name, True, config.select, config.extend_select, config.ignore
        ):
            raw.append(_newer_syntax_finding(newer))
    result.findings = _filter(raw, result.sources, config)
    result.seconds = time.perf_counter() - started
    return result


def _without_fix_on_rewrite(finding: Finding, newer: Mapping[str, NewerSyntax]) -> Finding:
    """Drop a fix that would edit text the compat rewrite changed before parsing."""
    syntax = newer.get(finding.location.path)
    if finding.fix is None or syntax is None:
        return finding
    if any(syntax.touches(e.line, e.column, e.end_line, e.end_column) for e in finding.fix.edits):
        return dataclasses.replace(finding, fix=None)
    return finding


def _newer_syntax_finding(newer: Mapping[str, NewerSyntax]) -> Finding:
    """FX003, once per review: how many files needed the rewrite, and which Python reads them."""
    paths = sorted(newer)
    wanted = max(s.native_version for s in newer.values())
    constructs = sorted({c for s in newer.values() for c in s.constructs})
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    first = newer[paths[0]]
    line, column = (first.spans[0][0], first.spans[0][1]) if first.spans else (1, 1)
    count = f"{len(paths)} file{'s' if len(paths) != 1 else ''}"
    message = (
        f"{count} use{'s' if len(paths) == 1 else ''} syntax newer than Python {running}, which runs this review "
        f"({', '.join(c.title for c in constructs)}): analysed through a position-keeping rewrite, "
        f"and fixes that would edit the rewritten code are not offered; Python {wanted[0]}.{wanted[1]} "
        f"reads {'it' if len(paths) == 1 else 'them'} natively"
    )
    return _tool_finding(NEWER_SYNTAX_ANALYSED, paths[0], message, line, column)


def _internal(rule: Rule, path: str, exc: BaseException, node: ast.AST | None = None) -> Finding:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    line = getattr(node, "lineno", 1) or 1
    col = (getattr(node, "col_offset", 0) or 0) + 1
    return _tool_finding(
        INTERNAL_ERROR,
        path,
        f"internal error in rule {rule.code} ({rule.name}): {type(exc).__name__}: {exc}{where}",
        line,
        col,
    )


# Operators and contexts are singletons (`Load`, `Add`, `Eq`) no rule visits:
# skipping them spares the walk about a third of the nodes it would push and pop.
_OPERATOR_BASES = (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)


class _Fields:
    """Per node type, the fields whose values may be child nodes the rules walk into."""

    def __init__(self, by_node: Mapping[type[ast.AST], object]) -> None:
        # A (plugin) rule that subscribes to operators or contexts gets them walked.
        self.skip = (
            NEVER_NODE_FIELDS
            if any(issubclass(t, _OPERATOR_BASES) for t in by_node)
            else NEVER_NODE_FIELDS | OPERATOR_FIELDS
        )
        self.by_type: dict[type[ast.AST], tuple[str, ...]] = {}

    def of(self, node_type: type[ast.AST]) -> tuple[str, ...]:
        fields = self.by_type.get(node_type)
        if fields is None:
            fields = self.by_type[node_type] = fields_but(node_type, self.skip)
        return fields


class _Marker(ast.AST):
    """A walk event on the stack, beside the nodes to visit (an `ast.AST` only so
    that the stack has one element type)."""


# Leave the innermost open node; enter the body of the innermost open function
# (its decorators, arguments and return annotation were walked outside it).
_LEAVE, _ENTER_BODY = _Marker(), _Marker()
_FUNCTION_TYPES = frozenset(_FUNCTIONS)


def _run_file_rules(module: ModuleInfo, project: Project, rule_set: RuleSet, emit: Callable[[Finding], None]) -> None:
    """One walk of the file's tree, in source order, calling each rule's `visit_*`
    with the ancestors and enclosing functions kept up to date on the context.

    The hottest loop of a review (a million nodes on a large project): children
    are gathered inline and events are two shared markers rather than a tuple
    per node."""
    ctx = FileContext(module.source, module, project, emit)
    crashed: set[str] = set()
    by_node = rule_set.by_node
    fields_of = rule_set.fields.by_type
    stack: list[ast.AST] = [module.tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    ancestors = ctx.ancestors
    functions = ctx.functions
    node_class = ast.AST
    while stack:
        node = pop()
        if node is _LEAVE:
            if ancestors.pop().__class__ in _FUNCTION_TYPES:
                functions.pop()
            continue
        if node is _ENTER_BODY:
            functions.append(ancestors[-1])
            continue
        node_type = node.__class__
        handlers = by_node.get(node_type)
        if handlers is not None:
            for rule, method in handlers:
                if crashed and rule.code in crashed:
                    continue
                ctx.rule = rule
                try:
                    method(node, ctx)
                except Exception as exc:  # report, skip this rule for the file, go on
                    crashed.add(rule.code)
                    emit(_internal(rule, module.path, exc, node))
        fields = fields_of.get(node_type)
        if fields is None:
            fields = rule_set.fields.of(node_type)
        children: list[ast.AST] = []
        for name in fields:
            value = getattr(node, name, None)
            if value is None:
                continue
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, node_class):
                        children.append(item)
            elif isinstance(value, node_class):
                children.append(value)
        if not children:
            continue  # a leaf: nothing to enter or leave
        ancestors.append(node)
        push(_LEAVE)
        if node_type in _FUNCTION_TYPES:
            body = node.body if isinstance(node.body, list) else [node.body]  # type: ignore[attr-defined]
            in_body = {id(b) for b in body}
            extend(reversed(body))
            push(_ENTER_BODY)
            extend([child for child in reversed(children) if id(child) not in in_body])
        else:
            children.reverse()
            extend(children)
    for rule in rule_set.file_rules:
        if rule.code in crashed:
            continue
        ctx.rule = rule
        try:
            rule.check_file(ctx)
        except Exception as exc:
            emit(_internal(rule, module.path, exc))


def _filter(findings: list[Finding], sources: Mapping[str, str], config: Config) -> list[Finding]:
    suppressions: dict[str, Suppressions] = {}
    kept: dict[tuple[object, ...], Finding] = {}
    for finding in findings:
        path = finding.location.path
        if finding.code not in {FILE_NOT_ANALYSED.code, INTERNAL_ERROR.code}:
            if _per_file_ignored(path, finding.code, config):
                continue
            if path in sources:
                if path not in suppressions:
                    suppressions[path] = Suppressions.scan(sources[path])
                loc = finding.location
                if suppressions[path].suppresses(finding.code, loc.line, loc.end_line):
                    continue
        key = (finding.code, finding.location, finding.message)
        kept.setdefault(key, finding)
    return sorted(kept.values(), key=Finding.sort_key)


def _per_file_ignored(path: str, code: str, config: Config) -> bool:
    for pattern, codes in config.per_file_ignores.items():
        matches = (
            fnmatch.fnmatch(path, pattern)
            or fnmatch.fnmatch(PurePosixPath(path).name, pattern)
            or fnmatch.fnmatch(path, f"*/{pattern}")
        )
        if matches and any(code.startswith(c.upper()) or c.upper() == "ALL" for c in codes):
            return True
    return False
