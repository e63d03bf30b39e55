"""SharedWatchdog: one thread cuts every overdue attempt short, leaves finished ones alone, and goes away when
unused (real sockets, real threads)."""

from __future__ import annotations

import socket
import threading
import time

from otel_mon.deadline import Deadline, SharedWatchdog
from tests.conftest import wait_until


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_an_overdue_read_is_cut_short_and_a_finished_attempt_is_left_alone() -> None:
    watchdog = SharedWatchdog("test-watchdog-a", idle_exit=60.0)
    for _ in range(3):  # the same thread serves attempt after attempt
        ours, peer = socket.socketpair()
        with ours, peer:
            ours.settimeout(30)  # a socket timeout far past the deadline: only the watchdog can end the read
            started = time.monotonic()
            fired = watchdog.arm(Deadline(0.3), lambda s=ours: s)  # type: ignore[misc]
            assert ours.recv(10) == b""  # shut down: the blocked read returns
            assert fired.is_set() and time.monotonic() - started < 20
            watchdog.disarm()
        assert len(_threads("test-watchdog-a")) == 1
    ours, peer = socket.socketpair()
    with ours, peer:
        fired = watchdog.arm(Deadline(0.3), lambda: ours)
        peer.sendall(b"answer")
        assert ours.recv(10) == b"answer"
        watchdog.disarm()
        time.sleep(0.6)  # past the deadline the attempt no longer has: nothing may fire
        assert not fired.is_set()
        peer.sendall(b"more")
        assert ours.recv(10) == b"more"


def test_a_later_attempt_with_an_earlier_deadline_wakes_the_thread() -> None:
    watchdog = SharedWatchdog("test-watchdog-b", idle_exit=60.0)
    ours, peer = socket.socketpair()
    with ours, peer:
        watchdog.arm(Deadline(60), lambda: ours)
        watchdog.disarm()
        ours.settimeout(30)
        started = time.monotonic()
        fired = watchdog.arm(Deadline(0.3), lambda: ours)  # the thread sleeps toward the 60 s one
        assert ours.recv(10) == b""
        assert fired.is_set() and time.monotonic() - started < 20


def test_the_thread_ends_when_unused_and_comes_back_when_armed() -> None:
    watchdog = SharedWatchdog("test-watchdog-c", idle_exit=0.2)
    ours, peer = socket.socketpair()
    with ours, peer:
        watchdog.arm(Deadline(0.5), lambda: ours)
        watchdog.disarm()
        wait_until(lambda: not _threads("test-watchdog-c"), what="the idle watchdog thread to end")
        ours.settimeout(30)
        fired = watchdog.arm(Deadline(0.3), lambda: ours)
        assert ours.recv(10) == b""
        assert fired.is_set()
