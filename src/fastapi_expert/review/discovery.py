"""Which files a review reads, and under which module names.

Paths named on the command line are always reviewed; files found by walking a
directory obey the excludes. Directory symlinks are not followed (no loops); a
file symlink that cannot be read is reported by the engine, not here.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
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
    text = rel.as_posix()
    for pattern in patterns:
        if any(fnmatch.fnmatch(part, pattern) for part in rel.parts):
            return True
        if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(text, pattern.rstrip("/") + "/*"):
            return True
    return False


def module_name(path: Path, review_root: Path, has_init: set[Path] | None = None) -> str:
    """Dotted name: through `__init__.py` packages, else relative to the review root."""

    def is_package(directory: Path) -> bool:
        if has_init is not None:
            return directory in has_init
        return (directory / "__init__.py").is_file()

    parts = [path.stem] if path.name != "__init__.py" else []
    directory = path.parent
    if is_package(directory):
        while is_package(directory):
            parts.insert(0, directory.name)
            if directory.parent == directory:
                break
            directory = directory.parent
        return ".".join(p for p in parts if p)
    try:
        rel = path.parent.resolve().relative_to(review_root.resolve())
        prefix = [p for p in rel.parts if p not in {"", "."}]
    except ValueError:
        prefix = []
    return ".".join([*prefix, *parts])


def discover(paths: list[Path], config: Config, cwd: Path | None = None) -> list[DiscoveredFile]:
    cwd = cwd or Path.cwd()
    out: dict[str, DiscoveredFile] = {}
    for given in paths:
        root = given if given.is_dir() else given.parent
        # A folder named on the command line is reviewed even when the
        # configuration excludes it; excludes apply to what lies below it.
        given_excluded = _is_config_excluded(given, config)
        if given.is_dir():
            for dirpath, dirnames, filenames in os.walk(given):
                base = Path(dirpath)
                rel_base = PurePosixPath(os.path.relpath(base, given)) if base != given else PurePosixPath()
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
                    shown = display_path(file_path, cwd)
                    out.setdefault(shown, DiscoveredFile(file_path, shown, module_name(file_path, root)))
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
