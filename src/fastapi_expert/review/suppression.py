"""`# noqa` comments, with ruff's syntax.

    x = time.sleep(1)  # noqa: FX201, FX2   (codes or code prefixes)
    x = time.sleep(1)  # noqa               (everything on the line)
    # fastapi-expert: noqa                  (whole file)
    # fastapi-expert: noqa: FX101           (these codes in the whole file)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]*(?:[\s,]+[A-Za-z]+[0-9]*)*))?", re.I)
FILE_NOQA = re.compile(
    r"#\s*fastapi-expert:\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]*(?:[\s,]+[A-Za-z]+[0-9]*)*))?", re.I
)
_ALL: frozenset[str] = frozenset({"*"})


def _codes(text: str | None) -> frozenset[str]:
    if not text:
        return _ALL
    return frozenset(c.upper() for c in re.split(r"[\s,]+", text.strip()) if c)


@dataclass
class Suppressions:
    by_line: dict[int, frozenset[str]] = field(default_factory=dict)
    file_wide: frozenset[str] = frozenset()

    @classmethod
    def scan(cls, lines: list[str]) -> Suppressions:
        out = cls()
        file_codes: set[str] = set()
        for number, line in enumerate(lines, start=1):
            if "#" not in line or "noqa" not in line.lower():
                continue
            file_match = FILE_NOQA.search(line)
            if file_match:
                file_codes |= _codes(file_match.group("codes"))
                continue
            match = NOQA.search(line)
            if match:
                out.by_line[number] = _codes(match.group("codes"))
        out.file_wide = frozenset(file_codes)
        return out

    @staticmethod
    def _covers(codes: frozenset[str], code: str) -> bool:
        return "*" in codes or any(code.startswith(c) for c in codes)

    def suppresses(self, code: str, line: int, end_line: int) -> bool:
        if self.file_wide and self._covers(self.file_wide, code):
            return True
        for candidate in (line, end_line):
            codes = self.by_line.get(candidate)
            if codes is not None and self._covers(codes, code):
                return True
        return False
