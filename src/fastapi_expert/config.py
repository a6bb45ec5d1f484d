"""`[tool.fastapi-expert]` in pyproject.toml, with ruff's semantics.

The closest `pyproject.toml` that has the table wins (files are not merged);
command-line options override it. Unknown keys and values of the wrong type are
errors that name the key (exit 2), because a silently ignored typo in `ignore`
is worse than a failed run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi_expert.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

TABLE = "fastapi-expert"

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".mypy_cache", ".nox",
    ".pants.d", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", "__pypackages__",
    "_build", "buck-out", "build", "dist", "node_modules", "venv", "site-packages",
    ".pytest_cache", "__pycache__", ".fastapi_expert_cache",
)

_LIST_KEYS = ("select", "extend-select", "ignore", "exclude", "extend-exclude")
_KNOWN_KEYS = frozenset({*_LIST_KEYS, "per-file-ignores"})


@dataclass
class Config:
    """The effective configuration of one review."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None
    # Processes for the per-file rules; None: one per core when there are many files.
    jobs: int | None = None

    @property
    def excludes(self) -> tuple[str, ...]:
        return (*self.exclude, *self.extend_exclude)


def find_config_file(start: Path) -> Path | None:
    """The closest pyproject.toml at or above `start` that has our table."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate_dir in (directory, *directory.parents):
        candidate = candidate_dir / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{candidate}: cannot read: {exc}") from exc
            if TABLE in data.get("tool", {}):
                return candidate
    return None


def load_config(path: Path | None) -> Config:
    """Read the configuration from `path` (a pyproject.toml); defaults if None."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    table = data.get("tool", {}).get(TABLE)
    if table is None:
        if path.name == "pyproject.toml":
            return Config(root=path.parent, source=path)
        table = data  # a standalone fastapi-expert.toml holds the keys at top level
    return parse_table(table, path)


def _string_list(value: Any, key: str, where: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.{TABLE}] key '{key}' must be a list of strings")
    return tuple(value)


def parse_table(table: Any, where: Path) -> Config:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [tool.{TABLE}] must be a table")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{unknown[0]}' in [tool.{TABLE}] "
            f"(known: {', '.join(sorted(_KNOWN_KEYS))})"
        )
    config = Config(root=where.parent, source=where)
    if "select" in table:
        config.select = _string_list(table["select"], "select", where)
    if "extend-select" in table:
        config.extend_select = _string_list(table["extend-select"], "extend-select", where)
    if "ignore" in table:
        config.ignore = _string_list(table["ignore"], "ignore", where)
    if "exclude" in table:
        config.exclude = _string_list(table["exclude"], "exclude", where)
    if "extend-exclude" in table:
        config.extend_exclude = _string_list(table["extend-exclude"], "extend-exclude", where)
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{where}: [tool.{TABLE}] key 'per-file-ignores' must be a table of glob = [codes]")
    for glob, codes in pfi.items():
        config.per_file_ignores[glob] = _string_list(codes, f"per-file-ignores.{glob}", where)
    return config
