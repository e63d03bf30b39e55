"""A hostile HTTP endpoint, run as its own process: every request it gets is answered the way ``mode`` says.

    python hostile_peer.py MODE PORT_FILE

It prints one line per request head it read (``request N``) so a test can count the agent's attempts, and
writes its port to PORT_FILE once listening. Modes:

- ``endless-chunked``: 200, chunked, and chunks for ever;
- ``huge-length``: 200 with ``Content-Length: 12000000000``, then zeros for ever;
- ``endless-headers``: a status line, then header lines for ever, as fast as the agent reads;
- ``trickle-headers``: a status line, then one header byte every 100 ms, for ever.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

_CHUNK = b"x" * 65536
_FRAME = b"%x\r\n" % len(_CHUNK) + _CHUNK + b"\r\n"
_lock = threading.Lock()
_count = 0


def _read_request(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        rest += chunk
    return True


def _serve(conn: socket.socket, mode: str) -> None:
    global _count
    try:
        if not _read_request(conn):
            return
        with _lock:
            _count += 1
            print(f"request {_count}", flush=True)
        if mode == "endless-chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            while True:
                conn.sendall(_FRAME)
        elif mode == "huge-length":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                         b"Content-Length: 12000000000\r\n\r\n")
            while True:
                conn.sendall(bytes(65536))
        elif mode == "endless-headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            line = b"X-Filler: " + b"y" * 1000 + b"\r\n"
            while True:
                conn.sendall(line * 64)
        elif mode == "trickle-headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while True:
                conn.sendall(b"X")
                time.sleep(0.1)  # the attack itself is slowness, not a synchronisation
    except OSError:
        pass
    finally:
        conn.close()


def main() -> None:
    mode, port_file = sys.argv[1], Path(sys.argv[2])
    listener = socket.create_server(("127.0.0.1", 0))
    port_file.write_text(str(listener.getsockname()[1]))
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
