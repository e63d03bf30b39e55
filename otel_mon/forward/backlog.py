"""What the forwarder and replay need on top of the spool's line reading (``otel_mon.spool.segments``).

Resuming at a line index, skipping lines longer than the contract allows (the reader's public ``max_line``),
and counting the lines of the backlog without rereading a growing segment from the start.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from otel_mon.spool.cursor_files import Cursor
from otel_mon.spool.lines import MAX_LINE_BYTES
from otel_mon.spool.segment_reader import LineReader, count_lines
from otel_mon.spool.segments import Segment, list_segments

MAX_LINE = MAX_LINE_BYTES  # the contract's limit; anything longer is garbage to skip


class SegmentReader(LineReader):
    """Whole lines of one segment from a line index on; ``line`` is the index of the next line."""

    def __init__(self, segment: Segment, start_line: int = 0) -> None:
        super().__init__(segment.path, max_line=MAX_LINE)
        self.segment = segment
        while self.line < start_line and self.read_line() is not None:
            pass


def iter_lines(path: Path) -> Iterator[bytes]:
    """Every complete line of a spool file (plain or ``.gz``), for one-shot readers such as replay."""
    with LineReader(path, max_line=MAX_LINE) as reader:
        while (line := reader.read_line()) is not None:
            yield line


class SegmentList:
    """``list_segments`` of one signal's directory, listed again only when the directory changed.

    Listing stats every segment (~40 µs each: a week of hourly segments is ~7 ms), and the forwarder asks on
    every batch, every idle poll and every backlog sample. A segment is created, compressed (a rename) or
    deleted only by changing the directory, so its mtime says when to list again; ``max_age`` bounds what a
    coarse-mtime filesystem could hide, and ``invalidate`` drops the list when a listed file was gone.
    """

    def __init__(self, signal_dir: Path, signal: str, max_age: float = 30.0) -> None:
        self._dir = signal_dir
        self._signal = signal
        self._max_age = max_age
        self._lock = threading.Lock()
        self._cached: tuple[int, float, list[Segment]] | None = None

    def get(self) -> list[Segment]:
        try:
            mtime = os.stat(self._dir).st_mtime_ns  # before listing: a change after it lists again next time
        except (FileNotFoundError, NotADirectoryError):
            return []
        now = time.monotonic()
        with self._lock:
            cached = self._cached
            if cached is not None and cached[0] == mtime and now - cached[1] < self._max_age:
                return list(cached[2])
        segments = list_segments(self._dir, self._signal)
        with self._lock:
            self._cached = (mtime, now, segments)
        return list(segments)

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None


class LineCounter:
    """Complete lines per segment file, cached; a growing plain file is counted from where it was last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[Path, tuple[int, int, int]] = {}  # path -> (size counted, mtime_ns, lines)

    def count(self, segment: Segment) -> tuple[int, int]:
        """(complete lines, bytes on disk) of ``segment``; (0, 0) when it vanished."""
        with self._lock:
            try:
                stat = segment.path.stat()
            except FileNotFoundError:
                return 0, 0
            cached = self._cache.get(segment.path)
            if cached and cached[0] == stat.st_size and (segment.compressed is False or cached[1] == stat.st_mtime_ns):
                return cached[2], stat.st_size
            try:
                if segment.compressed:
                    lines = count_lines(segment.path)
                else:
                    start, base = (cached[0], cached[2]) if cached and cached[0] <= stat.st_size else (0, 0)
                    lines = base + count_lines(segment.path, start, stat.st_size)
            except (FileNotFoundError, EOFError, OSError):
                return 0, 0
            self._cache[segment.path] = (stat.st_size, stat.st_mtime_ns, lines)
            return lines, stat.st_size

    def forget_except(self, keep: set[Path]) -> None:
        with self._lock:
            for path in [p for p in self._cache if p not in keep]:
                del self._cache[path]


@dataclass(frozen=True)
class Backlog:
    records: int
    size: int
    lag: float


def measure(signal_dir: Path, signal: str, position: Cursor | None, head_ts: float | None,
            counter: LineCounter, listed: list[Segment] | None = None) -> Backlog:
    """Undelivered lines after ``position`` and their bytes on disk (pro rata for the current segment), and
    the lag: the age of ``head_ts`` (the oldest line in flight), else of the oldest undelivered segment."""
    records = size = 0
    oldest_mtime: float | None = None
    segments = list_segments(signal_dir, signal) if listed is None else listed
    for segment in segments:
        if position is not None and segment.stem < position.segment:
            continue
        lines, on_disk = counter.count(segment)
        done = min(position.line, lines) if position is not None and segment.stem == position.segment else 0
        remaining = lines - done
        if remaining <= 0:
            continue
        records += remaining
        size += on_disk * remaining // lines
        if oldest_mtime is None:
            try:
                oldest_mtime = segment.path.stat().st_mtime
            except FileNotFoundError:
                oldest_mtime = time.time()
    counter.forget_except({s.path for s in segments})
    oldest = head_ts if head_ts is not None else oldest_mtime
    lag = max(0.0, time.time() - oldest) if records and oldest is not None else 0.0
    return Backlog(records, size, lag)
