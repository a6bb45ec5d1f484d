"""Which files a review reads, and under which module names.

Paths named on the command line are always reviewed; files found by walking a
directory obey the excludes. Directory symlinks are not followed (no loops); a
file symlink that cannot be read is reported by the engine, not here.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from fastapi_expert.config import Config


@dataclass(frozen=True, slots=True)
class DiscoveredFile:
    path: Path  # as found on disk
    display: str  # relative to the working directory when possible, POSIX separators
    module: str  # dotted module name used for import resolution


def display_path(path: Path, cwd: Path) -> str:
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        return path.as_posix()
    if rel.startswith(".."):
        return path.absolute().as_posix()
    return PurePosixPath(Path(rel).as_posix()).as_posix()


def is_excluded(rel: PurePosixPath, patterns: tuple[str, ...]) -> bool:
    """Does a pattern match one component of `rel`, the whole of it, or a folder above it?"""
    part, whole = _compiled(patterns)
    if part is None or whole is None:
        return False
    return any(part.match(p) for p in rel.parts) or whole.match(rel.as_posix()) is not None


@lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """The patterns as two regular expressions, compiled once per configuration
    (calling fnmatch per pattern per path component dominated discovery)."""
    if not patterns:
        return None, None
    part = "|".join(fnmatch.translate(p) for p in patterns)
    whole = "|".join(
        [*(fnmatch.translate(p) for p in patterns), *(fnmatch.translate(p.rstrip("/") + "/*") for p in patterns)]
    )
    return re.compile(part), re.compile(whole)


def module_name(
    path: Path,
    review_root: Path,
    has_init: set[Path] | dict[Path, bool] | None = None,
    prefixes: dict[Path, list[str]] | None = None,
) -> str:
    """Dotted name: through `__init__.py` packages, else relative to the review root.

    `prefixes` caches the answer for a folder, so the files of one folder cost
    one look-up (discovery passes it; every file of a folder shares its prefix).
    `has_init`: the package folders (a set), or a dict in which the folders found
    on disk to be packages or not are kept for the next file."""
    stem = [path.stem] if path.name != "__init__.py" else []
    directory = path.parent
    prefix = prefixes.get(directory) if prefixes is not None else None
    if prefix is None:
        prefix = _folder_prefix(directory, review_root, has_init)
        if prefixes is not None:
            prefixes[directory] = prefix
    return ".".join(p for p in [*prefix, *stem] if p)


def _folder_prefix(directory: Path, review_root: Path, has_init: set[Path] | dict[Path, bool] | None) -> list[str]:
    def is_package(folder: Path) -> bool:
        if isinstance(has_init, set):
            return folder in has_init
        if has_init is None:
            return (folder / "__init__.py").is_file()
        # Every folder of a deep tree asks about the same ancestors.
        known = has_init.get(folder)
        if known is None:
            known = has_init[folder] = (folder / "__init__.py").is_file()
        return known

    if is_package(directory):
        parts: list[str] = []
        # A folder with no `__init__.py` between packages (a namespace portion,
        # PEP 420: `pkg/api/v1/users.py` with no `pkg/api/__init__.py`) is still
        # imported as `pkg.api.v1.users`: the name runs up to the top-most package.
        while is_package(directory) or _package_above(directory, is_package):
            parts.insert(0, directory.name)
            if directory.parent == directory:
                break
            directory = directory.parent
        return parts
    try:
        rel = directory.resolve().relative_to(review_root.resolve())
    except ValueError:
        return []
    return [p for p in rel.parts if p not in {"", "."}]


def _package_above(directory: Path, is_package: Callable[[Path], bool]) -> bool:
    """Is some folder above `directory` a package?"""
    return any(is_package(folder) for folder in directory.parents)


def discover(paths: list[Path], config: Config, cwd: Path | None = None) -> list[DiscoveredFile]:
    cwd = cwd or Path.cwd()
    out: dict[str, DiscoveredFile] = {}
    for given in paths:
        root = given if given.is_dir() else given.parent
        # A folder named on the command line is reviewed even when the
        # configuration excludes it; excludes apply to what lies below it.
        given_excluded = _is_config_excluded(given, config)
        prefixes: dict[Path, list[str]] = {}
        packages: dict[Path, bool] = {}
        if given.is_dir():
            for dirpath, dirnames, filenames in os.walk(given):
                base = Path(dirpath)
                rel_base = PurePosixPath(os.path.relpath(base, given)) if base != given else PurePosixPath()
                packages[base] = "__init__.py" in filenames
                shown_base: str | None = None  # the folder's display path, once per folder
                dirnames[:] = sorted(
                    d for d in dirnames if not is_excluded(rel_base / d, config.excludes)
                    and (given_excluded or not _is_config_excluded(base / d, config))
                )
                for filename in sorted(filenames):
                    if not filename.endswith((".py", ".pyi")):
                        continue
                    file_path = base / filename
                    if is_excluded(rel_base / filename, config.excludes) or (
                        not given_excluded and _is_config_excluded(file_path, config)
                    ):
                        continue
                    if shown_base is None:
                        shown_base = display_path(base, cwd)
                    shown = filename if shown_base == "." else f"{shown_base}/{filename}"
                    out.setdefault(
                        shown, DiscoveredFile(file_path, shown, module_name(file_path, root, packages, prefixes=prefixes))
                    )
        else:
            shown = display_path(given, cwd)
            out.setdefault(shown, DiscoveredFile(given, shown, module_name(given, root)))
    return list(out.values())


def _is_config_excluded(path: Path, config: Config) -> bool:
    """Excludes written in the config are relative to the config file's folder."""
    if config.source is None:
        return False
    try:
        rel = PurePosixPath(path.resolve().relative_to(config.root.resolve()).as_posix())
    except (ValueError, OSError):
        return False
    return is_excluded(rel, config.excludes) if rel.parts else False
