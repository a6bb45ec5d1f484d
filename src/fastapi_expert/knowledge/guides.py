"""Load the task guides: one markdown file per task (docs/writing-guides.md).

A guide is `# Title`, a first paragraph (the summary `guide` lists), then
`## ` sections. Headings inside fenced code blocks are code, not sections.
The folder is `knowledge/guides/` in the package; the environment variable
`FASTAPI_EXPERT_GUIDES_DIR` or an explicit `directory` argument overrides it
(tests, and anyone trying a guide before it ships).
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GUIDES_ENV = "FASTAPI_EXPERT_GUIDES_DIR"
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True)
class Section:
    title: str
    body: str


@dataclass(frozen=True)
class Guide:
    slug: str
    title: str
    summary: str
    sections: tuple[Section, ...]
    text: str

    def section(self, title: str) -> Section | None:
        wanted = title.strip().lower()
        return next((s for s in self.sections if s.title.lower() == wanted), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "sections": [s.title for s in self.sections],
        }


def guides_dir() -> Path:
    override = os.environ.get(GUIDES_ENV)
    return Path(override) if override else Path(__file__).resolve().parent / "guides"


def parse_guide(slug: str, text: str) -> Guide:
    """Split a guide into title, summary (first paragraph) and `## ` sections."""
    title = slug
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    in_fence: str | None = None
    seen_title = False
    for line in text.splitlines():
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            if in_fence is None:
                in_fence = marker
            elif in_fence == marker:
                in_fence = None
        elif in_fence is None and line.startswith("# ") and not seen_title and not sections:
            title, seen_title = line[2:].strip(), True
            continue
        elif in_fence is None and line.startswith("## "):
            sections.append((line[3:].strip(), []))
            continue
        (sections[-1][1] if sections else intro).append(line)
    return Guide(
        slug=slug,
        title=title,
        summary=_first_paragraph(intro),
        sections=tuple(Section(name, "\n".join(body).strip("\n")) for name, body in sections),
        text=text,
    )


def _first_paragraph(lines: list[str]) -> str:
    paragraph: list[str] = []
    for line in lines:
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    return " ".join(paragraph)


def load_guides(directory: Path | None = None) -> list[Guide]:
    """Every guide in the folder, sorted by slug."""
    return list(_load(directory or guides_dir()))


@lru_cache(maxsize=8)
def _load_cached(directory: Path, stamp: tuple[tuple[str, float], ...]) -> tuple[Guide, ...]:
    return tuple(
        parse_guide(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.md"))
    )


def _load(directory: Path) -> tuple[Guide, ...]:
    if not directory.is_dir():
        return ()
    # Cached by the files' names and mtimes: a guide edited on disk is re-read.
    stamp = tuple((p.name, p.stat().st_mtime) for p in sorted(directory.glob("*.md")))
    return _load_cached(directory.resolve(), stamp)


def find_guide(topic: str, directory: Path | None = None) -> Guide | None:
    """A guide by slug or title (case-insensitive), `.md` allowed."""
    key = _key(topic)
    for guide in load_guides(directory):
        if key in {guide.slug, _key(guide.title)}:
            return guide
    return None


def suggest(topic: str, directory: Path | None = None, n: int = 3) -> list[str]:
    """The closest guide slugs to an unknown topic (by slug, title or a word of it)."""
    guides = load_guides(directory)
    key = _key(topic)
    names: dict[str, str] = {}
    for guide in guides:
        names[guide.slug] = guide.slug
        names[_key(guide.title)] = guide.slug
    out: list[str] = []
    for match in difflib.get_close_matches(key, list(names), n=n * 2, cutoff=0.5):
        if names[match] not in out:
            out.append(names[match])
    # A word of the topic inside a slug ("jwt" -> "jwt-auth") is a good suggestion too.
    words = [w for w in key.split("-") if len(w) >= 3]
    for guide in guides:
        if guide.slug not in out and any(w in guide.slug or w in _key(guide.title) for w in words):
            out.append(guide.slug)
    return out[:n]


def _key(text: str) -> str:
    text = text.strip().lower().removesuffix(".md")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")
