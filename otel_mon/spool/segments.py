"""Names, listing and cursors of spool segments, as ``docs/spool-format.md`` defines them.

The writer, retention, the reader and the forwarder all need the same view of a signal directory; keeping
it here means the on-disk contract is spelled out in one place.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Signal = Literal["metrics", "logs"]
SIGNALS: tuple[Signal, ...] = ("metrics", "logs")

PLAIN = ".jsonl"
GZIP = ".jsonl.gz"
TMP = ".jsonl.gz.tmp"
_STAMP = "%Y%m%dT%H%M%S%f"
_STEM_RE = re.compile(r"^(metrics|logs)-(\d{8}T\d{12})Z$")
_CURSOR_RE = re.compile(r"^\.cursor-(.+)\.json$")


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
        assert path is not None
        return path

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
    except FileNotFoundError:
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
    """Lines ``0 .. line-1`` of ``segment`` (and every older segment) are done for ``consumer``."""

    consumer: str
    segment: str
    line: int
    updated: float = 0.0


def read_cursors(signal_dir: Path) -> list[Cursor]:
    """Every consumer's cursor; an unreadable one protects everything (position unknown, so nothing is done)."""
    cursors = []
    try:
        names = os.listdir(signal_dir)
    except FileNotFoundError:
        return []
    for name in names:
        match = _CURSOR_RE.match(name)
        if not match:
            continue
        consumer = match.group(1)
        try:
            raw = json.loads((signal_dir / name).read_text(encoding="utf-8"))
            cursors.append(Cursor(consumer, str(raw["segment"]), int(raw["line"]), float(raw.get("updated", 0.0))))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("unreadable spool cursor, keeping every segment for it", extra={"cursor": name})
            cursors.append(Cursor(consumer, "", 0))
    return cursors


def write_cursor(signal_dir: Path, cursor: Cursor) -> None:
    """Replace ``.cursor-<consumer>.json`` atomically (tmp, fsync, rename), as the contract requires."""
    final = signal_dir / f".cursor-{cursor.consumer}.json"
    tmp = final.with_name(final.name + ".tmp")
    body = json.dumps({"segment": cursor.segment, "line": cursor.line, "updated": cursor.updated})
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, body.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    fsync_dir(signal_dir)


def fsync_dir(path: Path) -> None:
    """Make a create, rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
