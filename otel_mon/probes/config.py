"""The ``probes`` section: one list item per latency probe (blackbox_exporter-style modules, flattened).

Fields that belong to another kind are rejected rather than ignored, so a ``port:`` on an http probe is a
config error and not a silent surprise.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from otel_mon.schema import Duration, Problem, check, did_you_mean
from otel_mon.urls import redact_url

KINDS = ("tcp", "http", "dns", "icmp")
DNS_PORT = 53

# field -> kinds that accept it (fields not listed here are common to every kind)
_ONLY: dict[str, tuple[str, ...]] = {
    "host": ("tcp", "icmp"),
    "port": ("tcp",),
    "url": ("http",),
    "target": ("dns",),
    "server": ("dns",),
    "body_regex": ("http",),
    "expect_status": ("http",),
}
_REQUIRED: dict[str, tuple[str, ...]] = {"tcp": ("host", "port"), "http": ("url",), "dns": ("target",),
                                         "icmp": ("host",)}


def is_blank(obj: Any) -> bool:
    """True for an instance with every field at its default: what ``schema.build`` constructs after reporting a
    problem, and what an empty ``{}`` list item becomes. Validation skips it; the containing section reports
    an empty item itself."""
    for f in dataclasses.fields(obj):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if getattr(obj, f.name) != default:
            return False
    return True


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("expected host, host:port or [ipv6]:port")
        port_text = rest[1:]
    elif text.count(":") > 1:  # a bare IPv6 address
        host, port_text = text, ""
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise ValueError("expected host, host:port or [ipv6]:port")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ValueError(f"port {port_text!r} is not 1-65535")
    return host, int(port_text)


@dataclass(frozen=True)
class ProbeConfig:
    """One probe target. ``tcp``: host+port; ``http``: url; ``dns``: target (+ server); ``icmp``: host."""

    name: str = ""
    kind: str = ""
    host: str | None = None
    port: int | None = None
    url: str | None = None
    target: str | None = None
    server: str | None = None
    query_type: Literal["A", "AAAA"] = "A"
    interval: Duration = Duration(30.0)
    timeout: Duration = Duration(5.0)
    method: Literal["GET", "HEAD"] = "GET"
    expect_status: tuple[int, ...] = ()
    body_regex: str | None = None
    verify_tls: bool = True

    def __post_init__(self) -> None:
        if is_blank(self):
            return
        check(self, self._problems())

    def _problems(self) -> list[Problem]:
        out: list[Problem] = []
        if not self.name.strip():
            out.append(Problem("name", "a probe needs a name (it labels its metrics)", self.name))
        if self.kind not in KINDS:
            out.append(Problem("kind", f"expected one of {', '.join(KINDS)}{did_you_mean(self.kind, KINDS)}",
                               self.kind))
            return out
        for fld, kinds in _ONLY.items():
            value = getattr(self, fld)
            if value not in (None, ()) and self.kind not in kinds:
                out.append(Problem(fld, f"only for kind {' or '.join(kinds)}, not {self.kind}", value))
        for fld in _REQUIRED[self.kind]:
            if getattr(self, fld) in (None, ""):
                out.append(Problem(fld, f"missing: required for kind {self.kind}", plain=True))
        if self.interval < 0.1:
            out.append(Problem("interval", "must be at least 100ms", self.interval))
        if not 0 < self.timeout <= self.interval:
            out.append(Problem("timeout", f"must be above 0 and at most interval ({self.interval!r})", self.timeout))
        if self.port is not None and not 0 < self.port <= 65535:
            out.append(Problem("port", "expected 1-65535", self.port))
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                out.append(Problem("url", "expected an http:// or https:// URL with a host", redact_url(self.url)))
        if self.server is not None:
            try:
                split_host_port(self.server, DNS_PORT)
            except ValueError as exc:
                out.append(Problem("server", str(exc), self.server))
        out += [Problem("expect_status", "expected HTTP status codes 100-599", code)
                for code in self.expect_status if not 100 <= code <= 599]
        if self.body_regex is not None:
            if self.method == "HEAD":
                out.append(Problem("body_regex", "a HEAD response has no body", self.body_regex))
            try:
                re.compile(self.body_regex)
            except re.error as exc:
                out.append(Problem("body_regex", str(exc), self.body_regex))
        return out

    # --- what the metrics and /health call the other end -------------------------------------------------
    def server_address(self) -> str:
        """``server.address``: the peer we talk to (the DNS server, else the name being resolved)."""
        if self.kind == "http":
            return urlsplit(self.url or "").hostname or ""
        if self.kind == "dns":
            return split_host_port(self.server, DNS_PORT)[0] if self.server else self.target or ""
        return self.host or ""

    def server_port(self) -> int:
        """``server.port``; 0 where no port applies (icmp, the system resolver)."""
        if self.kind == "tcp":
            return self.port or 0
        if self.kind == "http":
            parts = urlsplit(self.url or "")
            return parts.port or (443 if parts.scheme == "https" else 80)
        if self.kind == "dns" and self.server:
            return split_host_port(self.server, DNS_PORT)[1]
        return 0

    def describe(self) -> str:
        """A one-line target for logs and /health (never secret: probe targets are not credentials)."""
        if self.kind == "http":
            return f"{self.method} {redact_url(self.url or '')}"
        if self.kind == "dns":
            return f"{self.query_type} {self.target}" + (f" @{self.server}" if self.server else " (system resolver)")
        if self.kind == "tcp":
            host = f"[{self.host}]" if self.host and ":" in self.host else self.host
            return f"{host}:{self.port}"
        return str(self.host)
