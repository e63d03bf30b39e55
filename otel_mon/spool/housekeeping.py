"""Work on closed segments: truncate a torn tail, gzip, and decide what retention deletes.

Kept apart from the writer so the hot path (append + fsync) stays small, and so the retention decision is a
pure function tested without a clock or a disk.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from otel_mon.spool.segments import GZIP, PLAIN, TMP, Cursor, Segment, count_lines, fsync_dir

_CHUNK = 1 << 20


def truncate_torn_tail(path: Path) -> int:
    """Cut the bytes after the last newline (a line torn by a crash); return how many were cut."""
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        keep, pos = 0, size
        while pos > 0:
            step = min(64 * 1024, pos)
            pos -= step
            f.seek(pos)
            idx = f.read(step).rfind(b"\n")
            if idx >= 0:
                keep = pos + idx + 1
                break
        if keep < size:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        return size - keep


def compress(plain: Path, durable: bool = True) -> Path:
    """Gzip a closed segment: ``<stem>.jsonl.gz.tmp``, fsync, rename, then unlink the plain file.

    The gzip file keeps the plain file's mtime so age-based retention still sees when the data was written.
    """
    stem = plain.name[: -len(PLAIN)]
    tmp = plain.with_name(stem + TMP)
    final = plain.with_name(stem + GZIP)
    mtime = plain.stat().st_mtime
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
        with open(plain, "rb") as src, open(fd, "wb") as raw:
            with gzip.GzipFile(filename=stem + PLAIN, mode="wb", fileobj=raw, compresslevel=6, mtime=int(mtime)) as gz:
                shutil.copyfileobj(src, gz, _CHUNK)
            raw.flush()
            # Always: the plain file is unlinked below, and a crash must not leave a torn .gz as the only copy.
            os.fsync(raw.fileno())
        os.utime(tmp, (mtime, mtime))
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(plain.parent)
    plain.unlink()
    return final


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_bytes: int
    max_age: float


@dataclass(frozen=True)
class Deletion:
    segment: Segment
    unsent: bool  # at/after a consumer's cursor: only the byte limit deletes these, and the loss is counted
    reason: str  # "files", "age" or "bytes"


def is_unsent(segment: Segment, cursors: Sequence[Cursor]) -> bool:
    return any(segment.stem >= c.segment for c in cursors)


def plan_retention(
    segments: Sequence[Segment],
    active: set[str],
    cursors: Mapping[str, Sequence[Cursor]],
    limits: Limits,
    now: float,
) -> list[Deletion]:
    """Which closed segments to delete, oldest first, across every signal.

    Count and age limits only take segments every consumer is done with; the byte limit then takes unsent
    segments too (oldest first) because a full disk would lose new data instead of old.
    """
    files = len(segments)
    total = sum(s.size for s in segments)
    closed = sorted((s for s in segments if s.stem not in active), key=lambda s: (s.opened, s.stem))
    out: list[Deletion] = []
    kept: list[Segment] = []
    for seg in closed:
        unsent = is_unsent(seg, cursors.get(seg.signal, ()))
        too_many = limits.max_files > 0 and files > limits.max_files
        too_old = limits.max_age > 0 and now - seg.mtime > limits.max_age
        if not unsent and (too_many or too_old):
            out.append(Deletion(seg, False, "files" if too_many else "age"))
            files -= 1
            total -= seg.size
        else:
            kept.append(seg)
    if limits.max_bytes > 0 and total > limits.max_bytes:
        by_cost = [s for s in kept if not is_unsent(s, cursors.get(s.signal, ()))]
        by_cost += [s for s in kept if is_unsent(s, cursors.get(s.signal, ()))]
        for seg in by_cost:
            if total <= limits.max_bytes:
                break
            out.append(Deletion(seg, is_unsent(seg, cursors.get(seg.signal, ())), "bytes"))
            total -= seg.size
    return out


def lost_lines(segment: Segment, cursors: Sequence[Cursor]) -> int:
    """Lines of ``segment`` the slowest consumer has not finished."""
    total = count_lines(segment.path)
    if not cursors:
        return total
    slowest = min(cursors, key=lambda c: (c.segment, c.line))
    if slowest.segment == segment.stem:
        return max(0, total - slowest.line)
    return total
