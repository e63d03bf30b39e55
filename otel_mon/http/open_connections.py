"""The open connections of a server: counted against a cap, released one by one, shut down together.

The agent's HTTP server and the tests' OTLP receiver both keep this record: a stopping server must reach every
kept-alive client (a scraper must not be answered by a stopped server, a "down" collector must reset its
clients), and the agent must never hold more sockets than its file descriptor limit leaves room for.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("otel_mon.http")

# File descriptors left for collection (/proc reads, probes, spool, forwarder) whatever HTTP clients do.
FD_RESERVE = 64


def connection_cap(configured: int) -> int:
    """``configured``, lowered when the file descriptor limit would not leave ``FD_RESERVE`` for collection."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = 64
    room = soft - in_use - FD_RESERVE
    if room < configured:
        capped = max(1, room)
        log.warning("http: serving at most %d connections (not %d): the file descriptor limit is %d and %d "
                    "stay reserved for collection", capped, configured, soft, FD_RESERVE)
        return capped
    return configured


@dataclass
class _Entry:
    peer: str
    idle_since: float | None  # None while a request is being answered
    evicted: bool = False


class OpenConnections:
    """Open sockets, at most ``cap`` (None: no cap), each idle (waiting for a request) or busy. Thread-safe.

    The cap is no lockout: a new client at the cap takes the slot of the longest-idle connection of the client
    holding the most (:meth:`make_room`), and one client holds at most ``per_client`` idle connections (:meth:`admit`).
    A connection sending no complete head is idle too, so silent or trickling clients give way to a scraper.
    An accept loop that stops accepting (full, or pausing) says so with :meth:`full`; :meth:`release` and a
    connection turning idle then call ``wake``. Both happen under one lock, so no wake-up is lost.
    """

    def __init__(self, cap: int | None = None, wake: Callable[[], None] | None = None,
                 per_client: int | None = None, on_evict: Callable[[socket.socket], None] | None = None) -> None:
        """``on_evict`` is called (outside the lock) with each socket shut down to make room, so an owner that
        can close it at once (the HTTP connection loop) frees the slot now rather than on its next read."""
        self.cap = cap
        self.per_client = per_client
        self._wake = wake
        self._on_evict = on_evict
        self._open: dict[socket.socket, _Entry] = {}
        self._lock = threading.Lock()
        self._waiting = False
        self._evicting = 0  # evicted, not yet released: their slots free up in a moment
        self.evicted = 0
        self.refused = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def _live(self) -> int:
        return sum(1 for e in self._open.values() if not e.evicted)

    def _slack(self) -> int:
        """Evicted sockets not yet closed by their threads, on top of the cap (closing takes a moment)."""
        return max(1, (self.cap or 0) // 4)

    def _can_evict(self) -> bool:
        return self.cap is not None and len(self._open) < self.cap + self._slack() and any(
            e.idle_since is not None and not e.evicted for e in self._open.values())

    def _room(self) -> bool:
        return self.cap is None or (self._live() < self.cap and len(self._open) < self.cap + self._slack())

    def full(self, pausing: bool = False) -> bool:
        """True when no slot is free and none can be made (every connection busy, or many evictions under
        way); the caller's accept loop waits (``pausing``: it waits anyway) and is woken by the next
        :meth:`release` or idle connection."""
        with self._lock:
            room = self._room()
            full = not room and not self._can_evict()
            self._waiting = not room or pausing
            return full

    def has_room(self) -> bool:
        with self._lock:
            return self._room()

    def add(self, sock: socket.socket, peer: str = "") -> None:
        with self._lock:
            self._open[sock] = _Entry(peer, time.monotonic())

    def make_room(self) -> bool:
        """At the cap, shut down the longest-idle connection of the client holding the most; True if one was.

        Its thread closes and releases it at once (its read returns); until then it counts against a small
        slack above the cap, so the file descriptors in use stay bounded while a crowd churns.
        """
        with self._lock:
            if self._room() or not self._can_evict():
                return False
            counts = Counter(e.peer for e in self._open.values() if not e.evicted)
            victim = self._oldest_idle(lambda e: (counts[e.peer], -(e.idle_since or 0.0)))
            if victim is None:
                return False
            self._evict(victim)
        self._shut(victim)
        return True

    def admit(self, sock: socket.socket, peer: str) -> bool:
        """``sock`` was just accepted from ``peer``: True to serve it. A client at its share gives up its own
        longest-idle connection; with none idle, the new one is served while the server is under its cap and
        refused at it (counted; the caller closes it)."""
        with self._lock:
            if self.per_client is None:
                return True
            mine = sum(1 for s, e in self._open.items() if e.peer == peer and not e.evicted and s is not sock)
            if mine < self.per_client:
                return True
            victim = self._oldest_idle(lambda e: (-(e.idle_since or 0.0),), only=peer, besides=sock)
            if victim is None:
                # All of its connections are answering: over its share while the server has room (they end
                # in a moment, and the cap still bounds file descriptors), refused at the cap.
                if self.cap is None or self._live() <= self.cap:
                    return True
                self.refused += 1
                return False
            self._evict(victim)
        self._shut(victim)
        return True

    def _shut(self, victim: socket.socket) -> None:
        _shutdown(victim)
        if self._on_evict is not None:
            self._on_evict(victim)

    def _oldest_idle(self, key: Callable[[_Entry], tuple[Any, ...]], only: str | None = None,
                     besides: socket.socket | None = None) -> socket.socket | None:
        idle = [(key(e), s) for s, e in self._open.items()
                if e.idle_since is not None and not e.evicted and (only is None or e.peer == only) and s is not besides]
        return max(idle, key=lambda pair: pair[0])[1] if idle else None

    def _evict(self, sock: socket.socket) -> None:
        self._open[sock].evicted = True
        self._evicting += 1
        self.evicted += 1

    def refuse(self) -> None:
        """Count a connection closed at once (no thread could be started for it)."""
        with self._lock:
            self.refused += 1

    def busy(self, sock: socket.socket) -> None:
        """A request head arrived on ``sock``: it is being answered and is not to be evicted."""
        with self._lock:
            entry = self._open.get(sock)
            if entry is not None:
                entry.idle_since = None

    def idle(self, sock: socket.socket) -> None:
        """``sock`` answered its request and waits for the next one (a waiting accept loop may evict it)."""
        with self._lock:
            entry = self._open.get(sock)
            if entry is not None:
                entry.idle_since = time.monotonic()
            waiting = self._waiting
        if waiting and self._wake is not None:
            self._wake()

    def swap(self, old: socket.socket, new: socket.socket) -> None:
        """``new`` stands for ``old`` (a TLS wrapper detaches the plain socket: shutdown must reach the new one)."""
        with self._lock:
            entry = self._open.pop(old, None)
            self._open[new] = entry if entry is not None else _Entry("", time.monotonic())

    def release(self, sock: socket.socket) -> None:
        """``sock`` is done (its owner closes it); wake the accept loop if it waits for a slot."""
        with self._lock:
            entry = self._open.pop(sock, None)
            if entry is not None and entry.evicted:
                self._evicting -= 1
            waiting = self._waiting
        if waiting and self._wake is not None:
            self._wake()

    def shutdown_all(self) -> None:
        """Shut every open socket down (both ways): blocked readers return, clients see the connection end."""
        with self._lock:
            sockets, self._open = list(self._open), {}
            self._evicting = 0
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """Unblock the socket's reader; the base-class call also works under an SSL socket (no TLS alert needed)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass
