"""The HTTP server's connection loop: one thread and a selector for every connection, a few workers for answers.

No thread is held per connection. The loop accepts, reads request heads under the limits (the head's size
``wire.MAX_HEAD_BYTES`` and deadline, the keep-alive idle time), hands each complete head to a small pool of
workers, and writes their answers back without blocking (TLS handshakes too). So a crowd of silent, trickling
or kept-alive connections costs file descriptors and a few bytes each, not threads, and a scraper's request is
read as soon as its bytes arrive; a client that does not read its answer holds a buffer, not a worker.

At the cap a waiting client takes the slot of the longest-idle connection (``OpenConnections.make_room``), and a
client over its share gives up its own (``admit``): a kept-alive, silent or trickling crowd cannot lock a
scraper out. Each kind of early close is counted and logged once.

``select`` waits until the nearest deadline of an open connection, or without a timeout when none is open (an
idle agent never wakes for HTTP); ``stop``, answers and freed slots wake it through a pipe. When accept fails
for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM) it pauses, doubling up to a second, instead of spinning,
and says so once a minute at most.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import selectors
import socket
import ssl
import threading
import time
import typing
from collections import deque
from dataclasses import dataclass, field

from otel_mon.http.open_connections import OpenConnections
from otel_mon.http.wire import MAX_HEAD_BYTES, BadRequest, head_end

log = logging.getLogger("otel_mon.http")

_ACCEPT_PAUSE = (0.05, 1.0)
_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_RECV = 16384
_SEND = 65536
_ACCEPT_BATCH = 64  # then back to select: answers and reads are not starved by a crowd reconnecting
# Requests answered at once: rendering is CPU work (two cores), more threads would only queue on the GIL, and a
# slow page (the status page's API) must not hold up /metrics.
WORKERS = 4
# A kept-alive connection with no request this long is closed (Prometheus scrapes at least every minute or so).
IDLE_TIMEOUT = 30.0
# A response the client does not take within this long is abandoned.
SEND_TIMEOUT = 30.0
_WANT_READ = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class Serving(typing.Protocol):
    """What the loop needs of the server: the head's deadline, and the bytes answering a head or a bad one."""

    @property
    def header_timeout(self) -> float: ...

    def answer(self, head: bytes, peer: str) -> tuple[bytes, bool]:
        """The response to one complete head, and whether to close the connection after it (a worker calls it)."""
        ...

    def refuse(self, bad: BadRequest, peer: str) -> bytes:
        """The response to a head over a limit (408, 431); the connection closes after it (the loop calls it)."""
        ...


@dataclass(eq=False)
class _Conn:
    sock: socket.socket
    peer: str
    state: str = "read"  # handshake -> read -> work (a worker has the head) -> write -> read ...
    deadline: float | None = None
    head_started: bool = False  # bytes of the next head have arrived: its deadline runs, not the idle time
    buffer: bytearray = field(default_factory=bytearray)
    out: memoryview | None = None
    close_after: bool = False
    events: int = 0  # what the selector watches for


