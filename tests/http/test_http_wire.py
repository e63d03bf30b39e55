"""The request head parser (h11 and the rules around it), on bytes; the limits on sockets are in test_http_server."""

from __future__ import annotations

import pytest

from otel_mon.http.wire import BadRequest, head_end, parse_head


@pytest.mark.parametrize(("head", "status"), [
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET / FTP/1.0\r\n\r\n", 400),
    (b"GET  / HTTP/1.1\r\n\r\n", 400),
    (b"G\x00T / HTTP/1.1\r\n\r\n", 400),
    (b"GET /\x7f HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: h\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(65)) + b"\r\n", 431),
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
    assert parse_head(b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n").has_body


def test_heads_end_at_the_first_blank_line() -> None:
    data = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n"
    end = head_end(data)
    assert parse_head(data[:end]).target == "/a" and data[end:].startswith(b"GET /b")
    bare = b"GET / HTTP/1.1\nHost: h\n\n"
    assert head_end(bare + b"next") == len(bare) and head_end(b"GET / HTTP/1.1\r\n") == -1


@pytest.mark.parametrize(("head", "status"), [
    # Ambiguous framing: h11 refuses differing lengths itself and lets chunked win over a length; the server
    # refuses both (a proxy in front may frame by the other one).
    (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
])
def test_ambiguous_framing_is_refused(head: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_head(head)
    assert caught.value.status == status and not caught.value.host_missing


def test_a_missing_host_is_named() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_head(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n")
    assert caught.value.status == 400 and caught.value.host_missing
    assert parse_head(b"GET / HTTP/1.0\r\n\r\n").header("host") is None  # HTTP/1.0 needs none
