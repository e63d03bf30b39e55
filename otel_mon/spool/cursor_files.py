"""The consumers' cursor files in a signal directory (``.cursor-<consumer>.json``): read, list, replace atomically.

A cursor says how far one consumer (a forwarder) has got; retention reads every cursor so that nothing
unsent is deleted, and an unreadable cursor protects everything (its position is unknown).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from otel_mon.spool.durable import fsync_dir

log = logging.getLogger("otel_mon.spool.segments")
_CURSOR_RE = re.compile(r"^\.cursor-.+\.json$")


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
