"""`review --add-noqa`: a `# noqa: CODE` comment on the line of every finding, so
that a code base adopting the review in CI starts clean and only new findings
fail the build (ruff's `--add-noqa`, with the same comment syntax).

A comment goes at the end of the finding's first line, or of its last line when
the first ends inside a string or a backslash continuation, where a comment
would change the code or break it. An existing `# noqa: E501` on the line gets
the codes added to it. Each file's edit is proved before it is kept: the new
text must give the same syntax tree, node positions included, and every
finding it was for must now be suppressed; otherwise the file is left as it was
and its findings are reported as not suppressed.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

from fastapi_expert.review.source import has_lone_carriage_return, split_keepends
from fastapi_expert.review.suppression import NOQA, Suppressions
from fastapi_expert.review.tool_codes import FILE_NOT_ANALYSED, INTERNAL_ERROR
from fastapi_expert.types import Finding

# What no comment can suppress: the review itself could not read the file or crashed.
UNSUPPRESSIBLE = frozenset({FILE_NOT_ANALYSED.code, INTERNAL_ERROR.code})

# Tokens that may span lines and whose inner line ends are not line ends of the
# code: a comment appended there would land inside them.
_SPANNING = {tokenize.STRING}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_LINE_ENDS = {tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT}


@dataclass
class NoqaOutcome:
    """The new text of one file, how many comments it gained, and the findings
    that could not get one (each with the reason)."""

    text: str
    added: int = 0
    unplaced: list[tuple[Finding, str]] = field(default_factory=list)


def add_noqa(text: str, findings: Iterable[Finding]) -> NoqaOutcome:
    """`text` with a `# noqa` comment for each of `findings` (all of one file)."""
    wanted = [f for f in findings if f.code not in UNSUPPRESSIBLE]
    if not wanted:
        return NoqaOutcome(text)
    if has_lone_carriage_return(text):
        return NoqaOutcome(text, unplaced=[(f, "the file ends lines with a lone carriage return") for f in wanted])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            before = ast.parse(text)
        open_lines, comments = _lines_and_comments(text)
    except (SyntaxError, ValueError, RecursionError, tokenize.TokenError):
        # Code this Python cannot read natively (newer syntax): its tokens are not
        # this Python's, so where a comment may go is not known for sure.
        return NoqaOutcome(text, unplaced=[(f, "this Python cannot tokenize the file") for f in wanted])

    lines = split_keepends(text)
    codes_by_line: dict[int, set[str]] = {}
    placed: list[Finding] = []
    unplaced: list[tuple[Finding, str]] = []
    for finding in wanted:
        loc = finding.location
        line = next((n for n in (loc.line, loc.end_line) if n in open_lines), None)
        if line is None:
            unplaced.append((finding, "its lines end inside a string or a line continuation"))
            continue
        codes_by_line.setdefault(line, set()).add(finding.code)
        placed.append(finding)

    for number, codes in codes_by_line.items():
        lines[number - 1] = _with_codes(lines[number - 1], comments.get(number), sorted(codes))
    new = "".join(lines)
    if not _proved(before, new, placed):
        return NoqaOutcome(text, unplaced=[(f, "the comment would have changed the code") for f in wanted])
    return NoqaOutcome(new, sum(len(c) for c in codes_by_line.values()), unplaced)


def _lines_and_comments(text: str) -> tuple[set[int], dict[int, int]]:
    """The lines whose end is a line end of the code (a statement's, or one inside
    brackets): not inside a string, not before a backslash continuation; and the
    column where each line's comment starts."""
    ends: set[int] = set()
    inside: set[int] = set()
    comments: dict[int, int] = {}
    fstring_starts: list[int] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in _LINE_ENDS:
            ends.add(tok.start[0])
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.start[1]
        elif tok.type in _SPANNING and tok.start[0] < tok.end[0]:
            inside.update(range(tok.start[0], tok.end[0]))
        elif tok.type == _FSTRING_START:
            fstring_starts.append(tok.start[0])
        elif tok.type == _FSTRING_END and fstring_starts:
            inside.update(range(fstring_starts.pop(), tok.end[0]))
    return ends - inside, comments


def _with_codes(line: str, comment: int | None, codes: list[str]) -> str:
    """The line with `codes` added to its directive, or a new one at its end;
    `comment` is the column where its comment starts (a directive is looked for
    there only: not in a string before it)."""
    body = line.rstrip("\r\n")
    end = line[len(body) :]
    existing = NOQA.search(body, comment) if comment is not None else None
    if existing is not None and existing.group("codes"):
        # An existing directive with codes (E501 for ruff, or ours) takes the new ones too.
        body = f"{body[: existing.end()]}, {', '.join(codes)}{body[existing.end() :]}"
    else:
        body = f"{body.rstrip()}  # noqa: {', '.join(codes)}"
    return body + end


def _proved(before: ast.Module, new: str, placed: list[Finding]) -> bool:
    """The same tree, positions included, and every placed finding suppressed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            after = ast.parse(new)
    except (SyntaxError, ValueError, RecursionError):
        return False
    if ast.dump(before, include_attributes=True) != ast.dump(after, include_attributes=True):
        return False
    suppressions = Suppressions.scan(new)
    return all(suppressions.suppresses(f.code, f.location.line, f.location.end_line) for f in placed)
