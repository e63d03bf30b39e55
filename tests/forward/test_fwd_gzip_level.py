"""The HTTP sender compresses at gzip level 1 (half level 6's CPU on a collection line, a few % more bytes)."""

from __future__ import annotations

import gzip
import http.server
import threading

from otel_mon import schema
from otel_mon.forward.config import OtlpConfig, resolve
from otel_mon.forward.senders import GZIP_LEVEL, HttpSender, Outcome


def test_the_http_body_is_gzip_level_1_and_decompresses_to_the_request() -> None:
    received: list[tuple[str | None, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            received.append((self.headers.get("Content-Encoding"),
                             self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = schema.build(OtlpConfig, {"endpoint": f"http://127.0.0.1:{server.server_address[1]}"})
        target = resolve(config, "metrics")
        assert target is not None and target.compression == "gzip"
        sender = HttpSender(target)
        body = b"\x0a\x02ab" * 5000
        assert sender.send(body, 5.0).outcome is Outcome.OK
        sender.close()
    finally:
        server.shutdown()
        server.server_close()
    assert GZIP_LEVEL == 1
    (encoding, raw), = received
    assert encoding == "gzip"
    assert gzip.decompress(raw) == body
    assert raw[8] == 4  # the gzip header's XFL byte: 4 = "fastest algorithm" (level 1), 0 for level 6
