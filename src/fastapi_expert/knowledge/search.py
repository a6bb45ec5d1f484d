"""Rank guides and rules for a free-text question ("how do I paginate?").

Every guide is split into passages, one per `## ` section (References left
out); every rule's docs (`catalogue.entries()`) likewise. Three BM25 indexes
(bm25s) score a passage: its heading (the document's title and summary plus
the section's name, weighted 1.5: a title says what a document is about), its
prose (1) and its code blocks (0.5: code repeats `return`, `app`, `response`).
Tokens are lower-cased words, camelCase and snake_case also split, dotted
(`time.sleep`) and hyphenated (`e-mail`) words also whole, `un-` words also
without the prefix, English stop words dropped, Snowball-stemmed (PyStemmer,
when installed). The question is expanded with a small table of domain
synonyms ("jwt" also looks for "token"), weighted at half. A document scores
as its best passage plus a quarter of its second best, and the hit carries
the paragraph or list item of that passage that holds most of the question.

bm25s imports numpy: this module is imported only by `ask` and the MCP
server, never by `review`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi_expert.errors import UsageError
from fastapi_expert.knowledge.guides import Guide, load_guides, parse_guide

Kind = Literal["guide", "rule"]

HEAD_WEIGHT = 1.5  # a heading match counts this much more than a prose match
CODE_WEIGHT = 0.5  # a match in a code block counts half: code repeats `return`, `app`, `response`
EXPANSION_WEIGHT = 0.5  # synonyms count half as much as the user's own words
SECOND_PASSAGE_WEIGHT = 0.25  # a document that answers in two places ranks a little higher
EXCERPT_CHARS = 480

# Words a question is made of that say nothing about the topic.
_QUESTION_WORDS = {
    "how", "what", "why", "when", "which", "where", "who", "should", "would", "could", "can",
    "do", "does", "did", "i", "my", "me", "we", "our", "you", "your", "it", "its", "is", "are",
    "be", "best", "way", "right", "proper", "properly", "correct", "correctly", "good", "bad",
    "want", "need", "use", "using", "get", "make", "fastapi", "app", "api", "python", "thing",
    "something", "anything", "ok", "okay", "there", "here", "some", "any", "instead",
}

_FUNCTION_WORDS = {
    "from", "has", "have", "had", "been", "being", "were", "am", "so", "too", "than", "them",
    "those", "he", "she", "him", "her", "his", "hers", "us", "just", "like", "also", "really",
    "very", "much", "lot", "lots", "about", "again", "both", "each", "few", "more", "most",
    "own", "same", "other", "only", "while", "because", "once", "further", "make", "makes",
    "made", "everyone", "everything", "someone", "somebody", "got", "getting", "gets", "let",
    "lets", "seem", "seems", "im", "ive", "dont", "doesnt", "cant", "isnt", "whats", "hows",
}

# Domain synonyms: a question's word -> words the docs use for the same idea.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "jwt": ("token", "bearer"),
    "jwts": ("token", "bearer"),
    "login": ("authentication", "password", "token"),
    "log": ("logging",),
    "signin": ("authentication", "login"),
    "auth": ("authentication", "authorization"),
    "authenticate": ("authentication",),
    "oauth": ("oauth2",),
    "bearer": ("token",),
    "db": ("database", "session"),
    "sql": ("database", "query"),
    "postgres": ("database", "asyncpg"),
    "postgresql": ("database", "asyncpg"),
    "mysql": ("database",),
    "orm": ("sqlalchemy", "model"),
    "paginate": ("pagination", "limit", "offset", "cursor"),
    "paging": ("pagination", "limit", "offset"),
    "page": ("pagination", "limit"),
    "slow": ("performance", "blocking"),
    "freeze": ("blocking", "event", "loop"),
    "freezes": ("blocking", "event", "loop"),
    "hang": ("blocking", "event", "loop", "timeout"),
    "hangs": ("blocking", "event", "loop", "timeout"),
    "forever": ("timeout",),
    "stuck": ("blocking", "event", "loop"),
    "unresponsive": ("blocking", "event", "loop"),
    "env": ("settings", "environment"),
    "config": ("settings", "configuration"),
    "configuration": ("settings",),
    "dotenv": ("settings", "environment"),
    "throttle": ("rate", "limit"),
    "throttling": ("rate", "limit"),
    "ratelimit": ("rate", "limit"),
    "ws": ("websocket",),
    "websockets": ("websocket",),
    "realtime": ("websocket",),
    "celery": ("background", "task", "queue"),
    "job": ("background", "task"),
    "jobs": ("background", "task"),
    "upload": ("file", "multipart", "uploadfile"),
    "uploads": ("file", "multipart", "uploadfile"),
    "cache": ("caching",),
    "redis": ("cache",),
    "startup": ("lifespan",),
    "shutdown": ("lifespan",),
    "hash": ("password", "argon2", "bcrypt"),
    "hashing": ("password", "argon2", "bcrypt"),
    "swagger": ("openapi", "docs"),
    "docs": ("openapi", "documentation"),
    "versioning": ("version", "router", "prefix"),
    "pytest": ("test", "testclient"),
    "mock": ("override", "dependency_overrides"),
    "migrations": ("alembic", "migration"),
    "migrate": ("alembic", "migration"),
    "deploy": ("deployment", "workers", "uvicorn"),
    "docker": ("deployment", "container"),
    "gunicorn": ("workers", "deployment", "uvicorn"),
    "error": ("exception", "handler"),
    "errors": ("exception", "handler"),
    "exceptions": ("exception", "handler"),
    "500": ("exception", "error"),
    "404": ("exception", "httpexception"),
    "crash": ("exception", "error"),
    "structure": ("router", "layout", "project"),
    "organize": ("router", "layout", "project"),
    "organise": ("router", "layout", "project"),
    "inject": ("dependency", "depends"),
    "di": ("dependency", "depends"),
    "validate": ("validation", "pydantic"),
    "validation": ("pydantic",),
    "schema": ("model", "pydantic"),
    "serialize": ("response_model", "serialization"),
    "password": ("hash",),
    "cookie": ("httponly", "secure"),
    "cors": ("origin", "corsmiddleware"),
    "origin": ("cors",),
    "timeout": ("timeout",),
    "http": ("httpx",),
    "requests": ("http", "httpx"),
    "sleep": ("blocking",),
    "cpu": ("blocking", "threadpool"),
    "thread": ("threadpool", "run_in_threadpool"),
    "threads": ("threadpool", "run_in_threadpool"),
    "n+1": ("loop", "query"),
    "eager": ("selectinload",),
    "lazy": ("selectinload", "relationship"),
    "secret": ("key", "settings"),
    "secrets": ("secret", "settings"),
    "leak": ("expose", "secret"),
    "health": ("healthcheck", "readiness", "liveness"),
    "healthcheck": ("health", "readiness"),
    "metrics": ("observability", "prometheus"),
    "tracing": ("observability", "logging"),
    "middleware": ("middleware",),
    "permissions": ("authorization", "scopes", "role"),
    "roles": ("authorization", "scopes", "permission"),
    "admin": ("authorization", "role"),
}

_WORD = re.compile(r"[A-Za-z0-9_+]+")
_HYPHENATED = re.compile(r"\b[A-Za-z]+(?:-[A-Za-z]+)+\b")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    # bm25s's short English list, the words questions are made of, and common
    # function words; "after", "before", "all", "without" stay: they carry meaning here
    # ("after the response", `.all()`, "without a timeout").
    return frozenset(STOPWORDS_EN) | _QUESTION_WORDS | _FUNCTION_WORDS


def _stemmer() -> Callable[[list[str]], list[str]]:
    try:
        import Stemmer
    except ImportError:  # PyStemmer is optional: plain words still rank well
        return lambda words: words
    stemmer = Stemmer.Stemmer("english")
    return lambda words: list(stemmer.stemWords(words))


@dataclass
class Tokenizer:
    stopwords: frozenset[str] = field(default_factory=_stopwords)
    stem: Callable[[list[str]], list[str]] = field(default_factory=_stemmer)

    def words(self, text: str) -> list[str]:
        """Lower-cased words; `TestClient` also gives `test`, `client`; `time.sleep`
        gives `time`, `sleep`; `dependency_overrides` stays whole and gives its parts."""
        out: list[str] = []
        for raw in _WORD.findall(text):
            word = raw.lower().strip("_+")
            if not word:
                continue
            if word != "n+1":
                word = word.replace("+", "")
            out.append(word)
            parts = [p.lower() for piece in raw.split("_") for p in _CAMEL.findall(piece)]
            if len(parts) > 1:
                out.extend(parts)
            if word.startswith("un") and len(word) >= 6:
                out.append(word[2:])  # "undocumented" is about documenting, "unbounded" about bounds
        # `time.sleep`, `jwt.decode`: the dotted name is one more, rarer token.
        out += [m.lower() for m in _DOTTED.findall(text)]
        # "e-mail" is also "email", "rate-limit" also "ratelimit".
        out += [m.replace("-", "").lower() for m in _HYPHENATED.findall(text)]
        return [w for w in out if w not in self.stopwords and len(w) > 1]

    def tokens(self, text: str) -> list[str]:
        return self.stem(self.words(text))

    def query(self, text: str) -> tuple[list[str], list[str]]:
        """The question's own tokens, and the synonym expansion (not in the question)."""
        words = self.words(text)
        own = self.stem(words)
        extra = self.stem([s for w in words for s in SYNONYMS.get(w, ())])
        own_set = set(own)
        return own, [t for t in dict.fromkeys(extra) if t not in own_set]


