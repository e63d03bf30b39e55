"""A local webhook endpoint for the agent tests: records every JSON POST by path and answers 204 (as Discord)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Hooks:
    """``posts[path]`` holds (headers, body) of each POST, in arrival order; ``cond`` is notified on each."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.posts: dict[str, list[tuple[dict[str, str], Any]]] = {}
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hooks.cond:
                    hooks.posts.setdefault(self.path, []).append((dict(self.headers), body))
                    hooks.cond.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, path: str) -> int:
        with self.cond:
            return len(self.posts.get(path, []))

    def bodies(self, path: str) -> list[Any]:
        with self.cond:
            return [body for _headers, body in self.posts.get(path, [])]

