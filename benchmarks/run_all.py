"""Run every benchmark in turn (``make bench``) and splice their tables into the README.

Each prints its own ratios against baselines measured in the same run; those with a README table write it to
``$BENCH_MARKDOWN_DIR/<name>.md`` (see readme_tables.py), spliced between the README's markers at the end.
Benchmarks found beside these (``bench_*.py``) run after them. With the defaults the whole run takes about
15 minutes on a 2-core machine (bench_steady's 5-minute window and 2-minute idle phase are most of it);
``--quick`` shortens every phase (~6 minutes, noisier figures: not for the README's record), and each table
states the command line that produced it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIRST = ("bench_steady.py", "bench_scaling.py", "bench_core.py", "bench_spool.py", "bench_forward.py")
QUICK = {
    "bench_steady.py": ["--window", "120", "--idle", "45", "--warmup", "10"],
    "bench_scaling.py": ["--seconds", "1"],
    "bench_core.py": ["-n", "100", "--scrapes", "20", "--cached-scrapes", "100"],
    "bench_spool.py": ["--lines", "60"],
    "bench_forward.py": ["--lines", "100"],
    "bench_http_load.py": ["--duration", "10"],
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter phases everywhere (a smoke run, noisier)")
    ap.add_argument("--only", default="", help="comma list of benchmarks to run (e.g. steady,core)")
    ap.add_argument("--skip", default="", help="comma list of benchmarks not to run")
    ap.add_argument("--no-readme", action="store_true", help="leave the README alone (tables stay in results/)")
    args = ap.parse_args(argv)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    env = {**os.environ, "BENCH_MARKDOWN_DIR": str(results)}
    names = [n for n in FIRST if (HERE / n).exists()]
    names += sorted(p.name for p in HERE.glob("bench_*.py") if p.name not in names)

    def short(name: str) -> str:
        return name.removeprefix("bench_").removesuffix(".py")

    only = {s.strip() for s in args.only.split(",") if s.strip()}
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    names = [n for n in names if (not only or short(n) in only) and short(n) not in skip]
    failed, took = [], []
    started = time.monotonic()
    for name in names:
        extra = QUICK.get(name, []) if args.quick else []
        print(f"\n===== {name} {' '.join(extra)} =====", flush=True)
        (results / f"{short(name)}.md").unlink(missing_ok=True)  # a failed run must not splice an old table
        t0 = time.monotonic()
        if subprocess.run([sys.executable, str(HERE / name), *extra], env=env, check=False).returncode:
            failed.append(name)
        took.append(f"{short(name)} {time.monotonic() - t0:.0f} s")
    print(f"\ntook {time.monotonic() - started:.0f} s: {', '.join(took)}")
    if not args.no_readme:
        sys.path.insert(0, str(HERE))
        from readme_tables import splice_all

        spliced = splice_all(HERE.parent / "README.md", results)
        print(f"README tables updated: {', '.join(spliced) or 'none'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