@dataclass(frozen=True)
class Passage:
    kind: Kind
    key: str  # guide slug or rule code
    title: str  # the document's title
    summary: str  # the document's summary
    section: str  # the section's name ("" for a guide's introduction)
    text: str


@dataclass(frozen=True)
class Hit:
    kind: Kind
    key: str
    title: str
    summary: str
    score: float
    section: str
    excerpt: str

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "key": self.key,
            "title": self.title,
            "summary": self.summary,
            "score": round(self.score, 3),
            "section": self.section,
            "excerpt": self.excerpt,
        }


def guide_passages(guides: Iterable[Guide]) -> list[Passage]:
    out: list[Passage] = []
    for guide in guides:
        out.append(Passage("guide", guide.slug, guide.title, guide.summary, "", guide.summary))
        for section in guide.sections:
            if section.title.lower() == "references":
                continue  # a list of URLs: it matches "docs" and "fastapi" everywhere
            out.append(Passage("guide", guide.slug, guide.title, guide.summary, section.title, section.body))
    return out


def rule_passages() -> list[Passage]:
    from fastapi_expert.review import catalogue

    out: list[Passage] = []
    for entry in catalogue.entries():
        doc = parse_guide(entry.code, entry.doc)
        title = f"{entry.code} {entry.name}"
        out.append(Passage("rule", entry.code, title, entry.summary, "", f"{entry.summary}\n\n{doc.summary}"))
        for section in doc.sections:
            if section.title.lower() == "references":
                continue
            out.append(Passage("rule", entry.code, title, entry.summary, section.title, section.body))
    return out


