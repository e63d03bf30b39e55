"""A local HTTP server standing in for Discord, Slack and a generic webhook: records posts, answers as scripted."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Hook:
    base: str
    posts: list[Post] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)  # answers, in order
    changed: threading.Condition = field(default_factory=threading.Condition)
    release: threading.Event = field(default_factory=threading.Event)
    hang: bool = False  # hold every request until release (a webhook that never answers)

    def url(self, secret_path: str = "/api/webhooks/123/s3cr3t-t0ken") -> str:
        return self.base + secret_path

    def wait_posts(self, count: int, timeout: float = 5.0) -> list[Post]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.posts) >= count, timeout), \
                f"expected {count} posts, got {len(self.posts)}"
            return list(self.posts)


@pytest.fixture
def hook() -> Iterator[Hook]:
    import time

    state = Hook(base="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if state.hang:
                state.release.wait(10)
                return
            with state.changed:
                answer = state.script.pop(0) if state.script else (204, {}, b"")
                state.posts.append(Post(self.path, dict(self.headers), json.loads(raw), time.monotonic()))
                state.changed.notify_all()
            status, headers, body = answer
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
