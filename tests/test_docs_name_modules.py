"""The module map tells the truth: every module, package and test file docs/architecture.md and
docs/data-path.md name exists, in code quotes or bare in the layer map (issue 25). (Dotted ``otel_mon.*``
names are not checked: most are metrics.)"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.shape

DOCS = ("docs/architecture.md", "docs/data-path.md")
# `host/table.py`, `otel_mon/spool/encoder.py`, `tests/test_layers.py`, `forward/`: a path in code quotes
_PATH = re.compile(r"`((?:[a-z_]+/)*[a-z_]+(?:\.py|/))`")


# In the layer map (the first code block) modules are written bare: `schema.py`, and `spool/ (writer, reader)`
# for spool/writer.py and spool/reader.py (an item's first word; what follows a colon says what it holds).
_BARE = re.compile(r"(?<![\w/.])((?:[a-z_]+/)*[a-z_]+\.py)\b")
_LISTED = re.compile(r"\b([a-z_]+)/ \(([^)]*)\)")


def _paths(text: str) -> set[str]:
    return set(_PATH.findall(text))


def _layer_map(text: str) -> set[str]:
    """The modules the layer map names: bare ``x.py`` paths and the items of each ``pkg/ (a, b)`` list."""
    block = " ".join(text.split("```")[1].split())
    named = set(_BARE.findall(block))
    for package, items in _LISTED.findall(block):
        named.update(f"{package}/{m.group(1)}.py" for item in items.split(",")
                     if (m := re.match(r"\s*([a-z_]+)", item)))
    return named


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


def test_every_module_the_layer_map_lists_exists() -> None:
    named = _layer_map((ROOT / "docs/architecture.md").read_text(encoding="utf-8"))
    assert {"schema.py", "spool/writer.py", "forward/signal_forwarder.py", "host/table.py"} <= named, named
    assert sorted(n for n in named if not _exists(n)) == []


def test_the_layer_map_check_sees_a_listed_module_that_is_gone() -> None:
    text = "```\ncomponents  old.py, spool/ (writer, old_writer: the old one), telemetry.py\n```"
    assert sorted(n for n in _layer_map(text) if not _exists(n)) == ["old.py", "spool/old_writer.py"]