class SearchIndex:
    """BM25 over passages, with a heading field and document-level ranking."""

    def __init__(self, passages: Sequence[Passage], tokenizer: Tokenizer | None = None) -> None:
        import bm25s

        # bm25s sets its logger to DEBUG on import; its progress notes are noise here.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.passages = list(passages)
        self.tokenizer = tokenizer or Tokenizer()
        tok = self.tokenizer
        # The empty token keeps bm25s happy with an empty field.
        split = [_prose_and_code(p.text) for p in self.passages]
        fields = {
            "head": [tok.tokens(f"{p.title.replace('-', ' ')} {p.summary} {p.section}") or [""] for p in self.passages],
            "prose": [tok.tokens(prose) or [""] for prose, _ in split],
            "code": [tok.tokens(code) or [""] for _, code in split],
        }
        self._weights = {"head": HEAD_WEIGHT, "prose": 1.0, "code": CODE_WEIGHT}
        self._indexes: dict[str, Any] = {}
        if self.passages:
            for name, corpus in fields.items():
                index = bm25s.BM25()
                index.index(corpus, show_progress=False)
                self._indexes[name] = index

    def _scores(self, tokens: list[str]) -> list[float]:
        total = [0.0] * len(self.passages)
        for name, index in self._indexes.items():
            known = self._known(index, tokens)
            if not known:
                continue
            weight = self._weights[name]
            for i, score in enumerate(index.get_scores(known)):
                total[i] += weight * float(score)
        return total

    @staticmethod
    def _known(index: Any, tokens: list[str]) -> list[str]:
        vocab: dict[str, int] = index.vocab_dict
        return [t for t in tokens if t in vocab and t]

    def search(self, question: str, limit: int = 5, kind: Kind | None = None) -> list[Hit]:
        own, extra = self.tokenizer.query(question)
        scores = self._scores(own)
        if extra:
            scores = [
                s + EXPANSION_WEIGHT * e for s, e in zip(scores, self._scores(extra), strict=True)
            ]
        best: dict[tuple[Kind, str], list[tuple[float, int]]] = {}
        for i, score in enumerate(scores):
            passage = self.passages[i]
            if score <= 0 or (kind is not None and passage.kind != kind):
                continue
            best.setdefault((passage.kind, passage.key), []).append((score, i))
        ranked: list[tuple[float, int]] = []
        for items in best.values():
            items.sort(reverse=True)
            second = items[1][0] if len(items) > 1 else 0.0
            ranked.append((items[0][0] + SECOND_PASSAGE_WEIGHT * second, items[0][1]))
        ranked.sort(key=lambda item: (-item[0], self.passages[item[1]].key))
        query_terms = set(own) | set(extra)
        hits: list[Hit] = []
        for score, i in ranked[:limit]:
            p = self.passages[i]
            hits.append(Hit(p.kind, p.key, p.title, p.summary, score, p.section, self.excerpt(p, query_terms)))
        return hits

    def excerpt(self, passage: Passage, terms: set[str]) -> str:
        """The paragraph (or code block) of the passage that holds most of the question."""
        blocks = _blocks(passage.text) or [passage.summary]
        def weight(block: str) -> tuple[int, int]:
            found = len(terms & set(self.tokenizer.tokens(block)))
            prose = 0 if block.startswith(("```", "~~~")) else 1
            return (found, prose)
        chosen = max(blocks, key=weight)
        return _shorten(chosen, EXCERPT_CHARS)


