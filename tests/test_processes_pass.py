"""The process-state pass reads each /proc/<pid>/stat with one open and one read, and skips what vanished."""

from __future__ import annotations

from pathlib import Path

from otel_mon.host.processes import count_states


def test_vanished_and_odd_entries_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "stat").write_bytes(b"1 (init) S 0 1 1 0 -1\n")
    (tmp_path / "2").mkdir()  # exited between the listing and the open: no stat any more
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "stat").write_bytes(b"3 (a) b) (c) R 1 3\n")  # ")" in the command name
    (tmp_path / "4").mkdir()
    (tmp_path / "4" / "stat").write_bytes(b"4 (truncated)")  # no state after the command
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "stat").mkdir()  # unreadable as a file: skipped, not fatal
    (tmp_path / "6").mkdir()
    (tmp_path / "6" / "stat").write_bytes(b"6 (zombie) Z 1 6\n")
    (tmp_path / "self").mkdir()
    (tmp_path / "stat").write_bytes(b"cpu 1 2 3\n")
    assert count_states(str(tmp_path)) == {"running": 1, "sleeping": 1, "stopped": 0, "defunct": 1}
