"""Analyse code written for a newer Python than the one running the review.

When `ast.parse` of the running interpreter rejects a file, `parse_newer` looks
for the constructs of newer releases (`compat.constructs`), rewrites each into
older syntax of exactly the same UTF-8 length per line (so every other token
keeps its line and byte column), parses the result with the interpreter's own
`ast`, and repairs the tree where the rewrite changed its shape:

| newer construct | rewritten text | tree after repair |
|---|---|---|
| `except A, B:` (3.14) | `except A| B:` | `ExceptHandler(type=Tuple([A, B]))` |
| `except* E:` (3.11, on 3.10) | `except  E:` | `ExceptHandler(type=E)` in a `Try` |
| `def f[T](x: T)` / `class C[T]` (3.12) | `def f   (x: T)` | no `type_params` (older `ast` has none) |
| `type X[T] = list[T]` (3.12) | `type;X   = list[T]` | `Assign(X = list[T])` starting at `type` |
| `f"{d["k"]}"`, `f"{'\\n'.join(x)}"` (3.12) | `f"{d['_']}"` | the nested literal parsed on its own and put back |
| `t"..."` (3.14) | `f"..."` | `JoinedStr` |

A fix whose edits touch a rewritten region is dropped by the engine: the tool
never offers to edit text it did not parse as written.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
import warnings
from dataclasses import dataclass

from fastapi_expert.review.compat.constructs import ALL_CONSTRUCTS, Construct
from fastapi_expert.review.compat.scanner import Placeholder, Scan, Scanner, UnrewritableError

__all__ = ["ALL_CONSTRUCTS", "Construct", "NewerSyntax", "Outcome", "parse_newer"]

_NATIVE: tuple[int, int] = (sys.version_info[0], sys.version_info[1])
_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class NewerSyntax:
    """The newer constructs a file uses and the regions the rewrite touched.

    Spans are `(line, column, end_line, end_column)`, 1-based, columns in code
    points, end exclusive (the convention of `Edit`).
    """

    constructs: frozenset[Construct]
    spans: tuple[tuple[int, int, int, int], ...]

    @property
    def native_version(self) -> tuple[int, int]:
        """The first Python whose `ast` reads the file as written."""
        return max((c.version for c in self.constructs), default=_NATIVE)

    def touches(self, line: int, column: int, end_line: int, end_column: int) -> bool:
        """Whether the region (an edit; empty for an insertion) meets a rewritten span."""
        start, end = (line, column), (end_line, end_column)
        for s_line, s_col, e_line, e_col in self.spans:
            s, e = (s_line, s_col), (e_line, e_col)
            if start == end:
                if s <= start <= e:
                    return True
            elif start <= e and s <= end:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Outcome:
    """`tree` is None when the file is not newer syntax the rewrite can read."""

    tree: ast.Module | None
    newer: NewerSyntax
    reason: str = ""


class _Index:
    """Offsets in the text to `ast` positions (1-based line, byte column)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _BREAK.finditer(text)]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def byte_pos(self, offset: int) -> tuple[int, int]:
        line = self.line_of(offset)
        start = self.starts[line - 1]
        return line, len(self.text[start:offset].encode("utf-8"))

    def point(self, offset: int) -> tuple[int, int]:
        line = self.line_of(offset)
        return line, offset - self.starts[line - 1] + 1


def parse_newer(text: str, filename: str = "<unknown>", native: tuple[int, int] | None = None) -> Outcome:
    """Parse `text`, which the running `ast` rejected, as newer Python."""
    return _parse(text, filename, native or _NATIVE, "exec")


def _parse(text: str, filename: str, native: tuple[int, int], mode: str) -> Outcome:
    scanner = Scanner(text, native)
    try:
        scan = scanner.run()
    except (UnrewritableError, IndexError) as exc:
        return Outcome(None, _newer(scanner.scan, text, native), f"{exc}")
    newer = _newer(scan, text, native)
    if not scan.edits:
        return Outcome(None, newer, "no newer construct found")
    try:
        rewritten = _apply_edits(text, scan.edits)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(rewritten, filename=filename, mode=mode)
    except (SyntaxError, ValueError, UnrewritableError) as exc:
        return Outcome(None, newer, f"{exc}")
    repaired = _repair(tree, scan, _Index(text), filename, native)
    if isinstance(repaired, ast.Expression):
        return Outcome(ast.Module(body=[ast.Expr(repaired.body)], type_ignores=[]), newer)
    if not isinstance(repaired, ast.Module):
        return Outcome(None, newer, "unexpected tree")
    return Outcome(repaired, newer)


