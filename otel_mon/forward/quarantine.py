"""Lines the collector refused one by one, kept whole so a person can inspect, fix and replay them.

Only what was refused is kept: a refused batch is narrowed down (halved) to the lines refused alone, and a
partial success (the answer counts the refused items but does not name them) copies its line only when the
batch was that one line. A partial success of several lines is noted instead, without the data, in
``partial.jsonl`` (segment, line range, items refused, the server's message): copying the batch would keep
mostly accepted data (a replay would send it twice) and filled the 64 MiB cap in about 21 minutes. The lines
stay in the spool until retention removes them.

A refused line leaves the forwarding order (the cursor moves past it) but never the disk: it is appended,
unchanged, to ``<data_dir>/<signal>/quarantine.jsonl`` (a name the segment listing ignores, so retention
leaves it alone). ``otel-mon replay`` takes the file as it is. The file is bounded: past ``max_bytes`` lines
are no longer kept, and the caller counts and logs that loss.
"""

from __future__ import annotations

import json
import os
import time
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


PARTIAL_MAX_BYTES = 1024 * 1024


class PartialLog:
    """Append-only notes of partial successes over several lines (no data: where they are and how many were
    refused), at most ``max_bytes``; past it notes are dropped and ``dropped`` counts them."""

    def __init__(self, signal_dir: Path, max_bytes: int = PARTIAL_MAX_BYTES, name: str | None = None) -> None:
        self.path = Path(signal_dir) / ("partial.jsonl" if name is None else f"partial-{name}.jsonl")
        self.max_bytes = max_bytes
        self.noted = 0
        self.dropped = 0

    def note(self, segment: str, first_line: int, end_line: int, refused: int, message: str) -> bool:
        """Append one note; False (counted in ``dropped``) past the limit or when the file cannot be written."""
        record = {"time": round(time.time(), 3), "segment": segment, "first_line": first_line,
                  "end_line": end_line, "refused_items": refused, "message": message}
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, _MODE)
            try:
                if os.fstat(fd).st_size + len(data) > self.max_bytes:
                    self.dropped += 1
                    return False
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError:
            self.dropped += 1
            return False
        self.noted += 1
        return True
