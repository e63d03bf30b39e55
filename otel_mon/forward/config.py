"""OTLP forwarding settings, and the OpenTelemetry standard variables that fill them.

``OtlpConfig`` is the ``otlp`` section of the agent's settings. ``resolve`` turns it into one concrete
``Target`` per signal, applying the OTLP exporter rules in one place so the YAML file, the environment and
``otel-mon replay`` all mean the same thing by an endpoint:

- an endpoint with a scheme decides TLS by it (``https`` yes, ``http`` no); one without a scheme uses TLS
  unless ``insecure`` is true, and gets the protocol's default port (4317 gRPC, 4318 HTTP) when it has none;
- for HTTP the generic endpoint gets ``/v1/metrics`` or ``/v1/logs`` appended, a per-signal endpoint is used
  as it is (the OTLP exporter specification's rule);
- gRPC addresses are ``host:port``; a URL path is ignored there.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from otel_mon import schema
from otel_mon.schema import ByteSize, Duration, Problem, check, render, secret
from otel_mon.urls import redact_url

Signal = Literal["metrics", "logs"]
Protocol = Literal["grpc", "http/protobuf"]
Compression = Literal["none", "gzip"]

SIGNALS: tuple[Signal, ...] = ("metrics", "logs")
DEFAULT_PORTS = {"grpc": 4317, "http/protobuf": 4318}

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _endpoint_problem(name: str, raw: str) -> Problem | None:
    """Why ``raw`` is not a usable endpoint, or None; never repeats credentials found in it."""
    text = raw.strip()
    if not text:
        return Problem(name, "expected a URL such as http://collector:4318", raw)
    url = text if _SCHEME_RE.match(text) else f"//{text}"
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


class _Paced(typing.Protocol):
    @property
    def timeout(self) -> Duration: ...
    @property
    def max_batch_records(self) -> int: ...
    @property
    def max_batch_size(self) -> ByteSize: ...
    @property
    def drain_rate(self) -> float: ...
    @property
    def backoff_initial(self) -> Duration: ...
    @property
    def backoff_max(self) -> Duration: ...
    @property
    def poll_interval(self) -> Duration: ...


def pacing_problems(cfg: _Paced) -> list[Problem]:
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


def _header_problems(section: str, headers: Mapping[str, str] | None) -> list[Problem]:
    problems = []
    for key, value in (headers or {}).items():
        if not _HEADER_NAME_RE.match(key):
            problems.append(Problem(f"{section}headers.{key}", "invalid header name", plain=True))
        if any(ch in value for ch in "\r\n\0"):
            problems.append(Problem(f"{section}headers.{key}", "control characters", hidden=True))
    return problems


_GRPC_KEY_RE = re.compile(r"^[0-9a-z._-]+$")


def _grpc_header_problems(section: str, headers: Mapping[str, str]) -> list[Problem]:
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


class Pacing(typing.Protocol):
    """What a forwarding loop reads of its section (``OtlpConfig`` and ``RemoteWriteConfig`` both have it)."""

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


@dataclass(frozen=True)
class SignalOverride:
    """Per-signal settings (``otlp.metrics.*``, ``otlp.logs.*``); None inherits the section's value."""

    endpoint: str | None = None
    protocol: Protocol | None = None
    headers: dict[str, str] | None = secret()
    compression: Compression | None = None
    timeout: Duration | None = None
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure: bool | None = None

    def __repr__(self) -> str:  # a logged config must not carry the headers
        return f"SignalOverride({schema.redacted(self)!r})"

    def __post_init__(self) -> None:
        problems = _header_problems("", self.headers)
        if self.endpoint is not None and (problem := _endpoint_problem("endpoint", self.endpoint)):
            problems.append(problem)
        if self.timeout is not None and self.timeout <= 0:
            problems.append(Problem("timeout", "must be above 0", self.timeout))
        check(self, problems)


