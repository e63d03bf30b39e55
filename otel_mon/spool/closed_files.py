"""Work on one closed segment file: cut a torn tail after a crash, gzip it durably.

File steps only (no decision): ``housekeeper.py`` decides when, ``segment_log.py`` truncates at start-up.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from otel_mon.spool.durable import fsync_dir
from otel_mon.spool.segments import GZIP, PLAIN, TMP

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
