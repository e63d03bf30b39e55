"""A hostile HTTP endpoint, run as its own process: every request it gets is answered the way ``mode`` says.

    python hostile_peer.py MODE PORT_FILE

It prints one line per request head it read (``request N``) so a test can count the agent's attempts, and
writes its port to PORT_FILE once listening. Modes:

- ``endless-chunked``: 200, chunked, and chunks for ever;
- ``huge-length``: 200 with ``Content-Length: 12000000000``, then zeros for ever;
- ``endless-headers``: a status line, then header lines for ever, as fast as the agent reads;
- ``trickle-headers``: a status line, then one header byte every 100 ms, for ever;
- ``reject-400``: 400 to every request;
- ``limit-413``: 503 for the first 3 s (a backlog builds), then 413 to a request holding more than two
  resource entries (spool lines), else 200;
- ``partial``: 200 with a ``partial_success`` refusing one data point of every request.

The last three print ``answered STATUS ENTRIES`` per request (resource entries in the body).
"""

from __future__ import annotations

import gzip
import socket
import sys
import threading
import time
from pathlib import Path

_CHUNK = b"x" * 65536
_FRAME = b"%x\r\n" % len(_CHUNK) + _CHUNK + b"\r\n"
_lock = threading.Lock()
_started = time.monotonic()
_count = 0


def _entries(body: bytes) -> int:
    """Top-level field 1 (resource_metrics / resource_logs) entries of an export request's protobuf."""
    count, i = 0, 0
    while i < len(body):
        key, i = _varint(body, i)
        kind = key & 7
        if kind == 0:
            _, i = _varint(body, i)
        elif kind == 2:
            length, i = _varint(body, i)
            i += length
        elif kind == 1:
            i += 8
        elif kind == 5:
            i += 4
        else:
            break
        count += (key >> 3) == 1
    return count


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


# ExportMetricsServiceResponse{partial_success{rejected_data_points: 1, error_message: "one point refused"}}
_MESSAGE = b"one point refused"
_INNER = b"\x08\x01\x12" + bytes([len(_MESSAGE)]) + _MESSAGE
_PARTIAL = b"\x0a" + bytes([len(_INNER)]) + _INNER


def _answer(conn: socket.socket, status: int, body: bytes, entries: int) -> None:
    reason = {200: "OK", 400: "Bad Request", 413: "Payload Too Large", 503: "Service Unavailable"}[status]
    conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/x-protobuf\r\nContent-Length: %d\r\n\r\n"
                 % (status, reason.encode(), len(body)) + body)
    with _lock:  # one write per line: threads must not interleave their lines
        sys.stdout.write(f"answered {status} {entries}\n")
        sys.stdout.flush()


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
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
            return None
        rest += chunk
    return rest[:length]


def _serve(conn: socket.socket, mode: str) -> None:
    global _count
    try:
        body = _read_request(conn)
        if body is None:
            return
        with _lock:
            _count += 1
            print(f"request {_count}", flush=True)
        if mode in ("reject-400", "limit-413", "partial"):  # answer each request of a kept-alive connection
            while body is not None:
                entries = _entries(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
                if mode == "reject-400":
                    _answer(conn, 400, b"refused by test", entries)
                elif mode == "limit-413":
                    warming = time.monotonic() - _started < 3.0
                    _answer(conn, 503 if warming else 413 if entries > 2 else 200, b"", entries)
                else:
                    _answer(conn, 200, _PARTIAL, entries)
                body = _read_request(conn)
            return
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
