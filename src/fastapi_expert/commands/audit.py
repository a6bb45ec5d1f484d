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
from fastapi_expert.types import Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


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
