"""The open-connection record the HTTP server and the tests' OTLP receiver share (otel_mon/http/open_connections.py)."""

from __future__ import annotations

import socket

from otel_mon.http.open_connections import OpenConnections


def _pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair()


def test_cap_and_release_wake_only_a_waiting_loop() -> None:
    woken: list[int] = []
    conns = OpenConnections(cap=2, wake=lambda: woken.append(1))
    a, a_peer = _pair()
    b, b_peer = _pair()
    try:
        conns.add(a)
        assert not conns.full() and conns.has_room()
        conns.release(a)
        assert woken == []  # nobody waits: no wake-up
        conns.add(a)
        conns.add(b)
        assert conns.full() and not conns.has_room() and len(conns) == 2
        conns.release(b)
        assert woken == [1] and len(conns) == 1  # the loop waiting for a slot is woken
        assert not conns.full(pausing=True)  # not full, but the loop pauses (accept ran out of fds)
        conns.release(a)
        assert woken == [1, 1]
    finally:
        for s in (a, a_peer, b, b_peer):
            s.close()


def test_no_cap_is_never_full() -> None:
    conns = OpenConnections()
    pairs = [_pair() for _ in range(3)]
    try:
        for mine, _ in pairs:
            conns.add(mine)
        assert not conns.full() and len(conns) == 3
    finally:
        for mine, peer in pairs:
            mine.close()
            peer.close()


def test_shutdown_all_ends_every_connection_including_a_swapped_one() -> None:
    conns = OpenConnections()
    a, a_peer = _pair()
    b, b_peer = _pair()
    c, c_peer = _pair()
    try:
        conns.add(a)
        conns.add(b)
        conns.swap(b, c)  # a TLS wrapper stands for the plain socket from now on
        conns.shutdown_all()
        a_peer.settimeout(5)
        c_peer.settimeout(5)
        assert a_peer.recv(1) == b"" and c_peer.recv(1) == b""  # the peers see the end of the stream
        b_peer.setblocking(False)
        try:
            assert b_peer.recv(1) != b""
        except BlockingIOError:
            pass  # the swapped-out socket was left alone
        assert len(conns) == 0
    finally:
        for s in (a, a_peer, b, b_peer, c, c_peer):
            s.close()
