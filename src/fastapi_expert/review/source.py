"""A source file as the rules see it: its text, its tree, and position maths.

`ast` reports columns as UTF-8 byte offsets; every position the tool prints is
1-based and counted in code points, so the conversion lives here, once.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from fastapi_expert.types import Edit, Location

if TYPE_CHECKING:
    from fastapi_expert.review.compat import NewerSyntax

# A file larger than this is reported rather than parsed: generated or vendored
# blobs of this size are not hand-written FastAPI code and would stall a review.
MAX_FILE_BYTES = 5 * 1024 * 1024


class SourceError(Exception):
    """The file could not be read or parsed; the message is for the user."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = max(line, 1)
        self.column = max(column, 1)


def decode_source(data: bytes) -> str:
    """Decode bytes the way the interpreter would (PEP 263 cookie, BOM)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot decode file: {exc}") from exc
    return text.removeprefix("\ufeff")


def encode_like(text: str, original: bytes) -> bytes:
    """`text` in the encoding `original` was read in (its PEP 263 cookie, its
    byte-order mark), so that writing a file back keeps what its cookie says.
    UnicodeEncodeError when `text` holds a character that encoding lacks."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    except SyntaxError:
        encoding = "utf-8"
    return text.encode(encoding)


def parse_source(text: str, path: str) -> ast.Module:
    """Parse `text`, turning every way `ast.parse` can fail into SourceError."""
    return parse_source_detailed(text, path).tree


@dataclass(frozen=True, slots=True)
class Parsed:
    """A tree, and when the file needed a newer Python, what was rewritten."""

    tree: ast.Module
    newer: NewerSyntax | None = None


def parse_source_detailed(text: str, path: str) -> Parsed:
    """Parse `text` with this interpreter's `ast`; code written for a newer Python
    is read through `review.compat` (a position-keeping rewrite) instead of failing."""
    if "\x00" in text:
        raise SourceError("source contains a null byte")
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences warn at compile time; they are not ours to report.
            warnings.simplefilter("ignore")
            return Parsed(ast.parse(text, filename=path, type_comments=False))
    except SyntaxError as exc:
        error = exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SourceError(f"cannot parse: {type(exc).__name__}: {exc}") from exc
    # Only on the failure path: the rewrite costs nothing for files this Python reads.
    from fastapi_expert.review.compat import parse_newer

    try:
        outcome = parse_newer(text, path)
    except RecursionError as exc:
        raise SourceError("cannot parse: the code is nested too deeply") from exc
    if outcome.tree is not None:
        return Parsed(outcome.tree, outcome.newer)
    message = f"syntax error: {error.msg}"
    if outcome.newer.constructs:
        wanted = outcome.newer.native_version
        titles = ", ".join(c.title for c in sorted(outcome.newer.constructs))
        message += (
            f" (the file also uses syntax of Python {wanted[0]}.{wanted[1]}: {titles}; "
            f"run the review under Python {wanted[0]}.{wanted[1]} or newer to analyse it)"
        )
    raise SourceError(message, error.lineno or 1, error.offset or 1) from error


@dataclass
class SourceFile:
    """Text, lines and tree of one file, with conversions from `ast` positions."""

    path: str
    text: str
    tree: ast.Module
    _ascii: bool = field(init=False)

    def __post_init__(self) -> None:
        self._ascii = self.text.isascii()

    @cached_property
    def lines(self) -> list[str]:
        """The lines without their ends; split when first asked (few files are:
        splitting them all took a tenth of the time of parsing them)."""
        return source_lines(self.text)

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def column(self, line: int, byte_offset: int) -> int:
        """1-based code-point column for an `ast` byte offset on `line`."""
        if self._ascii:
            return byte_offset + 1
        raw = self.line_text(line).encode("utf-8")
        return len(raw[:byte_offset].decode("utf-8", errors="replace")) + 1

    def location(self, node: ast.AST, end: ast.AST | None = None) -> Location:
        """The span of `node` (through `end` if given)."""
        last = end or node
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        end_line = getattr(last, "end_lineno", None) or line
        end_col = getattr(last, "end_col_offset", None)
        if end_col is None:
            end_col = col
        return Location(
            self.path,
            line,
            self.column(line, col),
            end_line,
            self.column(end_line, end_col),
        )

    def segment(self, node: ast.AST) -> str:
        """The exact source text of `node` (like `ast.get_source_segment`, which
        re-splits the whole file on every call and dominated review time)."""
        line: int | None = getattr(node, "lineno", None)
        end_line: int | None = getattr(node, "end_lineno", None)
        col: int | None = getattr(node, "col_offset", None)
        end_col: int | None = getattr(node, "end_col_offset", None)
        if line is None or end_line is None or col is None or end_col is None:
            return ""
        raw = self._raw_lines()
        if not 0 < line <= end_line <= len(raw):
            return ""
        if line == end_line:
            return raw[line - 1][col:end_col].decode("utf-8", errors="replace")
        parts = [raw[line - 1][col:], *raw[line : end_line - 1], raw[end_line - 1][:end_col]]
        return b"".join(parts).decode("utf-8", errors="replace")

    def _raw_lines(self) -> list[bytes]:
        cached: list[bytes] | None = self.__dict__.get("_raw")
        if cached is None:
            # ast counts lines like this (\r\n, \r and \n; not form feeds).
            cached = [ln.encode("utf-8") for ln in split_keepends(self.text)]
            self.__dict__["_raw"] = cached
        return cached

    def replace(self, node: ast.AST, content: str) -> Edit:
        """An edit replacing the text of `node` with `content`."""
        loc = self.location(node)
        return Edit(loc.line, loc.column, loc.end_line, loc.end_column, content)

    def insert_at(self, line: int, column: int, content: str) -> Edit:
        """An edit inserting `content` at a 1-based code-point position."""
        return Edit(line, column, line, column, content)

    def indent_of(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip())]


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_keepends(text: str) -> list[str]:
    """The lines of `text` with their ends, numbered as `ast` numbers them: broken
    at `\n`, `\r\n` and `\r` only. Not `str.splitlines()`, which also breaks at
    form feeds, `\x1c`-`\x1e`, `\x85` and `\u2028`: a `^L` page break or a pasted
    line separator in a comment would shift every line after it."""
    return _LINE.findall(text)


def has_lone_carriage_return(text: str) -> bool:
    """Does `text` end a line with a `\r` alone? `ast` breaks lines there, `tokenize`
    (reading `\n`-split lines) does not, so their line numbers would disagree."""
    return "\r" in text.replace("\r\n", "")


def source_lines(text: str) -> list[str]:
    """`split_keepends` without the line ends: index `n - 1` is `ast`'s line `n`."""
    return [line.rstrip("\r\n") for line in _LINE.findall(text)]
