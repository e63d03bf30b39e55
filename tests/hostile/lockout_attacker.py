"""A client that tries to lock every other client out of the agent's HTTP server, run as its own process.

    python lockout_attacker.py SHAPE PORT COUNT

It keeps COUNT connections open for as long as it runs: one the server closes is opened again at once (and
sends when its predecessor's next request was due). Shapes
(issue 23's):

- ``keepalive``: each connection sends ``GET /ready`` and then again every 25 s, keeping the connection alive
  (with a token set on the agent, the answers are 401s);
- ``silent``: each connection connects and sends nothing;
- ``slowhead``: each connection sends its request head one byte a second, never finishing it.

It prints ``open N`` once the first COUNT connections are up.
"""

from __future__ import annotations

import selectors
import socket
import sys
import time

_REQUEST = b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
_SLOW = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"p" * 4096


class Conn:
    def __init__(self, port: int, shape: str, selector: selectors.BaseSelector, next_send: float = 0.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        self.shape = shape
        self.next_send = next_send
        self.sent = 0
        selector.register(self.sock, selectors.EVENT_READ, self)

    def tick(self, now: float) -> None:
        if now < self.next_send:
            return
        try:
            if self.shape == "keepalive":
                self.sock.send(_REQUEST)
                self.next_send = now + 25.0
            elif self.shape == "slowhead":
                self.sock.send(_SLOW[self.sent % len(_SLOW):][:1])
                self.sent += 1
                self.next_send = now + 1.0
            else:
                self.next_send = now + 3600.0
        except OSError:
            pass


def main() -> None:
    shape, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    selector = selectors.DefaultSelector()
    conns = [Conn(port, shape, selector) for _ in range(count)]
    print(f"open {len(conns)}", flush=True)
    while True:
        now = time.monotonic()
        for conn in conns:
            conn.tick(now)
        for key, _ in selector.select(0.2):
            conn = key.data
            try:
                data = conn.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                continue  # an answer: read and forgotten, the connection stays
            selector.unregister(conn.sock)
            conn.sock.close()
            try:
                # Closed on us: open another at once; it keeps the shape's pace (its next request when the old
                # one's was due), so the attack is the and not a request flood.
                conns[conns.index(conn)] = Conn(port, shape, selector, conn.next_send)
            except OSError:
                conns.remove(conn)
                time.sleep(0.05)  # the attack itself backs off only when connect fails
                conns.append(Conn(port, shape, selector))


if __name__ == "__main__":
    main()
