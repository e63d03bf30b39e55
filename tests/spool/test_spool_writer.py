"""The writer: rotation by size and age, gzip, retention with cursors, torn tails, the lock, stats, threads."""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
from pathlib import Path

import pytest
from spoolkit import Clock, MetricsPipeline, config, segment_files, whole_lines

from otel_mon.host.table import METRICS
from otel_mon.instruments import Instruments
from otel_mon.schema import ByteSize, Duration
from otel_mon.spool.cursor_files import Cursor, cursor_path, save_cursor
from otel_mon.spool.format import iter_points
from otel_mon.spool.reader import SpoolReader
from otel_mon.spool.segments import list_segments, stem_micros
from otel_mon.spool.writer import SpoolLockedError, SpoolWriter

KIB = 1024


def line(seq: int, size: int = 100) -> bytes:
    """A JSON object line of about ``size`` bytes carrying its sequence number."""
    head = json.dumps({"seq": seq, "pad": ""})
    return json.dumps({"seq": seq, "pad": "x" * max(0, size - len(head) - 1)}).encode() + b"\n"


def seqs(data_dir: Path, signal: str = "metrics") -> list[int]:
    return [r.data["seq"] for r in SpoolReader(data_dir, signal).records()]  # type: ignore[arg-type]


def test_rotation_by_size_gzips_closed_segments(data_dir: Path) -> None:
    w = SpoolWriter(config(data_dir, max_file_size=ByteSize(64 * KIB)))
    try:
        for i in range(40):
            assert w.append("metrics", [line(i, 10 * KIB)])
    finally:
        w.close()
    files = segment_files(data_dir)
    assert len(files) >= 6
    *closed, active = files
    assert all(f.name.endswith(".jsonl.gz") for f in closed)
    assert active.name.endswith(".jsonl")
    for f in closed:  # each closed segment stayed within the limit before compression
        assert len(gzip.decompress(f.read_bytes())) <= 64 * KIB
    assert seqs(data_dir) == list(range(40))
    assert not list((data_dir / "metrics").glob("*.tmp"))


def test_rotation_by_age_and_idle_rotation_in_maintain(data_dir: Path, clock: Clock) -> None:
    w = SpoolWriter(config(data_dir, max_file_age=Duration(60)), clock=clock)
    try:
        w.append("metrics", [line(0)])
        clock.advance(59)
        w.append("metrics", [line(1)])
        assert len(segment_files(data_dir)) == 1
        clock.advance(2)
        w.append("metrics", [line(2)])  # the segment is 61 s old: a new one takes this batch
        files = segment_files(data_dir)
        assert [f.name.endswith(".gz") for f in files] == [True, False]
        clock.advance(61)
        w.maintain()  # nobody writes: the idle segment is closed and compressed anyway
        assert all(f.name.endswith(".jsonl.gz") for f in segment_files(data_dir))
        w.append("metrics", [line(3)])
    finally:
        w.close()
    assert seqs(data_dir) == [0, 1, 2, 3]
    assert len(segment_files(data_dir)) == 3


def test_gzip_keeps_content_and_mtime(data_dir: Path, clock: Clock) -> None:
    w = SpoolWriter(config(data_dir, max_file_age=Duration(10)), clock=clock)
    try:
        w.append("metrics", [line(0), line(1)])
        plain = segment_files(data_dir)[0]
        content = plain.read_bytes()
        os.utime(plain, (1_700_000_000, 1_700_000_000))
        clock.advance(11)
        w.append("metrics", [line(2)])
    finally:
        w.close()
    gz = segment_files(data_dir)[0]
    assert gz.name == plain.name + ".gz" and not plain.exists()
    assert gzip.decompress(gz.read_bytes()) == content
    assert gz.stat().st_mtime == 1_700_000_000  # age-based retention still sees when the data was written


