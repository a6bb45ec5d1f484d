"""`fastapi-expert audit MODULE:APP`: options, the audit, a report, the exit code."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from fastapi_expert.audit.loader import AppLoadError
from fastapi_expert.commands.output import write_report
from fastapi_expert.config import find_config_file, load_config
from fastapi_expert.errors import UsageError
from fastapi_expert.review.tool_codes import INTERNAL_ERROR
from fastapi_expert.types import Finding, Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


# The review's CI formats: they hold findings, not the route table.
_FINDINGS_ONLY = frozenset({"sarif", "github"})


def _render_findings(fmt: str, findings: list[Finding]) -> str:
    """The audit's findings in a review reporter's format. SARIF's fingerprints hash
    the text of each finding's line, so the files the findings point to are read."""
    from fastapi_expert.review.engine import ReviewResult, read_file
    from fastapi_expert.review.reporters import github, sarif

    sources: dict[str, str] = {}
    for path in {f.location.path for f in findings}:
        text = read_file(Path(path))[0]
        if text is not None:
            sources[path] = text
    result = ReviewResult(findings=findings, sources=sources)
    return sarif.render(result) if fmt == "sarif" else github.render(result)


def run_audit_command(args: argparse.Namespace) -> int:
    try:  # the [audit] extra; checked first for a clear message
        import fastapi  # noqa: F401
        import httpx  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"the audit needs {exc.name}: pip install 'fastapi-expert[audit]'") from exc
    from fastapi_expert.audit import report
    from fastapi_expert.audit.run import audit

    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.routes and args.format in _FINDINGS_ONLY:
        raise UsageError(f"--routes prints the route table, which --format {args.format} cannot hold: use text, json or markdown")
    # `ignore` from [tool.fastapi-expert] applies to the audit too: the codes are shared.
    config = None if args.isolated else load_config(find_config_file(Path.cwd()))
    ignore = [*(config.ignore if config else ()), *args.ignore]
    try:
        result = audit(
            args.target,
            app_dir=args.app_dir,
            factory=args.factory,
            probe=not args.no_probe,
            timeout=args.timeout,
            production=args.production,
            select=args.select,
            ignore=ignore,
            routes_only=args.routes,
        )
    except AppLoadError as exc:
        if args.verbose:
            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        print(f"fastapi-expert: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.format in _FINDINGS_ONLY:
        output = _render_findings(args.format, result.findings)
    else:
        render = {"text": report.render_text, "json": report.render_json, "markdown": report.render_markdown}[args.format]
        output = render(result, routes_only=args.routes)
    if args.output_file is not None:
        write_report(args.output_file, output)
    else:
        sys.stdout.write(output)
    if any(f.code == INTERNAL_ERROR.code for f in result.findings):
        return EXIT_ERROR  # as for review: a bug of ours is never a clean result
    if args.routes or args.exit_zero:
        return EXIT_OK
    threshold = Severity(args.fail_on).rank
    return EXIT_FINDINGS if any(f.severity.rank >= threshold for f in result.findings) else EXIT_OK
