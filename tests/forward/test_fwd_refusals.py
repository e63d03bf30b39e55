"""The pieces of the refusal path on their own: halving a batch keeps every line covered exactly once, and the
refused share is over the last minute only."""

from __future__ import annotations

from otel_mon.forward.batch import Batch
from otel_mon.forward.rejections import RejectionRate
from otel_mon.forward.requests import Record


def _batch(indexes: list[int], end_line: int) -> Batch:
    return Batch("metrics-x", end_line, [(i, Record(b"p%d" % i, None, 1)) for i in indexes])


def _covered(batches: list[Batch], start: int) -> list[int]:
    """Every line index the batches cover, in order (a batch covers up to its end_line, from the previous)."""
    out, begin = [], start
    for b in batches:
        out.extend(range(begin, b.end_line))
        begin = b.end_line
    return out


def test_halves_cover_every_line_once_malformed_gaps_included() -> None:
    batch = _batch([0, 1, 3, 4, 5, 8, 9], end_line=11)  # lines 2, 6, 7, 10 are malformed: no item
    first, second = batch.halves()
    assert [i for i, _ in first.items] == [0, 1, 3] and [i for i, _ in second.items] == [4, 5, 8, 9]
    assert _covered([first, second], 0) == list(range(11))
    assert first.body + second.body == batch.body
    pending = [batch]
    singles = []
    while pending:  # halving down to single lines ends, and keeps the order and the coverage
        b = pending.pop(0)
        if len(b.items) > 1:
            pending[:0] = b.halves()
        else:
            singles.append(b)
    assert [b.items[0][0] for b in singles] == [0, 1, 3, 4, 5, 8, 9]
    assert _covered(singles, 0) == list(range(11))


def test_the_refused_share_is_over_the_window() -> None:
    rate = RejectionRate(window=60.0, high=0.1)
    assert rate.rate(now=0.0) == 0.0 and not rate.is_high(now=0.0)
    rate.add(100, 0, now=0.0)
    rate.add(100, 100, now=30.0)  # a line of 100 points refused
    assert rate.rate(now=30.0) == 0.5 and rate.is_high(now=30.0)
    rate.add(100, 5, now=70.0)  # the first sample has left the window
    assert rate.rate(now=70.0) == 105 / 200
    assert rate.rate(now=95.0) == 0.05 and not rate.is_high(now=95.0)
