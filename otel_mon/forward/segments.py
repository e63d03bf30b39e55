"""Read the spool's segment files as the contract in docs/spool-format.md describes them.

Only whole lines are data: an unterminated tail of the active segment is left for the next read, one of a
closed segment is a torn write and ignored. A segment may exist as ``.jsonl`` and ``.jsonl.gz`` at once while
it is being compressed, and either may vanish between listing and opening: callers relist and retry.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

MAX_LINE = 1024 * 1024  # the contract's limit; anything longer is garbage to skip
_NAME_RE = re.compile(r"^(?P<stem>(?P<signal>[a-z]+)-\d{8}T\d{6,12}Z)\.jsonl(?P<gz>\.gz)?$")


@dataclass(frozen=True)
class Segment:
    stem: str
    path: Path
    compressed: bool


def list_segments(directory: Path, signal: str) -> list[Segment]:
    """Segments of ``signal`` in write order; the compressed file wins when both forms exist."""
    found: dict[str, Segment] = {}
    try:
        names = [entry.name for entry in directory.iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    for name in names:
        match = _NAME_RE.match(name)
        if not match or match.group("signal") != signal:
            continue
        stem, compressed = match.group("stem"), bool(match.group("gz"))
        if stem not in found or compressed:
            found[stem] = Segment(stem, directory / name, compressed)
    return [found[stem] for stem in sorted(found)]


def open_segment(segment: Segment) -> IO[bytes]:
    if segment.compressed:
        return cast(IO[bytes], gzip.open(segment.path, "rb"))
    return open(segment.path, "rb")


class SegmentReader:
    """Whole lines of one open segment from a line index on; ``line`` is the index of the next line."""

    def __init__(self, segment: Segment, start_line: int = 0) -> None:
        self.segment = segment
        self.line = 0
        self.oversized = 0
        self._file = open_segment(segment)
        self._pos = 0
        while self.line < start_line and self.read_line() is not None:
            pass

    def read_line(self) -> bytes | None:
        """The next complete line (with its newline), or None at the end of what is written so far."""
        raw = self._file.readline(MAX_LINE + 1)
        if raw.endswith(b"\n"):
            self._pos += len(raw)
            self.line += 1
            return raw
        if len(raw) > MAX_LINE:
            return self._skip_oversized(raw)
        if raw and not self.segment.compressed:
            self._file.seek(self._pos)  # a partial tail: read it again once the writer finishes it
        return None

    def _skip_oversized(self, head: bytes) -> bytes | None:
        skipped = len(head)
        while True:
            chunk = self._file.readline(MAX_LINE)
            skipped += len(chunk)
            if not chunk:
                self._file.seek(self._pos)
                return None
            if chunk.endswith(b"\n"):
                self._pos += skipped
                self.line += 1
                self.oversized += 1
                return b"\n"  # an empty line: counted as malformed by the caller, keeps line numbers right

    def close(self) -> None:
        self._file.close()


def iter_lines(path: Path) -> Iterator[bytes]:
    """Every complete line of a spool file (plain or ``.gz``), for one-shot readers such as replay."""
    segment = Segment(path.name, path, path.name.endswith(".gz"))
    reader = SegmentReader(segment)
    try:
        while (line := reader.read_line()) is not None:
            yield line
    finally:
        reader.close()


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
                    lines, size = self._count_gz(segment.path), stat.st_size
                else:
                    start, base = (cached[0], cached[2]) if cached and cached[0] <= stat.st_size else (0, 0)
                    lines, size = base + self._count_plain(segment.path, start, stat.st_size), stat.st_size
            except (FileNotFoundError, EOFError, OSError):
                return 0, 0
            self._cache[segment.path] = (size, stat.st_mtime_ns, lines)
            return lines, size

    def forget_except(self, keep: set[Path]) -> None:
        with self._lock:
            for path in [p for p in self._cache if p not in keep]:
                del self._cache[path]

    @staticmethod
    def _count_plain(path: Path, start: int, end: int) -> int:
        count = 0
        with open(path, "rb") as handle:
            handle.seek(start)
            remaining = end - start
            while remaining > 0:
                chunk = handle.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
                count += chunk.count(b"\n")
        return count

    @staticmethod
    def _count_gz(path: Path) -> int:
        count = 0
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
        return count
