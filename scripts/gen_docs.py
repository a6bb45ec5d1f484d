"""Regenerate the rule table in README.md and docs/rules.md from the rules."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fastapi_expert.review import catalogue

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    table = catalogue.render_rules_markdown().strip()
    new, count = re.subn(
        r"<!-- rules:start -->\n.*?<!-- rules:end -->",
        lambda _: f"<!-- rules:start -->\n{table}\n<!-- rules:end -->",
        text,
        flags=re.S,
    )
    if count != 1:
        print("README.md lacks the <!-- rules:start --> / <!-- rules:end --> markers", file=sys.stderr)
        return 1
    readme.write_text(new, encoding="utf-8")
    (ROOT / "docs" / "rules.md").write_text(catalogue.render_rules_docs(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
