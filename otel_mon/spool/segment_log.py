"""The active segment of one signal: append whole batches, cut back a failed one, rotate; and the dir lock.

Everything here runs under one lock per signal and never logs: the caller logs after releasing it, because
the agent's own log records come back into the spool through the logs exporter.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from otel_mon.spool import closed_files
from otel_mon.spool.config import SpoolConfig
from otel_mon.spool.durable import fsync_dir
from otel_mon.spool.segments import PLAIN, TMP, Signal, list_segments, stem_for, stem_micros

Clock = Callable[[], float]
# Spool data is host telemetry and log text: readable by the agent's group (a collector sidecar), not by all.
FILE_MODE = 0o640
DIR_MODE = 0o750


class SymlinkRefused(ValueError):
    """A spool subdirectory is a symbolic link and ``spool.allow_symlinks`` is off; ``str()`` is one line."""


def private_dirs(path: Path) -> None:
    """Create ``path`` and every missing parent with ``DIR_MODE``: ``Path.mkdir(parents=True)`` gives the
    parents the umask's mode (0777 under umask 000), readable and writable by anyone on the host."""
    missing = []
    at = path
    while not at.exists() and not at.is_symlink() and at != at.parent:
        missing.append(at)
        at = at.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass


class SpoolLockedError(RuntimeError):
    """Another process (a second agent) already writes this spool directory."""


class DirLock:
    """Exclusive ``flock`` on ``<dir>/.lock``; the kernel releases it when the process dies, even by kill -9."""

    def __init__(self, root: Path) -> None:
        path = root / ".lock"
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(self._fd)
            raise SpoolLockedError(
                f"spool directory {str(root)!r} is in use by another otel-mon process (pid {holder}); "
                f"stop it or set a different spool.dir"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode("ascii"), 0)

    def held(self) -> bool:
        """False when the lock file was deleted or replaced: a second agent could then lock the directory."""
        if self._fd < 0:
            return False
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        own = os.fstat(self._fd)
        return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = -1


@dataclass
class Appended:
    error: OSError | None = None
    rotated: bool = False


class SignalLog:
    """The active segment of one signal: open, append whole batches, rotate. Thread-safe."""

    def __init__(self, root: Path, signal: Signal, cfg: SpoolConfig, clock: Clock) -> None:
        self.signal = signal
        self.dir = root / signal
        if self.dir.is_symlink() and not cfg.allow_symlinks:
            # Followed, the agent would append to and gzip someone else's files wherever the link points.
            raise SymlinkRefused(f"spool.dir: {str(self.dir)!r} is a symbolic link (to {os.readlink(self.dir)!r}); "
                                 "refusing to write through it (spool.allow_symlinks: true allows it)")
        private_dirs(self.dir)
        self._dir_id = identity(self.dir)
        self.lines = 0  # whole lines in the active segment written by this process (counted if it is lost)
        self.lock = threading.Lock()
        self._cfg = cfg
        self._clock = clock
        self._fd: int | None = None
        self.stem: str | None = None
        self._opened_us = 0
        self._last_us = 0
        self._size = 0
        self._rotate_next = False
        self._repair_to: int | None = None
        self._closed = False
        self.recovered: list[tuple[str, int]] = []  # (file name, torn bytes cut) found at open
        self._recover()

    def _recover(self) -> None:
        for name in os.listdir(self.dir):
            if name.endswith(TMP):  # an interrupted compression; the plain segment is still there
                (self.dir / name).unlink(missing_ok=True)
        segments = list_segments(self.dir, self.signal)
        for seg in segments:
            if seg.plain is not None:
                cut = closed_files.truncate_torn_tail(seg.plain)
                if cut:
                    self.recovered.append((seg.plain.name, cut))
        if not segments:
            return
        newest = segments[-1]
        self._last_us = stem_micros(newest.stem) or 0
        if newest.plain is not None and newest.gz is None:
            self._fd = os.open(newest.plain, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            self._size = os.fstat(self._fd).st_size
            self.stem = newest.stem
            self._opened_us = self._last_us

    def check_dir(self) -> int | None:
        """Recreate the signal directory when it was deleted or replaced; the lines lost with the active
        segment (those this process wrote to it), or None when the directory is intact.

        One ``stat`` per call: without it appends would go on into an unlinked file until rotation.
        """
        with self.lock:
            if self._closed or identity(self.dir) == self._dir_id:
                return None
            lost = self.lines
            self._close_active()
            self._last_us = 0
            try:
                private_dirs(self.dir)
            except OSError:
                pass  # e.g. a file took its place: the append fails, is counted and logged, and this retries
            self._dir_id = identity(self.dir)
            return lost

    def append(self, data: bytes, lines: int = 0) -> Appended:
        with self.lock:
            if self._closed:
                return Appended(error=OSError(errno.EBADF, "spool is closed"))
            outcome = Appended()
            now_us = int(self._clock() * 1_000_000)
            if self._repair_to is not None and self._fd is not None:
                try:  # a previous failure left bytes we could not cut: never write after a torn line
                    os.ftruncate(self._fd, self._repair_to)
                    self._size, self._repair_to = self._repair_to, None
                except OSError as exc:
                    return Appended(error=exc)
            if self._fd is not None and (self._rotate_next or (self._size > 0 and (
                self._size + len(data) > self._cfg.max_file_size
                or now_us - self._opened_us >= self._cfg.max_file_age * 1_000_000
            ))):
                self._close_active()
                outcome.rotated = True
            self._rotate_next = False
            try:
                fd = self._fd if self._fd is not None else self._open_new(now_us)
            except OSError as exc:
                outcome.error = exc
                return outcome
            start = self._size
            written = [0]
            try:
                _write_all(fd, data, written)
                if self._cfg.fsync == "batch":
                    os.fdatasync(fd)
            except OSError as exc:
                outcome.error = exc
                # Never append after a cut: a reader may already have read the cut bytes, and new lines in
                # their place would shift its line count. A fresh segment gives readers a clean end (and
                # after EFBIG, room to grow); an empty segment that never held a whole line is safe to reuse.
                self._rotate_next = start > 0 or b"\n" in data[: written[0]]
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    self._repair_to = start
                return outcome
            self._size = start + len(data)
            self.lines += lines
            return outcome

    def _open_new(self, now_us: int) -> int:
        micros = max(now_us, self._last_us + 1)  # names must sort in write order, even if the clock steps back
        while True:
            stem = stem_for(self.signal, micros)
            try:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                fd = os.open(self.dir / (stem + PLAIN), flags, FILE_MODE)
                break
            except FileExistsError:
                micros += 1
        if self._cfg.fsync == "batch":
            fsync_dir(self.dir)
        self._fd, self.stem, self._size = fd, stem, 0
        self._opened_us = self._last_us = micros
        return fd

    def _close_active(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self.stem, self._size, self._repair_to = None, None, 0, None
        self.lines = 0

    def rotate_if_aged(self) -> bool:
        """Close an idle segment past ``max_file_age`` so it can be compressed and aged out."""
        with self.lock:
            now_us = int(self._clock() * 1_000_000)
            if self._fd is not None and self._size > 0 and now_us - self._opened_us >= self._cfg.max_file_age * 1e6:
                self._close_active()
                return True
            return False

    def close(self) -> None:
        with self.lock:
            self._closed = True
            self._close_active()


def identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _write_all(fd: int, data: bytes, progress: list[int]) -> None:
    """Write all of ``data``; ``progress[0]`` holds the bytes written so far (also when this raises)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        progress[0] += written
        view = view[written:]
