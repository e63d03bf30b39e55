"""Real loopback servers for the probe tests: a TCP listener, an HTTP(S) server with slow and failing routes."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class Target:
    base: str
    port: int
    release: threading.Event  # set at teardown: frees handlers parked on the slow route


def _handler(release: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the probe under test gave up (its timeout): expected for the slow routes

        def do_GET(self) -> None:
            if self.path == "/ok":
                self._send(200, b"hello from the probe target: status=green")
            elif self.path == "/fail":
                self._send(500, b"internal error")
            elif self.path == "/redirect":
                self._send(302, b"", {"Location": "/ok"})
            elif self.path == "/slow":
                release.wait(10)  # never answers within the probe's timeout
                self._send(200, b"late")
            elif self.path == "/slow-body":
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b"partial")
                self.wfile.flush()
                release.wait(10)
            else:
                self._send(404, b"not found")

        do_HEAD = do_GET

    return Handler


def _serve(server: ThreadingHTTPServer) -> threading.Thread:
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


def _target(base: str, tls: ssl.SSLContext | None = None) -> Iterator[Target]:
    """The test server on a free port, at ``base`` (scheme and host), until the test ends."""
    release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(release))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    _serve(server)
    port = server.server_address[1]
    yield Target(f"{base}:{port}", port, release)
    release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_target() -> Iterator[Target]:
    yield from _target("http://127.0.0.1")


@pytest.fixture
def tls_target(tmp_path: Path) -> Iterator[Target]:
    """HTTPS with a throwaway self-signed certificate for "localhost" (openssl CLI; skipped without it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make a throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    yield from _target("https://localhost", ctx)


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    """A listening socket: the kernel completes the handshake, which is all a TCP probe needs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_udp() -> Iterator[int]:
    """A UDP socket that receives and never answers (a DNS server that has gone quiet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
