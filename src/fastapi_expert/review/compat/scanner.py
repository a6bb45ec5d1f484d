"""A small Python lexer that knows the newest syntax, and the position-keeping edits.

The standard `tokenize` of 3.10 and 3.11 cannot split PEP 701 f-strings
(`f"{d["k"]}"`), so this scanner does its own lexing with the 3.12+ rules for
strings, and records, for each newer construct, an edit that turns it into older
syntax *of exactly the same UTF-8 length on every line*: every other token keeps
its line and byte column, which is what `ast` reports.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from fastapi_expert.review.compat.constructs import (
    EXCEPT_COMMA,
    EXCEPT_STAR,
    FSTRING,
    STAR_SUBSCRIPT,
    TEMPLATE_STRING,
    TYPE_ALIAS,
    TYPE_PARAM_DEFAULTS,
    TYPE_PARAMS,
    Construct,
)

_PREFIXES = frozenset({"r", "u", "b", "br", "rb", "f", "fr", "rf", "t", "tr", "rt"})
_OPS3 = frozenset({"**=", "//=", ">>=", "<<=", "..."})
_OPS2 = frozenset(
    {"==", "!=", "<=", ">=", ":=", "->", "**", "//", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="}
)
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = frozenset(")]}")


class UnrewritableError(Exception):
    """A newer construct was found in a shape the rewrite cannot keep positions for."""


@dataclass(slots=True)
class Token:
    kind: str  # NAME NUMBER OP STRING COMMENT NEWLINE NL
    start: int
    end: int
    value: str


@dataclass(slots=True)
class Placeholder:
    """A nested string group inside an f-string replaced by a plain literal."""

    start: int
    end: int
    original: str
    prefix: str = ""  # set for a multi-line single-quoted f-string read as triple-quoted


@dataclass
class Scan:
    """What the scanner found and the edits that make the text parse on this interpreter."""

    edits: list[tuple[int, int, str]] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # rewritten regions (offsets)
    found: set[Construct] = field(default_factory=set)
    placeholders: list[Placeholder] = field(default_factory=list)
    except_handlers: list[int] = field(default_factory=list)  # offset of `except`
    except_commas: list[int] = field(default_factory=list)  # offsets of rewritten commas
    type_aliases: list[int] = field(default_factory=list)  # offset of `type`
    stars: list[int] = field(default_factory=list)  # offsets of blanked PEP 646 `*`
    problems: list[str] = field(default_factory=list)


def filler(text: str, char: str = " ") -> str:
    """`text` with every character but line breaks replaced by `char`, byte for byte."""
    return "".join(c if c in "\r\n" else char * len(c.encode("utf-8")) for c in text)


class Scanner:
    def __init__(self, text: str, native: tuple[int, int]) -> None:
        self.text = text
        self.n = len(text)
        self.native = native
        self.scan = Scan()
        self.tokens: list[Token] = []

    # -- edits -------------------------------------------------------------

    def _needs(self, construct: Construct) -> bool:
        self.scan.found.add(construct)
        return self.native < construct.version

    def _edit(self, start: int, end: int, replacement: str) -> None:
        if len(replacement.encode("utf-8")) != len(self.text[start:end].encode("utf-8")):
            raise AssertionError("a compat edit must keep the byte length")
        self.scan.edits.append((start, end, replacement))

    def _blank(self, start: int, end: int) -> None:
        """Blank a bracketed span; a line break inside gets a backslash before it."""
        chunk = self.text[start:end]
        out = [c if c in "\r\n" else " " * len(c.encode("utf-8")) for c in chunk]
        for i, c in enumerate(chunk):
            if c in "\r\n" and not (c == "\n" and i > 0 and chunk[i - 1] == "\r"):
                if i == 0 or out[i - 1] in "\r\n":
                    raise UnrewritableError("an empty line inside a type parameter list")
                prev = out[i - 1]
                out[i - 1] = prev[:-1] + "\\"
        self._edit(start, end, "".join(out))

    # -- lexing ------------------------------------------------------------

    def run(self) -> Scan:
        self._lex()
        self._statements()
        return self.scan

    def _lex(self) -> None:
        text, n = self.text, self.n
        i = 0
        depth = 0
        tokens = self.tokens
        while i < n:
            c = text[i]
            if c in " \t\f":
                i += 1
            elif c == "\\" and i + 1 < n and text[i + 1] in "\r\n":
                i += 3 if text[i + 1 : i + 3] == "\r\n" else 2
            elif c in "\r\n":
                j = i + (2 if text[i : i + 2] == "\r\n" else 1)
                tokens.append(Token("NEWLINE" if depth == 0 else "NL", i, j, "\n"))
                i = j
            elif c == "#":
                j = i
                while j < n and text[j] not in "\r\n":
                    j += 1
                tokens.append(Token("COMMENT", i, j, text[i:j]))
                i = j
            elif c in "\"'":
                j, _ = self._string(i, "", outermost=True)
                tokens.append(Token("STRING", i, j, ""))
                i = j
            elif c.isalpha() or c == "_" or ord(c) > 127:
                j = i + 1
                while j < n and (text[j].isalnum() or text[j] == "_" or (ord(text[j]) > 127 and text[j].isidentifier())):
                    j += 1
                word = text[i:j]
                if j < n and text[j] in "\"'" and word.lower() in _PREFIXES:
                    k, _ = self._string(i, word.lower(), outermost=True)
                    tokens.append(Token("STRING", i, k, ""))
                    i = k
                else:
                    tokens.append(Token("NAME", i, j, word))
                    i = j
            elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
                j = i + 1
                while j < n and (text[j].isalnum() or text[j] in "._" or (text[j] in "+-" and text[j - 1] in "eE" and not text[i:j].lower().startswith("0x"))):
                    j += 1
                tokens.append(Token("NUMBER", i, j, text[i:j]))
                i = j
            else:
                op = text[i : i + 3]
                if op not in _OPS3:
                    op = op[:2] if op[:2] in _OPS2 else c
                if op in _OPEN:
                    depth += 1
                elif op in _CLOSE:
                    depth = max(depth - 1, 0)
                tokens.append(Token("OP", i, i + len(op), op))
                i += len(op)

    def _string(self, start: int, prefix: str, outermost: bool) -> tuple[int, bool]:
        """Scan a string literal starting at `start` (prefix included).

        Returns the end offset and whether an interpreter older than 3.12 would
        reject the literal on its own.
        """
        text, n = self.text, self.n
        q = start + len(prefix)
        quote = text[q]
        triple = text[q : q + 3] == quote * 3
        closing = quote * 3 if triple else quote
        j = q + len(closing)
        if "f" not in prefix and "t" not in prefix:
            while j < n:
                c = text[j]
                if c == "\\":
                    j += 2
                elif text.startswith(closing, j):
                    return j + len(closing), False
                elif not triple and c in "\r\n":
                    return j, False
                else:
                    j += 1
            return n, False
        if outermost and "t" in prefix and self._needs(TEMPLATE_STRING):
            t = start + prefix.index("t")
            self._edit(t, t + 1, "f" if text[t] == "t" else "F")
            self.scan.spans.append((t, t + 1))
        marks = (len(self.scan.edits), len(self.scan.spans), len(self.scan.placeholders))
        end, problem = self._fstring_body(j, quote, triple, "r" in prefix, outermost)
        if outermost and not triple and any(c in "\r\n" for c in text[start:end]):
            # PEP 701 lets a replacement field of a single-quoted f-string span
            # lines; no older f-string can. The whole literal becomes a plain
            # string continued with backslashes, and is parsed on its own as a
            # triple-quoted f-string.
            del self.scan.edits[marks[0] :]
            del self.scan.spans[marks[1] :]
            del self.scan.placeholders[marks[2] :]
            self._multiline_fstring(start, end, text[start:q])
        return end, problem

    def _multiline_fstring(self, start: int, end: int, prefix: str) -> None:
        self._needs(FSTRING)
        original = self.text[start:end]
        if len(original) < len(prefix) + 2 or original[-1] != original[len(prefix)]:
            raise UnrewritableError("an unterminated multi-line f-string")
        out = [c if c in "\r\n" else "_" * len(c.encode("utf-8")) for c in original]
        out[0] = '"' + out[0][1:]
        out[-1] = '"'
        for i, c in enumerate(original):
            if c in "\r\n" and not (c == "\n" and i > 0 and original[i - 1] == "\r"):
                if i <= 1 or out[i - 1] in ("\r", "\n"):
                    raise UnrewritableError("an empty line inside a multi-line f-string")
                out[i - 1] = out[i - 1][:-1] + "\\"
        self._edit(start, end, "".join(out))
        self.scan.spans.append((start, end))
        self.scan.placeholders.append(Placeholder(start, end, original, prefix))

    def _fstring_body(self, j: int, quote: str, triple: bool, raw: bool, outermost: bool) -> tuple[int, bool]:
        text, n = self.text, self.n
        closing = quote * 3 if triple else quote
        problem = False
        in_spec = 0  # > 0 while in a format spec (nested fields allowed)
        while j < n:
            c = text[j]
            if c == "\\":
                if not raw and text[j + 1 : j + 3] == "N{":
                    k = text.find("}", j)
                    j = n if k < 0 else k + 1
                elif text[j + 1 : j + 2] in ("{", "}"):
                    j += 1
                else:
                    j += 2
            elif in_spec == 0 and text.startswith(closing, j):
                return j + len(closing), problem
            elif not triple and c in "\r\n":
                return j, problem
            elif c == "{":
                if in_spec == 0 and text[j + 1 : j + 2] == "{":
                    j += 2
                    continue
                j, field_problem, stopped_at = self._field(j + 1, quote, triple, outermost)
                problem = problem or field_problem
                if stopped_at == ":":
                    in_spec += 1
            elif c == "}":
                if in_spec > 0:
                    in_spec -= 1
                    j += 1
                elif text[j + 1 : j + 2] == "}":
                    j += 2
                else:
                    j += 1
            else:
                j += 1
        return n, problem

    def _field(self, j: int, quote: str, triple: bool, outermost: bool) -> tuple[int, bool, str]:
        """Scan the expression part of a replacement field starting after `{`.

        Returns the offset after the expression part (after `}` when the field
        ends there; at the format spec's first character after `:`), whether an
        older interpreter would reject it, and what stopped the scan.
        """
        text, n = self.text, self.n
        depth = 0
        problem = False
        group_start = -1
        group_end = -1
        group_problem = False

        def close_group() -> None:
            nonlocal group_start, problem, group_problem
            if group_start < 0:
                return
            original = text[group_start:group_end]
            bad = (
                group_problem
                or quote in original
                or "\\" in original
                or "#" in original
                or (not triple and ("\n" in original or "\r" in original))
            )
            if bad:
                problem = True
                if outermost:
                    self._placeholder(group_start, group_end, quote, triple)
            group_start = -1
            group_problem = False

        while j < n:
            c = text[j]
            if c in " \t\f":
                j += 1
                continue
            if c in "\r\n":
                if not triple:
                    problem = True
                j += 1
                continue
            is_string = c in "\"'"
            word_end = j
            if not is_string and (c.isalpha() or c == "_"):
                while word_end < n and (text[word_end].isalnum() or text[word_end] == "_"):
                    word_end += 1
                word = text[j:word_end]
                is_string = word_end < n and text[word_end] in "\"'" and word.lower() in _PREFIXES
            if is_string:
                prefix = text[j:word_end].lower() if word_end > j else ""
                end, inner = self._string(j, prefix, outermost=False)
                if group_start < 0:
                    group_start = j
                group_end = end
                group_problem = group_problem or inner
                j = end
                continue
            close_group()
            if c == "#":
                k = j
                while k < n and text[k] not in "\r\n":
                    k += 1
                problem = True
                if outermost:
                    self._edit(j, k, filler(text[j:k]))
                    self.scan.spans.append((j, k))
                j = k
            elif c == "\\":
                problem = True
                if outermost and text[j + 1 : j + 2] in ("\r", "\n") and triple:
                    self._edit(j, j + 1, " ")
                    self.scan.spans.append((j, j + 1))
                j += 1
            elif c in _OPEN:
                depth += 1
                j += 1
            elif c in _CLOSE:
                if depth == 0:  # `}` ends the field
                    return j + 1, problem, "}"
                depth -= 1
                j += 1
            elif depth == 0 and c == "!" and text[j + 1 : j + 2] != "=":
                j += 1  # conversion: `!r` up to `:` or `}`
                while j < n and text[j] not in ":}":
                    j += 1
                if j < n and text[j] == "}":
                    return j + 1, problem, "}"
                return j + 1, problem, ":"
            elif depth == 0 and c == ":":
                return j + 1, problem, ":"
            else:
                j = word_end if word_end > j else j + 1
        close_group()
        return n, problem, "}"

    def _placeholder(self, start: int, end: int, quote: str, triple: bool) -> None:
        self._needs(FSTRING)
        original = self.text[start:end]
        q = "'" if quote == '"' else '"'
        body = list(filler(original, "_"))
        multiline = any(c in "\r\n" for c in original)
        width = 3 if multiline else 1
        if len(body) < 2 * width or any(c in "\r\n" for c in body[:width] + body[-width:]):
            raise UnrewritableError("a nested string in an f-string is too short to rewrite in place")
        if multiline and not triple:
            raise UnrewritableError("a multi-line nested string in a single-quoted f-string")
        body[:width] = [q] * width
        body[-width:] = [q] * width
        self._edit(start, end, "".join(body))
        self.scan.spans.append((start, end))
        self.scan.placeholders.append(Placeholder(start, end, original))

    # -- statements ----------------------------------------------------------

    def _statements(self) -> None:
        toks = [t for t in self.tokens if t.kind not in ("COMMENT", "NL")]
        stmt_start = True
        depth = 0
        k = 0
        count = len(toks)
        while k < count:
            tok = toks[k]
            if tok.kind == "NEWLINE":
                stmt_start = True
                k += 1
                continue
            if tok.kind == "OP":
                if tok.value in _OPEN:
                    head = toks[k - 2].value if k >= 2 else ""
                    if tok.value == "[" and head not in ("def", "class", "type") and self.native < STAR_SUBSCRIPT.version:
                        self._star_subscript(toks, k)
                    depth += 1
                elif tok.value in _CLOSE:
                    depth = max(depth - 1, 0)
                elif tok.value == "*" and self.native < STAR_SUBSCRIPT.version and k >= 3:
                    a, b, c = toks[k - 3], toks[k - 2], toks[k - 1]
                    if a.value == "*" and b.kind == "NAME" and c.value == ":" and depth > 0:
                        self._needs(STAR_SUBSCRIPT)
                        self._edit(tok.start, tok.end, " ")
                        self.scan.spans.append((tok.start, tok.end))
                        self.scan.stars.append(tok.start)
                stmt_start = depth == 0 and tok.value in (";", ":")
                k += 1
                continue
            if tok.kind == "NAME":
                if tok.value == "except":
                    self._except(toks, k)
                elif tok.value in ("def", "class") and k + 2 < count and toks[k + 1].kind == "NAME":
                    if toks[k + 2].value == "[":
                        self._type_params(toks, k + 2, TYPE_PARAMS)
                elif tok.value == "type" and stmt_start and depth == 0:
                    self._type_alias(toks, k)
            stmt_start = False
            k += 1

    def _matching(self, toks: list[Token], k: int) -> int:
        depth = 0
        for m in range(k, len(toks)):
            v = toks[m].value if toks[m].kind == "OP" else ""
            if v in _OPEN:
                depth += 1
            elif v in _CLOSE:
                depth -= 1
                if depth == 0:
                    return m
        raise UnrewritableError("unbalanced brackets")

    def _type_params(self, toks: list[Token], k: int, construct: Construct) -> None:
        close = self._matching(toks, k)
        if close == k + 1:
            return  # `[]` is invalid in every Python: leave it to the parser
        has_default = any(
            toks[m].kind == "OP" and toks[m].value == "=" and self._depth_between(toks, k, m) == 1
            for m in range(k + 1, close)
        )
        needed = TYPE_PARAM_DEFAULTS if has_default else construct
        self.scan.found.add(construct)
        if self._needs(needed):
            self._blank(toks[k].start, toks[close].end)
            self.scan.spans.append((toks[k].start, toks[close].end))

    def _depth_between(self, toks: list[Token], k: int, m: int) -> int:
        depth = 0
        for t in toks[k:m]:
            if t.kind == "OP" and t.value in _OPEN:
                depth += 1
            elif t.kind == "OP" and t.value in _CLOSE:
                depth -= 1
        return depth

    def _type_alias(self, toks: list[Token], k: int) -> None:
        if k + 2 >= len(toks) or toks[k + 1].kind != "NAME" or keyword.iskeyword(toks[k + 1].value):
            return
        m = k + 2
        if toks[m].kind == "OP" and toks[m].value == "[":
            close = self._matching(toks, m)
            eq = close + 1
        else:
            close, eq = -1, m
        if eq >= len(toks) or toks[eq].kind != "OP" or toks[eq].value != "=":
            return
        tok = toks[k]
        self.scan.found.add(TYPE_ALIAS)
        if close >= 0:
            self._type_params(toks, m, TYPE_PARAMS)
        if not self._needs(TYPE_ALIAS):
            return
        gap = tok.end
        if gap >= self.n or self.text[gap] not in " \t":
            raise UnrewritableError("`type` not followed by a space")
        self._edit(gap, gap + 1, ";")
        self.scan.spans.append((tok.start, gap + 1))
        self.scan.type_aliases.append(tok.start)

    def _star_subscript(self, toks: list[Token], k: int) -> None:
        if k == 0:
            return
        before = toks[k - 1]
        subscript = (
            (before.kind == "NAME" and not keyword.iskeyword(before.value))
            or before.kind == "STRING"
            or (before.kind == "OP" and before.value in (")", "]"))
        )
        if not subscript:
            return
        close = self._matching(toks, k)
        depth = 0
        for m in range(k + 1, close):
            t = toks[m]
            if t.kind == "OP" and t.value in _OPEN:
                depth += 1
            elif t.kind == "OP" and t.value in _CLOSE:
                depth -= 1
            elif t.kind == "OP" and t.value == "*" and depth == 0 and toks[m - 1].value in ("[", ","):
                self._needs(STAR_SUBSCRIPT)
                self._edit(t.start, t.end, " ")
                self.scan.spans.append((t.start, t.end))
                self.scan.stars.append(t.start)

    def _except(self, toks: list[Token], k: int) -> None:
        m = k + 1
        if m < len(toks) and toks[m].kind == "OP" and toks[m].value in ("*", "**"):
            if toks[m].value == "**":
                return
            if self._needs(EXCEPT_STAR):
                self._edit(toks[m].start, toks[m].end, " ")
                self.scan.spans.append((toks[m].start, toks[m].end))
            m += 1
        depth = 0
        commas: list[int] = []
        has_as = False
        colon = -1
        for p in range(m, len(toks)):
            t = toks[p]
            if t.kind == "NEWLINE":
                break
            if t.kind == "OP" and t.value in _OPEN:
                depth += 1
            elif t.kind == "OP" and t.value in _CLOSE:
                depth -= 1
            elif depth == 0 and t.kind == "OP" and t.value == ",":
                commas.append(p)
            elif depth == 0 and t.kind == "NAME" and t.value == "as":
                has_as = True
            elif depth == 0 and t.kind == "OP" and t.value == ":":
                colon = p
                break
        if not commas or has_as or colon < 0:
            return
        if not self._needs(EXCEPT_COMMA):
            return
        for p in commas:
            comma = toks[p]
            trailing = toks[p + 1].value == ":"
            self._edit(comma.start, comma.end, " " if trailing else "|")
            if not trailing:
                self.scan.except_commas.append(comma.start)
        self.scan.spans.append((toks[k].start, toks[colon].end))
        self.scan.except_handlers.append(toks[k].start)