@dataclass(frozen=True)
class OtlpConfig:
    """Where and how the forwarder sends the spool; ``endpoint: None`` (and no per-signal one) = off."""

    endpoint: str | None = None
    protocol: Protocol = "http/protobuf"
    headers: dict[str, str] = secret(default_factory=dict)
    # gzip by default: host metrics compress ~10x and a drained backlog is mostly bandwidth.
    compression: Compression = "gzip"
    timeout: Duration = Duration(10.0)
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure: bool | None = None
    metrics: SignalOverride = field(default_factory=SignalOverride)
    logs: SignalOverride = field(default_factory=SignalOverride)
    # Spool lines per export request, and the request's protobuf size; the Collector's gRPC receiver refuses
    # messages above 4 MiB by default.
    max_batch_records: int = 64
    max_batch_size: ByteSize = ByteSize(2 * 1024 * 1024)
    # Spool lines per second and signal while a backlog drains (0 = unlimited): a recovering collector is not
    # flooded by every agent at once, and the agent stays light (a host-sized line of ~300 points costs ~10 ms
    # of CPU to parse and send, so 20 lines/s is ~20% of one core; a day's outage at 15 s drains in ~5 min).
    drain_rate: float = 20.0
    backoff_initial: Duration = Duration(1.0)
    backoff_max: Duration = Duration(60.0)
    # Fallback when nobody calls notify(); the agent wakes the forwarder after each spool write.
    poll_interval: Duration = Duration(5.0)
    # /health reports degraded when the oldest undelivered line is older than this.
    lag_threshold: Duration = Duration(300.0)

    def __repr__(self) -> str:  # a logged config must not carry the headers
        return f"OtlpConfig({schema.redacted(self)!r})"

    def __post_init__(self) -> None:
        problems = _header_problems("", self.headers)
        if self.endpoint is not None and (problem := _endpoint_problem("endpoint", self.endpoint)):
            problems.append(problem)
        problems += pacing_problems(self)
        if not problems:
            seen: set[Problem] = set()
            for signal in SIGNALS:
                over: SignalOverride = getattr(self, signal)
                if (over.protocol or self.protocol) != "grpc":
                    continue
                own = over.headers or {}
                inherited = {k: v for k, v in self.headers.items() if k not in own}
                for problem in (_grpc_header_problems("", inherited) + _grpc_header_problems(f"{signal}.", own)):
                    if problem not in seen:
                        seen.add(problem)
                        problems.append(problem)
        check(self, problems)

    @property
    def enabled(self) -> bool:
        return any(resolve(self, signal) is not None for signal in SIGNALS)


@dataclass(frozen=True)
class Target:
    """Everything one sender needs for one signal, resolved from the config."""

    signal: Signal
    protocol: Protocol
    address: str  # http/protobuf: the full URL; grpc: host:port
    secure: bool
    headers: Mapping[str, str] = field(repr=False)
    compression: Compression
    timeout: float
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None

    @property
    def display(self) -> str:
        """The endpoint as shown in logs and /health: no credentials, no query string."""
        if self.protocol == "grpc":
            return f"{'https' if self.secure else 'http'}://{self.address}"
        return redact_url(self.address)


def resolve(config: OtlpConfig, signal: Signal) -> Target | None:
    """The target for ``signal``, or None when that signal is not forwarded."""
    over: SignalOverride = getattr(config, signal)
    specific = over.endpoint is not None
    endpoint = over.endpoint if specific else config.endpoint
    if endpoint is None:
        return None
    protocol = over.protocol or config.protocol
    insecure = over.insecure if over.insecure is not None else config.insecure
    headers = dict(config.headers)
    headers.update(over.headers or {})
    text = endpoint.strip()
    has_scheme = bool(_SCHEME_RE.match(text))
    parts = urlsplit(text if has_scheme else f"//{text}")
    secure = parts.scheme == "https" if has_scheme else not insecure
    host = parts.hostname or ""
    host_text = f"[{host}]" if ":" in host else host
    port = parts.port
    if protocol == "grpc":
        if port is None:
            port = 443 if parts.scheme == "https" else DEFAULT_PORTS["grpc"]
        address = f"{host_text}:{port}"
    else:
        if port is None and not has_scheme:
            port = DEFAULT_PORTS["http/protobuf"]
        netloc = host_text if port is None else f"{host_text}:{port}"
        path = parts.path
        if not specific:
            path = path.rstrip("/") + f"/v1/{signal}"
        elif not path:
            path = "/"
        query = f"?{parts.query}" if parts.query else ""
        address = f"{'https' if secure else 'http'}://{netloc}{path}{query}"
    return Target(
        signal=signal,
        protocol=protocol,
        address=address,
        secure=secure,
        headers=headers,
        compression=over.compression or config.compression,
        timeout=float(over.timeout if over.timeout is not None else config.timeout),
        certificate=over.certificate or config.certificate,
        client_certificate=over.client_certificate or config.client_certificate,
        client_key=over.client_key or config.client_key,
    )


