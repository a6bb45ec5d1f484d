"""The result cache: `.fastapi_expert_cache/`, so an unchanged tree is not analysed twice.

What is stored: for one *scope* (the set of files a review reads, under one
tool build and one effective configuration), each file's content hash, its
line count and the findings reported in it.

When it is used: a file's findings depend on the whole project model (a
blocking call three modules away, the app that includes a router, a
dependency declared elsewhere), so stored findings are reused only when every
file of the scope hashes as it did; otherwise the scope is analysed again and
its entry rewritten. This never returns a stale finding, at the price that
one edited file means a full review (the per-module summaries that would let
the model be rebuilt without re-parsing exist, in `model/summary.py`, but
nothing rebuilds the model from them yet: docs/incremental-review.md).

What can go wrong, and what happens: a cache that is corrupt, written by
another version or another configuration, or not writable is ignored (and
rewritten when possible), never an error. Writes go to a temporary file in
the same folder and are renamed over the entry, so two reviews running at
once never leave a half-written entry behind. Results with an internal error
(FX002) are not stored: a crash may not happen twice.

JSON rather than pickle: the folder may be shared (a CI cache restored from
another job), and loading it must never run code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi_expert import __version__
from fastapi_expert.config import Config
from fastapi_expert.types import ChainLink, Edit, Finding, Fix, Location, Severity

CACHE_DIR_NAME = ".fastapi_expert_cache"
CACHE_DIR_ENV = "FASTAPI_EXPERT_CACHE_DIR"
FORMAT = 1
# Scopes kept per cache folder; the least recently written go first.
MAX_SCOPES = 32

_GITIGNORE = "# Created by fastapi-expert; safe to delete.\n*\n"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by fastapi-expert.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@dataclass(frozen=True, slots=True)
class FileState:
    """One file of a review as the cache sees it: its content hash, or why it
    could not be read (an unreadable file is part of the scope too)."""

    display: str
    module: str
    digest: str


@dataclass(frozen=True, slots=True)
class CachedResult:
    findings: list[Finding]
    lines: dict[str, int]


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def default_cache_dir(config: Config) -> Path:
    """`$FASTAPI_EXPERT_CACHE_DIR`, else `.fastapi_expert_cache` beside the
    configuration file (the project root), else in the working directory."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env)
    return config.root / CACHE_DIR_NAME


def _tool_fingerprint() -> str:
    """The version, plus the size and time of every module of the package: an
    editable install whose rules change between two runs must not reuse
    results (about 2 ms for the ~150 files)."""
    package = Path(__file__).resolve().parent.parent
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{__version__}|{FORMAT}|{sys.version_info[0]}.{sys.version_info[1]}".encode())
    for path in sorted(package.rglob("*.py")):
        try:
            stat = path.stat()
        except OSError:
            continue
        h.update(f"|{path.relative_to(package).as_posix()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return h.hexdigest()


def _config_fingerprint(config: Config, rule_codes: Iterable[str]) -> str:
    """Everything in the configuration that changes which findings a file gets
    (not `jobs`, not `root`: they change how, not what)."""
    parts = {
        "rules": sorted(rule_codes),
        "select": list(config.select) if config.select is not None else None,
        "extend_select": list(config.extend_select),
        "ignore": list(config.ignore),
        "per_file_ignores": {k: list(v) for k, v in sorted(config.per_file_ignores.items())},
        "excludes": list(config.excludes),
    }
    return hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=16).hexdigest()


