"""Lines the collector refused one by one, kept whole so a person can inspect, fix and replay them.

A refused line leaves the forwarding order (the cursor moves past it) but never the disk: it is appended,
unchanged, to ``<data_dir>/<signal>/quarantine.jsonl`` (a name the segment listing ignores, so retention
leaves it alone). ``otel-mon replay`` takes the file as it is. The file is bounded: past ``max_bytes`` lines
are no longer kept, and the caller counts and logs that loss.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

FILE_NAME = "quarantine.jsonl"
MAX_BYTES = 64 * 1024 * 1024
_MODE = 0o640


class QuarantineFull(Exception):
    """The quarantine file reached its size limit: the lines were not kept."""


class Quarantine:
    """Append-only file of refused lines of one signal."""

    def __init__(self, signal_dir: Path, max_bytes: int = MAX_BYTES, name: str | None = None) -> None:
        """``name`` tells a second destination's file apart: ``quarantine-<name>.jsonl``."""
        self.path = Path(signal_dir) / (FILE_NAME if name is None else f"quarantine-{name}.jsonl")
        self.max_bytes = max_bytes
        self.kept = 0

    def keep(self, lines: Sequence[bytes]) -> None:
        """Append ``lines`` durably; raise ``QuarantineFull`` past the limit, ``OSError`` when writing fails."""
        data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        if not data:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, _MODE)
        try:
            size = os.fstat(fd).st_size
            if size + len(data) > self.max_bytes:
                raise QuarantineFull(f"{self.path} holds {size} bytes, the limit is {self.max_bytes}")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fdatasync(fd)
        finally:
            os.close(fd)
        self.kept += len(lines)
