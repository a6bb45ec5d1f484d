"""How a rule is written.

A rule is one class: identity and metadata in class variables, its documentation
in the docstring (sections `## What it does`, `## Why is this bad?`,
`## References`, and `## Fix safety` when it can fix), and its examples in
`valid` / `invalid`. The examples are the rule's tests (tests/test_rule_examples.py
runs them all) and the *Example* / *Use instead* sections of its docs.

A rule subscribes to node types by defining `visit_<NodeType>(self, node, ctx)`
methods; the engine walks each file once and calls them. A rule that needs the
whole file or the whole project defines `check_file(ctx)` or
`check_project(ctx)` instead.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from fastapi_expert.types import Area, ChainLink, Finding, Fix, Location, Severity

if TYPE_CHECKING:
    from fastapi_expert.review.model.fastapi_model import Route
    from fastapi_expert.review.model.module import FunctionInfo, ModuleInfo
    from fastapi_expert.review.model.project import Project
    from fastapi_expert.review.source import SourceFile


def _clean(code: str) -> str:
    return textwrap.dedent(code).strip("\n") + "\n"


@dataclass(frozen=True)
class Valid:
    """Code the rule must not flag. `files` adds other modules to the project."""

    code: str
    filename: str = "app.py"
    files: dict[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return _clean(self.code)

    @property
    def sources(self) -> dict[str, str]:
        """Every file of the example, the main one last."""
        return {**{k: _clean(v) for k, v in self.files.items()}, self.filename: self.source}


@dataclass(frozen=True)
class Invalid:
    """Code the rule must flag on exactly `lines` (1-based, after dedent), and,
    for a fixable rule, the code after applying its fixes."""

    code: str
    lines: tuple[int, ...]
    fixed: str | None = None
    filename: str = "app.py"
    files: dict[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return _clean(self.code)

    @property
    def sources(self) -> dict[str, str]:
        """Every file of the example, the main one last."""
        return {**{k: _clean(v) for k, v in self.files.items()}, self.filename: self.source}

    @property
    def fixed_source(self) -> str | None:
        return None if self.fixed is None else _clean(self.fixed)


REQUIRED_SECTIONS = ("## What it does", "## Why is this bad?", "## References")
_CODE = re.compile(r"^FX[0-7]\d\d$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Rule:
    """Base class of every rule."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    valid: ClassVar[Sequence[Valid]] = ()
    invalid: ClassVar[Sequence[Invalid]] = ()
    # Opinionated rules are off unless selected explicitly (ruff's B9xx habit).
    default_enabled: ClassVar[bool] = True

    # Derived in __init_subclass__:
    area: ClassVar[Area]
    fixable: ClassVar[bool]
    node_types: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if inspect.isabstract(cls) or "code" not in cls.__dict__:
            return
        cls.area = Area(int(cls.code[2])) if _CODE.match(cls.code) else Area.TOOL
        cls.fixable = any(example.fixed is not None for example in cls.invalid)
        cls.node_types = tuple(
            sorted(name[len("visit_") :] for name in dir(cls) if name.startswith("visit_"))
        )

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    def check_file(self, ctx: FileContext) -> None:
        """Called once per file, after the walk. Override when needed."""

    def check_project(self, ctx: ProjectContext) -> None:
        """Called once per review with the whole project. Override when needed."""

    @classmethod
    def has_file_check(cls) -> bool:
        return cls.check_file is not Rule.check_file

    @classmethod
    def has_project_check(cls) -> bool:
        return cls.check_project is not Rule.check_project


def validate_rule_class(cls: type[Rule]) -> list[str]:
    """Problems with a rule's metadata, for the catalogue meta-test."""
    problems = []
    where = f"{cls.__module__}.{cls.__qualname__}"
    if not _CODE.match(getattr(cls, "code", "")):
        problems.append(f"{where}: code must look like FX201")
    if not _NAME.match(getattr(cls, "name", "")):
        problems.append(f"{where}: name must be kebab-case")
    doc = cls.doc()
    problems += [f"{where}: docstring lacks '{s}'" for s in REQUIRED_SECTIONS if s not in doc]
    if cls.fixable and "## Fix safety" not in doc:
        problems.append(f"{where}: fixable rule must document '## Fix safety'")
    if not cls.valid or not cls.invalid:
        problems.append(f"{where}: needs at least one valid and one invalid example")
    if not getattr(cls, "summary", "").strip():
        problems.append(f"{where}: summary is empty")
    if not (cls.node_types or cls.has_file_check() or cls.has_project_check()):
        problems.append(f"{where}: subscribes to nothing")
    for name in cls.node_types:
        if not isinstance(getattr(ast, name, None), type):
            problems.append(f"{where}: visit_{name} names no ast node type")
    return problems


