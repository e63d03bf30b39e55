"""The request head parser and the limits around it, on bytes and on real sockets."""

from __future__ import annotations

import socket

import pytest

from otel_mon.http.wire import BadRequest, parse_head, read_head


@pytest.mark.parametrize(("head", "status"), [
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET / FTP/1.0\r\n\r\n", 400),
    (b"GET  / HTTP/1.1\r\n\r\n", 400),
    (b"G\x00T / HTTP/1.1\r\n\r\n", 400),
    (b"GET /\x7f HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(65)) + b"\r\n", 431),
    (b"\r\n\r\n", 400),
])
def test_malformed_heads_are_4xx(head: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_head(head)
    assert caught.value.status == status


def test_head_fields() -> None:
    request = parse_head(b"\r\nGET /metrics?x=1 HTTP/1.0\nAccept: text/plain\nACCEPT: other\n"
                         b"Connection: Keep-Alive\n\n")
    assert (request.method, request.target, request.version) == ("GET", "/metrics?x=1", "HTTP/1.0")
    assert request.header("accept") == "text/plain" and request.keep_alive and not request.has_body
    assert parse_head(b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n").has_body


def test_pipelined_requests_are_read_one_at_a_time() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        buffer = bytearray()
        assert parse_head(read_head(b, buffer, 1.0, 1.0)).target == "/a"
        assert parse_head(read_head(b, buffer, 1.0, 1.0)).target == "/b"


def test_oversized_and_slow_heads() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"GET / HTTP/1.1\r\nX: " + b"a" * 9000)
        with pytest.raises(BadRequest) as caught:
            read_head(b, bytearray(), 1.0, 1.0)
        assert caught.value.status == 431
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"GET / HTTP/1.1\r\n")  # and then nothing more
        with pytest.raises(BadRequest) as caught:
            read_head(b, bytearray(), 1.0, 0.2)
        assert caught.value.status == 408
