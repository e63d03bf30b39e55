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
from collections.abc import Callable

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


class OpenConnections:
    """Open sockets, at most ``cap`` (None: no cap). Thread-safe.

    An accept loop that stops accepting (full, or pausing) says so with :meth:`full`; :meth:`release` then
    calls ``wake`` so the loop takes the freed slot. Both happen under one lock, so no wake-up is lost.
    """

    def __init__(self, cap: int | None = None, wake: Callable[[], None] | None = None) -> None:
        self.cap = cap
        self._wake = wake
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._waiting = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def full(self, pausing: bool = False) -> bool:
        """True when no slot is free; the caller's accept loop waits (``pausing``: it waits anyway) and is woken
        by the next :meth:`release`."""
        with self._lock:
            full = self.cap is not None and len(self._open) >= self.cap
            self._waiting = full or pausing
            return full

    def has_room(self) -> bool:
        with self._lock:
            return self.cap is None or len(self._open) < self.cap

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def swap(self, old: socket.socket, new: socket.socket) -> None:
        """``new`` stands for ``old`` (a TLS wrapper detaches the plain socket: shutdown must reach the new one)."""
        with self._lock:
            self._open.discard(old)
            self._open.add(new)

    def release(self, sock: socket.socket) -> None:
        """``sock`` is done (its owner closes it); wake the accept loop if it waits for a slot."""
        with self._lock:
            self._open.discard(sock)
            waiting = self._waiting
        if waiting and self._wake is not None:
            self._wake()

    def shutdown_all(self) -> None:
        """Shut every open socket down (both ways): blocked readers return, clients see the connection end."""
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
