from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_expert.review.model.fastapi_model import Route
from fastapi_expert.review.model.module import (
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    own_nodes_of,
    parameter_defaults,
)
from fastapi_expert.review.model.project import Project
from fastapi_expert.review.rules.base import Invalid, ProjectContext, Rule, Valid
from fastapi_expert.review.rules.security._crypto import arg as call_argument
from fastapi_expert.review.rules.security._web import constant_value
from fastapi_expert.types import ChainLink, Severity

_FASTAPI_PARAMS = ("fastapi.", "fastapi.params.", "fastapi.param_functions.")
_MARKER_KINDS = {
    "Query": "query parameter",
    "Path": "path parameter",
    "Header": "header",
    "Cookie": "cookie",
    "Form": "form field",
    "Body": "body field",
}
_MARKERS = {f"{prefix}{name}": kind for prefix in _FASTAPI_PARAMS for name, kind in _MARKER_KINDS.items()}
_DEPENDS = frozenset(f"{prefix}{name}" for prefix in _FASTAPI_PARAMS for name in ("Depends", "Security"))
# Types whose value the client writes as free text.
_TEXT_TYPES = frozenset(
    {"builtins.str", "str", "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "typing.Any"}
)
_URL_TYPES = frozenset(
    f"pydantic.{module}{name}"
    for module in ("", "networks.")
    for name in ("AnyUrl", "HttpUrl", "AnyHttpUrl")
)
_UPLOADS = frozenset({"fastapi.UploadFile", "fastapi.datastructures.UploadFile", "starlette.datastructures.UploadFile"})
_MODEL_BASES = frozenset(
    {"pydantic.BaseModel", "pydantic.main.BaseModel", "sqlmodel.SQLModel", "sqlmodel.main.SQLModel"}
)

# What an attacker sends, tried against a declared `pattern=`: a value the pattern
# accepts is a value the endpoint may receive (pydantic searches, anchors or not).
_ESCAPE_PROBES = ("../../etc/passwd", "/etc/passwd", "a/../../../etc/passwd", "..\\..\\etc\\passwd")
_DOTS_PROBES = ("..",)
_HOST_PROBES = ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "evil.example/#", "evil.example")

# Calls that hand back text of the caller's choosing only if their argument is:
# a value going through them keeps its taint.
_PASS_THROUGH = frozenset(
    {
        "builtins.str", "os.path.abspath", "os.path.normpath", "os.path.realpath", "os.path.expanduser",
        "os.fspath", "urllib.parse.unquote", "urllib.parse.unquote_plus",
    }
)
_PASS_THROUGH_METHODS = frozenset(
    {"resolve", "absolute", "expanduser", "strip", "lstrip", "rstrip", "lower", "upper", "as_posix", "__str__"}
)
_JOINS = frozenset(
    {"os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.PurePosixPath"}
)

# Path sinks: qualified name -> (positional indexes of the path arguments, keyword names, what it does).
_FILE_SINKS: dict[str, tuple[tuple[int, ...], tuple[str, ...], str]] = {
    "builtins.open": ((0,), ("file",), "open"),
    "io.open": ((0,), ("file",), "open"),
    "os.open": ((0,), ("path",), "open"),
    "aiofiles.open": ((0,), ("file",), "open"),
    "aiofiles.threadpool.open": ((0,), ("file",), "open"),
    "fastapi.responses.FileResponse": ((0,), ("path",), "serve"),
    "starlette.responses.FileResponse": ((0,), ("path",), "serve"),
    "os.remove": ((0,), ("path",), "delete"),
    "os.unlink": ((0,), ("path",), "delete"),
    "os.rmdir": ((0,), ("path",), "delete-dir"),
    "os.removedirs": ((0,), ("name",), "delete-dir"),
    "aiofiles.os.remove": ((0,), ("path",), "delete"),
    "aiofiles.os.unlink": ((0,), ("path",), "delete"),
    "os.rename": ((0, 1), ("src", "dst"), "write"),
    "os.replace": ((0, 1), ("src", "dst"), "write"),
    "shutil.rmtree": ((0,), ("path",), "delete-dir"),
    "shutil.copy": ((0, 1), ("src", "dst"), "write"),
    "shutil.copy2": ((0, 1), ("src", "dst"), "write"),
    "shutil.copyfile": ((0, 1), ("src", "dst"), "write"),
    "shutil.copytree": ((0, 1), ("src", "dst"), "write"),
    "shutil.move": ((0, 1), ("src", "dst"), "write"),
}
# `pathlib.Path` methods that touch the file the receiver names.
_PATH_METHODS = {
    "read_text": "read", "read_bytes": "read", "open": "open", "write_text": "write", "write_bytes": "write",
    "unlink": "delete", "rmdir": "delete-dir", "touch": "write",
}

_VERBS = ("get", "post", "put", "patch", "delete", "head", "options")
_CLIENTS = (
    "requests.Session", "requests.sessions.Session", "httpx.Client", "httpx.AsyncClient", "aiohttp.ClientSession",
)
# HTTP clients: qualified name -> index of the URL argument.
_HTTP_SINKS: dict[str, int] = {
    **{f"{lib}.{verb}": 0 for lib in ("requests", "requests.api", "httpx") for verb in _VERBS},
    **{f"{lib}.request": 1 for lib in ("requests", "requests.api", "httpx", "aiohttp")},
    "httpx.stream": 1,
    **{f"{cls}.{verb}": 0 for cls in _CLIENTS for verb in _VERBS},
    **{f"{cls}.{verb}": 1 for cls in _CLIENTS for verb in ("request", "stream")},
    "aiohttp.ClientSession.ws_connect": 0,
    "urllib.request.urlopen": 0,
    "urllib.request.Request": 0,
}
_HTTP_NAMES = frozenset(name.rsplit(".", 1)[-1] for name in _HTTP_SINKS)
_FILE_NAMES = frozenset({*(name.rsplit(".", 1)[-1] for name in _FILE_SINKS), *_PATH_METHODS})
_SINK_NAMES = _FILE_NAMES | _HTTP_NAMES

