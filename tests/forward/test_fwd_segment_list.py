"""The forwarder lists a spool directory again only when it changed: rotation, compression and deletion are
seen at once, an unchanged directory costs one stat."""

from __future__ import annotations

from pathlib import Path

import pytest
from fwdkit import FakeSpool, metrics_line

from otel_mon.forward import backlog
from otel_mon.forward.backlog import SegmentList


def test_changes_are_seen_and_an_unchanged_directory_is_not_listed_again(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    spool.write([metrics_line(1)])
    listings = []
    real = backlog.list_segments
    monkeypatch.setattr(backlog, "list_segments", lambda d, s: listings.append(d) or real(d, s))
    segments = SegmentList(tmp_path / "metrics", "metrics")
    old = spool.active
    assert old is not None
    assert [s.path for s in segments.get()] == [old] and len(listings) == 1
    spool.write([metrics_line(2)])  # appending to the active segment leaves the directory as it was
    assert [s.path for s in segments.get()] == [old] and len(listings) == 1
    new = spool.rotate()
    spool.write([metrics_line(3)])
    assert [s.path for s in segments.get()] == [old, new]
    compressed = spool.compress(old)
    assert [(s.path, s.compressed) for s in segments.get()] == [(compressed, True), (new, False)]
    compressed.unlink()  # retention
    assert [s.path for s in segments.get()] == [new]
    assert len(listings) == 4
    segments.invalidate()
    segments.get()
    assert len(listings) == 5


def test_a_missing_directory_is_no_segments(tmp_path: Path) -> None:
    assert SegmentList(tmp_path / "nothing", "metrics").get() == []