# ---------------------------------------------------------------------------------------------------------
# The OTEL_EXPORTER_OTLP_* variables (OpenTelemetry "OTLP Exporter Configuration").

_ENV_PREFIXES: tuple[tuple[str, Signal | None], ...] = (
    ("OTEL_EXPORTER_OTLP_", None),
    ("OTEL_EXPORTER_OTLP_METRICS_", "metrics"),
    ("OTEL_EXPORTER_OTLP_LOGS_", "logs"),
)
_PATH_KEYS = {"CERTIFICATE": "certificate", "CLIENT_CERTIFICATE": "client_certificate", "CLIENT_KEY": "client_key"}


def otlp_from_env(env: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Translate the standard variables into a raw ``otlp`` section (to merge under the key ``otlp``).

    Empty variables count as unset (the specification's rule). Problems are one line each, naming the
    variable; header values are never repeated, not even in an error.
    """
    out: dict[str, Any] = {}
    problems: list[str] = []
    for prefix, signal in _ENV_PREFIXES:
        section: dict[str, Any] = {}
        for suffix, value in _env_items(env, prefix):
            name = prefix + suffix
            problem = _translate(name, suffix, value, section)
            if problem:
                problems.append(problem)
        if signal is None:
            out.update(section)
        elif section:
            out[signal] = section
    return out, problems


def _env_items(env: Mapping[str, str], prefix: str) -> list[tuple[str, str]]:
    keys = ("ENDPOINT", "PROTOCOL", "HEADERS", "COMPRESSION", "TIMEOUT", "INSECURE", *_PATH_KEYS)
    return [(key, env[prefix + key]) for key in keys if env.get(prefix + key, "").strip()]


def _translate(name: str, suffix: str, value: str, section: dict[str, Any]) -> str | None:
    problem = _translated(name, suffix, value.strip(), section)
    return None if problem is None else render(name, problem)


def _translated(name: str, suffix: str, raw: str, section: dict[str, Any]) -> Problem | None:
    if suffix == "ENDPOINT":
        problem = _endpoint_problem(name, raw)
        if problem is None:
            section["endpoint"] = raw
        return problem
    if suffix == "PROTOCOL":
        if raw == "http/json":
            return Problem(name, "http/json is not supported; use grpc or http/protobuf", raw)
        if raw not in ("grpc", "http/protobuf"):
            return Problem(name, "expected grpc or http/protobuf", raw)
        section["protocol"] = raw
        return None
    if suffix == "HEADERS":
        try:
            section["headers"] = schema.parse_key_values(raw)
        except ValueError:
            return Problem(name, "expected comma-separated key=value pairs", hidden=True)
        return None
    if suffix == "COMPRESSION":
        if raw.lower() not in ("none", "gzip"):
            return Problem(name, "expected gzip or none", raw)
        section["compression"] = raw.lower()
        return None
    if suffix == "TIMEOUT":
        try:
            millis = float(raw)
        except ValueError:
            millis = -1.0
        if millis <= 0:
            return Problem(name, "expected a positive number of milliseconds", raw)
        section["timeout"] = millis / 1000.0
        return None
    if suffix == "INSECURE":
        if raw.lower() not in ("true", "false"):
            return Problem(name, "expected true or false", raw)
        section["insecure"] = raw.lower() == "true"
        return None
    section[_PATH_KEYS[suffix]] = raw
    return None