_SCHEME_AND_HOST = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*$")
# A call in an `if`/`assert` that checks a value against a base, a pattern or a list.
_GUARD_METHODS = frozenset(
    {"is_relative_to", "relative_to", "startswith", "commonpath", "commonprefix", "match", "fullmatch", "search"}
)
_GUARD_WORDS = (
    "valid", "safe", "allow", "check", "verify", "ensure", "permit", "sanitiz", "sanitis", "trusted",
    # containment predicates: `is_path_inside(path, base)`, `is_within_directory(...)`
    "inside", "within", "subpath",
)
# Attributes that keep only a safe part of a value: `Path(name).name` is the last
# component, `urlparse(url).hostname` is what an allow-list checks.
_SANITISED_ATTRS = frozenset({"name", "stem", "suffix", "hostname", "port"})


@dataclass(frozen=True)
class _Source:
    """One request value an attacker writes."""

    param: str
    what: str  # "query parameter `name`", "field `path` of the body `req`"
    node: ast.AST
    escapes: bool  # can carry `../../x` or an absolute path
    dots: bool  # can be `..` (a path segment)
    host: bool  # can be a host name or a whole URL
    url: bool  # can be a whole `http://...` URL
    upload: bool = False  # an uploaded file's name


@dataclass(frozen=True)
class _Opaque:
    """Text the analysis cannot read, and that no request value reaches."""


_OPAQUE = _Opaque()
_Piece = str | _Source | _Opaque


