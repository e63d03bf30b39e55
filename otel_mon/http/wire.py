"""HTTP/1.x on the wire, as far as this server needs it: read one request head under limits, write a response.

The server answers GET and HEAD without bodies, so a request is its head only. Limits come first, before any
parsing or auth: the whole head (request line and headers) must fit ``max_bytes`` and arrive before a deadline,
so one client can hold neither memory nor a connection slot for long. Parsing is a pure function of bytes.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from email.utils import formatdate

from otel_mon.http.render import Response

MAX_HEAD_BYTES = 8 * 1024
MAX_HEADERS = 64
_RECV = 4096
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 421: "Misdirected Request", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 503: "Service Unavailable", 505: "HTTP Version Not Supported"}


class BadRequest(Exception):
    """The head cannot be served; ``status`` is the answer (400, 408, 431, 505), ``str()`` a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Closed(Exception):
    """The client closed the connection (or never sent a byte before its idle time ran out)."""


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its first value

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def keep_alive(self) -> bool:
        connection = (self.headers.get("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection

    @property
    def has_body(self) -> bool:
        return self.headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in self.headers


def read_head(sock: socket.socket, buffer: bytearray, idle: float, deadline_after: float,
              max_bytes: int = MAX_HEAD_BYTES) -> bytes:
    """The next request head from ``sock`` (``buffer`` holds bytes read before and keeps what follows it).

    Waits up to ``idle`` seconds for the first byte; from then on the whole head must arrive within
    ``deadline_after`` seconds and ``max_bytes`` bytes, however slowly the client trickles it.
    """
    end = _head_end(buffer)
    deadline: float | None = time.monotonic() + deadline_after if buffer else None
    while end < 0:
        if len(buffer) > max_bytes:
            raise BadRequest(431, f"request head larger than {max_bytes} bytes")
        remaining = idle if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            raise BadRequest(408, f"request head not complete within {deadline_after:g}s")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(_RECV)
        except TimeoutError:
            if deadline is None:
                raise Closed() from None
            raise BadRequest(408, f"request head not complete within {deadline_after:g}s") from None
        if not chunk:
            raise Closed()
        if deadline is None:
            deadline = time.monotonic() + deadline_after
        buffer += chunk
        end = _head_end(buffer)
    if end > max_bytes:
        raise BadRequest(431, f"request head larger than {max_bytes} bytes")
    head = bytes(buffer[:end])
    del buffer[:end]
    return head


def _head_end(buffer: bytearray) -> int:
    """Index just past the blank line ending the head, or -1 (bare LF line ends are accepted, as RFC 9112 allows)."""
    crlf = buffer.find(b"\r\n\r\n")
    lf = buffer.find(b"\n\n")
    ends = [i + n for i, n in ((crlf, 4), (lf, 2)) if i >= 0]
    return min(ends) if ends else -1


def parse_head(head: bytes) -> Request:
    """The request in ``head``; raises ``BadRequest`` on anything malformed, never anything else."""
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    while lines and lines[0] == b"":  # RFC 9112: ignore empty lines before the request line
        lines.pop(0)
    if not lines:
        raise BadRequest(400, "empty request")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise BadRequest(400, "bad request line")
    method, target, version = parts
    if not method or not set(method) <= _TOKEN:
        raise BadRequest(400, "bad method")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        status = 505 if version.startswith(b"HTTP/") else 400
        raise BadRequest(status, "unsupported HTTP version")
    if not target or any(b <= 0x20 or b == 0x7F for b in target):
        raise BadRequest(400, "bad request target")
    headers: dict[str, str] = {}
    count = 0
    for line in lines[1:]:
        if not line:
            continue
        count += 1
        if count > MAX_HEADERS:
            raise BadRequest(431, f"more than {MAX_HEADERS} header fields")
        name, sep, value = line.partition(b":")
        if not sep or not name or not set(name) <= _TOKEN:  # also refuses obsolete line folding
            raise BadRequest(400, "bad header field")
        key, text = name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")
        if key == "content-length" and headers.get(key, text) != text:
            # Two lengths: a proxy in front may frame by the other one (request smuggling).
            raise BadRequest(400, "conflicting Content-Length fields")
        headers.setdefault(key, text)
    if "content-length" in headers:
        if "transfer-encoding" in headers:  # RFC 9112 6.1: a server ought to treat it as an error
            raise BadRequest(400, "Content-Length together with Transfer-Encoding")
        if not all(part.strip().isdigit() for part in headers["content-length"].split(",")) or len(
                {part.strip() for part in headers["content-length"].split(",")}) != 1:
            raise BadRequest(400, "bad Content-Length")
    return Request(method.decode("ascii"), target.decode("latin-1"), version.decode("ascii"), headers)


def response_head(response: Response, *, close: bool, length: int | None = None) -> bytes:
    """Status line and headers (with Date, Server, Content-Length and, when closing, Connection)."""
    reason = _REASONS.get(response.status, "Unknown")
    lines = [f"HTTP/1.1 {response.status} {reason}", "Server: otel-mon", f"Date: {formatdate(usegmt=True)}"]
    lines += [f"{name}: {value}" for name, value in response.headers]
    lines.append(f"Content-Length: {len(response.body) if length is None else length}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_all(sock: socket.socket, data: bytes, within: float) -> None:
    """Write ``data`` within ``within`` seconds in total: a client that stops reading cannot hold the thread."""
    deadline = time.monotonic() + within
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("response not taken in time")
        sock.settimeout(remaining)
        view = view[sock.send(view[:65536]):]
