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
        assert not conns.full() and not conns.has_room()  # at the cap, but an idle one can make room
        conns.busy(a)
        conns.busy(b)
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


def test_at_the_cap_the_longest_idle_connection_of_the_busiest_client_makes_room() -> None:
    woken: list[int] = []
    conns = OpenConnections(cap=3, wake=lambda: woken.append(1))
    pairs = [_pair() for _ in range(3)]
    (a, _a_peer), (b, b_peer), (c, _c_peer) = pairs
    try:
        conns.add(a, "10.0.0.1")
        conns.add(b, "10.0.0.1")
        conns.add(c, "10.0.0.2")
        conns.busy(a)
        assert conns.make_room()  # b: idle, and its client holds the most
        b_peer.settimeout(5)
        assert b_peer.recv(1) == b""  # shut down: its reader returns at once
        assert conns.evicted == 1 and conns.has_room()  # b's slot is free while its thread closes it
        d, d_peer = _pair()
        pairs.append((d, d_peer))
        conns.add(d, "10.0.0.3")
        conns.busy(c)
        # 3 live + 1 closing: the slack above the cap (a quarter of it, at least 1) is used up
        assert not conns.has_room() and conns.full() and not conns.make_room()
        conns.release(b)
        assert woken and len(conns) == 3 and not conns.has_room()
    finally:
        for mine, peer in pairs:
            mine.close()
            peer.close()


def test_a_client_over_its_share_gives_up_its_own_idle_connection_or_is_refused() -> None:
    conns = OpenConnections(cap=3, per_client=2)
    pairs = [_pair() for _ in range(5)]
    socks = [mine for mine, _ in pairs]
    try:
        conns.add(socks[0], "10.0.0.1")
        conns.add(socks[1], "10.0.0.1")
        conns.add(socks[2], "10.0.0.1")
        assert conns.admit(socks[2], "10.0.0.1") and conns.evicted == 1  # socks[0], the longest idle, went
        pairs[0][1].settimeout(5)
        assert pairs[0][1].recv(1) == b""
        conns.release(socks[0])
        conns.busy(socks[1])
        conns.busy(socks[2])
        conns.add(socks[3], "10.0.0.1")
        # Both of its others are busy: over its share, served while the server has room (3 of 3 open)...
        assert conns.admit(socks[3], "10.0.0.1") and conns.refused == 0
        conns.busy(socks[3])
        conns.add(socks[4], "10.0.0.1")
        assert not conns.admit(socks[4], "10.0.0.1") and conns.refused == 1  # ...and refused at the cap
    finally:
        for mine, peer in pairs:
            mine.close()
            peer.close()
