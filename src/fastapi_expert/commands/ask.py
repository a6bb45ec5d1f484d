"""`fastapi-expert ask "QUESTION"`: the guides and rules that answer a question,
best first, each with the passage that matched."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from fastapi_expert.errors import UsageError
from fastapi_expert.knowledge.search import Hit, search

EXIT_OK, EXIT_NOTHING = 0, 1
LINE_CHARS = 100


def render_hits(question: str, hits: list[Hit]) -> str:
    lines: list[str] = []
    for rank, hit in enumerate(hits, 1):
        if hit.kind == "guide":
            head = f"{rank}. guide  {hit.key} — {hit.title}"
            command = f"fastapi-expert guide {hit.key}"
        else:
            head = f"{rank}. rule   {hit.title} — {hit.summary}"
            command = f"fastapi-expert explain {hit.key}"
        where = f"   {command}" + (f"   (section: {hit.section})" if hit.section else "")
        lines += [head, where]
        lines += [f"   │ {line}".rstrip() for line in _excerpt_lines(hit.excerpt)]
        lines.append("")
    return "\n".join(lines)


def _excerpt_lines(excerpt: str) -> list[str]:
    """Prose is re-wrapped; code keeps its lines (cut when too long)."""
    if excerpt.lstrip().startswith(("```", "~~~")):
        return [line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 1] + "…" for line in excerpt.splitlines()]
    text = " ".join(excerpt.split())
    indent = "  " if text.startswith(("- ", "* ")) else ""
    return textwrap.wrap(text, LINE_CHARS, subsequent_indent=indent)


def run_ask_command(args: argparse.Namespace) -> int:
    question = " ".join(args.question).strip()
    if not question:
        raise UsageError("ask needs a question, e.g. fastapi-expert ask \"how do I paginate?\"")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    hits = search(question, args.limit, kind=args.kind, guides_directory=getattr(args, "guides_dir", None))
    if args.format == "json":
        document = {"version": 1, "question": question, "hits": [h.to_dict() for h in hits]}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    elif hits:
        sys.stdout.write(render_hits(question, hits))
    else:
        print(f"No guide or rule matches {question!r}; try other words, or `fastapi-expert guide`.", file=sys.stderr)
    return EXIT_OK if hits else EXIT_NOTHING
