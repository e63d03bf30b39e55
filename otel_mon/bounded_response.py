"""Read a peer's HTTP response under byte limits: a hostile endpoint cannot make the agent buffer without end.

``http.client`` reads a body whole on ``read()`` (an endless chunked body, a ``Content-Length`` of 12 GB) and
accepts up to 100 header lines of 64 KiB each. Every client of ours (OTLP/HTTP, remote write, webhooks, the
HTTP probe) reads through these two pieces instead: :class:`BoundedResponse` caps the bytes of the status line
and headers, :func:`read_body` the body. Going over either is :class:`ResponseTooLarge`, an
``http.client.HTTPException``, so a caller treats it as any other broken answer: a failed attempt.
"""

from __future__ import annotations

import http.client
import io
import socket
from typing import Any

MAX_HEAD_BYTES = 64 * 1024


class ResponseTooLarge(http.client.HTTPException):
    """The answer's head or body is larger than the caller allows; ``str()`` says which and the limit."""


class _CappedRaw(io.RawIOBase):
    """A socket reader that refuses to deliver more than ``limit`` bytes until the limit is lifted (None)."""

    def __init__(self, raw: Any, limit: int | None) -> None:
        self._raw = raw
        self.limit = limit
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self.limit is not None:
            room = self.limit - self.taken
            if room <= 0:
                raise ResponseTooLarge(f"response head larger than {self.limit} bytes")
            view = view[:room]
        n = int(self._raw.readinto(view) or 0)
        self.taken += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class BoundedResponse(http.client.HTTPResponse):
    """An ``HTTPResponse`` whose status line and headers must fit ``head_limit`` bytes.

    Use as ``HTTPConnection.response_class`` or directly on a socket. The body is then read with
    :func:`read_body`, which bounds it.
    """

    head_limit = MAX_HEAD_BYTES

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the unbounded reader http.client made: the socket stays open (the connection holds it)
        self._capped = _CappedRaw(sock.makefile("rb", buffering=0), self.head_limit)
        self.fp = io.BufferedReader(self._capped)

    def begin(self) -> None:
        super().begin()
        self._capped.limit = None  # the body is bounded by read_body, which knows the caller's limit


def read_body(response: http.client.HTTPResponse, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes; raises :class:`ResponseTooLarge` before reading a larger
    declared length, and as soon as a body without one (chunked, or up to close) passes the limit."""
    declared = response.getheader("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"response body of {int(declared)} bytes, more than the {limit} allowed")
    body = response.read(limit + 1)
    if len(body) > limit:
        raise ResponseTooLarge(f"response body larger than {limit} bytes")
    if not response.isclosed() and response.read(1):  # it ended at the limit: make sure nothing follows
        raise ResponseTooLarge(f"response body larger than {limit} bytes")
    return body