def test_names_stay_in_write_order_when_the_clock_stands_still_or_steps_back(data_dir: Path, clock: Clock) -> None:
    w = SpoolWriter(config(data_dir, max_file_size=ByteSize(64 * KIB), compress=False), clock=clock)
    try:
        for i in range(3):
            w.append("metrics", [line(i, 40 * KIB)])  # every batch rotates, all at the same instant
        clock.advance(-3600)
        w.append("metrics", [line(3, 40 * KIB)])
    finally:
        w.close()
    stems = [s.stem for s in list_segments(data_dir / "metrics", "metrics")]
    micros = [stem_micros(s) for s in stems]
    assert micros[1] == micros[0] + 1 and micros[2] == micros[1] + 1 and micros[3] == micros[2] + 1  # type: ignore[operator]
    assert seqs(data_dir) == [0, 1, 2, 3]


def make_segments(w: SpoolWriter, clock: Clock, count: int, lines_each: int = 3, size: int = 100) -> None:
    seq = 0
    for _ in range(count):
        for _ in range(lines_each):
            w.append("metrics", [line(seq, size)])
            seq += 1
        clock.advance(61)


def set_cursor(data_dir: Path, stem: str, line: int) -> None:
    """Where the metrics consumer ``forward`` stands, written as the consumer does."""
    save_cursor(cursor_path(data_dir / "metrics", "forward"), Cursor(stem, line))


def test_retention_by_count_honours_cursor(data_dir: Path, clock: Clock) -> None:
    w = SpoolWriter(config(data_dir, max_file_age=Duration(60), max_files=3), clock=clock)
    try:
        make_segments(w, clock, 2)
        stems = [s.stem for s in list_segments(data_dir / "metrics", "metrics")]
        set_cursor(data_dir, stems[0], 1)  # the forwarder is still in segment 0
        make_segments(w, clock, 4)
        w.maintain()
        kept = [s.stem for s in list_segments(data_dir / "metrics", "metrics")]
        assert kept[0] == stems[0] and len(kept) == 6  # unsent: the count limit may not take them
        set_cursor(data_dir, kept[4], 0)  # forwarder caught up to segment 4
        w.maintain()
        after = [s.stem for s in list_segments(data_dir / "metrics", "metrics")]
        assert after == kept[3:]  # oldest done segments went; the one before the cursor too, count says 3
        assert w.stats()["dropped"]["metrics/retention"] == 0
    finally:
        w.close()


def test_retention_by_age(data_dir: Path, clock: Clock) -> None:
    w = SpoolWriter(config(data_dir, max_file_age=Duration(60), max_age=Duration(3600)), clock=clock)
    try:
        make_segments(w, clock, 3)
        w.append("metrics", [line(99)])
        segments = list_segments(data_dir / "metrics", "metrics")
        old = segments[:2]
        for seg in old:
            os.utime(seg.path, (clock() - 7200, clock() - 7200))
        w.maintain()
        left = [s.stem for s in list_segments(data_dir / "metrics", "metrics")]
        assert left == [s.stem for s in segments[2:]]
    finally:
        w.close()


