"""What retention deletes, and why: pure functions of the segments, the cursors, the limits and the time.

No clock and no disk here (``housekeeper.py`` runs the plan against the directory), so every decision is
tested with plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from otel_mon.spool.cursor_files import Cursor
from otel_mon.spool.segment_reader import count_lines
from otel_mon.spool.segments import Segment


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
