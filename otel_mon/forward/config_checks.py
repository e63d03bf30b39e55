"""The checks every forward section shares (OTLP, remote write): endpoints, headers, pacing.

Each returns ``schema.Problem`` values relative to the section, never text, and never repeats a secret: a header
value is not shown, an endpoint's credentials are redacted.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from urllib.parse import urlsplit

from otel_mon.schema import Problem
from otel_mon.urls import redact_url

SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_GRPC_KEY_RE = re.compile(r"^[0-9a-z._-]+$")


def endpoint_problem(name: str, raw: str) -> Problem | None:
    """Why ``raw`` is not a usable endpoint, or None; never repeats credentials found in it."""
    text = raw.strip()
    if not text:
        return Problem(name, "expected a URL such as http://collector:4318", raw)
    url = text if SCHEME_RE.match(text) else f"//{text}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return Problem(name, str(exc), redact_url(text))
    if parts.scheme not in ("", "http", "https"):
        return Problem(name, "the scheme must be http or https", redact_url(text))
    if not parts.hostname:
        return Problem(name, "no host", redact_url(text))
    if parts.username is not None or parts.password is not None:
        return Problem(name, "put credentials in headers, not in the URL", redact_url(text))
    if port == 0:
        return Problem(name, "port 0", redact_url(text))
    return None


class Pacing(typing.Protocol):
    """The timing and batching keys every spool forwarder's section has (``OtlpConfig``, ``RemoteWriteConfig``):
    what its loop reads, and what :func:`pacing_problems` checks."""

    @property
    def timeout(self) -> float: ...
    @property
    def max_batch_records(self) -> int: ...
    @property
    def max_batch_size(self) -> int: ...
    @property
    def drain_rate(self) -> float: ...
    @property
    def backoff_initial(self) -> float: ...
    @property
    def backoff_max(self) -> float: ...
    @property
    def poll_interval(self) -> float: ...
    @property
    def lag_threshold(self) -> float: ...


def pacing_problems(cfg: Pacing) -> list[Problem]:
    """The timing and batching fields every spool forwarder shares (OTLP, remote write), checked one way."""
    problems = []
    if cfg.timeout <= 0:
        problems.append(Problem("timeout", "must be above 0", cfg.timeout))
    if cfg.max_batch_records < 1:
        problems.append(Problem("max_batch_records", "must be at least 1", cfg.max_batch_records))
    if cfg.max_batch_size < 1024:
        problems.append(Problem("max_batch_size", "must be at least 1KiB", int(cfg.max_batch_size)))
    if cfg.drain_rate < 0:
        problems.append(Problem("drain_rate", "must not be negative", cfg.drain_rate))
    if cfg.backoff_initial <= 0:
        problems.append(Problem("backoff_initial", "must be above 0", cfg.backoff_initial))
    if cfg.backoff_max < cfg.backoff_initial:
        problems.append(Problem("backoff_max", "must be >= backoff_initial", cfg.backoff_max))
    if cfg.poll_interval <= 0:
        problems.append(Problem("poll_interval", "must be above 0", cfg.poll_interval))
    return problems


def header_problems(section: str, headers: Mapping[str, str] | None) -> list[Problem]:
    problems = []
    for key, value in (headers or {}).items():
        if not _HEADER_NAME_RE.match(key):
            problems.append(Problem(f"{section}headers.{key}", "invalid header name", plain=True))
        if any(ch in value for ch in "\r\n\0"):
            problems.append(Problem(f"{section}headers.{key}", "control characters", hidden=True))
    return problems



def grpc_header_problems(section: str, headers: Mapping[str, str]) -> list[Problem]:
    """gRPC refuses (locally, for every request) metadata keys outside ``[0-9a-z._-]`` (the sender lowercases
    keys) and values outside printable ASCII; the message names the key, never the value."""
    problems = []
    for key, value in headers.items():
        if not _GRPC_KEY_RE.match(key.lower()):
            problems.append(Problem(f"{section}headers.{key}", "invalid header name for grpc: use 0-9 a-z . _ - only",
                                    plain=True))
        if any(not 0x20 <= ord(ch) <= 0x7E for ch in value):
            problems.append(Problem(f"{section}headers.{key}", "only printable ASCII is allowed for grpc",
                                    hidden=True))
    return problems
