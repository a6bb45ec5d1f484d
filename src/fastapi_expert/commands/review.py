"""`fastapi-expert review`: configuration, the engine, fixes, a reporter."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from fastapi_expert.commands.output import write_report
from fastapi_expert.config import Config, find_config_file, load_config
from fastapi_expert.errors import ConfigError, UsageError, WriteError
from fastapi_expert.review.cache import ResultCache, default_cache_dir
from fastapi_expert.review.engine import ReviewResult, enabled_rules, review_paths, review_sources
from fastapi_expert.review.fixes import apply_fixes
from fastapi_expert.review.selection import validate_selectors
from fastapi_expert.review.source import encode_like, split_keepends
from fastapi_expert.review.tool_codes import INTERNAL_ERROR, NEWER_SYNTAX_ANALYSED
from fastapi_expert.types import Finding, Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
MAX_FIX_PASSES = 10


def _config(args: argparse.Namespace, paths: list[Path]) -> Config:
    if args.isolated:
        config = Config()
    elif args.config is not None:
        if not args.config.is_file():
            raise ConfigError(f"{args.config}: no such configuration file")
        config = load_config(args.config)
    else:
        start = paths[0] if paths else Path.cwd()
        if args.stdin_filename:
            start = Path(args.stdin_filename).parent if Path(args.stdin_filename).parent.exists() else Path.cwd()
        config = load_config(find_config_file(start if start.exists() else Path.cwd()))
    for key in ("select", "extend_select", "ignore"):
        value = getattr(config, key)
        if value:
            validate_selectors(value, key.replace("_", "-"))
    for glob, selectors in config.per_file_ignores.items():
        validate_selectors(selectors, f"per-file-ignores.{glob}")
    if args.jobs is not None:
        if args.jobs < 1:
            raise UsageError("--jobs takes a whole number of at least 1")
        config.jobs = args.jobs
    if args.select is not None:
        validate_selectors(args.select, "--select")
        config.select = tuple(args.select)
    if args.extend_select:
        validate_selectors(args.extend_select, "--extend-select")
        config.extend_select = (*config.extend_select, *args.extend_select)
    if args.ignore:
        validate_selectors(args.ignore, "--ignore")
        config.ignore = (*config.ignore, *args.ignore)
    return config


def _review(args: argparse.Namespace, config: Config, stdin_text: str | None) -> ReviewResult:
    if stdin_text is not None:
        return review_sources({args.stdin_filename or "stdin.py": stdin_text}, config)
    paths = [Path(p) for p in args.paths] or [Path(".")]
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise UsageError(f"no such file or directory: {missing[0]}")
    return review_paths(paths, config, cache=_cache(args, config))


def _cache(args: argparse.Namespace, config: Config) -> ResultCache | None:
    if args.no_cache:
        return None
    folder = args.cache_dir if args.cache_dir is not None else default_cache_dir(config)
    return ResultCache(folder, config, (r.code for r in enabled_rules(config)))


def _fix_loop(args: argparse.Namespace, config: Config, stdin_text: str | None) -> tuple[ReviewResult, dict[str, str], dict[str, str]]:
    """Review, apply fixes, re-review until nothing changes. Returns the final
    result, the original texts and the fixed texts of changed files."""
    result = _review(args, config, stdin_text)
    originals = dict(result.sources)
    current = dict(result.sources)
    for _ in range(MAX_FIX_PASSES):
        changed = False
        by_path: dict[str, list[Finding]] = {}
        for f in result.findings:
            by_path.setdefault(f.path, []).append(f)
        for path, findings in by_path.items():
            if path not in current:
                continue
            outcome = apply_fixes(current[path], findings, unsafe=args.unsafe_fixes)
            if outcome.failed:
                for f in outcome.failed:
                    print(f"fastapi-expert: fix for {f.code} at {path}:{f.location.line} left invalid code; not applied", file=sys.stderr)
            if outcome.text != current[path]:
                current[path] = outcome.text
                changed = True
        if not changed:
            break
        result = review_sources(current, config) if stdin_text is not None else _rereview(current, config, result)
    changed_files = {p: t for p, t in current.items() if t != originals.get(p)}
    return result, originals, changed_files


def _rereview(current: dict[str, str], config: Config, previous: ReviewResult) -> ReviewResult:
    # Re-review the whole set in memory so project rules see the fixed code.
    result = review_sources(current, config)
    result.files = previous.files
    return result


def run_review_command(args: argparse.Namespace) -> int:
    if args.add_noqa and "-" in args.paths:
        raise UsageError("--add-noqa edits files: give paths, not '-'")
    stdin_text: str | None = None
    if args.paths == ["-"]:
        stdin_text = sys.stdin.read()
    elif "-" in args.paths:
        raise UsageError("'-' (stdin) cannot be mixed with other paths")
    paths = [Path(p) for p in args.paths if p != "-"]
    config = _config(args, paths)
    if not enabled_rules(config):
        raise UsageError("the selection enables no rule")

    if args.add_noqa:
        if args.fix or args.diff:
            raise UsageError("--add-noqa cannot be combined with --fix or --diff: fix first, then add comments for what remains")
        return _add_noqa(_review(args, config, None))

    if args.fix or args.diff:
        result, originals, changed = _fix_loop(args, config, stdin_text)
        if args.diff:
            for path, text in sorted(changed.items()):
                sys.stdout.writelines(
                    difflib.unified_diff(
                        split_keepends(originals[path]),
                        split_keepends(text),
                        fromfile=f"a/{path}",
                        tofile=f"b/{path}",
                    )
                )
            return EXIT_FINDINGS if changed else EXIT_OK
        if stdin_text is not None:
            sys.stdout.write(changed.get(args.stdin_filename or "stdin.py", stdin_text))
            return EXIT_OK
        _write_fixed(changed)
        if changed:
            print(f"Fixed {len(changed)} file{'s' if len(changed) != 1 else ''}.", file=sys.stderr)
    else:
        result = _review(args, config, stdin_text)

    output = _render(args, result)
    if args.output_file is not None:
        write_report(args.output_file, output)
    else:
        sys.stdout.write(output)

    if result.internal_errors:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_OK
    threshold = Severity(args.fail_on).rank
    # FX003 only says how some files were read; it is news, not a defect.
    not_defects = {INTERNAL_ERROR.code, NEWER_SYNTAX_ANALYSED.code}
    failing = [f for f in result.findings if f.severity.rank >= threshold and f.code not in not_defects]
    return EXIT_FINDINGS if failing else EXIT_OK


def _write_fixed(changed: dict[str, str]) -> None:
    """Write every fixed file; when some cannot be, say which, and how many were
    written, and stop before the report (it would describe fixes that did not land)."""
    failed: list[str] = []
    for path, text in changed.items():
        try:
            _write(Path(path), text)
        except (OSError, UnicodeEncodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            failed.append(f"{path} ({reason})")
    if failed:
        written = len(changed) - len(failed)
        raise WriteError(
            f"fixed but not written: {', '.join(failed)}; "
            f"{written} other fixed file{'s were' if written != 1 else ' was'} written"
        )


def _write(path: Path, text: str) -> None:
    """Write a reviewed file back in the encoding it was read in."""
    try:
        original = path.read_bytes()
    except OSError:
        original = b""
    path.write_bytes(encode_like(text, original))


def _add_noqa(result: ReviewResult) -> int:
    """Comment every finding of the review away; exit 1 when some could not be."""
    from fastapi_expert.review.noqa import UNSUPPRESSIBLE, add_noqa

    by_path: dict[str, list[Finding]] = {}
    unplaced: list[tuple[Finding, str]] = []
    for finding in result.findings:
        if finding.code in UNSUPPRESSIBLE:
            unplaced.append((finding, "the review could not analyse the file; no comment suppresses that"))
        else:
            by_path.setdefault(finding.path, []).append(finding)
    added = files = 0
    for path, findings in sorted(by_path.items()):
        text = result.sources.get(path)
        if text is None:  # not read: FX001 says why
            continue
        outcome = add_noqa(text, findings)
        unplaced += outcome.unplaced
        if outcome.text == text:
            continue
        try:
            _write(Path(path), outcome.text)
        except (OSError, UnicodeEncodeError) as exc:
            print(f"fastapi-expert: {path}: not written: {exc}", file=sys.stderr)
            unplaced += [(f, "the file could not be written") for f in findings]
            continue
        added += outcome.added
        files += 1
    for finding, why in unplaced:
        loc = finding.location
        print(f"{finding.path}:{loc.line}:{loc.column}: {finding.code} not suppressed: {why}", file=sys.stderr)
    print(f"Added {added} noqa comment{'s' if added != 1 else ''} to {files} file{'s' if files != 1 else ''}.", file=sys.stderr)
    if result.internal_errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if unplaced else EXIT_OK


def _render(args: argparse.Namespace, result: ReviewResult) -> str:
    if args.format == "json":
        from fastapi_expert.review.reporters import json_reporter

        return json_reporter.render(result)
    if args.format == "sarif":
        from fastapi_expert.review.reporters import sarif

        return sarif.render(result)
    if args.format == "github":
        from fastapi_expert.review.reporters import github

        return github.render(result)
    from fastapi_expert.review.reporters import text

    if args.statistics:
        return text.render_statistics(result)
    if args.output_file is None:
        color = text.use_color(args.color, sys.stdout)
    else:
        color = args.color == "always"
    return text.render(result, color=color, show_source=not args.no_source and args.format != "concise")

