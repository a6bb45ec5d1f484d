"""How well does `fastapi-expert ask` answer real questions?

`ask_questions.tsv` holds questions as users phrase them, each with the guides
(slugs) or rules (codes) a person would want; a question is a hit when one of
them is in the top 3. A question whose every target does not exist (a guide
not written yet) cannot be answered: it is listed and left out of the rate.

    python benchmarks/ask_questions.py [--top 3] [--fail-under 90] [-v]

Figures are printed; `--fail-under` turns the target into an exit code.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi_expert.knowledge.guides import load_guides
from fastapi_expert.knowledge.search import build_index
from fastapi_expert.review import catalogue

TABLE = Path(__file__).with_name("ask_questions.tsv")


@dataclass(frozen=True)
class Question:
    text: str
    wanted: tuple[str, ...]


def load_table(path: Path = TABLE) -> list[Question]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, sep, wanted = line.partition("\t")
        if not sep or not wanted.split():
            raise SystemExit(f"{path.name}:{number}: expected 'question<TAB>targets'")
        questions.append(Question(text.strip(), tuple(wanted.split())))
    return questions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--fail-under", type=float, default=None, help="exit 1 below this percentage")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every question")
    args = parser.parse_args()

    known = {g.slug for g in load_guides()} | {e.code for e in catalogue.entries()}
    questions = load_table()
    started = time.perf_counter()
    index = build_index()
    built = time.perf_counter() - started

    hits = 0
    answerable = 0
    misses: list[str] = []
    unanswerable: list[str] = []
    started = time.perf_counter()
    for q in questions:
        targets = [t for t in q.wanted if t in known]
        if not targets:
            unanswerable.append(f"  {q.text!r}: none of {', '.join(q.wanted)} exists")
            continue
        answerable += 1
        got = [h.key for h in index.search(q.text, limit=args.top)]
        ok = any(t in got for t in targets)
        hits += ok
        line = f"  {'hit ' if ok else 'MISS'} {q.text!r}\n       wanted {' or '.join(targets)}; got {', '.join(got) or '-'}"
        if not ok:
            misses.append(line)
        elif args.verbose:
            print(line)
    searched = time.perf_counter() - started

    print(f"guides: {len(load_guides())}, rules: {len(catalogue.entries())}, passages: {len(index.passages)}")
    print(f"index built in {built * 1000:.0f} ms; {len(questions)} questions searched in {searched * 1000:.0f} ms")
    if unanswerable:
        print(f"left out ({len(unanswerable)}: no such guide or rule yet):")
        print("\n".join(unanswerable))
    if misses:
        print(f"misses ({len(misses)}):")
        print("\n".join(misses))
    rate = 100.0 * hits / answerable if answerable else 0.0
    print(f"top-{args.top} hit rate: {hits}/{answerable} = {rate:.1f} %")
    if args.fail_under is not None and rate < args.fail_under:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