def _prose_and_code(text: str) -> tuple[str, str]:
    """The passage's prose, and its fenced code blocks."""
    prose: list[str] = []
    code: list[str] = []
    for block in _blocks(text):
        (code if block.startswith(("```", "~~~")) else prose).append(block)
    return "\n\n".join(prose), "\n\n".join(code)


def _blocks(text: str) -> list[str]:
    """Paragraphs, top-level list items and whole fenced code blocks."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if fence is None and stripped.startswith(("```", "~~~")):
            if current:
                blocks.append("\n".join(current))
            current, fence = [line], stripped[:3]
            continue
        if fence is not None:
            current.append(line)
            if stripped.startswith(fence) and len(current) > 1:
                blocks.append("\n".join(current))
                current, fence = [], None
            continue
        if not stripped:
            if current:
                blocks.append("\n".join(current))
            current = []
        elif line.startswith(("- ", "* ")) and current:
            blocks.append("\n".join(current))  # each list item is a paragraph of its own
            current = [line]
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return [b.strip() for b in blocks if b.strip()]


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"


_INDEX_CACHE: dict[tuple[object, ...], SearchIndex] = {}


def build_index(guides_directory: Path | None = None, *, rules: bool = True) -> SearchIndex:
    """The index of every guide (and every rule's docs), cached per guide set."""
    try:
        import bm25s  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "searching needs the ranking library: pip install 'fastapi-expert[knowledge]'"
        ) from exc
    guides = load_guides(guides_directory)
    key: tuple[object, ...] = (tuple((g.slug, g.text) for g in guides), rules)
    index = _INDEX_CACHE.get(key)
    if index is None:
        passages = guide_passages(guides) + (rule_passages() if rules else [])
        index = SearchIndex(passages)
        _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = index
    return index


def search(
    question: str,
    limit: int = 5,
    *,
    kind: Kind | None = None,
    guides_directory: Path | None = None,
) -> list[Hit]:
    return build_index(guides_directory).search(question, limit, kind)
