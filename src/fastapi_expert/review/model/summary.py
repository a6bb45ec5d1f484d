"""Module summaries: what other modules can know of a file, without its tree.

Step 1 of `docs/incremental-review.md`. A summary is computed from one file
alone (its `ModuleInfo`), is plain data, and goes to JSON and back unchanged,
so that a later review can rebuild the project's name tables from a cache
instead of parsing every file again. Nothing reads summaries yet: the model
is still built from trees, and `tests/test_summary.py` checks, on this
repository's own code, that every fact a summary holds is the one the tree
gives.

What a summary keeps, per module:

- the name tables `Project.lookup` follows: imports (with the names a local
  import binds), star imports, top-level functions, classes and assignments;
- per function (methods and nested functions included): its qualified name,
  enclosing class and function, `async`, whether it yields, its span, the
  source text of its decorators, parameters (kind, annotation, default) and
  return annotation, and its own call sites in source order (the callee as
  written, the span, whether the call is awaited);
- per top-level class (the ones the name tables hold): its bases as resolved
  names, its methods and keywords;
- per module-level assignment: the value's source text and span.

Expressions are kept as their exact source text (`SourceFile.segment`), not as
`ast.unparse` output: slicing the text costs a fraction of unparsing it, and a
text parses back to the same tree with `ast.parse(text, mode="eval")` once it
is dedented. Positions are `ast`'s: 1-based lines, 0-based UTF-8 byte columns.

JSON rather than pickle, as in the result cache: a restored cache folder must
never run code. `ModuleSummary.from_json` checks the shape of what it reads and
raises `SummaryError` on anything else.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias, cast

from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    FunctionNode,
    ModuleInfo,
    own_nodes_of,
    parameter_defaults,
)
from fastapi_expert.review.source import SourceFile

FORMAT = 1

Span: TypeAlias = tuple[int, int, int, int]
"""`(lineno, col_offset, end_lineno, end_col_offset)` of a node, as `ast` gives them."""

JSON: TypeAlias = "dict[str, object]"

_PARAMETER_KINDS = ("positional-only", "positional", "var-positional", "keyword-only", "var-keyword")


class SummaryError(ValueError):
    """A stored summary that does not have the shape this version writes."""


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    kind: str  # one of _PARAMETER_KINDS
    annotation: str | None
    default: str | None


@dataclass(frozen=True, slots=True)
class CallSite:
    callee: str  # the source text of `node.func`
    span: Span
    awaited: bool


@dataclass(frozen=True, slots=True)
class FunctionSummary:
    qualname: str
    name: str
    is_async: bool
    is_generator: bool
    class_name: str | None
    parent: str | None
    span: Span
    decorators: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    returns: str | None
    calls: tuple[CallSite, ...]


@dataclass(frozen=True, slots=True)
class ClassSummary:
    qualname: str
    name: str
    span: Span
    bases: tuple[str, ...]
    methods: tuple[str, ...]
    keywords: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Assignment:
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class ModuleSummary:
    name: str
    path: str
    is_package: bool
    imports: tuple[tuple[str, str], ...]
    imported_modules: tuple[str, ...]
    star_imports: tuple[str, ...]
    top_functions: tuple[str, ...]
    top_classes: tuple[str, ...]
    functions: tuple[FunctionSummary, ...]
    classes: tuple[ClassSummary, ...]
    assignments: tuple[tuple[str, Assignment], ...]

    def to_json(self) -> JSON:
        return {
            "format": FORMAT,
            "name": self.name,
            "path": self.path,
            "is_package": self.is_package,
            "imports": [list(pair) for pair in self.imports],
            "imported_modules": list(self.imported_modules),
            "star_imports": list(self.star_imports),
            "top_functions": list(self.top_functions),
            "top_classes": list(self.top_classes),
            "functions": [_function_json(f) for f in self.functions],
            "classes": [_class_json(c) for c in self.classes],
            "assignments": [[name, a.value, list(a.span)] for name, a in self.assignments],
        }

    @classmethod
    def from_json(cls, data: object) -> ModuleSummary:
        obj = _object(data, "summary")
        if obj.get("format") != FORMAT:
            raise SummaryError(f"summary format {obj.get('format')!r}, expected {FORMAT}")
        return cls(
            name=_str(obj, "name"),
            path=_str(obj, "path"),
            is_package=_bool(obj, "is_package"),
            imports=tuple((_text(p[0]), _text(p[1])) for p in _pairs(obj, "imports")),
            imported_modules=_strs(obj, "imported_modules"),
            star_imports=_strs(obj, "star_imports"),
            top_functions=_strs(obj, "top_functions"),
            top_classes=_strs(obj, "top_classes"),
            functions=tuple(_function_from(item) for item in _list(obj, "functions")),
            classes=tuple(_class_from(item) for item in _list(obj, "classes")),
            assignments=tuple(
                (_text(item[0]), Assignment(_text(item[1]), _span(item[2])))
                for item in (_sized(entry, 3, "assignment") for entry in _list(obj, "assignments"))
            ),
        )


def summarise(module: ModuleInfo) -> ModuleSummary:
    """The summary of one module, from its own tree and name tables only."""
    source = module.source
    return ModuleSummary(
        name=module.name,
        path=module.path,
        is_package=module.is_package,
        imports=tuple(module.imports.items()),
        imported_modules=tuple(sorted(module.imported_modules)),
        star_imports=tuple(module.star_imports),
        top_functions=tuple(module.functions),
        top_classes=tuple(module.classes),
        functions=tuple(_summarise_function(source, f) for f in module.all_functions),
        classes=tuple(_summarise_class(source, c) for c in module.classes.values()),
        assignments=tuple((name, Assignment(source.segment(value), span_of(value))) for name, value in module.assignments.items()),
    )


def span_of(node: ast.AST) -> Span:
    line: int = getattr(node, "lineno", 0)
    col: int = getattr(node, "col_offset", 0)
    end_line: int | None = getattr(node, "end_lineno", None)
    end_col: int | None = getattr(node, "end_col_offset", None)
    return (line, col, line if end_line is None else end_line, col if end_col is None else end_col)


def parameters_of(source: SourceFile, node: FunctionNode) -> tuple[Parameter, ...]:
    """The parameters in signature order, each with its kind and default."""
    args = node.args
    defaults = parameter_defaults(node)
    out = [
        _parameter(source, arg, _PARAMETER_KINDS[0] if i < len(args.posonlyargs) else _PARAMETER_KINDS[1], defaults.get(arg.arg))
        for i, arg in enumerate([*args.posonlyargs, *args.args])
    ]
    if args.vararg is not None:
        out.append(_parameter(source, args.vararg, _PARAMETER_KINDS[2], None))
    for arg in args.kwonlyargs:
        out.append(_parameter(source, arg, _PARAMETER_KINDS[3], defaults.get(arg.arg)))
    if args.kwarg is not None:
        out.append(_parameter(source, args.kwarg, _PARAMETER_KINDS[4], None))
    return tuple(out)


def _parameter(source: SourceFile, arg: ast.arg, kind: str, default: ast.expr | None) -> Parameter:
    annotation = source.segment(arg.annotation) if arg.annotation is not None else None
    return Parameter(arg.arg, kind, annotation, source.segment(default) if default is not None else None)


def _summarise_function(source: SourceFile, func: FunctionInfo) -> FunctionSummary:
    node = func.node
    awaited = {id(a.value) for a in own_nodes_of(node, ast.Await)}
    calls = tuple(CallSite(source.segment(call.func), span_of(call), id(call) in awaited) for call in _calls_in_order(node))
    return FunctionSummary(
        qualname=func.qualname,
        name=node.name,
        is_async=func.is_async,
        is_generator=func.is_generator,
        class_name=func.class_name,
        parent=func.parent.qualname if func.parent is not None else None,
        span=span_of(node),
        decorators=tuple(source.segment(d) for d in node.decorator_list),
        parameters=parameters_of(source, node),
        returns=source.segment(node.returns) if node.returns is not None else None,
        calls=calls,
    )


def _calls_in_order(node: FunctionNode) -> list[ast.Call]:
    """The function's own calls in source order (where they start; an outer call
    before the calls in its arguments)."""
    return sorted(own_nodes_of(node, ast.Call), key=lambda call: (call.lineno, call.col_offset, -(call.end_lineno or 0), -(call.end_col_offset or 0)))


def _summarise_class(source: SourceFile, cls: ClassInfo) -> ClassSummary:
    keywords = tuple((k.arg, source.segment(k.value)) for k in cls.node.keywords if k.arg is not None)
    return ClassSummary(
        qualname=cls.qualname,
        name=cls.node.name,
        span=span_of(cls.node),
        bases=tuple(cls.bases),
        methods=tuple(cls.methods),
        keywords=keywords,
    )


# -- JSON ----------------------------------------------------------------------


def _function_json(f: FunctionSummary) -> JSON:
    return {
        "qualname": f.qualname,
        "name": f.name,
        "is_async": f.is_async,
        "is_generator": f.is_generator,
        "class_name": f.class_name,
        "parent": f.parent,
        "span": list(f.span),
        "decorators": list(f.decorators),
        "parameters": [[p.name, p.kind, p.annotation, p.default] for p in f.parameters],
        "returns": f.returns,
        "calls": [[c.callee, *c.span, c.awaited] for c in f.calls],
    }


def _class_json(c: ClassSummary) -> JSON:
    return {
        "qualname": c.qualname,
        "name": c.name,
        "span": list(c.span),
        "bases": list(c.bases),
        "methods": list(c.methods),
        "keywords": [list(pair) for pair in c.keywords],
    }


def _function_from(data: object) -> FunctionSummary:
    obj = _object(data, "function")
    parameters = []
    for item in _list(obj, "parameters"):
        name, kind, annotation, default = _sized(item, 4, "parameter")
        if kind not in _PARAMETER_KINDS:
            raise SummaryError(f"unknown parameter kind {kind!r}")
        parameters.append(Parameter(_text(name), _text(kind), _optional_text(annotation), _optional_text(default)))
    calls = []
    for item in _list(obj, "calls"):
        callee, line, col, end_line, end_col, awaited = _sized(item, 6, "call")
        if not isinstance(awaited, bool):
            raise SummaryError("a call's `awaited` is not a boolean")
        calls.append(CallSite(_text(callee), _span([line, col, end_line, end_col]), awaited))
    return FunctionSummary(
        qualname=_str(obj, "qualname"),
        name=_str(obj, "name"),
        is_async=_bool(obj, "is_async"),
        is_generator=_bool(obj, "is_generator"),
        class_name=_optional_text(obj.get("class_name")),
        parent=_optional_text(obj.get("parent")),
        span=_span(obj.get("span")),
        decorators=_strs(obj, "decorators"),
        parameters=tuple(parameters),
        returns=_optional_text(obj.get("returns")),
        calls=tuple(calls),
    )


def _class_from(data: object) -> ClassSummary:
    obj = _object(data, "class")
    return ClassSummary(
        qualname=_str(obj, "qualname"),
        name=_str(obj, "name"),
        span=_span(obj.get("span")),
        bases=_strs(obj, "bases"),
        methods=_strs(obj, "methods"),
        keywords=tuple((_text(p[0]), _text(p[1])) for p in _pairs(obj, "keywords")),
    )


def _object(data: object, what: str) -> Mapping[str, object]:
    if not isinstance(data, dict):
        raise SummaryError(f"a {what} is not a JSON object")
    return cast("Mapping[str, object]", data)


def _list(obj: Mapping[str, object], key: str) -> list[object]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise SummaryError(f"`{key}` is not a list")
    return value


def _sized(value: object, size: int, what: str) -> Sequence[object]:
    if not isinstance(value, list) or len(value) != size:
        raise SummaryError(f"a {what} is not a list of {size}")
    return value


def _pairs(obj: Mapping[str, object], key: str) -> list[Sequence[object]]:
    return [_sized(item, 2, f"pair in `{key}`") for item in _list(obj, key)]


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise SummaryError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _str(obj: Mapping[str, object], key: str) -> str:
    return _text(obj.get(key))


def _bool(obj: Mapping[str, object], key: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise SummaryError(f"`{key}` is not a boolean")
    return value


def _strs(obj: Mapping[str, object], key: str) -> tuple[str, ...]:
    return tuple(_text(item) for item in _list(obj, key))


def _span(value: object) -> Span:
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise SummaryError("a span is not four non-negative integers")
    return (value[0], value[1], value[2], value[3])


# -- checking a summary against the tree it came from ----------------------------


def mismatches(module: ModuleInfo, summary: ModuleSummary) -> list[str]:
    """Where `summary` disagrees with `module`'s tree and name tables; empty when
    every fact agrees. Each kept text must parse back to the node it was taken
    from (same `ast.dump`, positions aside), and each span must be that node's.
    Used by the tests and by `benchmarks/summary_feasibility.py` on the corpus."""
    problems: list[str] = []
    where = module.path

    def expect(what: str, got: object, want: object) -> None:
        if got != want:
            problems.append(f"{where}: {what}: summary has {got!r}, tree has {want!r}")

    def same_expr(what: str, text: str | None, node: ast.AST | None) -> None:
        if node is None or text is None:
            expect(what, text, None if node is None else ast.dump(node))
            return
        try:
            parsed: ast.AST = ast.parse(f"({text})", mode="eval").body
        except SyntaxError as exc:
            problems.append(f"{where}: {what}: {text!r} does not parse back: {exc.msg}")
            return
        expect(what, ast.dump(parsed), ast.dump(node))

    expect("name", summary.name, module.name)
    expect("is_package", summary.is_package, module.is_package)
    expect("imports", dict(summary.imports), module.imports)
    expect("imported modules", set(summary.imported_modules), module.imported_modules)
    expect("star imports", list(summary.star_imports), module.star_imports)
    expect("top-level functions", list(summary.top_functions), list(module.functions))
    expect("top-level classes", list(summary.top_classes), list(module.classes))
    expect("functions", [f.qualname for f in summary.functions], [f.qualname for f in module.all_functions])
    for fs, info in zip(summary.functions, module.all_functions, strict=False):
        node = info.node
        label = f"function {info.qualname}"
        expect(f"{label} span", fs.span, span_of(node))
        expect(f"{label} facts", (fs.is_async, fs.is_generator, fs.class_name), (info.is_async, info.is_generator, info.class_name))
        expect(f"{label} parent", fs.parent, info.parent.qualname if info.parent else None)
        expect(f"{label} decorators", len(fs.decorators), len(node.decorator_list))
        for text, decorator in zip(fs.decorators, node.decorator_list, strict=False):
            same_expr(f"{label} decorator", text, decorator)
        _check_parameters(label, fs.parameters, node, expect, same_expr)
        same_expr(f"{label} return annotation", fs.returns, node.returns)
        calls = _calls_in_order(node)
        expect(f"{label} call spans", [c.span for c in fs.calls], [span_of(c) for c in calls])
        awaited = {id(a.value) for a in own_nodes_of(node, ast.Await)}
        expect(f"{label} awaited calls", [c.awaited for c in fs.calls], [id(c) in awaited for c in calls])
        for site, call in zip(fs.calls, calls, strict=False):
            same_expr(f"{label} callee at line {call.lineno}", site.callee, call.func)
    expect("classes", [c.qualname for c in summary.classes], [c.qualname for c in module.classes.values()])
    for cs, cls in zip(summary.classes, module.classes.values(), strict=False):
        label = f"class {cls.qualname}"
        expect(f"{label} span", cs.span, span_of(cls.node))
        expect(f"{label} bases", list(cs.bases), cls.bases)
        expect(f"{label} methods", list(cs.methods), list(cls.methods))
        keywords = [k for k in cls.node.keywords if k.arg is not None]
        expect(f"{label} keywords", [k for k, _ in cs.keywords], [k.arg for k in keywords])
        for (_, text), kw in zip(cs.keywords, keywords, strict=False):
            same_expr(f"{label} keyword {kw.arg}", text, kw.value)
    expect("assignments", [name for name, _ in summary.assignments], list(module.assignments))
    for (name, assignment), value in zip(summary.assignments, module.assignments.values(), strict=False):
        expect(f"assignment {name} span", assignment.span, span_of(value))
        same_expr(f"assignment {name}", assignment.value, value)
    return problems


def _check_parameters(
    label: str,
    parameters: tuple[Parameter, ...],
    node: FunctionNode,
    expect: Callable[[str, object, object], None],
    same_expr: Callable[[str, str | None, ast.AST | None], None],
) -> None:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    expected: list[tuple[ast.arg, ast.expr | None]] = list(zip(positional, defaults, strict=True))
    if args.vararg is not None:
        expected.append((args.vararg, None))
    expected += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    if args.kwarg is not None:
        expected.append((args.kwarg, None))
    expect(f"{label} parameters", [p.name for p in parameters], [arg.arg for arg, _ in expected])
    for parameter, (arg, default) in zip(parameters, expected, strict=False):
        same_expr(f"{label} parameter {arg.arg} annotation", parameter.annotation, arg.annotation)
        same_expr(f"{label} parameter {arg.arg} default", parameter.default, default)
