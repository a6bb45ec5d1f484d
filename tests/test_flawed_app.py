"""`make demo` reviews examples/flawed-app: every planted defect is reported and
nothing else. Each defect is marked in the source with `# defect: FXnnn` on the
line the finding must start on."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_paths

APP = Path(__file__).resolve().parents[1] / "examples" / "flawed-app"
MARKER = re.compile(r"#\s*defect:\s*(FX\d{3}(?:\s*,\s*FX\d{3})*)")


def planted() -> set[tuple[str, int, str]]:
    out = set()
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(APP).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = MARKER.search(line)
            if match:
                for code in re.split(r"\s*,\s*", match.group(1)):
                    out.add((rel, number, code))
    return out


def test_flawed_app_has_at_least_30_distinct_defects_in_every_area() -> None:
    defects = planted()
    assert len(defects) >= 30
    assert {code[2] for _, _, code in defects} == set("1234567")


def test_review_reports_exactly_the_planted_defects() -> None:
    result = review_paths([APP], Config(), cwd=APP)
    found = {(f.path, f.location.line, f.code) for f in result.findings}
    expected = planted()
    assert found - expected == set(), "unexpected findings (false positives or unmarked defects)"
    assert expected - found == set(), "planted defects the review missed"
