"""Run every benchmark in turn (``make bench``) and splice their tables into the README.

Each prints its own ratios against baselines measured in the same run; those with a README table write it to
``$BENCH_MARKDOWN_DIR/<name>.md`` (see readme_tables.py), spliced between the README's markers at the end.
Benchmarks found beside these (``bench_*.py``) run after them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIRST = ("bench_steady.py", "bench_scaling.py", "bench_core.py", "bench_spool.py", "bench_forward.py")


def main() -> int:
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    env = {**os.environ, "BENCH_MARKDOWN_DIR": str(results)}
    names = [n for n in FIRST if (HERE / n).exists()]
    names += sorted(p.name for p in HERE.glob("bench_*.py") if p.name not in names)
    failed = []
    for name in names:
        print(f"\n===== {name} =====", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)], env=env, check=False).returncode:
            failed.append(name)
    sys.path.insert(0, str(HERE))
    from readme_tables import splice_all

    spliced = splice_all(HERE.parent / "README.md", results)
    print(f"\nREADME tables updated: {', '.join(spliced) or 'none'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
