"""The reader: order across plain and gzip segments, corrupt lines, unterminated tails, windows, follow."""

from __future__ import annotations

import json
import time
from pathlib import Path

from spoolkit import Clock, LineBuilder, config

from otel_mon.schema import Duration
from otel_mon.spool.closed_files import compress
from otel_mon.spool.reader import SpoolReader
from otel_mon.spool.segments import list_segments
from otel_mon.spool.writer import SpoolWriter


def rec(seq: int) -> bytes:
    return json.dumps({"seq": seq}).encode() + b"\n"


def write_segments(data_dir: Path, clock: Clock, batches: list[list[int]], gzip_closed: bool = True) -> None:
    """One segment per inner list (rotation by age), closed ones gzipped unless told otherwise."""
    w = SpoolWriter(config(data_dir, max_file_age=Duration(60), compress=gzip_closed), clock=clock)
    try:
        for batch in batches:
            for seq in batch:
                w.append("metrics", [rec(seq)])
            clock.advance(61)
    finally:
        w.close()


def test_listing_orders_by_stem_prefers_gz_and_ignores_others(tmp_path: Path) -> None:
    for name in ("metrics-20261125T041643654321Z.jsonl", "metrics-20261125T031643123456Z.jsonl.gz",
                 "metrics-20261125T031643123456Z.jsonl", "metrics-20261125T051643000001Z.jsonl.gz.tmp",
                 "logs-20261125T011643000001Z.jsonl", ".cursor-forward.json", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    found = [(s.stem, s.compressed) for s in list_segments(tmp_path, "metrics")]
    assert found == [("metrics-20261125T031643123456Z", True), ("metrics-20261125T041643654321Z", False)]
    assert list_segments(tmp_path / "missing", "metrics") == []


def test_corrupt_lines_are_counted_and_skipped_and_the_tail_ignored(data_dir: Path) -> None:
    seg = data_dir / "metrics" / "metrics-20261125T031643123456Z.jsonl"
    seg.parent.mkdir(parents=True)
    seg.write_bytes(rec(0) + b"not json at all\n" + b"[1, 2]\n" + rec(1) + b'{"seq": 2, "unterminat')
    reader = SpoolReader(data_dir, "metrics")
    got = [(r.line, r.data["seq"]) for r in reader.records()]
    assert got == [(0, 0), (3, 1)]  # line numbers count every line, as cursors do
    assert reader.corrupt == 2


def test_reads_gzip_and_plain_segments_in_order(data_dir: Path, clock: Clock) -> None:
    write_segments(data_dir, clock, [[0, 1], [2], [3, 4]])
    kinds = [s.path.name.endswith(".gz") for s in list_segments(data_dir / "metrics", "metrics")]
    assert kinds == [True, True, False]
    assert [r.data["seq"] for r in SpoolReader(data_dir, "metrics").records()] == [0, 1, 2, 3, 4]


def test_segments_compressed_or_deleted_while_reading(data_dir: Path, clock: Clock) -> None:
    write_segments(data_dir, clock, [[0], [1], [2], [3]], gzip_closed=False)
    segments = list_segments(data_dir / "metrics", "metrics")
    records = SpoolReader(data_dir, "metrics").records()
    assert next(records).data["seq"] == 0  # the listing is taken; now the next stems change under it
    assert segments[1].plain is not None and segments[2].plain is not None
    compress(segments[1].plain)  # plain -> .gz: the reader must relist and read the gzip file
    segments[2].plain.unlink()  # retention: the stem is gone, skip it
    assert [r.data["seq"] for r in records] == [1, 3]


def test_both_forms_of_a_stem_are_read_once(data_dir: Path, clock: Clock) -> None:
    write_segments(data_dir, clock, [[0, 1], [2]], gzip_closed=False)
    first = list_segments(data_dir / "metrics", "metrics")[0]
    assert first.plain is not None
    content = first.plain.read_bytes()
    compress(first.plain)
    first.plain.write_bytes(content)  # as between the rename and the unlink of a compression
    assert [r.data["seq"] for r in SpoolReader(data_dir, "metrics").records()] == [0, 1, 2]


def test_time_window(data_dir: Path, clock: Clock) -> None:
    base = clock.now
    w = SpoolWriter(config(data_dir, max_file_age=Duration(100)), clock=clock)
    try:
        for i in range(6):  # one line a minute, two lines per segment
            w.append("metrics", [LineBuilder(base + i * 60).gauge("g", float(i)).line()])
            clock.advance(60)
    finally:
        w.close()
    assert len(list_segments(data_dir / "metrics", "metrics")) == 3
    reader = SpoolReader(data_dir, "metrics")
    got = [r.data["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"][0]["asDouble"]
           for r in reader.records(since=base + 60, until=base + 180)]
    assert got == [1.0, 2.0, 3.0]


def test_last_and_follow_across_rotation(data_dir: Path, clock: Clock) -> None:
    w = SpoolWriter(config(data_dir, max_file_age=Duration(60)), clock=clock)
    try:
        for i in range(5):
            w.append("logs", [rec(i)])
        reader = SpoolReader(data_dir, "logs")
        last, end = reader.last(2)
        assert [r.data["seq"] for r in last] == [3, 4]
        deadline = time.monotonic() + 10
        follow = reader.follow(end, poll_interval=0.01, stop=lambda: time.monotonic() > deadline)
        w.append("logs", [rec(5)])
        assert next(follow).data["seq"] == 5
        clock.advance(61)
        w.append("logs", [rec(6)])  # a new segment; the previous one is compressed meanwhile
        assert next(follow).data["seq"] == 6
        w.append("logs", [rec(7), rec(8)])
        assert [next(follow).data["seq"], next(follow).data["seq"]] == [7, 8]
    finally:
        w.close()
    assert [s.path.name.endswith(".gz") for s in list_segments(data_dir / "logs", "logs")] == [True, False]


def test_last_on_an_empty_spool(data_dir: Path) -> None:
    records, end = SpoolReader(data_dir, "logs").last(10)
    assert records == [] and end.segment is None