# -- contexts ----------------------------------------------------------------

Reporter = Callable[[Finding], None]


class FileContext:
    """What a rule sees while the engine walks one file."""

    def __init__(self, source: SourceFile, module: ModuleInfo, project: Project, emit: Reporter) -> None:
        self.source = source
        self.module = module
        self.project = project
        self._emit = emit
        self.rule: Rule | None = None
        self.ancestors: list[ast.AST] = []
        self.functions: list[ast.AST] = []

    # -- where are we -----------------------------------------------------

    @property
    def parent(self) -> ast.AST | None:
        return self.ancestors[-1] if self.ancestors else None

    def function(self) -> FunctionInfo | None:
        """The innermost def/async def around the current node (None in a lambda or at module level)."""
        if not self.functions:
            return None
        inner = self.functions[-1]
        if isinstance(inner, ast.Lambda):
            return None
        return self.module.function_of_node.get(inner)

    def in_async_function(self) -> bool:
        """Does the current node run directly in the body of an `async def`?"""
        functions = self.functions
        return bool(functions) and functions[-1].__class__ is ast.AsyncFunctionDef

    def in_class(self) -> ast.ClassDef | None:
        for node in reversed(self.ancestors):
            if isinstance(node, ast.ClassDef):
                return node
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return None
        return None

    # -- names ------------------------------------------------------------

    def resolve(self, expr: ast.expr) -> str | None:
        """Canonical qualified name of a dotted expression (kept per node by the project)."""
        return self.project.resolve(self.module, expr)

    def call_target(self, call: ast.Call) -> str | None:
        """What a call calls, with receiver types inferred in the current function."""
        # Rules ask this several times per call: once known for this function,
        # the answer is on the node (see `Project.call_target`), and the
        # function's facts are not looked up.
        cached: tuple[ast.AST | None, str | None] | None = getattr(call, "_fx_target", None)
        if cached is not None:
            inner = self.functions[-1] if self.functions else None
            if cached[0] is (None if inner.__class__ is ast.Lambda else inner):
                return cached[1]
        return self.project.call_target(self.module, self.function(), call)

    def routes_of(self, func: ast.AST) -> list[Route]:
        return self.project.fastapi.routes_for(func)

    def is_dependency(self, func: ast.AST) -> bool:
        return func in self.project.fastapi.dependency_functions

    # -- reporting ---------------------------------------------------------

    def location(self, node: ast.AST, end: ast.AST | None = None) -> Location:
        return self.source.location(node, end)

    def report(
        self,
        node: ast.AST,
        message: str,
        *,
        fix: Fix | None = None,
        chain: Iterable[ChainLink] = (),
        end: ast.AST | None = None,
        severity: Severity | None = None,
    ) -> None:
        """Emit a finding; `severity` overrides the rule's default for this one."""
        rule = self.rule
        assert rule is not None, "report() outside a rule"
        self._emit(
            Finding(
                rule.code, rule.name, severity or rule.severity, self.location(node, end), message, fix, tuple(chain)
            )
        )


class ProjectContext:
    """What a whole-project rule sees."""

    def __init__(self, project: Project, emit: Reporter) -> None:
        self.project = project
        self._emit = emit
        self.rule: Rule | None = None

    def report(
        self,
        module: ModuleInfo,
        node: ast.AST,
        message: str,
        *,
        fix: Fix | None = None,
        chain: Iterable[ChainLink] = (),
        end: ast.AST | None = None,
        severity: Severity | None = None,
    ) -> None:
        rule = self.rule
        assert rule is not None, "report() outside a rule"
        loc = module.source.location(node, end)
        self._emit(Finding(rule.code, rule.name, severity or rule.severity, loc, message, fix, tuple(chain)))
