"""A run of consecutive spool lines of one segment, sent as one export request."""

from __future__ import annotations

from dataclasses import dataclass, field

from otel_mon.forward.requests import Record


@dataclass
class Batch:
    """Lines of ``segment`` up to (excluding) ``end_line``; ``items`` are the parsable ones, in order.

    Malformed lines have no item but are covered by ``end_line``, so acking the batch moves the cursor past
    them. Serialized protobuf messages of one type concatenate into their merge, so the request body is the
    records' payloads joined.
    """

    segment: str
    end_line: int
    items: list[tuple[int, Record]] = field(default_factory=list)

    @property
    def payloads(self) -> list[bytes]:
        return [record.payload for _, record in self.items]

    @property
    def body(self) -> bytes:
        """The protobuf body (remote write's and OTLP's): the payloads joined."""
        return b"".join(record.payload for _, record in self.items)

    @property
    def size(self) -> int:
        return sum(len(record.payload) for _, record in self.items)

    @property
    def first_timestamp(self) -> float | None:
        return next((r.timestamp for _, r in self.items if r.timestamp is not None), None)

    def halves(self) -> list[Batch]:
        """Two batches of about half the lines each (one batch per line for two); together they cover what this
        one covers, so a refused batch is narrowed down in log2(n) rounds instead of n requests."""
        if len(self.items) <= 2:
            return self.split()
        middle = len(self.items) // 2
        first = Batch(self.segment, self.items[middle][0], self.items[:middle])
        return [first, Batch(self.segment, self.end_line, self.items[middle:])]

    def split(self) -> list[Batch]:
        """One batch per line, the last one keeping ``end_line`` (it may cover trailing malformed lines)."""
        singles = [Batch(self.segment, index + 1, [(index, record)]) for index, record in self.items]
        if singles:
            singles[-1].end_line = self.end_line
        return singles
