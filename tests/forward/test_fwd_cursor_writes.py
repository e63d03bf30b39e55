"""What the forwarder's cheaper bookkeeping keeps: the cursor file is written once a second at most while a
backlog drains, never ahead of what the endpoint acknowledged, and is current before the loop waits; a
forwarder the spool writer notifies does not poll every ``poll_interval`` (real receiver, real files)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fwdkit import FakeSpool, fast_config, metrics_line, poll, sequences, start
from otlp_receiver import OtlpReceiver

from otel_mon.forward import Forwarder
from otel_mon.forward.config import Signal
from otel_mon.forward.cursor import cursor_path
from otel_mon.spool.segments import Cursor, load_cursor, save_cursor


def at(path: Path) -> tuple[str, int] | None:
    cursor = load_cursor(path)
    return (cursor.segment, cursor.line) if cursor else None


def test_a_drain_writes_its_cursor_seldom_and_never_ahead_of_the_acks(
        tmp_path: Path, receiver: OtlpReceiver, forwarders: list[Forwarder], monkeypatch: pytest.MonkeyPatch) -> None:
    lines = 60
    spool = FakeSpool(tmp_path, "metrics")
    spool.write([metrics_line(i) for i in range(lines)])
    stem = spool.stem()
    written: list[tuple[Cursor, int]] = []

    def save(path: Path, cursor: Cursor, **kw: bool) -> Cursor:
        written.append((cursor, len(set(sequences(receiver)))))  # what the endpoint had at that moment
        return save_cursor(path, cursor, **kw)

    monkeypatch.setattr("otel_mon.forward.follower.save_cursor", save)
    start(forwarders, fast_config(receiver.http_endpoint, max_batch_records=1), tmp_path)  # 60 batches
    assert receiver.wait_for(lambda r: len(sequences(r)) >= lines)
    path = cursor_path(tmp_path / "metrics")
    # Caught up, the loop waits: the file says everything was delivered.
    poll(lambda: at(path) == (stem, lines), what="the cursor file at the end of the drain")
    assert sequences(receiver) == list(range(lines))
    drained = [(c, seen) for c, seen in written if c.line > 0]
    assert all(c.line <= seen for c, seen in drained), drained  # never leads
    assert (drained[-1][0].segment, drained[-1][0].line) == (stem, lines)
    assert len(drained) <= lines // 4, f"{len(drained)} cursor writes for {lines} batches"


def test_a_notified_forwarder_waits_for_the_writer_not_the_poll(
        tmp_path: Path, receiver: OtlpReceiver, forwarders: list[Forwarder]) -> None:
    listeners: list[Callable[[Signal], None]] = []
    forwarder = Forwarder(fast_config(receiver.http_endpoint, poll_interval="50ms"), tmp_path)
    forwarders.append(forwarder)
    forwarder.listen(listeners.append)  # as the agent does with the spool writer's add_listener
    forwarder.start()
    spool = FakeSpool(tmp_path, "metrics")
    spool.write([metrics_line(0)])
    listeners[0]("metrics")
    assert receiver.wait_for(lambda r: sequences(r) == [0])
    # The file is written just before the loop waits: from then on only a wake-up sends more.
    poll(lambda: at(cursor_path(tmp_path / "metrics")) == (spool.stem(), 1), what="the idle forwarder")
    spool.write([metrics_line(1)])  # written without a notification: a 50 ms poll would find it at once
    threading.Event().wait(1.5)
    assert sequences(receiver) == [0]
    listeners[0]("metrics")
    assert receiver.wait_for(lambda r: sequences(r) == [0, 1])
