"""Names and listing of spool segments, as ``docs/spool-format.md`` defines them.

The writer, retention, the reader and the forwarder all need the same view of a signal directory; keeping
it here means the on-disk contract is spelled out in one place. The consumers' cursor files are
``spool/cursor_files.py``, reading a segment's lines ``spool/segment_reader.py``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

Signal = Literal["metrics", "logs"]
SIGNALS: tuple[Signal, ...] = ("metrics", "logs")

PLAIN = ".jsonl"
GZIP = ".jsonl.gz"
TMP = ".jsonl.gz.tmp"
_STAMP = "%Y%m%dT%H%M%S%f"
_STEM_RE = re.compile(r"^(metrics|logs)-(\d{8}T\d{12})Z$")


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

