"""Splice benchmark tables into the README between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``.

Every benchmark that has a table for the README writes it to ``$BENCH_MARKDOWN_DIR/NAME.md`` (``make bench``
sets the variable to benchmarks/results); ``run_all`` then replaces what sits between that name's markers.
Adding a row block for a new benchmark is a pair of markers in the README and one file written by the bench.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def markdown_path(name: str) -> Path | None:
    """Where benchmark ``name`` writes its README table, or None when not run by ``make bench``."""
    directory = os.environ.get("BENCH_MARKDOWN_DIR")
    return Path(directory) / f"{name}.md" if directory else None


def splice(readme: str, name: str, block: str) -> str:
    """``readme`` with the text between ``name``'s markers replaced by ``block`` (unchanged without markers)."""
    pattern = re.compile(rf"(<!-- bench:{re.escape(name)} -->\n).*?(<!-- /bench:{re.escape(name)} -->)", re.S)
    return pattern.sub(lambda m: m.group(1) + block.rstrip("\n") + "\n" + m.group(2), readme)


def splice_all(readme_path: Path, results: Path) -> list[str]:
    """Splice every ``results/*.md`` into the README; the names that found their markers."""
    text = readme_path.read_text()
    done = []
    for md in sorted(results.glob("*.md")):
        new = splice(text, md.stem, md.read_text())
        if new != text or f"<!-- bench:{md.stem} -->" in text:
            done.append(md.stem)
        text = new
    readme_path.write_text(text)
    return done
