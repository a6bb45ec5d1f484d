"""Review the running interpreter's whole standard library.

Proves robustness (it must finish with no internal error) and prints the speed.
Figures are printed, never asserted: run `make bench` and read them.

    python benchmarks/review_stdlib.py [--jobs N is not needed: one process]
"""

from __future__ import annotations

import ast
import platform
import resource
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

from fastapi_expert.config import Config
from fastapi_expert.review.engine import review_paths
from fastapi_expert.review.source import decode_source


def floor(paths: list[Path]) -> float:
    """ast.parse plus one ast.walk of every file: the least a review can cost."""
    started = time.perf_counter()
    for path in paths:
        try:
            tree = ast.parse(decode_source(path.read_bytes()))
        except Exception:  # the floor skips what does not parse
            continue
        for _ in ast.walk(tree):
            pass
    return time.perf_counter() - started


def main() -> int:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    config = Config(exclude=("site-packages", "__pycache__"))
    started = time.perf_counter()
    result = review_paths([stdlib], config, cwd=stdlib)
    wall = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    files = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)
    floor_s = floor(files)
    codes = Counter(f.code for f in result.findings)
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print(f"standard library: {stdlib}")
    print(f"files: {result.files}  lines: {result.lines:,}")
    print(f"wall time: {wall:.2f} s  ({result.lines / wall:,.0f} lines/s)  peak RSS: {peak_mib:.0f} MiB")
    print(f"floor (ast.parse + ast.walk, one process): {floor_s:.2f} s  ratio ours/floor: {wall / floor_s:.2f}")
    print(f"files not analysed (FX001): {codes.get('FX001', 0)}  internal errors (FX002): {codes.get('FX002', 0)}")
    print("findings per code: " + ", ".join(f"{c}={n}" for c, n in sorted(codes.items())))
    for finding in result.findings:
        if finding.code == "FX002":
            print(f"  INTERNAL ERROR {finding.path}:{finding.location.line}: {finding.message}")
    return 1 if codes.get("FX002") else 0


if __name__ == "__main__":
    sys.exit(main())
