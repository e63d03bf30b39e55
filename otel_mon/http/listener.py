"""The accept thread of the HTTP server: one thread per accepted connection, up to the cap.

At the cap a waiting client takes the slot of the longest-idle connection (``OpenConnections.make_room``), and a
client over its share gives up its own (``admit``): a kept-alive, silent or trickling crowd cannot lock a
scraper out. Each kind of early close is counted and logged once.

It blocks in ``select`` without a timeout (an idle agent never wakes for HTTP); ``stop`` and freed connection
slots wake it through a pipe. When accept fails for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM) it
pauses, doubling up to a second, instead of spinning, and says so once a minute at most.
"""

from __future__ import annotations

import errno
import logging
import os
import selectors
import socket
import ssl
import threading
import time
import typing

from otel_mon.http.open_connections import OpenConnections

log = logging.getLogger("otel_mon.http")

_ACCEPT_PAUSE = (0.05, 1.0)
_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Serving(typing.Protocol):
    """What the listener needs of the server: the TLS handshake's deadline and the per-connection loop."""

    @property
    def header_timeout(self) -> float: ...

    def serve_connection(self, conn: socket.socket, peer: str, slots: OpenConnections) -> None: ...


class Listener:
    """The accept thread; ``open_connections`` keeps the open ones (a closing one wakes a loop waiting for a slot)."""

    def __init__(self, app: Serving, sock: socket.socket, context: ssl.SSLContext | None, cap: int,
                 per_client: int | None = None) -> None:
        self.app = app
        self.sock = sock
        self.context = context
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._pipe_lock = threading.Lock()  # a connection ending after stop() must not write to a reused fd
        self._pipe_open = True
        self.connections = OpenConnections(cap, self._wake, per_client)
        self._told: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="otel-mon-http", daemon=True)
        self._accept_failures = 0
        self._accept_logged = -1e9

    def start(self) -> None:
        self.sock.setblocking(False)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        self._thread.join()
        self.sock.close()
        self.connections.shutdown_all()  # a kept-alive scraper must not be answered by a stopped server
        with self._pipe_lock:
            self._pipe_open = False
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _wake(self) -> None:
        with self._pipe_lock:
            if not self._pipe_open:
                return
            try:
                os.write(self._wake_w, b"x")
            except OSError:  # the pipe is full: the loop is awake anyway
                pass

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        listening = False
        pause = _ACCEPT_PAUSE[0]
        timeout: float | None = None
        try:
            while not self._stopping:
                full = self.connections.full(pausing=timeout is not None)
                want = not full and timeout is None
                if want != listening:
                    if want:
                        selector.register(self.sock, selectors.EVENT_READ)
                    else:
                        selector.unregister(self.sock)
                    listening = want
                events = selector.select(timeout)  # None: block until a client or a wake-up; no polling
                timeout = None
                for key, _ in events:
                    if key.fileobj == self._wake_r:
                        try:
                            os.read(self._wake_r, 4096)
                        except BlockingIOError:
                            pass
                if self._stopping or not listening or not any(key.fileobj is self.sock for key, _ in events):
                    continue
                try:
                    self._accept_ready()
                    pause = _ACCEPT_PAUSE[0]
                except OSError as exc:
                    if exc.errno not in _RESOURCE_ERRORS:
                        log.debug("http: accept failed: %s", exc)
                        continue
                    self._accept_failures += 1
                    now = time.monotonic()
                    if now - self._accept_logged >= 60.0:  # once a minute at most, whatever a client does
                        self._accept_logged = now
                        log.error("http: cannot accept connections: %s (%d times); pausing accept until resources "
                                  "free up", exc.strerror or exc, self._accept_failures)
                    timeout, pause = pause, min(pause * 2, _ACCEPT_PAUSE[1])
        finally:
            selector.close()

    def _accept_ready(self) -> None:
        """Accept what is queued, up to the cap; at the cap make room by evicting the longest-idle connection."""
        while True:
            if not self.connections.has_room():
                if not self.connections.make_room():
                    return
                self._tell("evicted", "http: at the connection cap (%d): closing the longest-idle connection "
                           "for each new client (counted in otel_mon.http.connections.closed and /health)",
                           self.connections.cap)
                continue
            try:
                conn, address = self.sock.accept()
            except BlockingIOError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # head and body go out in one write anyway
            peer = str(address[0]) if isinstance(address, tuple) else str(address)
            self.connections.add(conn, peer)
            if not self.connections.admit(conn, peer):
                self._tell("refused", "http: %s holds %d connections, all busy: refusing more from it (counted "
                           "in otel_mon.http.connections.closed and /health)", peer, self.connections.per_client)
                self._finish(conn)
                continue
            try:
                threading.Thread(target=self._serve, args=(conn, peer), name="otel-mon-http-conn",
                                 daemon=True).start()
            except RuntimeError:  # cannot start a thread: refuse this one
                self.connections.refuse()
                self._finish(conn)

    def _tell(self, kind: str, message: str, *args: object) -> None:
        """Log the first early close of each kind; later ones are only counted."""
        if kind not in self._told:
            self._told.add(kind)
            log.warning(message, *args)

    def _serve(self, conn: socket.socket, peer: str) -> None:
        sock = conn
        try:
            if self.context is not None:
                # TLS in the connection's own thread, within the head's deadline (CPython bounds the whole
                # handshake by the timeout, however the client trickles it).
                conn.settimeout(self.app.header_timeout)
                sock = self.context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
                self.connections.swap(conn, sock)  # wrapping detached the plain socket: stop() must reach this one
                sock.do_handshake()
            self.app.serve_connection(sock, peer, self.connections)
        except (OSError, ValueError) as exc:  # resets, TLS failures, timeouts: routine, not errors
            log.debug("http: connection from %s failed: %r", peer, exc)
        except Exception:
            log.exception("http: connection from %s failed", peer)
        finally:
            self._finish(sock)

    def _finish(self, conn: socket.socket) -> None:
        try:
            conn.close()
        except OSError:
            pass
        self.connections.release(conn)

