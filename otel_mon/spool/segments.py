"""Names, listing, cursors and line reading of spool segments, as ``docs/spool-format.md`` defines them.

The writer, retention, the reader and the forwarder all need the same view of a signal directory; keeping
it here means the on-disk contract is spelled out in one place.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Literal, TypeVar, cast

log = logging.getLogger(__name__)

Signal = Literal["metrics", "logs"]
SIGNALS: tuple[Signal, ...] = ("metrics", "logs")

PLAIN = ".jsonl"
GZIP = ".jsonl.gz"
TMP = ".jsonl.gz.tmp"
_STAMP = "%Y%m%dT%H%M%S%f"
_STEM_RE = re.compile(r"^(metrics|logs)-(\d{8}T\d{12})Z$")
_CURSOR_RE = re.compile(r"^\.cursor-.+\.json$")
_CHUNK = 1 << 20


def stem_for(signal: str, micros: int) -> str:
    """The stem of a segment opened at ``micros`` microseconds since the epoch (UTC)."""
    when = datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc).replace(microsecond=micros % 1_000_000)
    return f"{signal}-{when.strftime(_STAMP)}Z"


def stem_micros(stem: str) -> int | None:
    """Microseconds since the epoch at which the segment ``stem`` was opened; None if not a segment stem."""
    match = _STEM_RE.match(stem)
    if not match:
        return None
    when = datetime.strptime(match.group(2), _STAMP).replace(tzinfo=timezone.utc)
    return int(when.timestamp()) * 1_000_000 + when.microsecond


@dataclass(frozen=True)
class Segment:
    """One stem on disk; during compression both the plain and the gzip file may exist for a moment."""

    signal: str
    stem: str
    plain: Path | None
    gz: Path | None
    size: int
    mtime: float

    @property
    def path(self) -> Path:
        """The file to read: the gzip one when both exist (the plain one is about to be unlinked)."""
        path = self.gz or self.plain
        if path is None:  # a Segment is made from at least one file
            raise FileNotFoundError(f"segment {self.stem}: neither file exists")
        return path

    @property
    def compressed(self) -> bool:
        """Whether ``path`` is the gzip file."""
        return self.gz is not None

    @property
    def opened(self) -> float:
        micros = stem_micros(self.stem)
        return micros / 1e6 if micros is not None else self.mtime

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(p for p in (self.plain, self.gz) if p is not None)


def list_segments(signal_dir: Path, signal: str) -> list[Segment]:
    """Segments of one signal, oldest first; files that vanish while listing are left out."""
    found: dict[str, dict[str, tuple[Path, os.stat_result]]] = {}
    try:
        entries = list(os.scandir(signal_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        name = entry.name
        if name.endswith(GZIP):
            stem, kind = name[: -len(GZIP)], "gz"
        elif name.endswith(PLAIN):
            stem, kind = name[: -len(PLAIN)], "plain"
        else:
            continue
        if not stem.startswith(signal + "-") or stem_micros(stem) is None:
            continue
        try:
            st = entry.stat()
        except FileNotFoundError:
            continue
        found.setdefault(stem, {})[kind] = (Path(entry.path), st)
    out = []
    for stem in sorted(found):
        kinds = found[stem]
        plain, gz = kinds.get("plain"), kinds.get("gz")
        out.append(Segment(
            signal=signal,
            stem=stem,
            plain=plain[0] if plain else None,
            gz=gz[0] if gz else None,
            size=sum(st.st_size for _path, st in kinds.values()),
            mtime=max(st.st_mtime for _path, st in kinds.values()),
        ))
    return out


@dataclass(frozen=True)
class Cursor:
    """Lines ``0 .. line-1`` of ``segment`` (a stem) and of every older segment are done for its consumer."""

    segment: str
    line: int
    updated: float = 0.0


# A position nothing is known about: before every segment, so retention keeps them all for it.
_UNKNOWN = Cursor("", 0)


def cursor_path(signal_dir: Path, consumer: str) -> Path:
    """Where ``consumer`` keeps its position in ``<data_dir>/<signal>``."""
    return signal_dir / f".cursor-{consumer}.json"


def load_cursor(path: Path) -> Cursor | None:
    """The cursor stored in ``path``; None when there is none, or it is unreadable or invalid (logged)."""
    try:
        return _read_cursor(path)
    except FileNotFoundError:
        return None


def read_cursors(signal_dir: Path) -> list[Cursor]:
    """Every consumer's cursor; an unreadable one protects everything (position unknown, so nothing is done)."""
    try:
        names = os.listdir(signal_dir)
    except FileNotFoundError:
        return []
    cursors = []
    for name in names:
        if not _CURSOR_RE.match(name):
            continue
        try:
            cursor = _read_cursor(signal_dir / name)
        except FileNotFoundError:
            continue
        cursors.append(cursor or _UNKNOWN)
    return cursors


def _read_cursor(path: Path) -> Cursor | None:
    """The cursor in ``path``, None when unreadable or invalid; raises FileNotFoundError when there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        log.warning("spool cursor %s unreadable (%s); its position is unknown", path, exc)
        return None
    if not isinstance(data, dict):
        data = {}
    segment, line = data.get("segment"), data.get("line")
    if not isinstance(segment, str) or not isinstance(line, int) or isinstance(line, bool) or line < 0:
        log.warning("spool cursor %s invalid; its position is unknown", path)
        return None
    updated = data.get("updated", 0.0)
    return Cursor(segment, line, float(updated) if isinstance(updated, (int, float)) else 0.0)


def save_cursor(path: Path, cursor: Cursor, *, durable_rename: bool = True) -> Cursor:
    """Replace the cursor file atomically (tmp, fsync, rename, fsync the directory); returns it with
    ``updated`` set to now. A crash leaves the old or the new cursor, never a torn one.

    ``durable_rename=False`` skips the directory fsync (half the cost): a crash may then bring back the previous
    cursor, which only resends (a cursor may lag, never lead). The housekeeper fsyncs the directory before
    it deletes segments that cursors call delivered."""
    stamped = Cursor(cursor.segment, cursor.line, time.time())
    tmp = path.with_name(path.name + ".tmp")
    body = json.dumps({"segment": stamped.segment, "line": stamped.line, "updated": stamped.updated}) + "\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, body.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable_rename:
        fsync_dir(path.parent)
    return stamped


def fsync_dir(path: Path) -> None:
    """Make a create, rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- reading segment files --------------------------------------------------------------------------------------

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
