"""The forwarder's position in the spool, persisted so a restart resumes where the last ack left off.

The file is replaced atomically (write ``.tmp``, fsync, rename): a crash leaves the old or the new cursor,
never a torn one. A cursor that is missing or unreadable means "start at the oldest segment": that resends
rather than loses (at-least-once).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CONSUMER = "forward"


@dataclass(frozen=True)
class Cursor:
    """Lines ``0 .. line-1`` of ``segment`` (a stem) and of every older segment are delivered."""

    segment: str
    line: int
    updated: float = 0.0


def cursor_path(signal_dir: Path, consumer: str = CONSUMER) -> Path:
    return signal_dir / f".cursor-{consumer}.json"


def load_cursor(path: Path) -> Cursor | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("forward cursor %s unreadable (%s); starting at the oldest segment", path, exc)
        return None
    if not isinstance(data, dict):
        data = {}
    segment, line = data.get("segment"), data.get("line")
    if not isinstance(segment, str) or not isinstance(line, int) or isinstance(line, bool) or line < 0:
        log.warning("forward cursor %s invalid; starting at the oldest segment", path)
        return None
    updated = data.get("updated", 0.0)
    return Cursor(segment, line, float(updated) if isinstance(updated, (int, float)) else 0.0)


def save_cursor(path: Path, cursor: Cursor) -> Cursor:
    """Persist ``cursor`` atomically; returns it with ``updated`` set."""
    stamped = Cursor(cursor.segment, cursor.line, time.time())
    tmp = path.with_name(path.name + ".tmp")
    payload = json.dumps({"segment": stamped.segment, "line": stamped.line, "updated": stamped.updated})
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, payload.encode("utf-8") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return stamped
