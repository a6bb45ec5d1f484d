"""The command line: argument parsing and dispatch only, no analysis logic.

argparse keeps `review` start-up near the interpreter's (see DESIGN.md); every
subcommand imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapi_expert import __version__
from fastapi_expert.errors import FastAPIExpertError, UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastapi-expert",
        description="The FastAPI backend expert: review code, explain rules.",
    )
    parser.add_argument("--version", action="version", version=f"fastapi-expert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    review = sub.add_parser(
        "review", aliases=["check"], help="review a code base (default: the current directory)"
    )
    review.add_argument("paths", nargs="*", type=str, help="files or folders; '-' reads stdin")
    review.add_argument("--format", "--output-format", dest="format", choices=["text", "concise", "json", "sarif", "github"], default="text")
    review.add_argument("--select", type=_codes, help="rule codes or prefixes to run (replaces the configured set)")
    review.add_argument("--extend-select", type=_codes, default=[], help="add rules to the selection")
    review.add_argument("--ignore", type=_codes, default=[], help="rule codes or prefixes to skip")
    review.add_argument("--config", type=Path, help="a pyproject.toml to read instead of the closest one")
    review.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    review.add_argument("--fix", action="store_true", help="apply safe fixes")
    review.add_argument("--unsafe-fixes", action="store_true", help="with --fix or --diff, also apply unsafe fixes")
    review.add_argument("--diff", action="store_true", help="print the fixes as a diff, write nothing")
    review.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    review.add_argument("--fail-on", choices=["error", "warning", "info"], default="info", help="lowest severity that makes the exit code 1")
    review.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    review.add_argument("--no-source", action="store_true", help="omit code frames in text output")
    review.add_argument("--statistics", action="store_true", help="print a count per rule instead of findings")
    review.add_argument("--stdin-filename", help="the path of the code read from stdin")
    review.add_argument("-o", "--output-file", type=Path, help="write the report to a file")

    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=["text", "json", "markdown", "docs"], default="text")

    explain = sub.add_parser("explain", aliases=["rule"], help="explain a rule: why, example, fix")
    explain.add_argument("code", help="a rule code (FX201) or name (blocking-sleep-in-async)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in {"review", "check"}:
            from fastapi_expert.commands.review import run_review_command

            return run_review_command(args)
        if args.command == "rules":
            return _rules(args.format)
        if args.command in {"explain", "rule"}:
            return _explain(args.code)
        parser.print_help()
        return EXIT_OK
    except FastAPIExpertError as exc:
        print(f"fastapi-expert: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _rules(fmt: str) -> int:
    from fastapi_expert.review import catalogue

    render = {
        "text": catalogue.render_rules_text,
        "json": catalogue.render_rules_json,
        "markdown": catalogue.render_rules_markdown,
        "docs": catalogue.render_rules_docs,
    }[fmt]
    sys.stdout.write(render())
    return EXIT_OK


def _explain(code: str) -> int:
    from fastapi_expert.review import catalogue

    entry = catalogue.find(code)
    if entry is None:
        raise UsageError(f"no rule is called '{code}' (see `fastapi-expert rules`)")
    sys.stdout.write(catalogue.render_explain(entry))
    return EXIT_OK
