"""The command line: argument parsing and dispatch only, no analysis logic.

argparse keeps `review` start-up near the interpreter's (see DESIGN.md); every
subcommand imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from fastapi_expert import __version__
from fastapi_expert.errors import FastAPIExpertError, UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastapi-expert",
        description="The FastAPI backend expert: review code, audit a live app, explain rules, read guides, answer questions.",
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
    review.add_argument(
        "--add-noqa", action="store_true", help="add a `# noqa: CODE` comment on the line of every finding, write nothing else"
    )
    review.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    review.add_argument("--fail-on", choices=["error", "warning", "info"], default="info", help="lowest severity that makes the exit code 1")
    review.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    review.add_argument("--no-source", action="store_true", help="omit code frames in text output")
    review.add_argument("--statistics", action="store_true", help="print a count per rule instead of findings")
    review.add_argument("--stdin-filename", help="the path of the code read from stdin")
    review.add_argument("-j", "--jobs", type=int, help="processes for the per-file rules (default: one per core when there are many files)")
    review.add_argument("-o", "--output-file", type=Path, help="write the report to a file")
    review.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
    review.add_argument(
        "--cache-dir",
        type=Path,
        help="where the result cache lives (default: $FASTAPI_EXPERT_CACHE_DIR, else .fastapi_expert_cache in the project root)",
    )

    audit = sub.add_parser("audit", help="import a live FastAPI app, inspect what FastAPI built, probe it in-process")
    audit.add_argument("target", help="the app as uvicorn takes it: MODULE:ATTRIBUTE (app.main:app)")
    audit.add_argument("--app-dir", help="directory put first on sys.path before importing (default: the current one)")
    audit.add_argument("--factory", action="store_true", help="ATTRIBUTE is a function that returns the app")
    audit.add_argument(
        "--format",
        choices=["text", "json", "markdown", "sarif", "github"],
        default="text",
        help="sarif and github as for review (code scanning, workflow annotations)",
    )
    audit.add_argument("--routes", action="store_true", help="print the route table only (no checks, no probes)")
    audit.add_argument("--no-probe", action="store_true", help="inspection only: send no request, run no lifespan")
    audit.add_argument("--timeout", type=float, default=5.0, help="seconds for each probe and for lifespan start-up (default 5)")
    audit.add_argument("--production", action="store_true", help="treat the app as running in production")
    audit.add_argument("--select", type=_codes, help="codes or prefixes to report (default: all)")
    audit.add_argument("--ignore", type=_codes, default=[], help="codes or prefixes to skip (added to the configured ignore)")
    audit.add_argument("--isolated", action="store_true", help="ignore [tool.fastapi-expert] configuration")
    audit.add_argument("--fail-on", choices=["error", "warning", "info"], default="info", help="lowest severity that makes the exit code 1")
    audit.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    audit.add_argument("-o", "--output-file", type=Path, help="write the report to a file")
    audit.add_argument("-v", "--verbose", action="store_true", help="show the traceback when the app cannot be loaded")

    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=["text", "json", "markdown", "docs"], default="text")

    explain = sub.add_parser("explain", aliases=["rule"], help="explain a rule: why, example, fix")
    explain.add_argument("code", help="a rule code (FX201) or name (blocking-sleep-in-async)")

    guide = sub.add_parser("guide", aliases=["guides"], help="list the task guides, or print one")
    guide.add_argument("topic", nargs="?", help="a guide's slug or title (pagination); none lists them")
    guide.add_argument("--format", choices=["text", "json"], default="text")
    guide.add_argument("--plain", action="store_true", help="print the markdown as written, even in a terminal")

    ask = sub.add_parser("ask", help="find the guides and rules that answer a question")
    ask.add_argument("question", nargs="+", help='a question in your words: "how do I paginate?"')
    ask.add_argument("-n", "--limit", type=int, default=3, help="how many answers (default: 3)")
    ask.add_argument("--kind", choices=["guide", "rule"], help="only guides, or only rules")
    ask.add_argument("--format", choices=["text", "json"], default="text")

    mcp = sub.add_parser("mcp", help="serve the Model Context Protocol over stdio (AI assistants)")
    mcp.add_argument("--root", type=Path, default=None, help="the folder review_path may read (default: the current directory)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in {"review", "check"}:
            from fastapi_expert.commands.review import run_review_command

            if argv is not None:  # called as a library (tests): leave the process as it is
                return run_review_command(args)
            # This process is the review's: no cyclic collection while the model
            # lives, and no teardown of it afterwards (see _exit_without_teardown).
            gc.disable()
            _exit_without_teardown(run_review_command(args))
        if args.command == "audit":
            from fastapi_expert.commands.audit import run_audit_command

            return run_audit_command(args)
        if args.command == "rules":
            return _rules(args.format)
        if args.command in {"explain", "rule"}:
            return _explain(args.code)
        if args.command in {"guide", "guides"}:
            from fastapi_expert.commands.guide import run_guide_command

            return run_guide_command(args)
        if args.command == "ask":
            from fastapi_expert.commands.ask import run_ask_command

            return run_ask_command(args)
        if args.command == "mcp":
            return _mcp(args)
        parser.print_help()
        return EXIT_OK
    except FastAPIExpertError as exc:
        print(f"fastapi-expert: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _exit_without_teardown(code: int) -> NoReturn:
    """Exit at once, as mypy does. A large review leaves millions of AST nodes in
    reference cycles (a module and its functions point at each other); the
    interpreter's teardown would spend up to half a second collecting them, for
    nothing. Only `review` exits this way: it registers no exit handler and its
    output is written by then (`audit` runs the user's code, whose handlers must run)."""
    with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _mcp(args: argparse.Namespace) -> int:
    try:
        from fastapi_expert.integrations.mcp_server import run_mcp_command
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in {"mcp", "mcp_types"}:
            raise
        raise UsageError("the MCP server needs the SDK: pip install 'fastapi-expert[mcp]'") from exc
    return run_mcp_command(args)


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
        close = catalogue_suggestions(code)
        hint = "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else ""
        raise UsageError(f"no rule is called '{code}'{hint} (see `fastapi-expert rules`)")
    sys.stdout.write(catalogue.render_explain(entry))
    return EXIT_OK


_LOOK_ALIKE_DIGITS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def catalogue_suggestions(code_or_name: str, n: int = 3) -> list[str]:
    """The closest rule codes to an unknown code or name."""
    import difflib

    from fastapi_expert.review import catalogue

    by_key: dict[str, str] = {}
    for e in catalogue.entries():
        by_key[e.code] = e.code
        by_key[e.name] = e.code
    key = code_or_name.strip()
    matches: list[str] = []
    upper = key.upper()
    if upper.startswith("FX"):
        # A letter typed for the digit it looks like (`FX2O1`, `FX4l2`): difflib alone
        # ranks every code that shares three characters the same.
        digits = "FX" + upper[2:].translate(_LOOK_ALIKE_DIGITS)
        if digits in by_key:
            matches.append(digits)
    matches += difflib.get_close_matches(upper, list(by_key), n=n * 2, cutoff=0.6)
    matches += difflib.get_close_matches(key.lower(), list(by_key), n=n * 2, cutoff=0.6)
    out: list[str] = []
    for m in matches:
        if by_key[m] not in out:
            out.append(by_key[m])
    return out[:n]
