"""`fastapi-expert guide [TOPIC]`: list the guides, or print one.

A terminal gets the markdown rendered by rich when rich is installed; a pipe,
a file or `--plain` gets the markdown text as written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from fastapi_expert.errors import UsageError
from fastapi_expert.knowledge.guides import Guide, find_guide, load_guides, suggest

EXIT_OK = 0


def did_you_mean(options: list[str]) -> str:
    if not options:
        return ""
    return "; did you mean " + " or ".join(f"'{o}'" for o in options) + "?"


def unknown_guide(topic: str, directory: Path | None = None) -> UsageError:
    hint = did_you_mean(suggest(topic, directory))
    from fastapi_expert.review import catalogue

    rule = catalogue.find(topic)
    if rule is not None:
        return UsageError(f"'{topic}' is a rule, not a guide: run `fastapi-expert explain {rule.code}`")
    return UsageError(f"no guide is called '{topic}'{hint} (`fastapi-expert guide` lists them)")


def render_list(guides: list[Guide]) -> str:
    if not guides:
        return "No guides installed.\n"
    width = max(len(g.slug) for g in guides)
    lines = []
    for g in guides:
        lines.append(f"{g.slug:<{width}}  {g.title}")
        if g.summary:
            lines.append(f"{'':<{width}}  {_one_line(g.summary)}")
    lines.append("")
    lines.append("Print one with `fastapi-expert guide SLUG`; search them with `fastapi-expert ask \"QUESTION\"`.")
    return "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def use_rich(stream: TextIO, plain: bool) -> bool:
    if plain or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def print_markdown(text: str, stream: TextIO, plain: bool = False) -> None:
    if use_rich(stream, plain):
        try:
            from rich.console import Console
            from rich.markdown import Markdown
        except ImportError:  # rich is optional: plain markdown reads fine
            pass
        else:
            Console(file=stream).print(Markdown(text, code_theme="ansi_dark"))
            return
    stream.write(text if text.endswith("\n") else text + "\n")


def run_guide_command(args: argparse.Namespace) -> int:
    directory: Path | None = getattr(args, "guides_dir", None)
    if not args.topic:
        guides = load_guides(directory)
        if args.format == "json":
            sys.stdout.write(json.dumps({"version": 1, "guides": [g.to_dict() for g in guides]}, indent=2) + "\n")
        else:
            sys.stdout.write(render_list(guides))
        return EXIT_OK
    guide = find_guide(args.topic, directory)
    if guide is None:
        raise unknown_guide(args.topic, directory)
    if args.format == "json":
        document = {"version": 1, **guide.to_dict(), "markdown": guide.text}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        print_markdown(guide.text, sys.stdout, plain=args.plain)
    return EXIT_OK
