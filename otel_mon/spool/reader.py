"""Read a signal's records back from the spool, in write order, across plain and gzip segments.

Readers never lock: the writer only appends whole lines, so everything up to the last newline is data and an
unterminated tail is a write in progress (or torn by a crash), never a record. A segment may be compressed or
deleted between listing and opening; the listing is simply taken again.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otel_mon.spool.format import line_time_ns
from otel_mon.spool.segment_reader import LineReader
from otel_mon.spool.segments import Segment, Signal, list_segments

# Records reach a segment a little after their timestamp (batching, a slow export): widen segment pruning.
_WINDOW_SLACK = 120.0


@dataclass(frozen=True)
class Record:
    """One line of the spool, parsed; ``line`` is its 0-based index in the segment (as cursors count)."""

    segment: str
    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Position:
    """Where reading stopped: the next line to read in ``segment`` (``offset`` is a hint for plain files)."""

    segment: str | None = None
    line: int = 0
    offset: int = 0


class SpoolReader:
    """Records of one signal under ``<data_dir>/<signal>``; ``corrupt`` counts lines that did not parse."""

    def __init__(self, data_dir: str | Path, signal: Signal) -> None:
        self.signal: Signal = signal
        self.dir = Path(data_dir) / signal
        self.corrupt = 0

    def segments(self) -> list[Segment]:
        return list_segments(self.dir, self.signal)

    def records(self, since: float | None = None, until: float | None = None) -> Iterator[Record]:
        """Every record, oldest first; with ``since``/``until`` (epoch seconds) only lines whose newest
        timestamp falls in the window."""
        segments = self.segments()
        for i, seg in enumerate(segments):
            if until is not None and seg.opened > until + _WINDOW_SLACK:
                break
            closed_at = segments[i + 1].opened if i + 1 < len(segments) else None
            if since is not None and closed_at is not None and closed_at < since - _WINDOW_SLACK:
                continue
            for index, raw, _end in self._lines(seg.stem, 0, 0):
                record = self._parse(seg.stem, index, raw)
                if record is None or not _in_window(record, since, until):
                    continue
                yield record

    def last(self, n: int) -> tuple[list[Record], Position]:
        """The newest ``n`` records and the position right after everything read (to ``follow`` from)."""
        segments = self.segments()
        out: list[Record] = []
        end = Position()
        for newest_first, seg in enumerate(reversed(segments)):
            raws: list[tuple[int, bytes]] = []
            for index, raw, offset in self._lines(seg.stem, 0, 0):
                raws.append((index, raw))
                if newest_first == 0:
                    end = Position(seg.stem, index + 1, offset)
            if newest_first == 0 and end.segment is None:
                end = Position(seg.stem, 0, 0)
            found: list[Record] = []
            for index, raw in reversed(raws):
                if len(out) + len(found) >= n:
                    break
                record = self._parse(seg.stem, index, raw)
                if record is not None:
                    found.append(record)
            out = found[::-1] + out
            if len(out) >= n:
                break
        return out, end

    def follow(
        self,
        start: Position | None = None,
        poll_interval: float = 0.5,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[Record]:
        """Records appended after ``start`` (the beginning when None), waiting for new ones like ``tail -f``.

        Polls every ``poll_interval`` seconds; ends when ``stop()`` returns True (checked after each poll).
        """
        pos = start or Position()
        while True:
            for seg in self.segments():
                if pos.segment is not None and seg.stem < pos.segment:
                    continue
                if seg.stem != pos.segment:
                    pos = Position(seg.stem, 0, 0)
                for index, raw, offset in self._lines(seg.stem, pos.line, pos.offset):
                    pos = Position(seg.stem, index + 1, offset)
                    record = self._parse(seg.stem, index, raw)
                    if record is not None:
                        yield record
            if stop is not None and stop():
                return
            time.sleep(poll_interval)

    # -- internals ----------------------------------------------------------------------------------------------

    def _open(self, stem: str, start_line: int, offset: int) -> LineReader | None:
        """Open a stem's file; None when it is gone (retention). Retries when compression renames it."""
        for _attempt in range(5):
            seg = next((s for s in self.segments() if s.stem == stem), None)
            if seg is None:
                return None
            try:
                return LineReader(seg.path, start_line, offset)
            except FileNotFoundError:
                continue
        return None

    def _lines(self, stem: str, start_line: int, offset: int) -> Iterator[tuple[int, bytes, int]]:
        """(index, line without newline, byte offset after it) of whole lines from ``start_line`` on."""
        reader = self._open(stem, start_line, offset)
        if reader is None:
            return
        with reader:
            try:
                while (raw := reader.read_line()) is not None:
                    if reader.line > start_line:
                        yield reader.line - 1, raw[:-1], reader.offset
            except (EOFError, gzip.BadGzipFile, zlib.error):
                self.corrupt += 1  # a damaged gzip segment: count it once and move on
            else:
                if reader.damaged is not None:
                    self.corrupt += 1

    def _parse(self, stem: str, index: int, raw: bytes) -> Record | None:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self.corrupt += 1
            return None
        return Record(stem, index, data)


def _in_window(record: Record, since: float | None, until: float | None) -> bool:
    if since is None and until is None:
        return True
    t_ns = line_time_ns(record.data)
    if t_ns is None:
        return False
    t = t_ns / 1e9
    return (since is None or t >= since) and (until is None or t <= until)