def _pattern_flags(pattern: str) -> tuple[bool, bool, bool, bool] | None:
    """(escapes, dots, host, url) for values a `pattern=` lets through; None if unreadable."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    escapes = any(compiled.search(p) for p in _ESCAPE_PROBES)
    dots = escapes or any(compiled.search(p) for p in _DOTS_PROBES)
    host = any(compiled.search(p) for p in _HOST_PROBES)
    url = compiled.search(_HOST_PROBES[0]) is not None
    return escapes, dots, host, url


def _resolve_in(project: Project, module: ModuleInfo, expr: ast.expr) -> str | None:
    return project.resolve(module, expr) if isinstance(expr, ast.Name | ast.Attribute) else None


class _Endpoint:
    """The request values of one endpoint, and how they flow inside its body."""

    def __init__(self, project: Project, func: FunctionInfo, routes: list[Route]) -> None:
        self.project = project
        self.func = func
        self.module = func.module
        self.routes = routes
        self.sources: dict[str, _Source] = {}
        self.models: dict[str, tuple[ClassInfo, ast.arg]] = {}  # body parameters typed with a project model
        self.uploads: set[str] = set()
        self._bindings: dict[str, list[tuple[tuple[int, int], ast.AST]]] | None = None
        self._read_parameters()

    # -- sources ---------------------------------------------------------------

    def _path_kinds(self) -> dict[str, bool]:
        """Path parameter -> can it span segments (`{name:path}`)?"""
        kinds: dict[str, bool] = {}
        for route in self.routes:
            for path in [route.path or "", *route.full_paths]:
                for name, convertor in re.findall(r"{([a-zA-Z_]\w*)(?::(\w+))?}", path):
                    kinds[name] = kinds.get(name, False) or convertor == "path"
        return kinds

    def _read_parameters(self) -> None:
        project, module = self.project, self.module
        defaults = parameter_defaults(self.func.node)
        path_kinds = self._path_kinds()
        for arg in _parameters(self.func):
            if arg.arg in {"self", "cls"}:
                continue
            default = defaults.get(arg.arg)
            ann_module, _inner, meta = project.annotated_parts(module, arg.annotation)
            markers = [(module, default)] if isinstance(default, ast.Call) else []
            markers += [(ann_module, m) for m in meta if isinstance(m, ast.Call)]
            targets = [(m, call, _resolve_in(project, m, call.func)) for m, call in markers]
            if any(t in _DEPENDS for _, _, t in targets):
                continue
            type_name = project.annotation_type(module, arg.annotation) if arg.annotation is not None else None
            if type_name in _UPLOADS:
                self.uploads.add(arg.arg)
                continue
            if type_name is not None:
                model = project.lookup(type_name)
                if isinstance(model, ClassInfo) and project.class_bases(model) & _MODEL_BASES:
                    self.models[arg.arg] = (model, arg)
                    continue
            if not (type_name is None or type_name in _TEXT_TYPES or type_name in _URL_TYPES):
                continue
            kind = next((_MARKERS[t] for _, _, t in targets if t in _MARKERS), None)
            if arg.arg in path_kinds:
                kind = "path parameter"
            elif kind is None or kind == "path parameter":
                kind = "query parameter"
            pattern = next((p for _, call, _t in targets if (p := _pattern_of(call)) is not None), None)
            segment = kind == "path parameter" and not path_kinds.get(arg.arg, False)
            source = _make_source(arg.arg, f"{kind} `{arg.arg}`", arg, pattern, segment, type_name in _URL_TYPES)
            if source is not None:
                self.sources[arg.arg] = source

    def model_field(self, param: str, field: str) -> _Source | None:
        """`body.field`: a text field of a request-body model."""
        model, arg = self.models[param]
        bases = (self.project.lookup(b) for b in sorted(self.project.class_bases(model)))
        for cls in [model, *(c for c in bases if isinstance(c, ClassInfo))]:
            for stmt in cls.node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == field:
                    type_name = self.project.annotation_type(cls.module, stmt.annotation)
                    if not (type_name in _TEXT_TYPES or type_name in _URL_TYPES):
                        return None
                    _m, _inner, meta = self.project.annotated_parts(cls.module, stmt.annotation)
                    calls = [c for c in [stmt.value, *meta] if isinstance(c, ast.Call)]
                    pattern = next((p for c in calls if (p := _pattern_of(c)) is not None), None)
                    what = f"field `{field}` of the request body `{param}`"
                    return _make_source(param, what, arg, pattern, False, type_name in _URL_TYPES)
        return None

    # -- flow ------------------------------------------------------------------

    def _all_bindings(self) -> dict[str, list[tuple[tuple[int, int], ast.AST]]]:
        """Local name -> its bindings in the function's own body, in source order."""
        if self._bindings is None:
            found: dict[str, list[tuple[tuple[int, int], ast.AST]]] = {}
            node = self.func.node
            for kind in _BINDING_NODES:
                for stmt in own_nodes_of(node, kind):
                    for name in _bound_names(stmt):
                        found.setdefault(name, []).append((_bound_at(stmt), stmt))
            for bindings in found.values():
                bindings.sort(key=lambda item: item[0])
            self._bindings = found
        return self._bindings

    def pieces(self, expr: ast.expr, depth: int = 0) -> list[_Piece]:
        """The text `expr` makes: literal parts, request values, and parts that are neither."""
        if depth > 12:
            return [_OPAQUE]
        if isinstance(expr, ast.Constant):
            return [expr.value] if isinstance(expr.value, str) else [_OPAQUE]
        if isinstance(expr, ast.Name):
            return self._name(expr, depth)
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr, depth)
        if isinstance(expr, ast.JoinedStr):
            out: list[_Piece] = []
            for part in expr.values:
                out += self.pieces(part.value if isinstance(part, ast.FormattedValue) else part, depth + 1)
            return out
        if isinstance(expr, ast.BinOp):
            left = self.pieces(expr.left, depth + 1)
            if isinstance(expr.op, ast.Add):
                return left + self.pieces(expr.right, depth + 1)
            if isinstance(expr.op, ast.Div):
                return [*left, "/", *self.pieces(expr.right, depth + 1)]
            if isinstance(expr.op, ast.Mod) and left and isinstance(left[0], str) and len(left) == 1:
                values = expr.right.elts if isinstance(expr.right, ast.Tuple) else [expr.right]
                holes = [p for v in values for p in self.pieces(v, depth + 1)]
                return [left[0].split("%", 1)[0], *holes, _OPAQUE]
            return [_OPAQUE]
        if isinstance(expr, ast.Call):
            return self._call(expr, depth)
        if isinstance(expr, ast.IfExp):
            if self.related_in(expr.test):
                return [_OPAQUE]  # `x if x in ALLOWED else DEFAULT`: chosen by a check of the value
            body = self.pieces(expr.body, depth + 1)
            return body if _tainted(body) else self.pieces(expr.orelse, depth + 1)
        if isinstance(expr, ast.BoolOp):
            # `name or "index.html"`: either operand may be the value
            for operand in expr.values:
                found = self.pieces(operand, depth + 1)
                if _tainted(found):
                    return found
        return [_OPAQUE]

    def _name(self, expr: ast.Name, depth: int) -> list[_Piece]:
        where = (expr.lineno, expr.col_offset)
        before = [stmt for pos, stmt in self._all_bindings().get(expr.id, []) if pos < where]
        if before:
            return self._binding_value(before, expr.id, depth)
        source = self.sources.get(expr.id)
        if source is not None:
            return [source]
        value = constant_value(self.project, self.module, expr)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return [value.value]
        return [_OPAQUE]

    def _binding_value(self, before: list[ast.AST], name: str, depth: int) -> list[_Piece]:
        last = before[-1]
        if isinstance(last, ast.Assign) and len(last.targets) == 1 and isinstance(last.targets[0], ast.Name):
            return self.pieces(last.value, depth + 1)
        if isinstance(last, ast.AnnAssign) and last.value is not None:
            return self.pieces(last.value, depth + 1)
        if isinstance(last, ast.AugAssign) and isinstance(last.op, ast.Add | ast.Div):
            earlier = self._binding_value(before[:-1], name, depth + 1) if len(before) > 1 else (
                [self.sources[name]] if name in self.sources else [_OPAQUE]
            )
            sep: list[_Piece] = ["/"] if isinstance(last.op, ast.Div) else []
            return [*earlier, *sep, *self.pieces(last.value, depth + 1)]
        if isinstance(last, ast.NamedExpr):
            return self.pieces(last.value, depth + 1)
        return [_OPAQUE]  # a loop variable, an unpacked tuple, `with ... as`

    def _attribute(self, expr: ast.Attribute, depth: int) -> list[_Piece]:
        base = expr.value
        if isinstance(base, ast.Name) and not self._rebound(base):
            if base.id in self.models:
                source = self.model_field(base.id, expr.attr)
                return [source] if source is not None else [_OPAQUE]
            if base.id in self.uploads and expr.attr == "filename":
                arg = next(a for a in _parameters(self.func) if a.arg == base.id)
                what = f"uploaded file name `{base.id}.filename`"
                return [_Source(base.id, what, arg, escapes=True, dots=True, host=True, url=False, upload=True)]
        if expr.attr in _SANITISED_ATTRS:
            return [_OPAQUE]  # `Path(name).name`: the last component only
        if expr.attr == "parent":
            return self.pieces(base, depth + 1)
        value = constant_value(self.project, self.module, expr)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return [value.value]
        return [_OPAQUE]

    def _rebound(self, name: ast.Name) -> bool:
        where = (name.lineno, name.col_offset)
        return any(pos < where for pos, _ in self._all_bindings().get(name.id, []))

    def _call(self, call: ast.Call, depth: int) -> list[_Piece]:
        func = call.func
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method == "format" and isinstance(func.value, ast.Constant) and isinstance(func.value.value, str):
                holes = [p for v in [*call.args, *(k.value for k in call.keywords)] for p in self.pieces(v, depth + 1)]
                return [func.value.value.split("{", 1)[0], *holes, _OPAQUE]
            if method == "joinpath":
                out = self.pieces(func.value, depth + 1)
                for arg in call.args:
                    out += ["/", *self.pieces(arg, depth + 1)]
                return out
            if method in _PASS_THROUGH_METHODS and not call.args:
                return self.pieces(func.value, depth + 1)
            if method in {"strip", "lstrip", "rstrip"}:
                return self.pieces(func.value, depth + 1)
        target = self.project.call_target(self.module, self.func, call)
        if target in _JOINS:
            out = []
            for i, arg in enumerate(call.args):
                if isinstance(arg, ast.Starred):
                    return [_OPAQUE]
                out += (["/"] if i else []) + self.pieces(arg, depth + 1)
            return out or [_OPAQUE]
        if target in _PASS_THROUGH and len(call.args) == 1:
            return self.pieces(call.args[0], depth + 1)
        return [_OPAQUE]  # a sanitiser (`basename`, `secure_filename`, `int`), or a helper not followed

    # -- guards ----------------------------------------------------------------

    def related_names(self, expr: ast.expr, depth: int = 0, seen: set[str] | None = None) -> set[str]:
        """Local names whose value flows into `expr` (through their bindings)."""
        seen = set() if seen is None else seen
        for node in ast.walk(expr):
            if isinstance(node, ast.Name) and node.id not in seen:
                seen.add(node.id)
                if depth < 8:
                    for _pos, stmt in self._all_bindings().get(node.id, []):
                        value = getattr(stmt, "value", None)
                        if isinstance(value, ast.expr):
                            self.related_names(value, depth + 1, seen)
        return seen

    def related_in(self, test: ast.expr) -> bool:
        return _is_guard_test(test, {n.id for n in ast.walk(test) if isinstance(n, ast.Name)})

    def guarded(self, sink: ast.Call, value: ast.expr) -> bool:
        """Is the sink behind a check of the value: an `if` that checks it against a
        base, a pattern or a list and leaves otherwise, or that wraps the sink;
        an `assert`; a `try` around `relative_to`; a call of a checker?"""
        names = self.related_names(value)
        where = _position(sink)
        node = self.func.node
        for branch in own_nodes_of(node, ast.If):
            if _is_guard_test(branch.test, names) and (
                _contains(branch, sink) or (_position(branch) < where and _leaves(branch.body))
            ):
                return True
        for check in own_nodes_of(node, ast.Assert):
            if _position(check) < where and _is_guard_test(check.test, names):
                return True
        for block in own_nodes_of(node, ast.Try):
            if (_position(block) < where or _contains(block, sink)) and any(
                isinstance(s, ast.Expr | ast.Assign) and _is_guard_test(s.value, names) for s in block.body
            ):
                return True
        for call in own_nodes_of(node, ast.Expr):
            if _position(call) < where and _is_guard_test(call.value, names):
                return True
        return False