def _newer(scan: Scan, text: str, native: tuple[int, int]) -> NewerSyntax:
    index = _Index(text)
    spans = tuple(sorted({(*index.point(s), *index.point(e)) for s, e in scan.spans}))
    return NewerSyntax(frozenset(c for c in scan.found if c.version > native), spans)


def _apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    parts: list[str] = []
    last = 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], -e[1])):
        if start < last and end <= last:
            continue  # inside a blanked type parameter list
        if start < last:
            raise UnrewritableError("overlapping rewrites")
        parts.append(text[last:start])
        parts.append(replacement)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _repair(tree: ast.AST, scan: Scan, index: _Index, filename: str, native: tuple[int, int]) -> ast.AST:
    if scan.placeholders:
        tree = _Substitute(scan.placeholders, index, filename, native).visit(tree)
    if scan.except_handlers:
        handlers = {index.byte_pos(o) for o in scan.except_handlers}
        commas = [index.byte_pos(o) for o in scan.except_commas]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ExceptHandler)
                and node.type is not None
                and (node.lineno, node.col_offset) in handlers
            ):
                node.type = _as_tuple(node.type, commas)
    if scan.type_aliases:
        _merge_type_aliases(tree, {index.byte_pos(o) for o in scan.type_aliases})
    if scan.stars:
        tree = _Starred(scan.stars, index).visit(tree)
    return tree


class _Starred(ast.NodeTransformer):
    """Put back the PEP 646 `*` blanked in `x[*Ts]` and `*args: *Ts` (3.10)."""

    def __init__(self, stars: list[int], index: _Index) -> None:
        self.targets: dict[tuple[int, int], tuple[int, int]] = {}
        for offset in stars:
            after = offset + 1
            while after < len(index.text) and index.text[after] in " \t":
                after += 1
            self.targets[index.byte_pos(after)] = index.byte_pos(offset)

    def visit(self, node: ast.AST) -> ast.AST:
        key = (getattr(node, "lineno", 0), getattr(node, "col_offset", -1))
        bare_tuple = isinstance(node, ast.Tuple) and bool(node.elts) and (
            (node.elts[0].lineno, node.elts[0].col_offset) == key
        )
        star = self.targets.pop(key, None) if isinstance(node, ast.expr) and not bare_tuple else None
        node = super().visit(node)
        if star is None or not isinstance(node, ast.expr):
            return node
        return ast.Starred(
            value=node,
            ctx=ast.Load(),
            lineno=star[0],
            col_offset=star[1],
            end_lineno=node.end_lineno,
            end_col_offset=node.end_col_offset,
        )

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.slice, ast.Starred):
            s = node.slice
            node.slice = ast.Tuple(
                elts=[s], ctx=ast.Load(), lineno=s.lineno, col_offset=s.col_offset,
                end_lineno=s.end_lineno, end_col_offset=s.end_col_offset,
            )
        elif isinstance(node.slice, ast.Tuple) and node.slice.elts and isinstance(node.slice.elts[0], ast.Starred):
            first = node.slice.elts[0]
            node.slice.lineno, node.slice.col_offset = first.lineno, first.col_offset
        return node


class _Substitute(ast.NodeTransformer):
    """Put back the nested strings of f-strings, each parsed on its own."""

    def __init__(self, placeholders: list[Placeholder], index: _Index, filename: str, native: tuple[int, int]) -> None:
        self.targets = {index.byte_pos(p.start): p for p in placeholders}
        self.filename = filename
        self.native = native

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        key = (getattr(node, "lineno", 0), getattr(node, "col_offset", -1))
        placeholder = self.targets.get(key)
        if placeholder is None:
            return node
        if placeholder.prefix:
            expr = _parse_multiline_fstring(placeholder, self.filename, self.native)
        else:
            expr = _parse_expression(placeholder.original, self.filename, self.native)
        if expr is None:
            return node
        line, col = key
        _shift(expr, line - 1, col - 1)  # -1: the expression was parsed inside "( )"
        return expr


