"""`# noqa` comments, with ruff's syntax.

    x = time.sleep(1)  # noqa: FX201, FX2   (codes or code prefixes)
    x = time.sleep(1)  # noqa               (everything on the line)
    # fastapi-expert: noqa                  (whole file)
    # fastapi-expert: noqa: FX101           (these codes in the whole file)

Only comments count: `"# noqa"` inside a string, or a docstring that shows the
syntax, suppresses nothing. Lines are found with a regular expression; the
file is tokenized (to tell a comment from a string) only when a directive would
suppress a finding, which is rare.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from fastapi_expert.review.source import has_lone_carriage_return, source_lines

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]*(?:[\s,]+[A-Za-z]+[0-9]*)*))?", re.I)
FILE_NOQA = re.compile(
    r"#\s*fastapi-expert:\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]*(?:[\s,]+[A-Za-z]+[0-9]*)*))?", re.I
)
_ALL: frozenset[str] = frozenset({"*"})


def _codes(text: str | None) -> frozenset[str]:
    if not text:
        return _ALL
    return frozenset(c.upper() for c in re.split(r"[\s,]+", text.strip()) if c)


def _covers(codes: frozenset[str], code: str) -> bool:
    return "*" in codes or any(code.startswith(c) for c in codes)


@dataclass
class Suppressions:
    """The directives of one file: per line, the column of each directive's `#`
    with its codes (a `# noqa` in a string may come before the comment's); the
    file-wide ones with their line and column."""

    text: str = ""
    by_line: dict[int, list[tuple[int, frozenset[str]]]] = field(default_factory=dict)
    file_wide: list[tuple[int, int, frozenset[str]]] = field(default_factory=list)
    _comments: dict[int, int] | None = field(default=None, init=False, repr=False)

    @classmethod
    def scan(cls, text: str) -> Suppressions:
        out = cls(text)
        for number, line in enumerate(source_lines(text), start=1):
            if "#" not in line or "noqa" not in line.lower():
                continue
            for file_match in FILE_NOQA.finditer(line):
                out.file_wide.append((number, file_match.start(), _codes(file_match.group("codes"))))
            found = [(match.start(), _codes(match.group("codes"))) for match in NOQA.finditer(line)]
            if found:
                out.by_line[number] = found
        return out

    def suppresses(self, code: str, line: int, end_line: int) -> bool:
        for number, column, codes in self.file_wide:
            if _covers(codes, code) and self._in_comment(number, column):
                return True
        for candidate in (line, end_line):
            for column, codes in self.by_line.get(candidate, ()):
                if _covers(codes, code) and self._in_comment(candidate, column):
                    return True
        return False

    def _in_comment(self, line: int, column: int) -> bool:
        """Is the `#` at this line and column the start of, or inside, a comment?"""
        if self._comments is None:
            self._comments = _comment_starts(self.text)
        if self._comments is _UNKNOWN:
            return True  # not tokenizable here: take the directive at its word
        start = self._comments.get(line)
        return start is not None and column >= start


# What `_comment_starts` answers when this Python cannot tokenize the file (newer
# syntax): every directive is then taken as written, as before tokens were read.
_UNKNOWN: dict[int, int] = {}


def _comment_starts(text: str) -> dict[int, int]:
    """Line -> the column where its comment starts, for the lines that have one."""
    if has_lone_carriage_return(text):
        return _UNKNOWN
    out: dict[int, int] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.start[1]
    except (tokenize.TokenError, SyntaxError, ValueError):
        return _UNKNOWN
    return out