def _parameters(func: FunctionInfo) -> list[ast.arg]:
    args = func.node.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]


def _pattern_of(call: ast.Call) -> str | None:
    for kw in call.keywords:
        if kw.arg in {"pattern", "regex"} and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
            return kw.value.value
    return None


def _make_source(
    param: str, what: str, node: ast.AST, pattern: str | None, segment: bool, url_type: bool
) -> _Source | None:
    """A request value, with what it can hold: a `{segment}` no `/`, a parsed URL no
    path, a `pattern=` only what it accepts. None when it can hold nothing harmful."""
    escapes, dots, host, url = (not segment), True, True, not segment
    if url_type:
        escapes, dots = False, False  # a parsed URL is not a file path
    if pattern is not None:
        flags = _pattern_flags(pattern)
        if flags is not None:
            escapes, dots, host, url = (escapes and flags[0], dots and flags[1], host and flags[2], url and flags[3])
    if not (escapes or dots or host):
        return None
    return _Source(param, what, node, escapes, dots, host, url)


def _bound_names(stmt: ast.AST) -> Iterator[str]:
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign | ast.NamedExpr | ast.For | ast.AsyncFor):
        targets = [stmt.target]
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        targets = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                yield node.id


def _tainted(pieces: list[_Piece]) -> bool:
    return any(isinstance(p, _Source) for p in pieces)


_BINDING_NODES: tuple[type[ast.AST], ...] = (
    ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr,
)