class Listener:
    """The loop's thread and its workers; ``connections`` keeps the open ones (a closing one frees a slot)."""

    def __init__(self, app: Serving, sock: socket.socket, context: ssl.SSLContext | None, cap: int,
                 per_client: int | None = None, workers: int = WORKERS) -> None:
        self.app = app
        self.sock = sock
        self.context = context
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._pipe_lock = threading.Lock()  # a worker ending after stop() must not write to a reused fd
        self._pipe_open = True
        self.connections = OpenConnections(cap, self._wake, per_client, self._evicted)
        self._conns: dict[socket.socket, _Conn] = {}  # the loop thread's alone
        self._jobs: queue.SimpleQueue[tuple[_Conn, bytes] | None] = queue.SimpleQueue()
        self._answers: deque[tuple[_Conn, bytes, bool]] = deque()
        self._selector = selectors.DefaultSelector()
        self._told: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="otel-mon-http", daemon=True)
        self._workers = [threading.Thread(target=self._work, name="otel-mon-http-worker", daemon=True)
                         for _ in range(workers)]
        self._accept_failures = 0
        self._accept_logged = -1e9

    def start(self) -> None:
        self.sock.setblocking(False)
        for worker in self._workers:
            worker.start()
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        self._thread.join()
        for _ in self._workers:
            self._jobs.put(None)  # a worker answering now finishes that answer, which nobody sends
        self.sock.close()
        self.connections.shutdown_all()
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

    # -- the loop ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        selector = self._selector
        selector.register(self._wake_r, selectors.EVENT_READ, None)
        listening = False
        pause = _ACCEPT_PAUSE[0]
        paused_until: float | None = None
        try:
            while not self._stopping:
                full = self.connections.full(pausing=paused_until is not None)
                want = not full and paused_until is None
                if want != listening:
                    if want:
                        selector.register(self.sock, selectors.EVENT_READ, self.sock)
                    else:
                        selector.unregister(self.sock)
                    listening = want
                events = selector.select(self._timeout(paused_until))
                accept = False
                for key, _ in events:
                    if key.data is None:
                        try:
                            os.read(self._wake_r, 4096)
                        except BlockingIOError:
                            pass
                    elif key.data is self.sock:
                        accept = True
                    elif self._conns.get(key.fileobj) is key.data:  # type: ignore[call-overload]
                        self._ready(key.data)
                if self._stopping:
                    break
                self._take_answers()
                now = time.monotonic()
                self._expire(now)
                if paused_until is not None and now >= paused_until:
                    paused_until = None
                if not (accept and listening):
                    continue
                try:
                    self._accept_ready()
                    pause = _ACCEPT_PAUSE[0]
                except OSError as exc:
                    if exc.errno not in _RESOURCE_ERRORS:
                        log.debug("http: accept failed: %s", exc)
                        continue
                    self._accept_failures += 1
                    if now - self._accept_logged >= 60.0:  # once a minute at most, whatever a client does
                        self._accept_logged = now
                        log.error("http: cannot accept connections: %s (%d times); pausing accept until resources "
                                  "free up", exc.strerror or exc, self._accept_failures)
                    paused_until, pause = now + pause, min(pause * 2, _ACCEPT_PAUSE[1])
        finally:
            for conn in list(self._conns.values()):
                self._close(conn)
            selector.close()

    def _timeout(self, paused_until: float | None) -> float | None:
        """Seconds to the nearest deadline; None (block) when nothing is due, so an idle server sleeps."""
        deadlines = [c.deadline for c in self._conns.values() if c.deadline is not None]
        if paused_until is not None:
            deadlines.append(paused_until)
        return max(min(deadlines) - time.monotonic(), 0.0) if deadlines else None

    def _expire(self, now: float) -> None:
        for conn in [c for c in self._conns.values() if c.deadline is not None and c.deadline <= now]:
            if conn.state == "read" and conn.head_started:
                self._refuse(conn, BadRequest(408, f"request head not complete within {self.app.header_timeout:g}s"))
            else:  # silent since connect or since the last answer, a stalled handshake, an answer not taken
                self._close(conn)

    def _accept_ready(self) -> None:
        """Accept what is queued (up to ``_ACCEPT_BATCH`` before the loop reads again), up to the cap; at the cap
        make room by evicting the longest-idle connection."""
        for _ in range(_ACCEPT_BATCH):
            if not self.connections.has_room() or self.connections.per_client is not None:
                # Read what has arrived before anyone is evicted: a scraper whose request came after it was
                # accepted must not be taken for idle while a crowd reconnecting keeps this loop accepting.
                self._read_arrived()
            if not self.connections.has_room():
                if not self.connections.make_room():
                    return
                self._tell("evicted", "http: at the connection cap (%d): closing the longest-idle connection "
                           "for each new client (counted in otel_mon.http.connections.closed and /health)",
                           self.connections.cap)
                continue
            try:
                sock, address = self.sock.accept()
            except BlockingIOError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # head and body go out in one write anyway
            sock.setblocking(False)
            peer = str(address[0]) if isinstance(address, tuple) else str(address)
            self.connections.add(sock, peer)
            if not self.connections.admit(sock, peer):
                self._tell("refused", "http: %s holds %d connections, all busy: refusing more from it (counted "
                           "in otel_mon.http.connections.closed and /health)", peer, self.connections.per_client)
                sock.close()
                self.connections.release(sock)
                continue
            # The first request must come promptly; later ones within the keep-alive time.
            deadline = time.monotonic() + self.app.header_timeout
            if self.context is not None:
                try:
                    tls = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                except (OSError, ValueError) as exc:
                    log.debug("http: connection from %s failed: %r", peer, exc)
                    sock.close()
                    self.connections.release(sock)
                    continue
                self.connections.swap(sock, tls)  # wrapping detached the plain socket: stop() must reach this one
                conn = _Conn(tls, peer, "handshake", deadline)
                self._conns[tls] = conn
                self._handshake(conn)
            else:
                conn = _Conn(sock, peer, "read", deadline)
                self._conns[sock] = conn
                self._read(conn)  # a scraper's request is usually here already: read it before it can be evicted

    def _read_arrived(self) -> None:
        """Handle the connections that are ready now (no wait), the listening socket aside."""
        for key, _ in self._selector.select(0):
            if key.data is not None and key.data is not self.sock and self._conns.get(
                    key.fileobj) is key.data:  # type: ignore[call-overload]
                self._ready(key.data)

    def _evicted(self, sock: socket.socket) -> None:
        """A connection shut down to make room (by this thread, in ``_accept_ready``): close it now."""
        conn = self._conns.get(sock)
        if conn is not None:
            self._close(conn)

    def _tell(self, kind: str, message: str, *args: object) -> None:
        """Log the first early close of each kind; later ones are only counted."""
        if kind not in self._told:
            self._told.add(kind)
            log.warning(message, *args)

    # -- one connection ------------------------------------------------------------------------------------

    def _ready(self, conn: _Conn) -> None:
        if conn.state == "handshake":
            self._handshake(conn)
        elif conn.state == "read":
            self._read(conn)
        elif conn.state == "write":
            self._write(conn)

    def _watch(self, conn: _Conn, events: int) -> None:
        if events == conn.events:
            return
        if not events:
            self._selector.unregister(conn.sock)
        elif not conn.events:
            self._selector.register(conn.sock, events, conn)
        else:
            self._selector.modify(conn.sock, events, conn)
        conn.events = events

    def _handshake(self, conn: _Conn) -> None:
        """TLS without blocking, within the head's deadline (however the client trickles it)."""
        try:
            typing.cast(ssl.SSLSocket, conn.sock).do_handshake()
        except ssl.SSLWantReadError:
            self._watch(conn, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_WRITE)
            return
        except (OSError, ValueError) as exc:  # resets, TLS failures: routine, not errors
            log.debug("http: connection from %s failed: %r", conn.peer, exc)
            self._close(conn)
            return
        conn.state = "read"
        conn.deadline = time.monotonic() + self.app.header_timeout
        self._read(conn)

    def _read(self, conn: _Conn) -> None:
        while True:
            try:
                chunk = conn.sock.recv(_RECV)
            except _WANT_READ:
                break
            except (OSError, ValueError) as exc:
                log.debug("http: connection from %s failed: %r", conn.peer, exc)
                self._close(conn)
                return
            if not chunk:  # closed by the client, or evicted (shut down) to make room
                self._close(conn)
                return
            if not conn.head_started:
                conn.head_started = True
                conn.deadline = time.monotonic() + self.app.header_timeout
            conn.buffer += chunk
            if len(conn.buffer) > MAX_HEAD_BYTES or head_end(conn.buffer) >= 0:
                break
        self._watch(conn, selectors.EVENT_READ)
        self._dispatch(conn)

    def _dispatch(self, conn: _Conn) -> None:
        """Hand a complete head to a worker, refuse an oversized one, or wait for more."""
        end = head_end(conn.buffer)
        if end < 0 and len(conn.buffer) <= MAX_HEAD_BYTES:
            return
        if end < 0 or end > MAX_HEAD_BYTES:
            self._refuse(conn, BadRequest(431, f"request head larger than {MAX_HEAD_BYTES} bytes"))
            return
        head = bytes(conn.buffer[:end])
        del conn.buffer[:end]
        conn.state, conn.deadline = "work", None
        self._watch(conn, 0)
        self.connections.busy(conn.sock)
        self._jobs.put((conn, head))

    def _refuse(self, conn: _Conn, bad: BadRequest) -> None:
        log.debug("http: %s bad request: %d %s", conn.peer, bad.status, bad)
        conn.buffer.clear()
        self._send(conn, self.app.refuse(bad, conn.peer), close=True)

    def _work(self) -> None:
        """A worker: answer heads until stop (the loop sends the bytes)."""
        while (job := self._jobs.get()) is not None:
            conn, head = job
            try:
                data, close = self.app.answer(head, conn.peer)
            except Exception:  # answer() catches route errors; this is a bug in the server itself
                log.exception("http: answering %s failed", conn.peer)
                data, close = self.app.refuse(BadRequest(500, "internal error"), conn.peer), True
            self._answers.append((conn, data, close))
            self._wake()

    def _take_answers(self) -> None:
        while self._answers:
            conn, data, close = self._answers.popleft()
            if self._conns.get(conn.sock) is conn:
                self._send(conn, data, close)

    def _send(self, conn: _Conn, data: bytes, close: bool) -> None:
        conn.state, conn.out, conn.close_after = "write", memoryview(data), close
        conn.deadline = time.monotonic() + SEND_TIMEOUT
        self._write(conn)

    def _write(self, conn: _Conn) -> None:
        out = conn.out
        while out:
            try:
                sent = conn.sock.send(out[:_SEND])
            except _WANT_READ:
                conn.out = out
                self._watch(conn, selectors.EVENT_WRITE)
                return
            except (OSError, ValueError) as exc:
                log.debug("http: connection from %s failed: %r", conn.peer, exc)
                self._close(conn)
                return
            out = out[sent:]
        conn.out = None
        if conn.close_after:
            self._close(conn)
            return
        self.connections.idle(conn.sock)
        conn.state = "read"
        conn.head_started = bool(conn.buffer)  # a pipelined head already begun has its own deadline
        conn.deadline = time.monotonic() + (self.app.header_timeout if conn.head_started else IDLE_TIMEOUT)
        self._watch(conn, selectors.EVENT_READ)
        self._dispatch(conn)

    def _close(self, conn: _Conn) -> None:
        if self._conns.pop(conn.sock, None) is None:
            return
        self._watch(conn, 0)
        try:
            conn.sock.close()
        except OSError:
            pass
        self.connections.release(conn.sock)
