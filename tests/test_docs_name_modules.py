"""The module map tells the truth: every module, package and test file docs/architecture.md and
docs/data-path.md name exists (issue 25). (Dotted ``otel_mon.*`` names are not checked: most are metrics.)"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.shape

DOCS = ("docs/architecture.md", "docs/data-path.md")
# `host/table.py`, `otel_mon/spool/encoder.py`, `tests/test_layers.py`, `forward/`: a path in code quotes
_PATH = re.compile(r"`((?:[a-z_]+/)*[a-z_]+(?:\.py|/))`")


def _paths(text: str) -> set[str]:
    return set(_PATH.findall(text))


def _exists(name: str) -> bool:
    """A path as the docs write it: from the repository root, or inside the package (``host/table.py``)."""
    return any((base / name).exists() for base in (ROOT, ROOT / "otel_mon"))


@pytest.mark.parametrize("doc", DOCS)
def test_every_module_a_doc_names_exists(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    named = _paths(text)
    assert len(named) > 10 if doc.endswith("architecture.md") else named, named  # the pattern sees the map
    assert sorted(n for n in named if not _exists(n)) == []


def test_the_check_sees_a_module_that_is_gone() -> None:
    text = "the sampler (`host/sampler.py`) hands it to `spool/old_writer.py` under `old_pkg/` (`tests/test_x.py`)"
    assert sorted(n for n in _paths(text) if not _exists(n)) == ["old_pkg/", "spool/old_writer.py", "tests/test_x.py"]