def _bound_at(stmt: ast.AST) -> tuple[int, int]:
    """Where a binding takes effect: after its value (`name = name or "x"` reads the
    old `name`), at the end of a loop's or a `with`'s target."""
    if isinstance(stmt, ast.For | ast.AsyncFor):
        target: ast.AST = stmt.target
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        target = stmt.items[-1].optional_vars or stmt
    else:
        target = stmt
    return getattr(target, "end_lineno", 0) or 0, getattr(target, "end_col_offset", 0) or 0


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _contains(outer: ast.stmt, inner: ast.AST) -> bool:
    end = (outer.end_lineno or 0, outer.end_col_offset or 0)
    return _position(outer) <= _position(inner) <= end


def _leaves(body: list[ast.stmt]) -> bool:
    """Does the block end by leaving (raise, return, continue, an abort helper)?"""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, ast.Raise | ast.Return | ast.Continue | ast.Break):
        return True
    return isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and "abort" in ast.unparse(last.value.func)


def _is_guard_test(test: ast.expr, names: set[str]) -> bool:
    """Does `test` check one of `names` against a list, a base, a pattern or a checker?"""
    for node in ast.walk(test):
        if isinstance(node, ast.Compare) and _mentions(node, names):
            if any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
                return True  # an allow-list, or `".." in name`
            operands = [node.left, *node.comparators]
            if any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops) and not any(
                isinstance(o, ast.Constant) for o in operands
            ):
                return True  # `path.parent != base`; not `name == ""`
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if (name in _GUARD_METHODS or any(w in name.lower() for w in _GUARD_WORDS)) and _mentions(node, names):
                return True
    return False


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _escaping_source(pieces: list[_Piece], action: str) -> _Source | None:
    """The request value that lets the path leave its base, if one does."""
    sources = [p for p in pieces if isinstance(p, _Source)]
    for source in sources:
        if source.escapes:
            return source
    dotted = [s for s in sources if s.dots]
    if len(dotted) >= 2:
        return dotted[0]  # `BASE / folder / name` with `folder = ".."`
    if dotted and action == "delete-dir":
        return dotted[0]  # `rmtree(BASE / name)` with `name = ".."` removes BASE's parent
    return None


def _host_source(pieces: list[_Piece]) -> _Source | None:
    """The request value that picks the scheme or host of a URL, if one does."""
    prefix = ""
    for piece in pieces:
        if isinstance(piece, _Opaque):
            return None  # a base the analysis cannot read: its host is not the client's
        if isinstance(piece, str):
            prefix += piece
            continue
        if prefix == "":
            return piece if piece.url else None
        if _SCHEME_AND_HOST.match(prefix):
            return piece if piece.host else None
        return None  # after a fixed host's first `/`, or a relative URL
    return None


_VERB = {
    "serve": "serves",
    "read": "reads",
    "open": "opens",
    "write": "writes to",
    "delete": "deletes",
    "delete-dir": "deletes the directory at",
}
_GAIN = {
    "serve": "read any file the server can",
    "read": "read any file the server can",
    "open": "read any file the server can",
    "write": "overwrite any file the server can",
    "delete": "delete any file the server can",
    "delete-dir": "delete any directory the server can",
}
_WRITE_MODE = re.compile(r"[wax+]")


def _attack(source: _Source, action: str) -> str:
    """What a client sends through `source`, and what it gains, for the message."""
    if source.escapes:
        sample = "`../../etc/passwd`" if action in {"serve", "read", "open"} else "`../../app/main.py`"
        if source.upload:
            sample = f"a file named {sample}"
        return f"{sample} and {_GAIN[action]}"
    if action == "delete-dir":
        return f"`%2E%2E` (`..`) as `{source.param}` and delete the directory above the one meant"
    return f"`%2E%2E` (`..`) as `{source.param}` and reach files outside the directory meant"


def _open_action(call: ast.Call, mode_index: int = 1) -> str:
    """`open(path, "wb")` writes; `open(path)` reads."""
    mode = call_argument(call, mode_index, "mode")
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and _WRITE_MODE.search(mode.value):
        return "write"
    return "open"


