"""Reading a segment file's whole lines (plain or gzip), resuming at a line, counting lines; damage tolerated.

A torn tail is never returned and a damaged gzip file reads as ending where the damage starts, so the
forwarder, retention and ``report`` see the same lines the writer finished.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import IO, TypeVar, cast

_CHUNK = 1 << 20


_Reader = TypeVar("_Reader", bound="LineReader")


def open_segment(path: Path) -> IO[bytes]:
    """A segment file opened for reading; a ``.gz`` one is decompressed as it is read."""
    if path.name.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


class LineReader:
    """The whole lines of one segment file (plain or gzip) in order; usable as a context manager.

    ``line`` is the index of the next line and ``offset`` the uncompressed byte offset where it starts. An
    unterminated tail is never returned: a plain file is left positioned before it, so a later ``read_line``
    returns that line whole once the writer has finished it. A plain file may be resumed at a ``line`` and
    ``offset`` read before; a gzip one always starts at its first line. Raises FileNotFoundError when the file
    is gone (compressed or deleted since it was listed).

    With ``max_line``, never more than that many bytes of one line are held in memory: a longer line is
    skipped, reads as an empty line (so line numbers stay right; the caller counts it as malformed) and is
    counted in ``oversized``.
    """

    def __init__(self, path: Path, line: int = 0, offset: int = 0, max_line: int | None = None) -> None:
        self.path = path
        self.max_line = max_line
        self.oversized = 0
        self.compressed = path.name.endswith(".gz")
        self.line = 0
        self.offset = 0
        # Why a damaged (truncated, corrupt) gzip file ended early; reading it then stays at its end.
        self.damaged: str | None = None
        self._file = open_segment(path)
        if offset > 0 and not self.compressed:
            self._file.seek(offset)
            self.line, self.offset = line, offset

    def read_line(self) -> bytes | None:
        """The next whole line, newline included; None at the end of what is written so far."""
        if self.max_line is None:
            return self._take(self._readline())
        raw = self._readline(self.max_line + 1)
        if len(raw) > self.max_line and not raw.endswith(b"\n"):
            return self._skip_oversized(raw, self.max_line)
        return self._take(raw)

    def _skip_oversized(self, head: bytes, limit: int) -> bytes | None:
        skipped = len(head)
        while True:
            chunk = self._readline(limit)
            skipped += len(chunk)
            if not chunk:
                if not self.compressed:
                    self._file.seek(self.offset)
                return None
            if chunk.endswith(b"\n"):
                self.offset += skipped
                self.line += 1
                self.oversized += 1
                return b"\n"

    def _readline(self, limit: int = -1) -> bytes:
        """One ``readline`` of the file; a damaged gzip file reads as ending where the damage starts."""
        if self.damaged is not None:
            return b""
        try:
            return self._file.readline(limit)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            self.damaged = f"{type(exc).__name__}: {exc}"
            return b""

    def _take(self, raw: bytes) -> bytes | None:
        """``raw`` when it is a whole line (and move past it); else step back before the partial tail."""
        if raw.endswith(b"\n"):
            self.line += 1
            self.offset += len(raw)
            return raw
        if raw and not self.compressed:
            self._file.seek(self.offset)
        return None

    def close(self) -> None:
        self._file.close()

    def __enter__(self: _Reader) -> _Reader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def count_lines(path: Path, start: int = 0, end: int | None = None) -> int:
    """Whole lines of a segment file (plain or gzip) from uncompressed byte ``start`` to ``end`` (the end of the
    file when None); a damaged gzip file counts what could be read."""
    total = 0
    remaining = -1 if end is None else max(0, end - start)
    try:
        with open_segment(path) as f:
            if start > 0:
                f.seek(start)
            while remaining != 0:
                chunk = f.read(_CHUNK if remaining < 0 else min(remaining, _CHUNK))
                if not chunk:
                    break
                total += chunk.count(b"\n")
                if remaining > 0:
                    remaining -= len(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error):
        pass  # a damaged gzip segment: count what could be read
    return total
