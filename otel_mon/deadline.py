"""One timeout for a whole exchange, and a watchdog that enforces it on a blocked socket.

Socket timeouts bound each read, not the exchange: a peer trickling one byte at a time never trips them.
The probes, the webhook notifier and the OTLP HTTP sender therefore share this pair.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable


class Deadline:
    """One timeout for a whole run: each blocking step gets only what is left of it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._end = time.monotonic() + timeout

    def left(self) -> float:
        """Seconds left, 0 once passed."""
        return max(self._end - time.monotonic(), 0.0)

    def remaining(self) -> float:
        """Seconds left; raises TimeoutError once there are none, so no step starts after the deadline."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left

    def expired(self) -> bool:
        return time.monotonic() >= self._end


class Watchdog:
    """Shuts the watched socket down when a :class:`Deadline` passes, which unblocks whatever waits on it.

    ``fired`` tells a caller that its error was the deadline.
    """

    def __init__(self, deadline: Deadline) -> None:
        self.fired = threading.Event()
        self._deadline = deadline
        self._target: Callable[[], socket.socket | None] = lambda: None
        self._timer: threading.Timer | None = None

    def watch(self, sock: socket.socket | Callable[[], socket.socket | None]) -> None:
        """Watch ``sock``, or whatever socket the callable returns when the deadline passes (a connection
        that opens its socket itself). The first call starts the timer; later calls swap in a wrapping TLS
        socket."""
        self._target = sock if callable(sock) else (lambda: sock)
        if self._timer is None:
            self._timer = threading.Timer(self._deadline.remaining(), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _fire(self) -> None:
        """Unblock whatever waits on the socket; the base-class call also works under an SSL socket."""
        self.fired.set()
        sock = self._target()
        if sock is None:
            return
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


class SharedWatchdog:
    """A :class:`Watchdog` for a caller that makes one attempt after another (a sender every collection): one
    thread serves every attempt, where a ``Watchdog`` starts and ends a timer thread for each.

    ``arm`` returns the attempt's ``fired`` event; ``disarm`` ends the attempt without waking the thread (it
    finds nothing armed when it next wakes). The thread ends after ``idle_exit`` seconds with nothing armed,
    and the next ``arm`` starts another, so an unused one costs nothing.
    """

    def __init__(self, name: str = "otel-mon-watchdog", idle_exit: float = 60.0) -> None:
        self._name = name
        self._idle_exit = idle_exit
        self._cond = threading.Condition()
        self._armed: tuple[float, Callable[[], socket.socket | None], threading.Event] | None = None
        self._wake_at = float("inf")  # when the thread next looks, if it is running
        self._thread: threading.Thread | None = None

    def arm(self, deadline: Deadline, sock: Callable[[], socket.socket | None]) -> threading.Event:
        """Shut ``sock()`` down when ``deadline`` passes, unless ``disarm`` comes first."""
        fired = threading.Event()
        end = time.monotonic() + deadline.left()
        with self._cond:
            self._armed = (end, sock, fired)
            if self._thread is None:
                self._wake_at = end
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif end < self._wake_at:  # else the thread wakes before the deadline anyway and waits on
                self._cond.notify()
        return fired

    def disarm(self) -> None:
        with self._cond:
            self._armed = None

    def _run(self) -> None:
        with self._cond:
            while True:
                armed = self._armed
                now = time.monotonic()
                if armed is None:
                    self._wake_at = now + self._idle_exit
                    if not self._cond.wait(self._idle_exit) and self._armed is None:
                        self._thread = None
                        return
                    continue
                end, target, fired = armed
                if end > now:
                    self._wake_at = end
                    self._cond.wait(end - now)
                    continue
                self._armed = None
                fired.set()
                sock = target()
                if sock is not None:
                    try:
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
                    except OSError:
                        pass
