"""Following one signal's spool from its persisted cursor: batches of parsed lines, in order.

The reading half of a signal forwarder: where to resume (the cursor, or the oldest segment when the cursor's
is gone), batching up to the configured lines and bytes, following rotations (one more read of a segment
once a newer one exists), and skipping what cannot be sent -- a malformed line goes to quarantine, the
unreadable rest of a damaged gzip segment is counted -- so that one bad line never blocks the spool.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from otel_mon.forward.backlog import SegmentList, SegmentReader
from otel_mon.forward.batch import Batch
from otel_mon.forward.config import Signal
from otel_mon.forward.config_checks import Pacing
from otel_mon.forward.cursor import CONSUMER
from otel_mon.forward.quarantine import Quarantine, QuarantineFull
from otel_mon.forward.requests import MalformedLine, Parse, Record, parse_line
from otel_mon.spool.segments import Cursor, cursor_path, load_cursor, save_cursor

log = logging.getLogger("otel_mon.forward.signal_forwarder")


class SpoolFollower:
    def __init__(self, config: Pacing, signal: Signal, signal_dir: Path, quarantine: Quarantine, *,
                 consumer: str = CONSUMER, parse: Parse = parse_line) -> None:
        """``consumer`` names the cursor file (each destination has its own); ``parse`` makes a line a request."""
        self.signal = signal
        self.dir = signal_dir
        self.quarantine = quarantine
        self._config = config
        self._cursor_file = cursor_path(signal_dir, consumer)
        self._parse = parse
        self.segments = SegmentList(signal_dir, signal)
        self._lock = threading.Lock()
        self._reader: SegmentReader | None = None
        self._carry: tuple[int, Record] | None = None
        self._position: Cursor | None = None
        self._unsaved = False  # the position moved since the cursor file was written
        self._saved_at = 0.0
        self.malformed = 0  # lines skipped as unparsable (and the unreadable rest of damaged segments)
        self.gaps = 0  # segments deleted (retention) before they were delivered

    def start(self) -> None:
        self._position = load_cursor(self._cursor_file)

    @property
    def position(self) -> Cursor | None:
        with self._lock:
            return self._position

    def save(self, cursor: Cursor) -> None:
        """Persist ``cursor``: everything before it is delivered (or skipped for good)."""
        self.advance(cursor)
        self.flush()

    def advance(self, cursor: Cursor) -> None:
        """Move the position to ``cursor`` now and write it at the next ``flush``: the file may lag (a restart
        resends a little more), never lead."""
        with self._lock:
            self._position = cursor
            self._unsaved = True

    def flush(self) -> None:
        """Write the position if it moved since the last write."""
        with self._lock:
            cursor, unsaved = self._position, self._unsaved
            self._unsaved = False
        if not unsaved or cursor is None:
            return
        self._saved_at = time.monotonic()
        try:
            # No directory fsync: a crash may bring back the previous cursor, which only resends.
            save_cursor(self._cursor_file, cursor, durable_rename=False)
        except OSError as exc:  # keep going: a restart resends from the last saved cursor
            log.error("forwarder %s: cannot save cursor %s: %s", self.signal, self._cursor_file, exc)

    def flush_due(self, every: float) -> None:
        """``flush`` when the last write is ``every`` seconds old: a drain writes its cursor once a second,
        not once a batch."""
        if time.monotonic() - self._saved_at >= every:
            self.flush()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def read_batch(self) -> Batch | None:
        """The next batch of the spool, or None when everything written so far is delivered."""
        rotated_to: str | None = None
        while True:
            reader = self._open_reader()
            if reader is None:
                return None
            try:
                batch = self._fill(reader)
            except BaseException:
                # Lines already taken into the batch would be lost, and the reader's position would run ahead
                # of the cursor: start over from the saved cursor on the next step.
                self.drop_reader()
                raise
            if batch is not None:
                return batch
            if reader.damaged:
                later = self._later_than(reader.segment.stem)
                if not later:
                    return None
                self._damaged(reader)
                self.drop_reader()
                self.save(Cursor(later[0], 0))
                rotated_to = None
                continue
            if rotated_to is not None:
                reader.close()
                self._reader = None
                self.save(Cursor(rotated_to, 0))
                rotated_to = None
                continue
            later = self._later_than(reader.segment.stem)
            if not later:
                return None
            # The writer never appends to a segment once a newer one exists: one more read catches the lines
            # written between our last read and the rotation, then the segment is done.
            rotated_to = later[0]

    def _later_than(self, stem: str) -> list[str]:
        return [s.stem for s in self.segments.get() if s.stem > stem]

    def _fill(self, reader: SegmentReader) -> Batch | None:
        start = reader.line
        batch = Batch(reader.segment.stem, start)
        size = 0
        if self._carry is not None:
            batch.items.append(self._carry)
            size = len(self._carry[1].payload)
            self._carry = None
        while len(batch.items) < self._config.max_batch_records:
            raw = reader.read_line()
            if raw is None:
                break
            index = reader.line - 1
            try:
                record = self._parse(self.signal, raw)
            except (MalformedLine, RecursionError, ValueError, TypeError) as exc:  # one bad line: skip it
                self._malformed(reader.segment.stem, index, str(exc) or type(exc).__name__, raw)
                continue
            if batch.items and size + len(record.payload) > self._config.max_batch_size:
                self._carry = (index, record)
                break
            batch.items.append((index, record))
            size += len(record.payload)
        batch.end_line = self._carry[0] if self._carry is not None else reader.line
        return batch if batch.items or batch.end_line > start else None

    def _malformed(self, stem: str, index: int, why: str, raw: bytes) -> None:
        with self._lock:
            self.malformed += 1
        try:
            self.quarantine.keep([raw])
            where = f"moved to {self.quarantine.path}"
        except (QuarantineFull, OSError) as exc:
            where = f"skipped ({exc})"
        log.warning("forwarder %s: %s line %d %s: %s", self.signal, stem, index, where, why)

    def _damaged(self, reader: SegmentReader) -> None:
        """A damaged (truncated) gzip segment: its unreadable remainder counts as one malformed line."""
        with self._lock:
            self.malformed += 1
        log.warning("forwarder %s: %s is damaged after line %d; the rest of it is skipped: %s", self.signal,
                    reader.segment.path.name, reader.line, reader.damaged)

    def drop_reader(self) -> None:
        if self._reader is not None:
            try:
                self._reader.close()
            except Exception as exc:  # a failed close must not hide the original error
                log.debug("forwarder %s: closing %s failed: %s", self.signal, self._reader.path, exc)
        self._reader = None
        self._carry = None

    def _open_reader(self) -> SegmentReader | None:
        if self._reader is not None:
            return self._reader
        for _attempt in range(3):  # a segment may be compressed (renamed) between listing and opening
            segments = self.segments.get()
            if not segments:
                return None
            position = self.position
            segment, line = segments[0], 0
            if position is not None:
                same = [s for s in segments if s.stem == position.segment]
                if same:
                    segment, line = same[0], position.line
                elif position.segment < segments[0].stem:
                    with self._lock:
                        self.gaps += 1
                    log.warning("forwarder %s: segment %s was deleted before it was delivered; resuming at %s",
                                self.signal, position.segment, segments[0].stem)
                else:
                    log.warning("forwarder %s: cursor segment %s not found; resuming at the oldest, %s",
                                self.signal, position.segment, segments[0].stem)
            try:
                self._reader = SegmentReader(segment, line)
            except FileNotFoundError:
                self.segments.invalidate()  # compressed or deleted since it was listed
                continue
            if (segment.stem, line) != ((position.segment, position.line) if position else None):
                self.save(Cursor(segment.stem, line))
            return self._reader
        return None