class RequestDataInFilePathOrUrl(Rule):
    """Flags request values that choose which file an endpoint opens or which host it calls.

    ## What it does
    Follows, inside each endpoint's own body, the values a client writes: its
    path, query, header, cookie and form parameters typed `str`, `pathlib.Path`,
    a pydantic URL type or left untyped (`str | None` too), the `str` fields of
    a request-body model read as `body.field`, and an uploaded file's
    `file.filename`. They flow through assignments, f-strings, `+`, `%`,
    `.format()`, `os.path.join`, `Path(...)`, `/`, `.joinpath()`, `str()`,
    `.resolve()`, `os.path.abspath/normpath/realpath`. It reports:

    - a path built from them that reaches `open`, `aiofiles.open`,
      `FileResponse`, `Path.read_text/read_bytes/open/write_text/write_bytes/
      unlink/rmdir/touch`, `os.remove/unlink/rmdir/rename/replace` or
      `shutil.rmtree/copy*/move`;
    - a URL whose scheme or host they choose (the whole URL, or any part before
      the first `/` after the host) that reaches `requests`, `httpx` (module
      functions, `Client` / `AsyncClient` methods), `aiohttp.ClientSession`
      methods, `urllib.request.urlopen` or `urllib.request.Request`.

    Not followed: parameters typed `int`, `float`, `bool`, `UUID`, dates,
    enums, `Literal`, or with a `pattern=` / `regex=` that rejects `..`, `/` and
    host names (tried against them); dependencies (`Depends`); values passed
    through any other call (`os.path.basename`, werkzeug's `secure_filename`,
    `int(x)`, a project helper): the rule follows one function. A plain `{name}`
    path parameter cannot hold a `/` (Starlette matches it on the decoded path
    with `[^/]+`), only `..`: it counts when two such segments make the path, or
    when the call deletes a directory. A value appended after a fixed host
    (`f"https://api.example.com/items/{item_id}"`) or to a relative URL of a
    client with a `base_url` is not reported.

    A call behind a check of the value is not reported: an `if` or `assert`
    whose test compares it (`in` / `not in` an allow-list, `==`), or calls
    `is_relative_to`, `relative_to`, `startswith`, `commonpath`, a regex
    `match` / `fullmatch` / `search`, or a function whose name says it checks
    (`is_safe_path`, `validate_url`, `check_allowed_host`, `is_path_inside`,
    `is_within_directory`), when the `if` wraps
    the call or leaves (`raise`, `return`) before it; a `try` around
    `path.relative_to(base)`; a bare call of such a checker before the call.

    ## Why is this bad?
    FastAPI hands the endpoint the decoded text: `GET /files/..%2F..%2Fetc%2Fpasswd`
    gives a `{name:path}` parameter `../../etc/passwd`, a query parameter takes
    any text, `%2E%2E` gives a plain `{name}` parameter `..`, and an uploaded
    file keeps the `../` of its `filename` (proved with `TestClient`, FastAPI
    0.165 / Starlette 1.10 / python-multipart 0.0.34). `FileResponse` serves
    whatever path it is given (it only `stat`s it), `open` and `shutil` do the
    same: `BASE / name` with `../../etc/passwd`, or `os.path.join(BASE, name)`
    with an absolute path, leaves `BASE` (path traversal: read secrets,
    overwrite code, delete data). `StaticFiles` is not concerned: it rejects
    absolute paths and checks `commonpath` against its directory after
    resolving.

    A URL whose host the client picks makes the server send requests for it
    (SSRF): to `http://169.254.169.254/latest/meta-data/` (cloud credentials),
    to `localhost` admin ports, to internal services the firewall trusts.
    `https://api.example.com` followed by a request value is not safe either:
    `@evil.example/` turns the fixed host into a user name.

    Resolve the path and check `path.is_relative_to(BASE)` before using it (or
    take an id and look the file up); check a URL's host against an allow-list.

    ## Example
    ```python
    @app.get("/files/{name:path}")
    def download(name: str):
        return FileResponse(UPLOADS / name)
    ```

    ## Use instead
    ```python
    @app.get("/files/{name:path}")
    def download(name: str):
        path = (UPLOADS / name).resolve()
        if not path.is_relative_to(UPLOADS.resolve()):
            raise HTTPException(status_code=404)
        return FileResponse(path)
    ```

    ## References
    - https://owasp.org/www-community/attacks/Path_Traversal
    - https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html
    - https://codeql.github.com/codeql-query-help/python/py-path-injection/
    - https://codeql.github.com/codeql-query-help/python/py-full-ssrf/
    - https://www.starlette.io/routing/#path-parameters
    - https://docs.python.org/3/library/pathlib.html#pathlib.PurePath.is_relative_to
    """

    code = "FX421"
    name = "request-data-in-file-path-or-url"
    summary = "A request value chooses the file an endpoint opens or the host it calls (path traversal, SSRF)."
    severity = Severity.ERROR

    valid = (
        Valid(
            # Checked by a project predicate named for containment before it is served.
            """
            from pathlib import Path

            from fastapi import FastAPI, HTTPException
            from fastapi.responses import FileResponse

            app = FastAPI()
            PUBLIC = Path("public")

            def is_path_inside(child: Path, parent: Path) -> bool:
                return parent.resolve() in child.resolve().parents

            @app.get("/public/{filename:path}")
            async def serve_public_file(filename: str):
                file_path = (PUBLIC / filename).resolve()
                if not is_path_inside(file_path, PUBLIC):
                    raise HTTPException(status_code=400, detail="Invalid filename")
                return FileResponse(file_path)
            """
        ),
        Valid(
            # Resolved, then checked against the base before it is served (freqtrade's UI
            # fallback); the second route leaves early when the check fails.
            """
            from pathlib import Path

            from fastapi import APIRouter, HTTPException
            from fastapi.responses import FileResponse

            router = APIRouter()
            UI_DIR = Path(__file__).parent / "ui"

            @router.get("/ui/{rest_of_path:path}")
            async def index_html(rest_of_path: str):
                base = UI_DIR.resolve()
                filename = (base / rest_of_path).resolve()
                if filename.is_file() and filename.is_relative_to(base):
                    return FileResponse(str(filename))
                return FileResponse(str(base / "index.html"))

            @router.get("/reports/{name:path}")
            async def report(name: str):
                path = (UI_DIR / "reports" / name).resolve()
                if not str(path).startswith(str(UI_DIR.resolve())):
                    raise HTTPException(status_code=404)
                return FileResponse(path)
            """,
            filename="app/web_ui.py",
        ),
        Valid(
            # Only the last component of the uploaded name is kept: `../../x` becomes `x`.
            """
            import os
            import shutil

            from fastapi import FastAPI, UploadFile

            from app.settings import UPLOAD_DIR

            app = FastAPI()

            @app.post("/avatars")
            async def upload_avatar(file: UploadFile):
                name = os.path.basename(file.filename or "avatar.png")
                with open(os.path.join(UPLOAD_DIR, name), "wb") as out:
                    shutil.copyfileobj(file.file, out)
                return {"name": name}
            """,
            filename="app/main.py",
            files={"app/settings.py": 'UPLOAD_DIR = "/srv/uploads"\n'},
        ),
        Valid(
            # The request values come after a fixed host and its first `/` (or go to a client
            # with a `base_url` as a relative URL): they choose a path on that host, not the host.
            """
            import httpx
            import requests
            from fastapi import FastAPI

            app = FastAPI()
            github = httpx.AsyncClient(base_url="https://api.github.com")

            @app.get("/repos/{owner}/{repo}")
            async def repo_info(owner: str, repo: str):
                response = await github.get(f"/repos/{owner}/{repo}")
                return response.json()

            @app.get("/weather")
            def weather(city: str):
                return requests.get(f"https://api.weather.example/v1/{city}", timeout=5).json()
            """,
        ),
        Valid(
            # Typed values and a pattern that rejects `/` and `..`: nothing an attacker can use.
            """
            import enum
            from pathlib import Path
            from typing import Annotated, Literal
            from uuid import UUID

            from fastapi import FastAPI, Query
            from fastapi.responses import FileResponse

            app = FastAPI()
            EXPORTS = Path("/srv/exports")

            class Format(str, enum.Enum):
                csv = "csv"
                xlsx = "xlsx"

            @app.get("/exports/{export_id}")
            def download_export(
                export_id: UUID,
                fmt: Format = Format.csv,
                kind: Literal["daily", "weekly"] = "daily",
                slug: Annotated[str, Query(pattern=r"^[a-z0-9_-]+$")] = "report",
            ):
                return FileResponse(EXPORTS / kind / slug / f"{export_id}.{fmt.value}")
            """,
        ),
        Valid(
            # A plain `{name}` segment cannot hold `/` (Starlette matches `[^/]+` on the
            # decoded path): at most `..`, which names the directory itself, not a file in it.
            """
            from pathlib import Path

            from fastapi import FastAPI
            from fastapi.responses import FileResponse

            app = FastAPI()
            ICONS = Path("/srv/icons")

            @app.get("/icons/{name}")
            def icon(name: str):
                return FileResponse(ICONS / f"{name}.svg")
            """,
        ),
        Valid(
            # The host is checked against an allow-list before the call; the second route
            # looks the file up by a key of a fixed table.
            """
            from urllib.parse import urlparse

            import httpx
            from fastapi import FastAPI, HTTPException
            from fastapi.responses import FileResponse
            from pydantic import BaseModel, HttpUrl

            app = FastAPI()
            ALLOWED_HOSTS = {"hooks.slack.com", "discord.com"}
            DOCUMENTS = {"terms": "/srv/docs/terms.pdf", "privacy": "/srv/docs/privacy.pdf"}

            class Webhook(BaseModel):
                url: HttpUrl

            @app.post("/webhooks/test")
            async def test_webhook(hook: Webhook):
                if urlparse(str(hook.url)).hostname not in ALLOWED_HOSTS:
                    raise HTTPException(status_code=400, detail="host not allowed")
                async with httpx.AsyncClient() as client:
                    response = await client.post(str(hook.url), json={"text": "test"})
                return {"status": response.status_code}

            @app.get("/documents/{key}")
            def document(key: str):
                if key not in DOCUMENTS:
                    raise HTTPException(status_code=404)
                return FileResponse(DOCUMENTS[key])
            """,
        ),
        Valid(
            # Values from dependencies (settings, the signed-in user) are not request text.
            """
            from pathlib import Path

            from fastapi import Depends, FastAPI
            from fastapi.responses import FileResponse

            from app.deps import current_user_dir

            app = FastAPI()

            @app.get("/me/avatar")
            def my_avatar(user_dir: str = Depends(current_user_dir)):
                return FileResponse(Path(user_dir) / "avatar.png")
            """,
            filename="app/main.py",
            files={"app/deps.py": "def current_user_dir() -> str:\n    return '/srv/users/1'\n"},
        ),
    )
    invalid = (
        Invalid(
            """
            from fastapi import APIRouter
            from fastapi.responses import FileResponse

            from app.config import settings

            router = APIRouter(prefix="/files")

            @router.get("/{file_path:path}")
            async def download(file_path: str):
                return FileResponse(settings.storage_dir / file_path)
            """,
            lines=(10,),
            filename="app/routers/files.py",
            files={
                "app/config.py": """
                    from pathlib import Path

                    class Settings:
                        storage_dir = Path("/srv/storage")

                    settings = Settings()
                """,
            },
        ),
        Invalid(
            # An uploaded file keeps the `../` of its name; the second route deletes by query.
            """
            import os
            from pathlib import Path

            import aiofiles
            from fastapi import FastAPI, UploadFile

            app = FastAPI()
            UPLOAD_DIR = Path("/srv/uploads")

            @app.post("/documents")
            async def upload_document(file: UploadFile):
                destination = UPLOAD_DIR / file.filename
                async with aiofiles.open(destination, "wb") as out:
                    await out.write(await file.read())
                return {"path": str(destination)}

            @app.delete("/documents")
            def delete_document(name: str):
                os.remove(os.path.join(UPLOAD_DIR, name))
            """,
            lines=(13, 19),
        ),
        Invalid(
            # The whole URL from the body; the host from a query parameter.
            """
            import httpx
            import requests
            from fastapi import FastAPI
            from pydantic import BaseModel, HttpUrl

            app = FastAPI()

            class PreviewRequest(BaseModel):
                url: HttpUrl

            @app.post("/link-preview")
            async def link_preview(payload: PreviewRequest):
                async with httpx.AsyncClient(timeout=5) as client:
                    page = await client.get(str(payload.url))
                return {"title": page.text[:100]}

            @app.get("/nodes/health")
            def node_health(node: str, port: int = 8080):
                return requests.get(f"http://{node}:{port}/health", timeout=3).json()
            """,
            lines=(14, 19),
        ),
        Invalid(
            # Two `{segment}` parameters: `%2E%2E` as the first leaves the directory; and
            # `rmtree` of `BASE / ".."` removes BASE's parent.
            """
            import shutil
            from pathlib import Path

            from fastapi import FastAPI
            from fastapi.responses import FileResponse

            app = FastAPI()
            WORKSPACES = Path("/srv/workspaces")

            @app.get("/workspaces/{workspace}/{name}")
            def workspace_file(workspace: str, name: str):
                return FileResponse(WORKSPACES / workspace / name)

            @app.delete("/workspaces/{workspace}", status_code=204)
            def delete_workspace(workspace: str):
                shutil.rmtree(WORKSPACES / workspace)
            """,
            lines=(12, 16),
        ),
        Invalid(
            # A header and a form field, through a local variable and `.joinpath()`.
            """
            from pathlib import Path
            from typing import Annotated

            from fastapi import FastAPI, Form, Header

            app = FastAPI()
            TEMPLATES = Path("/srv/templates")

            @app.post("/render")
            def render(template: Annotated[str, Form()], x_tenant: Annotated[str | None, Header()] = None):
                source = TEMPLATES.joinpath(template)
                text = source.read_text()
                (TEMPLATES / "out" / f"{x_tenant}/{template}.html").write_text(text)
                return {"ok": True}
            """,
            lines=(12, 13),
        ),
    )

    def check_project(self, ctx: ProjectContext) -> None:
        project = ctx.project
        by_endpoint: dict[ast.AST, list[Route]] = {}
        for route in project.fastapi.routes:
            endpoint = route.endpoint
            if endpoint is not None and not endpoint.module.is_test:
                by_endpoint.setdefault(endpoint.node, []).append(route)
        for routes in by_endpoint.values():
            func = routes[0].endpoint
            assert func is not None
            calls = [c for c in own_nodes_of(func.node, ast.Call) if _callee_name(c) in _SINK_NAMES]
            if not calls:
                continue  # most endpoints: no call that could be a sink
            flow = _Endpoint(project, func, routes)
            if not (flow.sources or flow.models or flow.uploads):
                continue
            for call in calls:
                self._check_call(ctx, flow, call)

    def _check_call(self, ctx: ProjectContext, endpoint: _Endpoint, call: ast.Call) -> None:
        project = endpoint.project
        target = project.call_target(endpoint.module, endpoint.func, call)
        if target is not None and target.endswith(".__init__"):
            target = target[: -len(".__init__")]
        if target in _FILE_SINKS:
            indexes, keywords, action = _FILE_SINKS[target]
            if action == "open" and target != "os.open":
                action = _open_action(call)
            for position, index in enumerate(indexes):
                value = call_argument(call, index, *keywords[position : position + 1])
                if value is not None and self._file_flow(ctx, endpoint, call, value, action):
                    return
        elif target in _HTTP_SINKS:
            value = call_argument(call, _HTTP_SINKS[target], "url")
            if value is not None:
                self._url_flow(ctx, endpoint, call, value)
        elif isinstance(call.func, ast.Attribute) and call.func.attr in _PATH_METHODS:
            action = _PATH_METHODS[call.func.attr]
            if action == "open":
                action = _open_action(call, mode_index=0)  # `path.open("w")`
            self._file_flow(ctx, endpoint, call, call.func.value, action)

    def _file_flow(
        self, ctx: ProjectContext, endpoint: _Endpoint, call: ast.Call, value: ast.expr, action: str
    ) -> bool:
        pieces = endpoint.pieces(value)
        source = _escaping_source(pieces, action)
        if source is None or endpoint.guarded(call, value):
            return False
        ctx.report(
            endpoint.module,
            call,
            f"`{_callee_text(call)}()` in `{endpoint.func.name}` {_VERB[action]} a path built from the "
            f"{source.what}, so a client can send {_attack(source, action)} (path traversal); resolve the "
            "path and check that it `is_relative_to()` the base directory before using it, or take an id "
            "and look the file up.",
            chain=(self._link(endpoint, source),),
        )
        return True

    def _url_flow(self, ctx: ProjectContext, endpoint: _Endpoint, call: ast.Call, value: ast.expr) -> None:
        source = _host_source(endpoint.pieces(value))
        if source is None or endpoint.guarded(call, value):
            return
        ctx.report(
            endpoint.module,
            call,
            f"`{_callee_text(call)}()` in `{endpoint.func.name}` calls a URL whose host comes from the "
            f"{source.what}, so a "
            "client can make the server request `http://169.254.169.254/latest/meta-data/` or any internal "
            "service (SSRF); check the URL's scheme and host against an allow-list before the call.",
            chain=(self._link(endpoint, source),),
        )

    @staticmethod
    def _link(endpoint: _Endpoint, source: _Source) -> ChainLink:
        route = endpoint.routes[0]
        method = "WEBSOCKET" if route.is_websocket else "/".join(route.methods)
        return ChainLink(
            endpoint.module.source.location(source.node),
            f"the {source.what} of `{method} {route.display_path}`",
        )


def _callee_text(call: ast.Call) -> str:
    """`os.remove`, `client.get`; `.write_text` for a method of a long expression."""
    text = ast.unparse(call.func)
    if len(text) > 40 and isinstance(call.func, ast.Attribute):
        return f".{call.func.attr}"
    return text


def _callee_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""