def _parse_expression(original: str, filename: str, native: tuple[int, int]) -> ast.expr | None:
    wrapped = f"({original})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(wrapped, filename=filename, mode="eval").body
    except (SyntaxError, ValueError):
        pass
    outcome = _parse(wrapped, filename, native, "eval")
    if outcome.tree is None or not outcome.tree.body:
        return None
    first = outcome.tree.body[0]
    return first.value if isinstance(first, ast.Expr) else None


def _parse_multiline_fstring(placeholder: Placeholder, filename: str, native: tuple[int, int]) -> ast.expr | None:
    """Parse `f"{(\n x\n)}"` as `f\"\"\"{(\n x\n)}\"\"\"`, then take the two extra
    quotes out of the positions (after the opening quote on the first line,
    after the closing quote on the last)."""
    prefix, original = placeholder.prefix, placeholder.original
    quote = original[len(prefix)]
    body = original[len(prefix) + 1 : -1]
    expr = _parse_expression(f"{prefix}{quote * 3}{body}{quote * 3}", filename, native)
    if expr is None:
        return None
    opening = 1 + len(prefix.encode("utf-8")) + 1  # "(" + prefix + quote, in the wrapped text
    last_line = 1 + len(_BREAK.findall(original))
    closing = len(_BREAK.split(original)[-1].encode("utf-8")) - 1  # the closing quote's column
    for node in ast.walk(expr):
        lineno: int | None = getattr(node, "lineno", None)
        if lineno is None:
            continue
        col: int = getattr(node, "col_offset", 0)
        end_lineno: int | None = getattr(node, "end_lineno", None)
        end_col: int | None = getattr(node, "end_col_offset", None)
        if lineno == 1 and col >= opening + 2:
            setattr(node, "col_offset", col - 2)  # noqa: B010
        if end_col is not None and (
            (end_lineno == 1 and end_col >= opening + 2) or (end_lineno == last_line and end_col > closing)
        ):
            setattr(node, "end_col_offset", end_col - 2)  # noqa: B010
    return expr


def _shift(root: ast.AST, lines: int, columns: int) -> None:
    for node in ast.walk(root):
        lineno: int | None = getattr(node, "lineno", None)
        if lineno is None:
            continue
        end_lineno: int | None = getattr(node, "end_lineno", None)
        end_col: int | None = getattr(node, "end_col_offset", None)
        if lineno == 1:
            setattr(node, "col_offset", getattr(node, "col_offset", 0) + columns)  # noqa: B010
        if end_lineno == 1 and end_col is not None:
            setattr(node, "end_col_offset", end_col + columns)  # noqa: B010
        setattr(node, "lineno", lineno + lines)  # noqa: B010
        if end_lineno is not None:
            setattr(node, "end_lineno", end_lineno + lines)  # noqa: B010


def _as_tuple(expr: ast.expr, commas: list[tuple[int, int]]) -> ast.expr:
    elts = _split(expr, commas)
    if len(elts) < 2:
        return expr
    first, last = elts[0], elts[-1]
    return ast.Tuple(
        elts=elts,
        ctx=ast.Load(),
        lineno=first.lineno,
        col_offset=first.col_offset,
        end_lineno=last.end_lineno,
        end_col_offset=last.end_col_offset,
    )


def _split(expr: ast.expr, commas: list[tuple[int, int]]) -> list[ast.expr]:
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        left_end = (expr.left.end_lineno or 0, expr.left.end_col_offset or 0)
        right_start = (expr.right.lineno, expr.right.col_offset)
        if any(left_end <= c < right_start for c in commas):
            return [*_split(expr.left, commas), expr.right]
    return [expr]


def _merge_type_aliases(tree: ast.AST, keywords: set[tuple[int, int]]) -> None:
    """`type;X = v` parsed as `type` then `X = v`: one `Assign` starting at `type`."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            stmts = getattr(node, name, None)
            if not isinstance(stmts, list) or not stmts or not isinstance(stmts[0], ast.stmt):
                continue
            kept: list[ast.stmt] = []
            pending: ast.stmt | None = None
            for stmt in stmts:
                if (
                    isinstance(stmt, ast.Expr)
                    and isinstance(stmt.value, ast.Name)
                    and stmt.value.id == "type"
                    and (stmt.lineno, stmt.col_offset) in keywords
                ):
                    pending = stmt
                    continue
                if pending is not None and isinstance(stmt, ast.Assign):
                    stmt.lineno, stmt.col_offset = pending.lineno, pending.col_offset
                pending = None
                kept.append(stmt)
            stmts[:] = kept
