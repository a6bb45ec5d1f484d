"""Every guide's code is checked: file blocks + test blocks form a project that
runs and reviews clean; `bad` blocks draw exactly the rule codes they name.
The contract is docs/writing-guides.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fastapi_expert.config import Config
from fastapi_expert.review import catalogue
from fastapi_expert.review.engine import review_paths, review_sources

GUIDES = Path(__file__).resolve().parents[2] / "src" / "fastapi_expert" / "knowledge" / "guides"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
REQUIRED = ("## When to use what", "## Example", "## Mistakes to avoid", "## References")
RUN_TIMEOUT_S = 120


@dataclass
class Guide:
    path: Path
    files: dict[str, str] = field(default_factory=dict)
    tests: list[str] = field(default_factory=list)
    bad: list[tuple[set[str], str, str]] = field(default_factory=list)
    unlabelled: int = 0

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def load(path: Path) -> Guide:
    guide = Guide(path)
    for info, body in FENCE.findall(guide.text):
        words = info.strip().split()
        if not words or words[0] not in {"python", "py"}:
            continue
        attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        flags = {w for w in words[1:] if "=" not in w}
        if "bad" in flags:
            codes = {c.strip() for c in attrs.get("rules", "").split(",") if c.strip()}
            guide.bad.append((codes, body, attrs.get("file", "app.py")))
        elif "file" in attrs:
            guide.files[attrs["file"]] = guide.files.get(attrs["file"], "") + body
        elif "test" in flags:
            guide.tests.append(body)
        else:
            guide.unlabelled += 1
    return guide


def all_guides() -> list[Path]:
    return sorted(GUIDES.glob("*.md"))


def _ids(path: Path) -> str:
    return path.stem


def test_there_are_guides() -> None:
    assert len(all_guides()) >= 16, [p.name for p in all_guides()]


@pytest.mark.parametrize("path", all_guides(), ids=_ids)
def test_guide_shape(path: Path) -> None:
    guide = load(path)
    text = guide.text
    assert text.startswith("# "), "a guide starts with its title"
    for section in REQUIRED:
        assert section in text, f"missing {section}"
    assert guide.unlabelled == 0, "every python block needs file=, test or bad (docs/writing-guides.md)"
    assert guide.files, "a guide has a complete example (python file=... blocks)"
    assert guide.tests, "a guide has a test block that makes the requests it shows"
    known = {e.code for e in catalogue.entries()}
    for code in set(re.findall(r"\bFX\d{3}\b", text)):
        assert code in known, f"{code} is not a rule"
    assert re.search(r"https://\S+", text.split("## References", 1)[1]), "references need links"


@pytest.mark.parametrize("path", all_guides(), ids=_ids)
def test_guide_example_runs_and_reviews_clean(path: Path, tmp_path: Path) -> None:
    guide = load(path)
    for name, body in guide.files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    script = tmp_path / "test_guide.py"
    script.write_text("\n\n".join(guide.tests), encoding="utf-8")

    result = review_paths([tmp_path], Config(), cwd=tmp_path)
    assert [f"{f.path}:{f.location.line} {f.code} {f.message}" for f in result.findings] == []

    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"


@pytest.mark.parametrize("path", all_guides(), ids=_ids)
def test_guide_mistakes_draw_the_named_rules(path: Path) -> None:
    for codes, body, filename in load(path).bad:
        assert codes, "a bad block names the rules it draws: ```python bad rules=FX201"
        # Naming a rule turns it on, so off-by-default rules can be shown too.
        result = review_sources({filename: body}, Config(extend_select=tuple(sorted(codes))))
        found = {f.code for f in result.findings}
        assert found == codes, f"expected {sorted(codes)}, review found {sorted(found)}"
