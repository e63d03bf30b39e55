"""Spool faults under a running agent (issue 11): the directory deleted, the wall clock stepped, file modes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from otel_mon.spool.segment_reader import count_lines
from otel_mon.spool.segments import list_segments
from otel_mon.spool.writer import SpoolWriter
from tests.conftest import AgentProcess, wait_until
from tests.spool.spoolkit import Clock, config


def _lines(root: Path, signal: str) -> int:
    return sum(count_lines(seg.path) for seg in list_segments(root / signal, signal))


def test_spool_dir_deleted_under_a_running_agent_is_recreated_and_relocked(
        start_agent: Callable[..., AgentProcess], tmp_path: Path) -> None:
    data = tmp_path / "spool"
    agent = start_agent("--interval", "100ms", "--data-dir", str(data))
    wait_until(lambda: _lines(data, "metrics") >= 3, 30, what="3 metric lines")
    shutil.rmtree(data)
    wait_until(lambda: _lines(data, "metrics") >= 3, 30, what="metric lines in the recreated directory")
    assert (data / ".lock").read_text().strip() == str(agent.proc.pid)
    # The lock is held again: a second agent on the directory is refused.
    second = start_agent("--interval", "1s", "--data-dir", str(data), ready=False)
    assert second.proc.wait(30) == 1
    assert "in use by another otel-mon process" in second.stderr()
    _status, body = agent.get("/health")
    spool = json.loads(body)["spool"]
    assert spool["recreated"] >= 1 and spool["dropped"]["deleted"] >= 1
    assert agent.stop() == 0
    assert agent.stderr().count("was deleted while the agent ran") <= 3  # logged per event, not per write


def test_deleted_signal_dir_is_counted_and_recreated(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = SpoolWriter(config(tmp_path / "data"))
    try:
        assert writer.append("metrics", [b'{"a":1}\n', b'{"a":2}\n'])
        shutil.rmtree(tmp_path / "data" / "metrics")
        assert writer.append("metrics", [b'{"a":3}\n'])
        assert _lines(tmp_path / "data", "metrics") == 1
        assert writer.stats()["dropped"]["metrics/deleted"] == 2
        assert "was deleted while the agent ran" in caplog.text
    finally:
        writer.close()


def test_forward_clock_step_beyond_max_age_deletes_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="otel_mon.spool")
    wall = Clock()
    elapsed = Clock(start=1000.0)
    cfg = config(tmp_path / "data", max_age=3600.0, max_file_age=60.0)
    writer = SpoolWriter(cfg, clock=wall, elapsed=elapsed)
    try:
        for n in range(6):  # six closed segments, a minute apart
            assert writer.append("metrics", [f'{{"n":{n}}}\n'.encode()])
            wall.advance(61)
            elapsed.advance(61)
        writer.maintain()
        before = _lines(tmp_path / "data", "metrics")
        wall.advance(365 * 86400)  # the wall clock jumps a year; only seconds really passed
        elapsed.advance(5)
        writer.append("metrics", [b'{"n":6}\n'])
        writer.maintain()
        assert before == 6 and _lines(tmp_path / "data", "metrics") == before + 1
        assert "wall clock stepped by +31535995 s" in caplog.text
        # Real elapsed time still ages data out: max_age later, the old segments go (the newest stays).
        elapsed.advance(3600 + 400)
        wall.advance(3600 + 400)
        writer.maintain()
        assert _lines(tmp_path / "data", "metrics") < before
    finally:
        writer.close()


def test_spool_files_and_dirs_are_not_world_readable(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        writer = SpoolWriter(config(tmp_path / "data", compress=True, max_file_size=64 * 1024))
        writer.append("metrics", [b'{"a":"' + b"x" * 70_000 + b'"}\n'])
        writer.append("metrics", [b'{"a":2}\n'])  # rotates: the first segment is gzipped
        writer.close()
    finally:
        os.umask(old)
    root = tmp_path / "data"
    modes = {p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}
    assert any(name.endswith(".jsonl.gz") for name in modes), modes
    for name, mode in modes.items():
        expected = 0o750 if (root / name).is_dir() else 0o640
        assert mode == expected, (name, oct(mode))


def test_byte_retention_evicting_recent_delivered_data_is_counted(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from otel_mon.spool.cursor_files import Cursor, cursor_path, save_cursor

    cfg = config(tmp_path / "data", max_file_size=64 * 1024, max_bytes=128 * 1024, max_age=86400.0, compress=False)
    writer = SpoolWriter(cfg)
    try:
        line = b'{"a":"' + b"x" * 20_000 + b'"}\n'
        for _ in range(4):  # three lines per segment; the segments rotate on size
            writer.append("metrics", [line])
        listed = list_segments(tmp_path / "data" / "metrics", "metrics")
        # A consumer has delivered everything written so far: nothing unsent, but all of it recent.
        save_cursor(cursor_path(tmp_path / "data" / "metrics", "otlp"), Cursor(listed[-1].stem, 10**6))
        for _ in range(12):
            writer.append("metrics", [line])
            save_cursor(cursor_path(tmp_path / "data" / "metrics", "otlp"),
                        Cursor(list_segments(tmp_path / "data" / "metrics", "metrics")[-1].stem, 10**6))
        writer.maintain()
        dropped = writer.stats()["dropped"]
        assert dropped["metrics/evicted"] > 0 and dropped["metrics/retention"] == 0
        assert "delivered data younger than max_age" in caplog.text
    finally:
        writer.close()
