"""The live status page's routes: a static shell (HTML, CSS, JS shipped in the package) and ``/api/status``.

The shell is served without the token: a browser cannot attach an ``Authorization`` header to a navigation,
and the page needs to load to ask for the token. Without a token configured, ``/`` carries the host's state
rendered on the server (``first_view.py``), so the first HTML already says it before any script runs; with
one, the shell holds no host data and everything comes from ``/api/status``, which requires the token like
every other route; the page's script
keeps the token in ``sessionStorage`` (this tab only, gone when it closes) and sends it as
``Authorization: Bearer``. A ``Content-Security-Policy`` allows scripts, styles and requests from the agent
itself only, and no inline script or style at all.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from otel_mon.http.render import Response, Route, gzip_allowed
from otel_mon.web.first_view import render_into
from otel_mon.web.history import History

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_COMMON = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
           ("Referrer-Policy", "no-referrer"))
_ASSETS = {"/": ("index.html", "text/html; charset=utf-8"),
           "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
           "/static/app.css": ("app.css", "text/css; charset=utf-8")}
PUBLIC = frozenset(_ASSETS)
API = "/api/status"

def asset(name: str) -> bytes:
    """One file of the page as shipped in the package (``otel_mon/web/assets``)."""
    return resources.files("otel_mon.web").joinpath("assets").joinpath(name).read_bytes()


def _constant(response: Response) -> Route:
    return lambda request: response


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: browsers' JSON.parse refuses Python's ``NaN``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


class StatusPage:
    """Builds the page's routes from the agent's parts; each part is a callable read at request time."""

    def __init__(
        self,
        about: Mapping[str, Any],
        status: Callable[[], tuple[int, dict[str, Any]]],
        history: History,
        transitions: Callable[[], list[dict[str, Any]]],
        token_required: bool = False,
    ) -> None:
        """``token_required`` is written into the shell, so the page asks for the token before its first request."""
        self.about = dict(about)
        self._status = status
        self._history = history
        self._transitions = transitions
        # Read once: a few KiB, and an upgrade that replaced the files underneath must not mix versions.
        self._files = {path: Response(200, (("Content-Type", kind), *_COMMON, ("Cache-Control", "no-cache")),
                                      asset(name)) for path, (name, kind) in _ASSETS.items()}
        shell = self._files["/"]
        auth = b'data-auth="bearer"' if token_required else b'data-auth="none"'
        self._files["/"] = Response(shell.status, shell.headers, shell.body.replace(b'data-auth="none"', auth, 1))
        self._token_required = token_required

    def routes(self) -> dict[str, Route]:
        out: dict[str, Route] = {path: _constant(response) for path, response in self._files.items()}
        out[API] = lambda request: self.render_status(request.accept, request.accept_encoding)
        if not self._token_required:
            out["/"] = lambda request: self.render_shell()
        return out

    def render_shell(self) -> Response:
        """``/`` with the host's state written in (no token configured: the state is public anyway)."""
        shell = self._files["/"]
        body = render_into(shell.body, finite(self.document()))
        headers = tuple((k, "no-store" if k == "Cache-Control" else v) for k, v in shell.headers)
        return Response(shell.status, headers, body)

    def document(self) -> dict[str, Any]:
        """What ``/api/status`` answers: about, the /health document (and its status code), history, transitions."""
        code, document = self._status()
        history = self._history
        return {
            "about": self.about,
            "health_code": code,
            "health": document,
            "history": history.to_json(),
            "agent": {"cpu_percent": history.latest("agent.cpu"), "rss_bytes": history.latest("agent.rss")},
            "disk": {"read_bytes_per_s": history.latest("disk.read"),
                     "write_bytes_per_s": history.latest("disk.write")},
            "transitions": self._transitions(),
            "top": history.top.to_json(),  # bounded: web/top.py ROWS per table
        }

    def render_status(self, accept: str | None, accept_encoding: str | None) -> Response:
        body = json.dumps(finite(self.document()), separators=(",", ":"), allow_nan=False).encode()
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store"), *_COMMON]
        if gzip_allowed(accept_encoding):
            body = gzip.compress(body, compresslevel=1)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        return Response(200, tuple(headers), body)