def test_byte_limit_overrides_cursor_and_counts_the_loss_once_logged(data_dir: Path, clock: Clock,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    cfg = config(data_dir, max_file_size=ByteSize(64 * KIB), max_bytes=ByteSize(128 * KIB), compress=False)
    w = SpoolWriter(cfg, clock=clock)
    caplog.set_level(logging.WARNING, logger="otel_mon.spool")
    try:
        w.append("metrics", [line(0, 30 * KIB)])
        first = list_segments(data_dir / "metrics", "metrics")[0].stem
        set_cursor(data_dir, first, 1)  # 1 of segment 0 sent, nothing after
        for i in range(1, 12):  # two 30 KiB lines per 64 KiB segment: ~6 segments, far above 128 KiB
            w.append("metrics", [line(i, 30 * KIB)])
        segments = list_segments(data_dir / "metrics", "metrics")
        assert sum(s.size for s in segments) <= 128 * KIB
        remaining = seqs(data_dir)
        lost = remaining[0]  # everything before the oldest remaining line is gone ...
        assert lost >= 6
        assert remaining == list(range(lost, 12))
        assert w.stats()["dropped"]["metrics/retention"] == lost - 1  # ... and all but the sent line counted
        assert w.status()["dropped"]["retention"] == lost - 1
    finally:
        w.close()
    forced = [r for r in caplog.records if "max_bytes forced" in r.getMessage()]
    assert len(forced) == 1  # logged once although several runs had to delete unsent segments


def test_torn_tail_is_truncated_at_open(data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    w = SpoolWriter(config(data_dir))
    w.append("metrics", [line(0), line(1)])
    w.close()
    active = segment_files(data_dir)[-1]
    torn = b'{"seq": 2, "pad": "torn by a cra'
    with open(active, "ab") as f:
        f.write(torn)
    caplog.set_level(logging.WARNING, logger="otel_mon.spool")
    w = SpoolWriter(config(data_dir))
    try:
        assert active.read_bytes().endswith(b"\n")
        w.append("metrics", [line(3)])
    finally:
        w.close()
    assert seqs(data_dir) == [0, 1, 3]
    assert len(segment_files(data_dir)) == 1  # the torn segment is still the active one, appended to
    message = next(r.getMessage() for r in caplog.records if "torn" in r.getMessage())
    assert f"{len(torn)} bytes" in message and "torn by" not in message  # sizes and paths are logged, never contents


def test_a_second_writer_on_the_same_dir_gets_a_clear_error(data_dir: Path) -> None:
    first = SpoolWriter(config(data_dir))
    try:
        with pytest.raises(SpoolLockedError, match=rf"in use by another otel-mon process \(pid {os.getpid()}\)"):
            SpoolWriter(config(data_dir))
    finally:
        first.close()
    SpoolWriter(config(data_dir)).close()  # released on close


def test_concurrent_appends_keep_whole_lines(data_dir: Path) -> None:
    w = SpoolWriter(config(data_dir, max_file_size=ByteSize(64 * KIB)))
    threads = [threading.Thread(target=lambda base=t: [w.append("metrics", [line(base * 1000 + i, 700)])
                                                      for i in range(150)]) for t in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        w.close()
    got = seqs(data_dir)
    assert sorted(got) == sorted(t * 1000 + i for t in range(6) for i in range(150))
    for base in range(6):  # each thread's own batches stay in its order
        mine = [s for s in got if s // 1000 == base]
        assert mine == sorted(mine)


def test_lines_must_be_whole(writer: SpoolWriter) -> None:
    with pytest.raises(ValueError):
        writer.append("metrics", [b'{"a":1}'])
    with pytest.raises(ValueError):
        writer.append("metrics", [b'{"a":1}\n{"b":2}\n'])


def test_listener_is_called_after_a_durable_write(writer: SpoolWriter) -> None:
    seen: list[str] = []
    writer.add_listener(seen.append)
    writer.append("logs", [line(0)])
    writer.append("metrics", [line(1)])
    assert seen == ["logs", "metrics"]


def test_spool_metrics_through_the_instrument_table(writer: SpoolWriter, data_dir: Path) -> None:
    pipeline = MetricsPipeline(writer)
    try:
        instruments = Instruments(pipeline.meter, lambda spec: spec.domain == "spool", table=METRICS)
        writer.register_metrics(instruments)
        writer.append("logs", [line(0, 200), line(1, 300)])
        writer.record_dropped("logs", "oversize")
        pipeline.collect()  # observes the counters, then appends this collection as metrics line 0
        pipeline.collect()
    finally:
        pipeline.shutdown()
    records = list(SpoolReader(data_dir, "metrics").records())
    points = {(p.name, tuple(sorted(p.attrs.items()))): p.value for p in iter_points(records[0].data)}
    logs = (("otel_mon.signal", "logs"),)
    assert points[("otel_mon.spool.written", logs)] == 500
    assert points[("otel_mon.spool.records", logs)] == 2
    assert points[("otel_mon.spool.files", logs)] == 1
    assert points[("otel_mon.spool.size", logs)] == 500
    assert points[("otel_mon.spool.dropped", (("otel_mon.reason", "oversize"), ("otel_mon.signal", "logs")))] == 1
    assert points[("otel_mon.spool.dropped", (("otel_mon.reason", "write_error"), ("otel_mon.signal", "logs")))] == 0
    assert points[("otel_mon.spool.records", (("otel_mon.signal", "metrics"),))] == 0
    assert ("otel_mon.spool.oldest_age", logs) in points
    later = {(p.name, tuple(sorted(p.attrs.items()))): p.value for p in iter_points(records[1].data)}
    assert later[("otel_mon.spool.records", (("otel_mon.signal", "metrics"),))] == 1


def test_health_section_is_json(writer: SpoolWriter) -> None:
    writer.append("metrics", [line(0)])
    health = writer.status()
    json.dumps(health)
    assert health["status"] == "ok" and health["files"] == 1 and health["last_error"] is None
    assert health["signals"]["metrics"]["records"] == 1
    assert health["oldest_record_age_seconds"] is not None


def test_fsync_batch_mode_writes_durably(data_dir: Path) -> None:
    w = SpoolWriter(config(data_dir, fsync="batch"))
    try:
        assert w.append("metrics", [line(0), line(1)])
    finally:
        w.close()
    assert len(whole_lines(segment_files(data_dir)[0])) == 2


def test_a_failed_write_ends_the_segment_so_a_reader_that_read_the_cut_line_stays_in_step(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fdatasync fails (EIO) after the line reached the file and a reader read it; the writer cuts it back. New
    lines must not take its place in that segment, or the reader (past the cut) would skip them uncounted."""
    from otel_mon.spool.segment_reader import LineReader

    w = SpoolWriter(config(data_dir, fsync="batch", compress=False))
    try:
        assert w.append("metrics", [line(0)])
        first = list_segments(data_dir / "metrics", "metrics")[0]
        reader = LineReader(first.path)
        assert reader.read_line() is not None
        seen: list[bytes | None] = []
        real = os.fdatasync

        def failing(fd: int) -> None:
            seen.append(reader.read_line())  # the forwarder reads the line while fdatasync is in flight
            raise OSError(5, "I/O error")

        monkeypatch.setattr(os, "fdatasync", failing)
        assert not w.append("metrics", [line(1)])
        monkeypatch.setattr(os, "fdatasync", real)
        assert seen[0] is not None and reader.line == 2
        for seq in (2, 3, 4):
            assert w.append("metrics", [line(seq)])
        assert reader.read_line() is None  # a clean end: the old segment holds only line 0
        reader.close()
        assert len(whole_lines(first.path)) == 1
        segments = list_segments(data_dir / "metrics", "metrics")
        assert len(segments) == 2
        assert [json.loads(x)["seq"] for x in whole_lines(segments[1].path)] == [2, 3, 4]
        assert seqs(data_dir) == [0, 2, 3, 4]
    finally:
        w.close()


def test_compress_fsyncs_the_gzip_before_unlinking_the_plain_file_even_without_durability(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_mon.spool import closed_files

    plain = tmp_path / "metrics-20261125T031643123456Z.jsonl"
    plain.write_bytes(line(0) + line(1))
    synced: list[tuple[str, bool]] = []
    real = os.fsync

    def recording(fd: int) -> None:
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), plain.exists()))
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    final = closed_files.compress(plain, durable=False)
    monkeypatch.setattr(os, "fsync", real)
    assert any(path.endswith(".jsonl.gz.tmp") and plain_there for path, plain_there in synced)
    assert not plain.exists() and gzip.decompress(final.read_bytes()) == line(0) + line(1)