class ResultCache:
    """Findings of earlier reviews, one entry per scope, in `folder`."""

    def __init__(self, folder: Path, config: Config, rule_codes: Iterable[str]) -> None:
        self.folder = folder
        self.key = f"{_tool_fingerprint()}-{_config_fingerprint(config, rule_codes)}"

    def _scope_file(self, files: Sequence[FileState]) -> Path:
        h = hashlib.blake2b(self.key.encode(), digest_size=16)
        for f in sorted(files, key=lambda f: f.display):
            h.update(f"\0{f.display}\0{f.module}".encode())
        return self.folder / f"v{FORMAT}" / f"{h.hexdigest()}.json"

    # -- reading -----------------------------------------------------------

    def load(self, files: Sequence[FileState]) -> CachedResult | None:
        """The stored result when every file is as it was; None otherwise,
        including when the entry is missing, unreadable, corrupt or foreign."""
        try:
            raw = self._scope_file(files).read_bytes()
            data = json.loads(raw)
            return _decode(data, self.key, files)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    # -- writing -----------------------------------------------------------

    def store(self, files: Sequence[FileState], findings: Sequence[Finding], lines: Mapping[str, int]) -> bool:
        """Write the entry for this scope; False (and nothing raised) when the
        folder cannot be written."""
        by_path: dict[str, list[dict[str, object]]] = {}
        for finding in findings:
            by_path.setdefault(finding.location.path, []).append(_encode_finding(finding))
        entry = {
            "format": FORMAT,
            "key": self.key,
            "files": {f.display: {"module": f.module, "hash": f.digest, "lines": lines.get(f.display, 0)} for f in files},
            "findings": by_path,
        }
        import tempfile  # only when writing: it costs start-up time on every cached review

        target = self._scope_file(files)
        try:
            self._prepare_folder(target.parent)
            fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(entry, out, separators=(",", ":"))
                os.replace(temp, target)  # atomic: readers see the old entry or the new one
            except BaseException:
                _unlink_quietly(Path(temp))
                raise
            self._prune(target.parent)
        except OSError:
            return False
        return True

    def _prepare_folder(self, entries: Path) -> None:
        entries.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            marker = self.folder / name
            if not marker.exists():
                marker.write_text(text, encoding="utf-8")

    @staticmethod
    def _prune(entries: Path) -> None:
        """Keep the newest MAX_SCOPES entries (each distinct set of reviewed
        paths or configuration makes one), and no temporary file left by a
        review that was killed mid-write over an hour ago."""
        import time

        scopes = []
        for path in entries.iterdir():
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if path.name.startswith(".tmp-"):
                if time.time() - mtime > 3600:
                    _unlink_quietly(path)
            elif path.suffix == ".json":
                scopes.append((mtime, path))
        scopes.sort(reverse=True)
        for _, path in scopes[MAX_SCOPES:]:
            _unlink_quietly(path)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


# -- encoding ------------------------------------------------------------------


def _encode_finding(f: Finding) -> dict[str, object]:
    loc = f.location
    out: dict[str, object] = {
        "code": f.code,
        "name": f.name,
        "severity": f.severity.value,
        "loc": [loc.line, loc.column, loc.end_line, loc.end_column],
        "message": f.message,
    }
    if f.fix is not None:
        out["fix"] = {
            "title": f.fix.title,
            "safe": f.fix.safe,
            "edits": [[e.line, e.column, e.end_line, e.end_column, e.content] for e in f.fix.edits],
        }
    if f.chain:
        out["chain"] = [
            [c.location.path, c.location.line, c.location.column, c.location.end_line, c.location.end_column, c.note]
            for c in f.chain
        ]
    return out


def _decode(data: object, key: str, files: Sequence[FileState]) -> CachedResult | None:
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    stored = data["files"]
    if not isinstance(stored, dict) or len(stored) != len(files):
        return None
    lines: dict[str, int] = {}
    for f in files:
        entry = stored.get(f.display)
        if not isinstance(entry, dict) or entry.get("hash") != f.digest or entry.get("module") != f.module:
            return None  # a file changed: the project model may have too
        lines[f.display] = _int(entry["lines"])
    findings: list[Finding] = []
    by_path = data["findings"]
    if not isinstance(by_path, dict):
        return None
    for path, items in by_path.items():
        if not isinstance(path, str) or not isinstance(items, list):
            return None
        findings.extend(_decode_finding(path, item) for item in items)
    return CachedResult(findings, lines)


def _decode_finding(path: str, item: object) -> Finding:
    if not isinstance(item, dict):
        raise TypeError("expected a finding")
    line, column, end_line, end_column = (_int(v) for v in _list(item["loc"], 4))
    fix = None
    raw_fix = item.get("fix")
    if raw_fix is not None:
        if not isinstance(raw_fix, dict):
            raise TypeError("fix")
        edits = tuple(
            Edit(_int(e[0]), _int(e[1]), _int(e[2]), _int(e[3]), _str(e[4]))
            for e in (_list(raw, 5) for raw in _list(raw_fix["edits"]))
        )
        fix = Fix(_str(raw_fix["title"]), edits, bool(raw_fix["safe"]))
    chain = tuple(
        ChainLink(Location(_str(c[0]), _int(c[1]), _int(c[2]), _int(c[3]), _int(c[4])), _str(c[5]))
        for c in (_list(raw, 6) for raw in _list(item.get("chain", [])))
    )
    return Finding(
        _str(item["code"]),
        _str(item["name"]),
        Severity(item["severity"]),
        Location(path, line, column, end_line, end_column),
        _str(item["message"]),
        fix,
        chain,
    )


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _list(value: object, length: int | None = None) -> list[object]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise TypeError("expected a list")
    return value
