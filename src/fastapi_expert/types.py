"""Value types shared by every face of the tool.

Reporters, the CLI, the MCP server and the language server consume only these:
frozen, slotted dataclasses with no behaviour beyond ordering and conversion.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    """How serious a finding is; `rank` orders them for `--fail-on`."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Area(enum.IntEnum):
    """The seed's responsibilities; the digit after `FX` in a rule code."""

    TOOL = 0
    ARCHITECTURE = 1
    ASYNC = 2
    PYDANTIC = 3
    SECURITY = 4
    PERFORMANCE = 5
    TESTING = 6
    API_DESIGN = 7

    @property
    def title(self) -> str:
        return _AREA_TITLES[self]


_AREA_TITLES = {
    Area.TOOL: "Tool",
    Area.ARCHITECTURE: "Architecture & dependency injection",
    Area.ASYNC: "Async & concurrency",
    Area.PYDANTIC: "Pydantic & data validation",
    Area.SECURITY: "Security",
    Area.PERFORMANCE: "Performance",
    Area.TESTING: "Testing",
    Area.API_DESIGN: "API design & documentation",
}


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A span in a file: lines and columns 1-based, columns in code points.

    `end_column` is the column just after the last character (SARIF style).
    """

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text between two 1-based positions with `content`."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "content": self.content,
        }


@dataclass(frozen=True, slots=True)
class Fix:
    """A set of edits that together remove a finding.

    `safe` fixes keep behaviour; unsafe ones (applied only with
    `--unsafe-fixes`) may change it, for the reason the rule documents.
    """

    title: str
    edits: tuple[Edit, ...]
    safe: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "applicability": "safe" if self.safe else "unsafe",
            "edits": [edit.to_dict() for edit in self.edits],
        }


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One step of the evidence behind a finding that depends on other code."""

    location: Location
    note: str

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing an expert reviewer would point at."""

    code: str
    name: str
    severity: Severity
    location: Location
    message: str
    fix: Fix | None = None
    chain: tuple[ChainLink, ...] = field(default=())

    @property
    def path(self) -> str:
        return self.location.path

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (loc.path, loc.line, loc.column, self.code)

    def to_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "path": loc.path,
            "line": loc.line,
            "column": loc.column,
            "end_line": loc.end_line,
            "end_column": loc.end_column,
            "message": self.message,
            "fix": self.fix.to_dict() if self.fix else None,
            "chain": [link.to_dict() for link in self.chain],
        }
