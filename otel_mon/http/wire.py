"""HTTP/1.x as bytes, as far as this server needs it: where a request head ends, what it says, a response head.

The server answers GET and HEAD without bodies, so a request is its head only. The limits come first, in the
connection loop (``listener``): the whole head must fit ``MAX_HEAD_BYTES`` and arrive before a deadline, so one
client can hold neither memory nor a connection slot for long. Then h11 (a small, well-kept HTTP/1.1 parser)
reads the complete head: a pure function of bytes, no socket here.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate

import h11

from otel_mon.http.render import Response

MAX_HEAD_BYTES = 8 * 1024
MAX_HEADERS = 64
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 421: "Misdirected Request", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 503: "Service Unavailable", 505: "HTTP Version Not Supported"}


class BadRequest(Exception):
    """The head cannot be served; ``status`` is the answer (400, 408, 431, 505), ``str()`` a short reason.

    ``host_missing``: an HTTP/1.1 head without Host (400 by RFC 9112; without a token the server answers it as
    the foreign Host it may be, DNS rebinding).
    """

    def __init__(self, status: int, reason: str, *, host_missing: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.host_missing = host_missing


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


def head_end(buffer: bytes | bytearray) -> int:
    """Index just past the blank line ending the head, or -1 (bare LF line ends are accepted, as RFC 9112 allows)."""
    crlf = buffer.find(b"\r\n\r\n")
    lf = buffer.find(b"\n\n")
    ends = [i + n for i, n in ((crlf, 4), (lf, 2)) if i >= 0]
    return min(ends) if ends else -1


def parse_head(head: bytes) -> Request:
    """The request in ``head`` (one whole head, ``head_end`` long); raises ``BadRequest``, never anything else.

    h11 parses; around it stay the stricter rules this server had: no obsolete line folding (h11 joins it), at
    most ``MAX_HEADERS`` fields, HTTP/1.0 or 1.1 only, and no Content-Length together with Transfer-Encoding
    (h11 lets the chunked framing win: a proxy in front might frame by the length, request smuggling).
    """
    head = head.lstrip(b"\r\n")  # RFC 9112: ignore empty lines before the request line
    if not head.strip():
        raise BadRequest(400, "empty request")
    lines = head.split(b"\n")
    if any(line[:1] in (b" ", b"\t") for line in lines[1:] if line.strip(b"\r")):
        raise BadRequest(400, "bad header field (obsolete line folding)")
    if sum(1 for line in lines[1:] if line.strip(b"\r")) > MAX_HEADERS:
        raise BadRequest(431, f"more than {MAX_HEADERS} header fields")
    parser = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    parser.receive_data(head)
    try:
        event = parser.next_event()
    except h11.RemoteProtocolError as exc:
        missing = b"host:" not in head.lower() and (head.split(b"\n", 1)[0].rstrip(b"\r").endswith(b"HTTP/1.1"))
        # h11 hints 501 for a transfer coding other than chunked: a malformed request here (no body is ever
        # read), so a 400 like the other framing faults; 5xx stays for the server's own failures.
        status = 400 if exc.error_status_hint == 501 else exc.error_status_hint
        raise BadRequest(status, _reason(exc), host_missing=missing) from None
    if not isinstance(event, h11.Request):  # the head was cut short or is not a request
        raise BadRequest(400, "bad request line")
    version = b"HTTP/" + event.http_version
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadRequest(505, "unsupported HTTP version")
    headers: dict[str, str] = {}
    for name, value in event.headers:  # names come lower-cased; equal repeated Content-Lengths come as one
        headers.setdefault(name.decode("ascii"), value.decode("latin-1"))
    if "content-length" in headers and "transfer-encoding" in headers:  # RFC 9112 6.1: treat it as an error
        raise BadRequest(400, "Content-Length together with Transfer-Encoding")
    return Request(event.method.decode("ascii"), event.target.decode("latin-1"), version.decode("ascii"), headers)


def _reason(exc: h11.RemoteProtocolError) -> str:
    """h11's complaint, one short line (it may quote the bytes; those are not echoed to the client)."""
    text = str(exc).split(":", 1)[0] if "bytearray(" in str(exc) else str(exc)
    return " ".join(text.split())[:100] or "bad request"


def response_head(response: Response, *, close: bool, length: int | None = None) -> bytes:
    """Status line and headers (with Date, Server, Content-Length and, when closing, Connection)."""
    reason = _REASONS.get(response.status, "Unknown")
    lines = [f"HTTP/1.1 {response.status} {reason}", "Server: otel-mon", f"Date: {formatdate(usegmt=True)}"]
    lines += [f"{name}: {value}" for name, value in response.headers]
    lines.append(f"Content-Length: {len(response.body) if length is None else length}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
