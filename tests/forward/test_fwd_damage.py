"""Lines the forwarder cannot read: pathological JSON, a read that fails, a damaged gzip segment."""

from __future__ import annotations

import errno
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fwdkit import FakeSpool, fast_config, metrics_line, poll, sequences, start
from otlp_receiver import OtlpReceiver

from otel_mon.forward import Forwarder
from otel_mon.forward.backlog import SegmentReader
from otel_mon.spool.segments import list_segments


def test_a_deeply_nested_line_is_counted_as_malformed_and_nothing_is_lost(
        tmp_path: Path, receiver: OtlpReceiver, forwarders: list[Forwarder]) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    deep = "[" * 200_000 + "]" * 200_000  # RecursionError in the JSON decoder
    spool.write([metrics_line(i) for i in range(10)] + [deep] + [metrics_line(i) for i in range(10, 20)])
    forwarder = start(forwarders, fast_config(receiver.http_endpoint), tmp_path)
    signal = forwarder.signals["metrics"]
    assert receiver.wait_for(lambda r: len(sequences(r)) >= 20)
    poll(lambda: signal.backlog(max_age=0.0).records == 0, what="cursor at the end")
    assert sequences(receiver) == list(range(20))
    assert signal.failed == {"rejected": 0, "malformed": 1}
    assert forwarder.stop(2.0)


def test_an_error_while_filling_a_batch_resumes_from_the_cursor(
        tmp_path: Path, receiver: OtlpReceiver, forwarders: list[Forwarder], monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error after some lines were taken into a batch: the next step reads them again."""
    FakeSpool(tmp_path, "metrics").write([metrics_line(i) for i in range(20)])
    real_loads = json.loads
    calls = {"n": 0}

    def flaky_loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "otel-mon-forward-metrics":
            calls["n"] += 1
            if calls["n"] == 11:  # lines 0-9 are in the batch already
                raise OSError(errno.EIO, "I/O error")
        return real_loads(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", flaky_loads)
    forwarder = start(forwarders, fast_config(receiver.http_endpoint), tmp_path)
    signal = forwarder.signals["metrics"]
    assert receiver.wait_for(lambda r: len(sequences(r)) >= 20)
    poll(lambda: signal.backlog(max_age=0.0).records == 0, what="cursor at the end")
    assert calls["n"] > 11
    assert sequences(receiver) == list(range(20))  # each line once, in order
    assert signal.failed == {"rejected": 0, "malformed": 0} and signal.counters.retries == 1
    assert forwarder.stop(2.0)


def _damaged_gz(spool: FakeSpool, lines: int) -> Path:
    plain = spool.rotate()
    spool.write([metrics_line(i) for i in range(lines)])
    gz = spool.compress(plain)
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2])  # torn: a crash before the .gz reached the disk
    return gz


def test_a_damaged_gzip_segment_reads_as_ending_early(tmp_path: Path) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    _damaged_gz(spool, 50)
    reader = SegmentReader(list_segments(spool.dir, "metrics")[0])
    lines = []
    while (raw := reader.read_line()) is not None:
        lines.append(raw)
    assert 0 < len(lines) < 50 and reader.damaged is not None and reader.line == len(lines)
    assert reader.read_line() is None
    reader.close()


def test_a_damaged_gzip_segment_is_skipped_and_later_segments_are_delivered(
        tmp_path: Path, receiver: OtlpReceiver, forwarders: list[Forwarder]) -> None:
    spool = FakeSpool(tmp_path, "metrics")
    damaged = _damaged_gz(spool, 50)
    spool.rotate()
    spool.write([metrics_line(i) for i in range(100, 105)])
    forwarder = start(forwarders, fast_config(receiver.http_endpoint), tmp_path)
    signal = forwarder.signals["metrics"]
    assert receiver.wait_for(lambda r: 104 in sequences(r))
    got = sequences(receiver)
    assert got[-5:] == list(range(100, 105)) and got[:-5] == list(range(len(got) - 5))
    assert signal.failed["malformed"] == 1  # the unreadable remainder, counted once
    assert signal.counters.retries == 0
    poll(lambda: signal.backlog(max_age=0.0).records == 0, what="cursor at the end")
    assert damaged.exists()
    began = time.monotonic()
    assert forwarder.stop(2.0)
    assert time.monotonic() - began < 2.0
